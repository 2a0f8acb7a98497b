"""On both engines, the membership the bot checked travels in the decision to the workflow's validator:
with no approvers named, a non-member's forged click is refused and a member's counts (Temporal on the
time-skipping server; DBOS on SQLite, where the decision is a message the validator checks when read)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from signoff.contracts.access import NOT_A_MEMBER
from signoff.contracts.tool_calls import ToolCallState
from signoff.contracts.workflow_io import Phase
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from signoff.slack.action_ids import ButtonValue
from tests.support.bot import RunningBot, bot_settings
from tests.support.engines import phase_of, running_stack
from tests.support.flows import start_via_slack, thread_of
from tests.support.forged import block_actions, deliver
from tests.support.slack import APPROVER_1, OUTSIDER, button_pairs, buttons, draft_messages, told

PROJECT = "G0PROJECT"


@pytest.fixture(params=["temporal", "dbos-sqlite", pytest.param("restate", marks=pytest.mark.process)])
async def stack(
    request: pytest.FixtureRequest, time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path
) -> AsyncIterator[RunningBot]:
    settings = bot_settings(slack)  # no approvers named
    async with running_stack(
        str(request.param), slack, settings, temporal_client=time_env.client, tmp_path=tmp_path
    ) as bot:
        yield bot


async def test_a_non_member_is_refused_and_a_member_approves(stack: RunningBot, slack: SlackSandbox) -> None:
    workflow_id = (await start_via_slack(slack, stack.client, "Hiring plan", channel=PROJECT)).id
    progress = await phase_of(stack, workflow_id, Phase.PENDING_APPROVAL)
    assert progress.thread is not None
    [draft] = await slack.wait_for(lambda: draft_messages(slack, thread_of(progress), PROJECT) or None)
    value = dict(button_pairs(draft))[action_ids.APPROVE]

    # Oscar forges a click on the draft's button, as if on a message in #general (where he is a member).
    await deliver(slack, block_actions(slack, OUTSIDER, draft["ts"], action_ids.APPROVE, value))
    await told(slack, OUTSIDER, NOT_A_MEMBER)
    assert (await stack.deps.gateway.progress(workflow_id)).decisions == []

    await slack.click_button(APPROVER_1, PROJECT, draft["ts"], action_ids.APPROVE)
    await told(slack, APPROVER_1, "Recorded your approval")
    await phase_of(stack, workflow_id, Phase.APPROVED)


@pytest.mark.parametrize("stack", ["temporal"], indirect=True)
async def test_a_non_member_can_neither_read_nor_decide_a_tool_call(stack: RunningBot, slack: SlackSandbox) -> None:
    handle = await start_via_slack(slack, stack.client, "Announce the offsite in #random", "/plan", channel=PROJECT)
    progress = await phase_of(stack, handle.id, Phase.PENDING_APPROVAL)
    assert progress.thread is not None
    [draft] = await slack.wait_for(lambda: draft_messages(slack, thread_of(progress), PROJECT) or None)
    await slack.click_button(APPROVER_1, PROJECT, draft["ts"], action_ids.APPROVE)
    [call] = await slack.wait_for(
        lambda: [m for m in slack.replies(PROJECT, thread_of(progress)) if action_ids.TOOL_ALLOW in buttons(m)] or None,
        timeout=30,
    )
    value = ButtonValue(handle.id, 1).encode()

    # Oscar forges "Show full arguments" and Allow on it, as if in #general: no arguments, no decision.
    await deliver(slack, block_actions(slack, OUTSIDER, call["ts"], action_ids.TOOL_SHOW_ARGUMENTS, value))
    await told(slack, OUTSIDER, "You cannot see that request")
    await deliver(slack, block_actions(slack, OUTSIDER, call["ts"], action_ids.TOOL_ALLOW, value))
    await told(slack, OUTSIDER, NOT_A_MEMBER)
    assert slack.open_views(OUTSIDER) == []
    [record] = (await stack.deps.gateway.progress(handle.id)).tool_calls
    assert record.state is ToolCallState.PENDING and record.decided_by == []
    assert slack.messages("C0RANDOM0") == []
