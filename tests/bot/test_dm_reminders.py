"""Reminders where people look: each named approver who has not acted gets the reminder in their DM
with the app too, with the draft's buttons, one per round; a click there is the same validated
decision as in the thread (Temporal, the time-skipping server)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from signoff.config.settings import Settings
from signoff.contracts.workflow_io import Phase
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from tests.support.block_checks import assert_valid_everything
from tests.support.bot import RunningBot, bot_settings
from tests.support.engines import phase_of, running_stack
from tests.support.flows import start_via_slack, thread_of
from tests.support.slack import APPROVER_1, APPROVER_2, CHANNEL, OUTSIDER, buttons, draft_messages, thread_texts, told


@pytest.fixture
async def stack(time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path) -> AsyncIterator[RunningBot]:
    settings = dataclasses.replace(_settings(slack), preferences=str(tmp_path / "preferences.sqlite"))
    async with running_stack("temporal", slack, settings, temporal_client=time_env.client, tmp_path=tmp_path) as bot:
        yield bot
    assert_valid_everything(slack)


def _settings(slack: SlackSandbox) -> Settings:
    return bot_settings(
        slack,
        approvers=[APPROVER_1, APPROVER_2],
        required_approvals=2,
        reminder_interval=timedelta(seconds=1),
        max_reminders=2,
        decision_deadline=None,
    )


def dm_reminders(slack: SlackSandbox, user: str) -> list[dict[str, Any]]:
    """The reminders in ``user``'s DM with the app, oldest first."""
    dm = slack.workspace.directory.im_with(user).id
    return [m for m in slack.messages(dm) if "Reminder" in str(m.get("text"))]


async def test_a_dm_reminder_per_round_for_who_has_not_acted_and_its_click_decides(
    stack: RunningBot, slack: SlackSandbox
) -> None:
    workflow_id = (await start_via_slack(slack, stack.client, "Vendor contract")).id
    progress = await phase_of(stack, workflow_id, Phase.PENDING_APPROVAL)
    ts = thread_of(progress)
    [draft] = await slack.wait_for(lambda: draft_messages(slack, ts) or None)

    # Round 1: both approvers are reminded in the thread and each in their DM, with the draft's buttons.
    [first] = await slack.wait_for(lambda: dm_reminders(slack, APPROVER_2) or None)
    await slack.wait_for(lambda: dm_reminders(slack, APPROVER_1) or None)
    assert buttons(first) == buttons(draft)
    assert "Vendor contract" in first["text"] and "has been waiting" in first["text"]
    assert any("Reminder 1" in text for text in thread_texts(slack, ts))

    # Approver 1 approves in the thread: from the next round on only approver 2 is reminded.
    await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)
    await told(slack, APPROVER_1, "Recorded your approval")
    await slack.wait_for(lambda: any("Reminder 2" in text for text in thread_texts(slack, ts)))
    await slack.wait_for(lambda: len(dm_reminders(slack, APPROVER_2)) >= 2)
    reminded_1 = len(dm_reminders(slack, APPROVER_1))
    await slack.wait_for(lambda: any("Escalated" in text for text in thread_texts(slack, ts)))
    assert len(dm_reminders(slack, APPROVER_1)) == reminded_1
    # One DM per round per person: as many as the thread's reminders.
    rounds = sum("Reminder" in text or "Escalated" in text for text in thread_texts(slack, ts))
    await slack.wait_for(lambda: len(dm_reminders(slack, APPROVER_2)) == rounds)
    assert not dm_reminders(slack, OUTSIDER)

    # The click in the DM goes through the same validated update: approver 2's approval completes it.
    dm = slack.workspace.directory.im_with(APPROVER_2).id
    await slack.click_button(APPROVER_2, dm, first["ts"], action_ids.APPROVE)
    await told(slack, APPROVER_2, "Recorded your approval of revision 1 (2 of 2)")
    done = await phase_of(stack, workflow_id, Phase.APPROVED)
    assert done.approvals == [APPROVER_1, APPROVER_2]
    # A second click on the DM reminder is the same decision (one update id per person and revision): nothing changes.
    before = len(slack.ephemerals(APPROVER_2))
    await slack.click_button(APPROVER_2, dm, first["ts"], action_ids.APPROVE)
    await told(slack, APPROVER_2, "Recorded your approval of revision 1 (2 of 2)", after=before)
    assert (await stack.deps.gateway.progress(workflow_id)).approvals == [APPROVER_1, APPROVER_2]


async def test_a_person_who_turned_dm_reminders_off_gets_them_in_the_thread_only(
    stack: RunningBot, slack: SlackSandbox
) -> None:
    result = await slack.send_slash_command(APPROVER_1, "/signoff", "dm off")
    assert result.acked, result
    await told(slack, APPROVER_1, "DM reminders are off")
    workflow_id = (await start_via_slack(slack, stack.client, "Office lease")).id
    ts = thread_of(await phase_of(stack, workflow_id, Phase.PENDING_APPROVAL))

    await slack.wait_for(lambda: len(dm_reminders(slack, APPROVER_2)) >= 2)
    assert dm_reminders(slack, APPROVER_1) == []
    assert any("Reminder 2" in text for text in thread_texts(slack, ts))
