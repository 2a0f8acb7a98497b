"""The bot process killed and restarted between posting a draft and the click: the click works,
because every piece of state lives in Temporal (and the button), none in the bot."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import Client

from signoff.contracts.workflow_io import Phase
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from signoff.temporal.connection import data_converter
from signoff.temporal.devserver import DevServer
from tests.support.flows import start_via_slack, waiting_draft
from tests.support.processes import BotProcess, signoff_env
from tests.support.slack import APPROVER_1, CHANNEL, assert_nothing_doubled, buttons, stored, told
from tests.support.temporal import running_worker, worker_settings
from workflows.human_loop import HumanReviewedWorkflow

pytestmark = [pytest.mark.process, pytest.mark.slow]


async def test_bot_restarted_between_draft_and_click(
    dev_server: DevServer, slack: SlackSandbox, tmp_path: Path
) -> None:
    # The worker gets the same policy the bot passes in each request.
    settings = worker_settings(slack, approvers=[APPROVER_1])
    env = {**signoff_env(slack, dev_server.address, settings.task_queue), "SIGNOFF_APPROVERS": APPROVER_1}
    bot = BotProcess(env, tmp_path / "bot.log")
    await bot.start()
    try:
        slack.request_url = bot.events_url
        client = await Client.connect(dev_server.address, data_converter=data_converter())
        async with running_worker(await Client.connect(dev_server.address), settings):
            handle = await start_via_slack(slack, client, "Heat pumps in old houses")
            _, draft = await waiting_draft(slack, handle)

            bot.kill()
            # While it is down, Slack gets no answer (the user would see an error on the button) and nothing changes.
            down = await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)
            assert not down.acked
            assert (await handle.query(HumanReviewedWorkflow.progress)).decisions == []

            await bot.start()
            # Acked: within Slack's 3 s, which the sandbox enforces as Slack does.
            result = await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)
            assert result.acked, result
            await told(slack, APPROVER_1, "Recorded your approval of revision 1")
            await handle.result()
            state = await handle.query(HumanReviewedWorkflow.progress)
            assert state.phase is Phase.APPROVED and [d.user_id for d in state.decisions] == [APPROVER_1]
            assert buttons(stored(slack, CHANNEL, draft["ts"])) == []
    finally:
        bot.stop()
    assert_nothing_doubled(slack)
