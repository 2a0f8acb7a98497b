"""Claim and Delegate through Slack on Temporal: the buttons on the draft, the refusals people are
told (state unchanged), the thread and the audit saying who has it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from signoff.contracts.workflow_io import HandoffKind, Phase
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from signoff.slack.action_ids import ButtonValue
from tests.support.block_checks import assert_valid_everything
from tests.support.bot import RunningBot, bot_settings
from tests.support.engines import phase_of, running_stack
from tests.support.flows import start_via_slack, thread_of
from tests.support.forged import block_actions, deliver
from tests.support.slack import (
    APPROVER_1,
    APPROVER_2,
    CHANNEL,
    LEADS,
    OUTSIDER,
    REQUESTER,
    draft_messages,
    thread_texts,
    told,
)


@pytest.fixture
async def pooled(time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """No approvers named: #general's members are the pool."""
    async with running_stack(
        "temporal", slack, bot_settings(slack), temporal_client=time_env.client, tmp_path=tmp_path
    ) as bot:
        yield bot


@pytest.fixture
async def named(time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path) -> AsyncIterator[RunningBot]:
    settings = bot_settings(slack, approvers=[APPROVER_1])
    async with running_stack("temporal", slack, settings, temporal_client=time_env.client, tmp_path=tmp_path) as bot:
        yield bot
    assert_valid_everything(slack)
    assert_valid_everything(slack)


async def _draft(slack: SlackSandbox, bot: RunningBot, workflow_id: str) -> tuple[str, dict[str, Any]]:
    progress = await phase_of(bot, workflow_id, Phase.PENDING_APPROVAL)
    ts = thread_of(progress)
    [draft] = await slack.wait_for(lambda: draft_messages(slack, ts) or None)
    return ts, draft


def routing(message: dict[str, Any]) -> list[str]:
    """The routing buttons of a draft's control message (its sections' buttons)."""
    return [
        block["accessory"]["action_id"]
        for block in message.get("blocks") or []
        if block["type"] == "section" and block.get("accessory", {}).get("type") == "button"
    ]


def _control_with(slack: SlackSandbox, ts: str, action_id: str) -> dict[str, Any] | None:
    """The draft's control message once it shows ``action_id``'s button."""
    control = draft_messages(slack, ts)[-1]
    return control if action_id in routing(control) else None


async def test_the_first_claim_decides_others_are_told_who_has_it(pooled: RunningBot, slack: SlackSandbox) -> None:
    workflow_id = (await start_via_slack(slack, pooled.client, "Office move")).id
    ts, draft = await _draft(slack, pooled, workflow_id)
    assert routing(draft) == [action_ids.CLAIM, action_ids.DELEGATE]

    await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.CLAIM)
    await told(slack, APPROVER_1, "You claimed revision 1")
    await slack.wait_for(lambda: any("claimed this request" in t for t in thread_texts(slack, ts)))
    control = await slack.wait_for(lambda: _control_with(slack, ts, action_ids.RELEASE))
    assert "Claimed by <@U0APPROV1>" in str(control["blocks"])
    assert routing(control) == [action_ids.RELEASE, action_ids.DELEGATE]

    # Someone else claims (on a Claim button they saw before it changed), or decides without claiming:
    # refused with who has it, nothing changes.
    value = ButtonValue(workflow_id, 1).encode()
    await deliver(slack, block_actions(slack, APPROVER_2, draft["ts"], action_ids.CLAIM, value))
    await told(slack, APPROVER_2, "<@U0APPROV1> already claimed this request")
    await slack.click_button(APPROVER_2, CHANNEL, draft["ts"], action_ids.APPROVE)
    await told(slack, APPROVER_2, "only they decide on it now")
    progress = await pooled.deps.gateway.progress(workflow_id)
    assert progress.deciders == [APPROVER_1] and progress.approvals == []
    assert [(h.kind, h.user_id) for h in progress.handoffs] == [(HandoffKind.CLAIM, APPROVER_1)]

    # The claimer releases it, and the other one claims and approves.
    await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.RELEASE)
    await told(slack, APPROVER_1, "You released it")
    await slack.wait_for(lambda: _control_with(slack, ts, action_ids.CLAIM))
    await slack.click_button(APPROVER_2, CHANNEL, draft["ts"], action_ids.CLAIM)
    await told(slack, APPROVER_2, "You claimed revision 1")
    await slack.click_button(APPROVER_2, CHANNEL, draft["ts"], action_ids.APPROVE)
    await told(slack, APPROVER_2, "Recorded your approval")
    done = await phase_of(pooled, workflow_id, Phase.APPROVED)
    assert [(h.kind, h.user_id) for h in done.handoffs] == [
        (HandoffKind.CLAIM, APPROVER_1),
        (HandoffKind.RELEASE, APPROVER_1),
        (HandoffKind.CLAIM, APPROVER_2),
    ]


async def _delegate(slack: SlackSandbox, user: str, draft: dict[str, Any], to_user: str, reason: str = "") -> None:
    await slack.click_button(user, CHANNEL, draft["ts"], action_ids.DELEGATE)
    [modal] = await slack.wait_for(lambda: slack.open_views(user) or None)
    assert modal["callback_id"] == action_ids.DELEGATE_MODAL
    values = {action_ids.DELEGATE_TO_BLOCK: {action_ids.DELEGATE_TO_INPUT: to_user}}
    if reason:
        values[action_ids.REASON_BLOCK] = {action_ids.REASON_INPUT: reason}
    result = await slack.submit_view(user, modal["id"], values)
    assert result.acked, result


async def test_an_approver_delegates_and_the_delegate_decides(named: RunningBot, slack: SlackSandbox) -> None:
    workflow_id = (await start_via_slack(slack, named.client, "Budget 2026")).id
    ts, draft = await _draft(slack, named, workflow_id)
    assert routing(draft) == [action_ids.DELEGATE]

    # To the requester, or to oneself: refused with the reason, nothing changes.
    await _delegate(slack, APPROVER_1, draft, REQUESTER)
    await told(slack, APPROVER_1, "<@U0REQUEST> requested this, so they cannot decide on it")
    await _delegate(slack, APPROVER_1, draft, APPROVER_1)
    await told(slack, APPROVER_1, "You cannot delegate a request to yourself")
    assert (await named.deps.gateway.progress(workflow_id)).handoffs == ()

    await _delegate(slack, APPROVER_1, draft, OUTSIDER, "On leave this week")
    await told(slack, APPROVER_1, "Delegated: <@U0OUTSIDE> decide(s) on it now")
    await slack.wait_for(
        lambda: any("delegated this request to <@U0OUTSIDE>" in t and "On leave" in t for t in thread_texts(slack, ts))
    )
    await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)
    await told(slack, APPROVER_1, "You are not one of the approvers")
    await slack.click_button(OUTSIDER, CHANNEL, draft["ts"], action_ids.APPROVE)
    await told(slack, OUTSIDER, "Recorded your approval")
    done = await phase_of(named, workflow_id, Phase.APPROVED)
    assert done.approvals == [OUTSIDER] and done.deciders == [OUTSIDER]
    [handoff] = done.handoffs
    assert (handoff.kind, handoff.user_id, handoff.to_user, handoff.reason) == (
        HandoffKind.DELEGATE,
        APPROVER_1,
        OUTSIDER,
        "On leave this week",
    )


@pytest.fixture
async def grouped(time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """No approvers named, SIGNOFF_APPROVER_GROUP=@leads: the group's members are the pool."""
    settings = bot_settings(slack, approver_group=LEADS)
    async with running_stack("temporal", slack, settings, temporal_client=time_env.client, tmp_path=tmp_path) as bot:
        yield bot
    assert_valid_everything(slack)


async def test_a_user_group_is_the_pool_its_members_claim(grouped: RunningBot, slack: SlackSandbox) -> None:
    workflow_id = (await start_via_slack(slack, grouped.client, "Security review")).id
    ts, draft = await _draft(slack, grouped, workflow_id)
    assert routing(draft) == [action_ids.CLAIM, action_ids.DELEGATE]
    await slack.wait_for(lambda: any("Anyone in <!subteam^S0LEADS>" in t for t in thread_texts(slack, ts)))

    # In the channel but not in @leads (usergroups.users.list says so): refused, nothing changes.
    await slack.click_button(APPROVER_2, CHANNEL, draft["ts"], action_ids.CLAIM)
    await told(slack, APPROVER_2, "Only members of <!subteam^S0LEADS> may decide on this request.")
    assert (await grouped.deps.gateway.progress(workflow_id)).handoffs == ()

    await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.CLAIM)
    await told(slack, APPROVER_1, "You claimed revision 1")
    await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)
    await told(slack, APPROVER_1, "Recorded your approval")
    await phase_of(grouped, workflow_id, Phase.APPROVED)
    assert [call.params.get("usergroup") for call in slack.calls_to("usergroups.users.list")][:1] == [LEADS]
