"""A DM reminder against the sandbox is posted once per round: a retry after a lost answer opens the DM
(conversations.open), finds the reminder there and posts nothing; an install without im:write still
gets its reminder (posted again, as before the scope); another round is a reminder of its own."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from signoff.activities.slack import SlackActivities
from signoff.contracts.activity_io import SLACK_TRANSIENT_ERROR, DmReminderInput
from signoff.contracts.workflow_io import DraftState, DraftView, MessageRef, WorkflowKind
from signoff.sandbox import SlackSandbox
from signoff.sandbox.directory import DEFAULT_BOT_SCOPES
from signoff.slack.client import slack_client
from tests.support.slack import APPROVER_1, CHANNEL
from tests.support.steps import Attempt

KEY = "run-1:dm:1:1:" + APPROVER_1


def reminder(thread: MessageRef, key: str | None = KEY) -> DmReminderInput:
    view = DraftView(
        workflow_id="report-1", kind=WorkflowKind.REPORT, subject="Q3", revision=1, body="", state=DraftState.OPEN
    )
    return DmReminderInput(
        user_id=APPROVER_1,
        text=":alarm_clock: Reminder 1: _Q3_ (revision 1) has been waiting 1 day for your decision.",
        view=view,
        thread=thread,
        channel_id=CHANNEL,
        idempotency_key=key,
    )


def dms(sb: SlackSandbox) -> list[dict[str, Any]]:
    return [m for m in sb.messages(sb.workspace.directory.im_with(APPROVER_1).id) if "Reminder" in str(m.get("text"))]


async def lose_the_answer(sb: SlackSandbox, input: DmReminderInput) -> None:
    """Attempt 1 posts the DM, and its answer never reaches the worker (it timed out, or died)."""
    slow = SlackActivities(slack_client(sb.bot_token, sb.api_url))
    slow.client.timeout = 0.2  # type: ignore[assignment]  # slack_sdk types it int; aiohttp takes seconds
    sb.faults.slow("chat.postMessage", 1.0)
    with pytest.raises(ApplicationError) as lost:
        await Attempt(1).run(slow.post_dm_reminder, input)
    assert lost.value.type == SLACK_TRANSIENT_ERROR


async def test_a_retry_after_a_lost_answer_leaves_one_dm_and_a_new_round_posts_again() -> None:
    async with SlackSandbox() as sb:
        acts = SlackActivities(slack_client(sb.bot_token, sb.api_url))
        thread = MessageRef(channel_id=CHANNEL, ts=sb.workspace.post_message(CHANNEL, text="Report: Q3").ts)
        await lose_the_answer(sb, reminder(thread))
        await sb.wait_for(lambda: dms(sb) or None)

        assert await Attempt(2).run(acts.post_dm_reminder, reminder(thread)) == "dm"

        assert len(dms(sb)) == 1
        [opened] = sb.calls_to("conversations.open")
        assert opened.params["users"] == APPROVER_1 and opened.ok
        # The next round has a key of its own: reminded again.
        assert await Attempt(2).run(acts.post_dm_reminder, reminder(thread, KEY.replace(":1:1:", ":1:2:"))) == "dm"
        assert len(dms(sb)) == 2


async def test_without_im_write_a_retry_still_reminds() -> None:
    """An install from before the scope: conversations.open answers missing_scope; the DM goes anyway."""
    async with SlackSandbox(bot_scopes=DEFAULT_BOT_SCOPES - {"im:write"}) as sb:
        acts = SlackActivities(slack_client(sb.bot_token, sb.api_url))
        thread = MessageRef(channel_id=CHANNEL, ts=sb.workspace.post_message(CHANNEL, text="Report: Q3").ts)

        assert await Attempt(2).run(acts.post_dm_reminder, reminder(thread)) == "dm"

        assert len(dms(sb)) == 1
        [refused] = sb.calls_to("conversations.open")
        assert refused.error == "missing_scope"
