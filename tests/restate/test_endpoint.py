"""signoff's service endpoint (restate-sdk's ASGI application on hypercorn): it answers once started,
gives its port back when stopped, and a port in use is one line naming the setting."""

from __future__ import annotations

import socket

import aiohttp
import pytest

from signoff.config.settings import SettingsError
from signoff.restate.endpoint import ServiceEndpoint
from tests.support.restate_services import greeter, unique_name


async def test_the_endpoint_answers_and_gives_its_port_back() -> None:
    async with (
        ServiceEndpoint([greeter(unique_name("Greeter"))], host="0.0.0.0") as endpoint,
        aiohttp.ClientSession() as session,
        session.get(f"{endpoint.url}/health") as response,
    ):
        status = response.status
    port = endpoint.port

    assert status == 200
    # Listening on every interface, it is registered by its loopback address.
    assert endpoint.url == f"http://127.0.0.1:{port}"
    with socket.socket() as again:
        # Connections closing may linger (TIME_WAIT); only a listener would refuse this bind.
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("0.0.0.0", port))
        again.listen()


async def test_a_service_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SettingsError) as refused:
            await ServiceEndpoint([greeter(unique_name("Greeter"))], port=port).start()

    assert str(refused.value) == f"cannot listen on port {port} (SIGNOFF_RESTATE_SERVICE_PORT): Address already in use"
