"""The one rule of who may see and decide (signoff/contracts/access.py), and the gate applying it to what the bot carried."""

from __future__ import annotations

import pickle
import re
from dataclasses import fields
from datetime import UTC, datetime

import pytest
from temporalio import workflow as temporal_workflow

from signoff.contracts import access
from signoff.contracts.access import (
    NOT_A_MEMBER,
    NOT_AN_APPROVER,
    REQUESTER_REFUSAL,
    decision_refusal,
    may_decide,
    may_see,
)
from signoff.contracts.tool_calls import ToolDecisionInput
from signoff.contracts.workflow_io import ApprovalPolicy, ApproveInput, DecisionKind, Phase, RejectInput, RevisionInput
from workflows.approval import ApprovalGate, DecisionRefused, checked_channel

REQUESTER, APPROVER, MEMBER, OUTSIDER = "U0REQUEST", "U0APPROV1", "U0MEMBER1", "U0OUTSIDE"
CHANNEL, OTHER_CHANNEL, TEAM = "G0PROJECT", "C0GENERAL", "T0SANDBOX"


@pytest.mark.parametrize(
    ("user", "approvers", "member", "refusal"),
    [
        # No approvers named: the channel's members, never the requester.
        (MEMBER, (), True, None),
        (OUTSIDER, (), False, NOT_A_MEMBER),
        (REQUESTER, (), True, REQUESTER_REFUSAL),
        # Approvers named: exactly them, member of the channel or not; never the requester.
        (APPROVER, (APPROVER,), False, None),
        (APPROVER, (APPROVER,), True, None),
        (MEMBER, (APPROVER,), True, NOT_AN_APPROVER),
        (REQUESTER, (REQUESTER, APPROVER), True, REQUESTER_REFUSAL),
    ],
)
def test_who_may_decide(user: str, approvers: tuple[str, ...], member: bool, refusal: str | None) -> None:
    assert decision_refusal(user, REQUESTER, approvers, channel_member=member) == refusal
    assert may_decide(user, REQUESTER, approvers, channel_member=member) is (refusal is None)


@pytest.mark.parametrize(
    ("user", "approvers", "member", "visible"),
    [
        (REQUESTER, (), False, True),
        (APPROVER, (APPROVER,), False, True),
        (MEMBER, (), True, True),
        (MEMBER, (APPROVER,), True, True),
        (OUTSIDER, (), False, False),
        (OUTSIDER, (APPROVER,), False, False),
    ],
)
def test_who_may_see(user: str, approvers: tuple[str, ...], member: bool, visible: bool) -> None:
    assert may_see(user, REQUESTER, approvers, channel_member=member) is visible


def test_membership_counts_only_for_the_requests_own_channel() -> None:
    assert access.member_of_channel(CHANNEL, CHANNEL)
    assert not access.member_of_channel(OTHER_CHANNEL, CHANNEL)
    assert not access.member_of_channel(None, CHANNEL)
    assert not access.member_of_channel(None, None) and not access.member_of_channel("", "")


@pytest.mark.parametrize("decision", [ApproveInput, RevisionInput, RejectInput, ToolDecisionInput])
def test_every_decision_carries_the_membership_and_defaults_to_none(decision: type) -> None:
    field = next(f for f in fields(decision) if f.name == "member_of")
    assert field.default is None, "an older client that leaves it out counts as a non-member"


# --- the gate (the validators' rules) ------------------------------------------------------------


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(temporal_workflow, "now", lambda: datetime(2026, 1, 5, tzinfo=UTC))


def open_gate(approvers: tuple[str, ...] = ()) -> ApprovalGate:
    gate = ApprovalGate(ApprovalPolicy(approvers=list(approvers)), REQUESTER, TEAM, channel_id=CHANNEL)
    gate.open(1)
    return gate


@pytest.mark.parametrize("kind", list(DecisionKind))
@pytest.mark.parametrize("member_of", [None, OTHER_CHANNEL])
def test_with_no_approvers_the_gate_refuses_a_non_member_or_a_check_of_another_channel(
    kind: DecisionKind, member_of: str | None
) -> None:
    gate = open_gate()
    with pytest.raises(DecisionRefused, match=re.escape(NOT_A_MEMBER)):
        gate.check(kind, OUTSIDER, 1, TEAM, "notes", Phase.PENDING_APPROVAL, member_of=member_of)
    assert gate.approvals == [] and gate.decisions == []


def test_with_no_approvers_the_gate_takes_a_member_of_its_channel() -> None:
    open_gate().check(DecisionKind.APPROVE, MEMBER, 1, TEAM, "", Phase.PENDING_APPROVAL, member_of=CHANNEL)


def test_a_named_approver_decides_whatever_the_membership() -> None:
    open_gate((APPROVER,)).check(DecisionKind.APPROVE, APPROVER, 1, TEAM, "", Phase.PENDING_APPROVAL)


def test_checked_channel_reads_the_decision_and_judges_one_pickled_before_the_field_as_then() -> None:
    assert checked_channel(ApproveInput(revision=1, user_id=MEMBER, member_of=CHANNEL), CHANNEL) == CHANNEL
    assert checked_channel(ApproveInput(revision=1, user_id=OUTSIDER), CHANNEL) is None
    # What DBOS re-reads on recovery: a message pickled by a bot from before member_of existed.
    old = ApproveInput(revision=1, user_id=MEMBER)
    del old.__dict__["member_of"]
    revived = pickle.loads(pickle.dumps(old))
    assert revived.member_of is None, "the class default reads as not checked"
    assert checked_channel(revived, CHANNEL) == CHANNEL
