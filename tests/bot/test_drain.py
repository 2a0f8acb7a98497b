"""Shutting down: no new request is acknowledged, and the starts already acknowledged are finished.

Over Socket Mode the socket closes at once (Slack sends the app's requests to its other
connections); over HTTP a request that still arrives on an open connection is answered 503,
not acked. (``signoff bot`` as a process, with SIGTERM: tests/system/test_bot_drain.py.)
"""

from __future__ import annotations

import asyncio

import pytest
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from bot.app import build_app
from bot.gateway import workflow_id_for
from bot.server import drain_socket_mode, socket_mode_handler
from signoff.contracts.workflow_io import WorkflowKind
from signoff.sandbox import SlackSandbox
from signoff.sandbox.delivery import NoRoute
from tests.support.bot import bot_client, bot_settings, running_bot
from tests.support.slack import CHANNEL, REQUESTER, TEAM
from tests.support.starts import HeldStarts, intercepted


async def test_socket_mode_drain_closes_the_socket_then_finishes_acked_starts(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    # Acked at once with "Starting…" (journaled), the starts held: still owed when the drain begins.
    settings = bot_settings(slack, socket_mode=True)
    held = HeldStarts()
    client = intercepted(time_env.client, held)
    app = build_app(settings, client)
    handler = socket_mode_handler(app, settings)
    await handler.connect_async()
    try:
        await slack.wait_for(lambda: slack.socket_mode.connected)
        results = await asyncio.gather(
            *(slack.send_slash_command(REQUESTER, "/report", f"Held {n}", channel_id=CHANNEL) for n in range(5))
        )
        assert all(r.acked and "Starting a report" in (r.body or "") for r in results), results
        await slack.wait_for(lambda: held.waiting == 5)

        drain = asyncio.create_task(drain_socket_mode(app, handler))
        # The socket closes while the starts are still owed: no new request comes to this bot.
        await slack.wait_for(lambda: not slack.socket_mode.connected)
        assert not drain.done()
        with pytest.raises(NoRoute):
            await slack.send_slash_command(REQUESTER, "/report", "After the close", channel_id=CHANNEL)

        held.release.set()
        assert await drain == 0
        for result in results:
            workflow_id = workflow_id_for(WorkflowKind.REPORT, TEAM, CHANNEL, f"/report:{result.trigger_id}")
            handle = time_env.client.get_workflow_handle(workflow_id)
            await handle.describe()  # it exists: the acknowledged start was finished
            await handle.terminate("test over")
    finally:
        await handler.close_async()


async def test_http_request_while_draining_is_refused_not_acked(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    settings = bot_settings(slack)
    async with running_bot(slack, settings, bot_client(time_env.client)) as bot:
        # The drain has begun; this request came on a connection that was still open.
        bot.deps.follow_ups.draining = True
        result = await slack.send_slash_command(REQUESTER, "/report", "Too late", channel_id=CHANNEL)
        assert result.status == 503 and not result.acked, result
        workflow_id = workflow_id_for(WorkflowKind.REPORT, TEAM, CHANNEL, f"/report:{result.trigger_id}")
        with pytest.raises(RPCError):
            await time_env.client.get_workflow_handle(workflow_id).describe()
