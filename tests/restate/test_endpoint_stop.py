"""Stopping the service endpoint (Ctrl-C on ``signoff dev``, SIGTERM on ``signoff bot`` or ``signoff
worker``) with an invocation waiting in it: the invocation is suspended, as Restate itself suspends
an idle one, not cancelled; the handler never sees a CancelledError (which the workflow code takes
for its own cancel), the stop is quick and clean, and Restate finishes the invocation at the same
deployment once the endpoint serves again. Against the real server and real endpoints."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import aiohttp
import pytest
import restate

from signoff.config.ports import free_port
from signoff.restate.admin import RestateAdmin
from signoff.restate.endpoint import ServiceEndpoint
from signoff.restate.server import RestateServer
from tests.support.restate_services import unique_name
from tests.support.waiting import eventually

pytestmark = [pytest.mark.process, pytest.mark.slow]

NAP = timedelta(seconds=5)


class Napper:
    """A service whose ``nap`` handler sleeps durably, noting when it starts and any cancellation."""

    def __init__(self) -> None:
        self.service = restate.Service(unique_name("Napper"))
        self.napping = asyncio.Event()
        self.cancelled: list[str] = []

        @self.service.handler()
        async def nap(ctx: restate.Context, who: str) -> str:
            self.napping.set()
            try:
                await ctx.sleep(NAP)
            except asyncio.CancelledError:
                self.cancelled.append(who)
                raise
            return f"{who} rested"


async def _invocation(server: RestateServer, invocation_id: str) -> dict[str, object]:
    query = f"SELECT status, completion_result FROM sys_invocation WHERE id = '{invocation_id}'"
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{server.admin_url}/query", json={"query": query}, headers={"Accept": "application/json"}) as r,
    ):
        rows: list[dict[str, object]] = (await r.json())["rows"]
        return rows[0]


async def test_a_stop_suspends_the_invocations_under_way_and_restate_finishes_them_after(
    restate_server: RestateServer,
) -> None:
    napper = Napper()
    port = free_port()
    endpoint = ServiceEndpoint([napper.service], port=port)
    await endpoint.start()
    try:
        await RestateAdmin(restate_server.admin_url).register(endpoint.url)
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{restate_server.ingress_url}/{napper.service.name}/nap/send", json="Ada") as response,
        ):
            assert response.status == 202, await response.text()
            invocation_id = json.loads(await response.text())["invocationId"]
        await asyncio.wait_for(napper.napping.wait(), timeout=30)
    finally:
        await endpoint.stop()  # hypercorn's own cancellation at the end of its grace raised out of here
    assert napper.cancelled == []

    # Restate holds the invocation (suspended, or backing off while the endpoint is away) …
    assert (await _invocation(restate_server, invocation_id))["status"] != "completed"
    # … and, the endpoint serving again at the deployment's URL, finishes it there.
    async with ServiceEndpoint([napper.service], port=port):

        async def finished() -> dict[str, object] | None:
            row = await _invocation(restate_server, invocation_id)
            return row if row["status"] == "completed" else None

        row = await eventually(finished, timeout=60)
    assert row["completion_result"] == "success"
    assert napper.cancelled == []
