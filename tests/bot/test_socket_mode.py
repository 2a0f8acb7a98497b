"""Socket Mode: the same app, connected to the sandbox's WebSocket (hello, envelopes, acks by envelope id)."""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment

from signoff.contracts.workflow_io import Phase
from signoff.sandbox import SlackSandbox
from tests.support.block_checks import assert_valid_everything
from tests.support.bot import bot_settings, worker_and_socket_mode_bot
from tests.support.flows import start_via_slack
from tests.support.slack import APPROVER_1, CHANNEL, REQUESTER
from tests.support.temporal import closed, wait_for_phase
from workflows.human_loop import HumanReviewedWorkflow


async def test_report_over_socket_mode_reaches_the_workflow(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    settings = bot_settings(slack, socket_mode=True, approvers=[APPROVER_1])
    async with worker_and_socket_mode_bot(slack, time_env.client, settings) as client:
        handle = await start_via_slack(slack, client, "Heat pumps")
        assert {delivery.transport for delivery in slack.deliveries} == {"socket_mode"}
        await wait_for_phase(handle, Phase.PENDING_APPROVAL)
        progress = await handle.query(HumanReviewedWorkflow.progress)
        assert progress.requester_id == REQUESTER and progress.subject == "Heat pumps"
        assert progress.thread is not None and progress.thread.channel_id == CHANNEL
        # Closed before the worker stops, so nothing is left running on the shared test server.
        await handle.cancel()
        await closed(handle)
    assert_valid_everything(slack)
