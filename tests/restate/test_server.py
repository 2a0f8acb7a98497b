"""The Restate server comes from node_modules (``make install``, npm) and runs as a child process on a
data directory: it answers on free ports, keeps its deployments across a restart, and a server that
cannot start says why at once."""

from __future__ import annotations

import socket
from pathlib import Path

import aiohttp
import pytest

from signoff.restate.admin import RestateAdmin, check_ingress
from signoff.restate.endpoint import ServiceEndpoint
from signoff.restate.server import PROJECT_ROOT, RestateServer, RestateServerMissing, restate_server_binary
from tests.restate.conftest import require_npm
from tests.support.restate_services import greeter, unique_name

pytestmark = [pytest.mark.process, pytest.mark.slow]


async def test_the_server_from_node_modules_answers_on_its_ports(restate_server: RestateServer) -> None:
    binary = restate_server_binary()
    assert binary.is_relative_to(PROJECT_ROOT / "node_modules"), binary

    version = await RestateAdmin(restate_server.admin_url).version()
    await check_ingress(restate_server.ingress_url)

    assert version.startswith("1.7."), version
    # Not Restate's default ports: 8080 is the Slack sandbox's in `signoff dev`.
    assert {restate_server.ingress_port, restate_server.admin_port} & {8080, 9070} == set()
    assert (restate_server.data_dir / "signoff").is_dir()


async def test_a_restarted_server_has_its_deployments_back(tmp_path: Path) -> None:
    require_npm()
    name = unique_name("Greeter")
    async with ServiceEndpoint([greeter(name)]) as endpoint:
        async with RestateServer(tmp_path / "restate") as server:
            registered = await RestateAdmin(server.admin_url).register(endpoint.url)
        assert server.process is None

        # New ports, the same data: the deployment is there and its service answers.
        async with RestateServer(tmp_path / "restate") as restarted, aiohttp.ClientSession() as session:
            assert (restarted.admin_port, restarted.ingress_port) != (server.admin_port, server.ingress_port)
            async with session.get(f"{restarted.admin_url}/deployments") as response:
                deployments = (await response.json())["deployments"]
            async with session.post(f"{restarted.ingress_url}/restate/call/{name}/greet", json="ada") as response:
                answer = await response.json()

    assert [deployment["id"] for deployment in deployments] == [registered.id]
    assert answer == "hello ada"


async def test_a_server_that_cannot_start_says_why(tmp_path: Path) -> None:
    require_npm()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = RestateServer(tmp_path / "restate", admin_port=taken.getsockname()[1])

        with pytest.raises(RuntimeError) as failed:
            await server.start()

    message = str(failed.value)
    assert message.startswith("the Restate server exited with code 1: [admin-api-server] failed binding"), message
    assert "Address in use" in message
    assert "\n" not in message
    assert server.process is None


async def test_the_same_data_directory_serves_one_server_only(tmp_path: Path) -> None:
    require_npm()
    async with RestateServer(tmp_path / "restate") as first:
        second = RestateServer(first.data_dir)
        try:
            with pytest.raises(RuntimeError) as failed:
                await second.start()
        finally:
            second.stop()
        # The first one is unharmed.
        assert await RestateAdmin(first.admin_url).version()

    # Why (its store is locked) is in its log, when the server flushed it before exiting.
    message = str(failed.value)
    assert message.startswith("the Restate server exited with code 1: "), message
    assert message.endswith(("db is locked", "Resource temporarily unavailable", f"see its log, {second.log_path}"))
    assert "\n" not in message


def test_without_node_modules_the_server_is_missing_and_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RestateServerMissing) as missing:
        restate_server_binary(tmp_path)
    assert str(missing.value) == (
        "the Restate server is not installed: `make install` puts @restatedev/restate-server in node_modules/ "
        "(it needs Node.js and npm)"
    )


async def test_a_port_it_chose_taken_meanwhile_is_chosen_again(tmp_path: Path) -> None:
    """A free port found, then taken by another process before the server binds it (the fabric's here,
    as CI met): the server picks another and starts, instead of exiting "Address in use"."""
    require_npm()
    server = RestateServer(tmp_path / "restate")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", server.fabric_port))
        taken.listen()
        await server.start()
        try:
            await check_ingress(server.ingress_url)
            assert server.fabric_port != taken.getsockname()[1]
        finally:
            server.stop()
