"""The bot process killed and restarted between posting a draft and the click: the click works,
because every piece of state lives in Temporal (and the button), none in the bot."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from temporalio.client import Client

from core import action_ids
from core.contracts import ApprovalPolicy, Phase, WorkflowSettings
from infra.settings import Settings
from infra.temporal import data_converter
from sandbox import SlackSandbox
from signoff.devserver import DevServer
from tests.support.faults import (
    APPROVER_1,
    CHANNEL,
    REQUESTER,
    BotProcess,
    assert_nothing_doubled,
    buttons,
    draft_messages,
    slack_env,
    told,
)
from tests.support.temporal import eventually, running_worker
from workflows.human_loop import HumanReviewedWorkflow


async def test_bot_restarted_between_draft_and_click(
    dev_server: DevServer, slack: SlackSandbox, tmp_path: Path
) -> None:
    task_queue = f"bot-restart-{uuid.uuid4()}"
    env = {
        **slack_env(slack),
        "TEMPORAL_ADDRESS": dev_server.address,
        "SIGNOFF_TASK_QUEUE": task_queue,
        "SIGNOFF_APPROVERS": APPROVER_1,
    }
    bot = BotProcess(env, tmp_path / "bot.log")
    # The worker gets the same policy the bot passes in each request.
    settings = Settings(
        task_queue=task_queue,
        slack_bot_token=slack.bot_token,
        slack_api_url=slack.api_url,
        workflow=WorkflowSettings(policy=ApprovalPolicy(approvers=[APPROVER_1])),
    )
    await bot.start()
    try:
        slack.request_url = bot.events_url
        client = await Client.connect(dev_server.address, data_converter=data_converter())
        async with running_worker(await Client.connect(dev_server.address), settings):
            result = await slack.send_slash_command(
                REQUESTER, "/report", "Heat pumps in old houses", channel_id=CHANNEL
            )
            assert result.acked, result
            confirmation = await told(slack, REQUESTER, "Started your report")
            handle = client.get_workflow_handle(confirmation.split("(`", 1)[1].split("`)", 1)[0])

            async def waiting() -> str | None:
                state = await handle.query(HumanReviewedWorkflow.progress)
                return state.thread.ts if state.thread and state.phase is Phase.PENDING_APPROVAL else None

            thread_ts = await eventually(waiting, timeout=30)
            [draft] = await slack.wait_for(lambda: [d for d in draft_messages(slack, thread_ts) if buttons(d)] or None)

            bot.kill()
            # While it is down, Slack gets no answer (the user would see an error on the button) and nothing changes.
            down = await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)
            assert not down.acked
            assert (await handle.query(HumanReviewedWorkflow.progress)).decisions == []

            await bot.start()
            clicked = time.monotonic()
            result = await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)
            assert result.acked and time.monotonic() - clicked < 3
            await told(slack, APPROVER_1, "Recorded your approval of revision 1")
            await handle.result()
            state = await handle.query(HumanReviewedWorkflow.progress)
            assert state.phase is Phase.APPROVED and [d.user_id for d in state.decisions] == [APPROVER_1]
            assert buttons(slack.message(CHANNEL, draft["ts"])) == []
    finally:
        bot.stop()
    assert_nothing_doubled(slack)
