"""function_executed over Socket Mode (manifest.yml) reaches the step's listener as over HTTP: the step's
request is started, and a bad run fails through the run's own token."""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment

from signoff.contracts.workflow_io import Phase
from signoff.contracts.workflow_step import step_workflow_id
from signoff.sandbox import SlackSandbox
from tests.support.bot import bot_settings, worker_and_socket_mode_bot
from tests.support.slack import APPROVER_1, CHANNEL, REQUESTER
from tests.support.temporal import closed, wait_for_phase


async def test_a_step_run_over_socket_mode_starts_its_request(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    settings = bot_settings(slack, socket_mode=True)
    async with worker_and_socket_mode_bot(slack, time_env.client, settings) as client:
        inputs = {"title": "Ship it", "body": "Release notes", "approvers": [APPROVER_1], "channel": CHANNEL}
        execution, delivered = await slack.run_workflow_step(REQUESTER, inputs)
        assert delivered is not None and (delivered.transport, delivered.acked) == ("socket_mode", True)
        handle = client.get_workflow_handle(step_workflow_id(slack.workspace.team_id, execution.id))
        await wait_for_phase(handle, Phase.PENDING_APPROVAL)
        bad, _ = await slack.run_workflow_step(REQUESTER, {"title": "No one", "body": "to ask"})
        await slack.wait_for(lambda: bad.status == "failed")
        assert bad.error is not None and "needs approvers or a channel" in bad.error
        await handle.cancel()
        await closed(handle)
        await slack.wait_for(lambda: execution.status == "failed")
        assert execution.error is not None and "cancelled" in execution.error
