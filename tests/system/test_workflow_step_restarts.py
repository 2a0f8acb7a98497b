"""The Workflow Builder step across restarts, with real processes: a step run, then the bot process killed
and started again and the worker replaced while the request waits; Slack delivers the run again; the approval
still completes the step, exactly once, with its outputs. The step's end is the workflow's, not the bot's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from signoff.contracts.workflow_step import step_workflow_id
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from signoff.temporal.connection import data_converter
from signoff.temporal.devserver import DevServer
from tests.support.flows import waiting_draft
from tests.support.processes import BotProcess, signoff_env
from tests.support.slack import APPROVER_1, CHANNEL, REQUESTER, assert_nothing_doubled, told
from tests.support.temporal import running_worker, worker_settings
from tests.support.waiting import eventually

pytestmark = [pytest.mark.process, pytest.mark.slow]


async def _exists(handle: WorkflowHandle[Any, Any]) -> bool:
    try:
        await handle.describe()
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


INPUTS = {
    "title": "Rotate the signing keys",
    "body": "Rotate and revoke",
    "approvers": [APPROVER_1],
    "channel": CHANNEL,
}


async def test_the_step_completes_once_after_the_bot_and_the_worker_restarted(
    dev_server: DevServer, slack: SlackSandbox, tmp_path: Path
) -> None:
    settings = worker_settings(slack)
    bot = BotProcess(signoff_env(slack, dev_server.address, settings.task_queue), tmp_path / "bot.log")
    await bot.start()
    try:
        slack.request_url = bot.events_url
        client = await Client.connect(dev_server.address, data_converter=data_converter())
        async with running_worker(await Client.connect(dev_server.address), settings):
            execution, delivered = await slack.run_workflow_step(REQUESTER, INPUTS)
            assert delivered is not None and delivered.acked
            handle = client.get_workflow_handle(step_workflow_id(slack.workspace.team_id, execution.id))
            # The bot acks the step at once and starts its request right after.
            await eventually(lambda: _exists(handle))
            _, draft = await waiting_draft(slack, handle)
        # The worker is gone while the request waits; the bot is killed and started again.
        bot.kill()
        await bot.start()
        # Slack delivers the run again (it never heard the first ack, say): it starts nothing new.
        again = await slack.send_event(slack.functions.event(execution, "A0SIGNOFF"))
        assert again.acked
        assert execution.status == "running"
        async with running_worker(await Client.connect(dev_server.address), settings):
            result = await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)
            assert result.acked, result
            await told(slack, APPROVER_1, "Recorded your approval of revision 1")
            await slack.wait_for(lambda: execution.status == "completed", timeout=60)
            await handle.result()
        assert execution.outputs == {
            "outcome": "approved",
            "decided_by": [APPROVER_1],
            "notes": "",
            "text": INPUTS["body"],
        }
        assert execution.completions == ["functions.completeSuccess"]
        assert [call.method for call in slack.calls].count("functions.completeSuccess") == 1
    finally:
        bot.stop()
    assert_nothing_doubled(slack)
