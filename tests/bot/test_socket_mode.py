"""Socket Mode: the same app, connected to the sandbox's WebSocket (hello, envelopes, acks by envelope id)."""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment

from bot.app import build_app
from bot.server import socket_mode_handler
from core.contracts import Phase
from sandbox import SlackSandbox
from tests.support.block_checks import assert_valid_everything
from tests.support.bot import bot_client, bot_settings
from tests.support.flows import start_via_slack
from tests.support.slack import APPROVER_1, CHANNEL, REQUESTER
from tests.support.temporal import closed, running_worker, wait_for_phase
from workflows.human_loop import HumanReviewedWorkflow


async def test_report_over_socket_mode_reaches_the_workflow(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    settings = bot_settings(slack, socket_mode=True, approvers=[APPROVER_1])
    client = bot_client(time_env.client)
    handler = socket_mode_handler(build_app(settings, client), settings)
    async with running_worker(time_env.client, settings):
        await handler.connect_async()
        try:
            await slack.wait_for(lambda: slack.socket_mode.connected)
            handle = await start_via_slack(slack, client, "Heat pumps")
            assert {delivery.transport for delivery in slack.deliveries} == {"socket_mode"}
            await wait_for_phase(handle, Phase.PENDING_APPROVAL)
            progress = await handle.query(HumanReviewedWorkflow.progress)
            assert progress.requester_id == REQUESTER and progress.subject == "Heat pumps"
            assert progress.thread is not None and progress.thread.channel_id == CHANNEL
            # Closed before the worker stops, so nothing is left running on the shared test server.
            await handle.cancel()
            await closed(handle)
        finally:
            await handler.close_async()
    assert_valid_everything(slack)
