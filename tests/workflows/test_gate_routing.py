"""Claim, Release and Delegate on the approval gate, as plain state: who decides after each, and every
refusal leaves the gate as it was (the update validators' rules, without a workflow around them)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
from temporalio import workflow as temporal_workflow

from signoff.contracts.access import NOT_A_MEMBER, REQUESTER_REFUSAL
from signoff.contracts.workflow_io import ApprovalPolicy, DecisionKind, HandoffKind, Phase
from workflows.approval import ApprovalGate, DecisionRefused

REQUESTER = "U0REQUEST"
APPROVER_1 = "U0APPROV1"
APPROVER_2 = "U0APPROV2"
MEMBER_1 = "U0MEMBER1"
MEMBER_2 = "U0MEMBER2"
OUTSIDER = "U0OUTSIDE"
TEAM = "T0SANDBOX"
CHANNEL = "C0GENERAL"
PENDING = Phase.PENDING_APPROVAL
CLAIM, RELEASE, DELEGATE = HandoffKind.CLAIM, HandoffKind.RELEASE, HandoffKind.DELEGATE


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(temporal_workflow, "now", lambda: datetime(2025, 3, 4, 9, 30, tzinfo=UTC))


def gate_of(approvers: tuple[str, ...] = (), required: int = 1, *, routing: bool = True) -> ApprovalGate:
    gate = ApprovalGate(
        ApprovalPolicy(approvers=list(approvers), required_approvals=required), REQUESTER, TEAM, channel_id=CHANNEL
    )
    gate.routing = routing
    gate.open(1)
    return gate


def hand(
    gate: ApprovalGate,
    kind: HandoffKind,
    user: str,
    to_user: str | None = None,
    *,
    member: bool = True,
    to_member: bool = True,
    reason: str = "",
) -> None:
    """Check, then apply, as the workflow's validator and update do."""
    gate.check_handoff(
        kind,
        user,
        1,
        TEAM,
        PENDING,
        member_of=CHANNEL if member else None,
        to_user=to_user,
        to_member_of=CHANNEL if to_member else None,
        reason=reason,
    )
    gate.apply_handoff(kind, user, 1, PENDING, to_user=to_user, reason=reason)


def state(gate: ApprovalGate) -> tuple[object, ...]:
    return (gate.claimed_by, list(gate.named), copy.deepcopy(gate.handoffs), list(gate.approvals))


def refused(
    gate: ApprovalGate, match: str, kind: HandoffKind, user: str, to_user: str | None = None, **kw: bool
) -> None:
    """The handoff is refused with ``match`` and the gate is unchanged."""
    before = state(gate)
    with pytest.raises(DecisionRefused, match=match):
        gate.check_handoff(
            kind,
            user,
            1,
            TEAM,
            PENDING,
            member_of=CHANNEL if kw.get("member", True) else None,
            to_user=to_user,
            to_member_of=CHANNEL if kw.get("to_member", True) else None,
        )
    assert state(gate) == before


def decides(gate: ApprovalGate, user: str, *, member: bool = True) -> bool:
    try:
        gate.check(DecisionKind.APPROVE, user, 1, TEAM, "", PENDING, member_of=CHANNEL if member else None)
    except DecisionRefused:
        return False
    return True


def test_the_first_claim_makes_one_decider_and_a_release_opens_the_pool_again() -> None:
    gate = gate_of()
    assert decides(gate, MEMBER_1) and decides(gate, MEMBER_2)

    hand(gate, CLAIM, MEMBER_1)

    assert gate.claimed_by == MEMBER_1 and gate.deciders == [MEMBER_1]
    assert decides(gate, MEMBER_1) and not decides(gate, MEMBER_2)
    with pytest.raises(DecisionRefused, match="claimed this request: only they decide"):
        gate.check(DecisionKind.APPROVE, MEMBER_2, 1, TEAM, "", PENDING, member_of=CHANNEL)
    refused(gate, "already claimed this request", CLAIM, MEMBER_2)
    refused(gate, "You already claimed", CLAIM, MEMBER_1)
    refused(gate, "Only <@U0MEMBER1>, who claimed this request, can release it", RELEASE, MEMBER_2)

    hand(gate, RELEASE, MEMBER_1)

    assert gate.claimed_by is None and decides(gate, MEMBER_2)
    assert [(h.kind, h.user_id) for h in gate.handoffs] == [(CLAIM, MEMBER_1), (RELEASE, MEMBER_1)]
    refused(gate, "Nobody has claimed", RELEASE, MEMBER_1)


def test_a_claim_follows_the_rule_of_who_may_decide() -> None:
    gate = gate_of()
    refused(gate, REQUESTER_REFUSAL, CLAIM, REQUESTER)
    refused(gate, NOT_A_MEMBER, CLAIM, OUTSIDER, member=False)


def test_nothing_to_claim_where_approvers_are_named_or_a_quorum_is_needed() -> None:
    refused(gate_of((APPROVER_1, APPROVER_2)), "names its approvers: there is nothing to claim", CLAIM, APPROVER_1)
    refused(gate_of(required=2), "needs 2 approvals: one person cannot claim it", CLAIM, MEMBER_1)


def test_a_run_from_before_routing_refuses_every_handoff() -> None:
    gate = gate_of(routing=False)
    refused(gate, "started before claiming and delegating existed", CLAIM, MEMBER_1)
    refused(gate, "started before claiming and delegating existed", DELEGATE, MEMBER_1, MEMBER_2)


def test_a_delegate_takes_the_approver_s_place_and_nobody_else_s() -> None:
    gate = gate_of((APPROVER_1, APPROVER_2), required=2)

    hand(gate, DELEGATE, APPROVER_1, MEMBER_1, reason="On leave")

    assert gate.named == [MEMBER_1, APPROVER_2] and gate.claimed_by is None
    assert decides(gate, MEMBER_1) and decides(gate, APPROVER_2) and not decides(gate, APPROVER_1)
    [record] = gate.handoffs
    assert (record.kind, record.user_id, record.to_user, record.reason) == (DELEGATE, APPROVER_1, MEMBER_1, "On leave")


def test_delegating_to_oneself_to_the_requester_or_to_a_decider_is_refused() -> None:
    gate = gate_of((APPROVER_1, APPROVER_2), required=2)
    refused(gate, "cannot delegate a request to yourself", DELEGATE, APPROVER_1, APPROVER_1)
    refused(gate, "<@U0REQUEST> requested this, so they cannot decide", DELEGATE, APPROVER_1, REQUESTER)
    refused(gate, "<@U0APPROV2> already decides", DELEGATE, APPROVER_1, APPROVER_2)
    refused(gate, "not one of the approvers", DELEGATE, OUTSIDER, MEMBER_1)
    refused(gate, "Choose the person", DELEGATE, APPROVER_1, None)
    gate.apply(DecisionKind.APPROVE, APPROVER_1, 1, "", PENDING)
    refused(gate, "You already approved", DELEGATE, APPROVER_1, MEMBER_1)


def test_in_a_pool_the_delegate_must_be_in_the_channel_and_takes_the_claim() -> None:
    gate = gate_of()
    refused(
        gate, "<@U0OUTSIDE> is not a member of this request's channel", DELEGATE, MEMBER_1, OUTSIDER, to_member=False
    )

    hand(gate, CLAIM, MEMBER_1)
    refused(gate, "claimed this request: only they decide", DELEGATE, MEMBER_2, MEMBER_1)
    hand(gate, DELEGATE, MEMBER_1, MEMBER_2)

    assert gate.claimed_by == MEMBER_2 and decides(gate, MEMBER_2) and not decides(gate, MEMBER_1)


def test_a_decided_or_closed_draft_takes_no_handoff() -> None:
    gate = gate_of()
    gate.apply(DecisionKind.APPROVE, MEMBER_1, 1, "", PENDING)
    refused(gate, "was already decided", CLAIM, MEMBER_2)
    with pytest.raises(DecisionRefused, match="already decided: it is approved"):
        gate_of().check_handoff(CLAIM, MEMBER_1, 1, TEAM, Phase.APPROVED, member_of=CHANNEL)
    with pytest.raises(DecisionRefused, match="That button is for revision 2"):
        gate_of().check_handoff(CLAIM, MEMBER_1, 2, TEAM, PENDING, member_of=CHANNEL)


def test_stepping_aside_leaves_the_others_or_releases_a_claim() -> None:
    gate = gate_of((APPROVER_1, APPROVER_2))
    hand(gate, HandoffKind.STEP_ASIDE, APPROVER_1)
    assert gate.named == [APPROVER_2] and not decides(gate, APPROVER_1) and decides(gate, APPROVER_2)
    # The last approver cannot step aside: nobody would be left to approve.
    refused(gate, "only 0 approver\\(s\\) are left for 1 approvals", HandoffKind.STEP_ASIDE, APPROVER_2)

    pool = gate_of()
    refused(pool, "Nobody is named on this request", HandoffKind.STEP_ASIDE, MEMBER_1)
    hand(pool, CLAIM, MEMBER_1)
    hand(pool, HandoffKind.STEP_ASIDE, MEMBER_1)
    assert pool.claimed_by is None and decides(pool, MEMBER_2)


def test_absent_approvers_go_to_their_delegate_else_to_the_others_as_the_rules_allow() -> None:
    gate = gate_of((APPROVER_1, APPROVER_2, MEMBER_1), required=2)
    gate.route_around(
        [
            # The requester cannot be a delegate: approver 1 steps aside instead (two are left for two approvals).
            (APPROVER_1, REQUESTER, "Away until 2026-12-24."),
            # Nobody would be left for the quorum: approver 2 stays.
            (APPROVER_2, None, "Away until 2026-12-24."),
            (OUTSIDER, MEMBER_2, "not an approver here"),
        ],
        PENDING,
    )
    assert gate.named == [APPROVER_2, MEMBER_1]
    assert [(h.kind, h.user_id, h.reason) for h in gate.handoffs] == [
        (HandoffKind.STEP_ASIDE, APPROVER_1, "Away until 2026-12-24.")
    ]

    gate = gate_of((APPROVER_1, APPROVER_2))
    gate.route_around([(APPROVER_1, MEMBER_1, "Away until 2026-12-24.")], PENDING)
    assert gate.named == [MEMBER_1, APPROVER_2] and gate.handoffs[0].to_user == MEMBER_1


def test_a_user_group_pool_counts_membership_of_the_group_not_the_channel() -> None:
    gate = ApprovalGate(ApprovalPolicy(approver_group="S0LEADS"), REQUESTER, TEAM, channel_id=CHANNEL)
    gate.routing = True
    gate.open(1)
    assert gate.pooled and gate.pool_id == "S0LEADS"
    # Checked against the channel (a bot that looked in the wrong place): counts for nothing.
    refused(gate, "Only members of <!subteam\\^S0LEADS> may decide", CLAIM, MEMBER_1)
    gate.check_handoff(CLAIM, MEMBER_1, 1, TEAM, PENDING, member_of="S0LEADS")
    assert not decides(gate, MEMBER_1)
    gate.check(DecisionKind.APPROVE, MEMBER_1, 1, TEAM, "", PENDING, member_of="S0LEADS")
