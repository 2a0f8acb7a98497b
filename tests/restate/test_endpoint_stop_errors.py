"""A stop the endpoint was asked for ends it, whatever hypercorn raises on its way out: under a full
suite's load its h2 protocol once raised ``KeyError`` (frames for a stream it had closed) out of a
connection's task group at shutdown, and the stop failed with it, failing the caller's clean exit
(``signoff bot``/``worker`` on Restate, a test's teardown). That race cannot be made on demand, so
hypercorn's real ``serve`` runs and then raises what it raised then."""

from __future__ import annotations

import logging
from typing import Any

import hypercorn.asyncio
import pytest
import restate

import signoff.restate.endpoint as endpoint_module
from signoff.restate.endpoint import ServiceEndpoint
from tests.support.restate_services import unique_name


async def test_an_error_in_hypercorns_shutdown_is_logged_and_the_stop_completes(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real_serve = hypercorn.asyncio.serve

    async def serve_then_fail(*args: Any, **kwargs: Any) -> None:
        await real_serve(*args, **kwargs)
        raise ExceptionGroup("unhandled errors in a TaskGroup", [KeyError(1)])

    monkeypatch.setattr(endpoint_module, "serve", serve_then_fail)
    service = restate.Service(unique_name("Idle"))

    @service.handler()
    async def idle(ctx: restate.Context) -> str:
        return "idle"

    with caplog.at_level(logging.WARNING, logger=endpoint_module.__name__):
        async with ServiceEndpoint([service]):
            pass
    assert any("stopped with an error in hypercorn" in record.getMessage() for record in caplog.records)
