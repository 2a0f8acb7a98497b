"""The approval gate's pure decisions, without a workflow around it.

``check`` (the update validators' rules), ``apply`` and the quorum, ``open`` and
the operator's signals are plain state changes; only their timestamps come from
``workflow.now()``, which works inside a workflow alone, so a fixed clock stands
in for it here. The reminder and deadline waits (``workflow.wait_condition``)
are the workflow tests' business, not these.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio import workflow as temporal_workflow

from bot.listeners.home import may_decide
from signoff.contracts.workflow_io import (
    MAX_NOTES_CHARS,
    MAX_WAIT,
    TERMINAL_PHASES,
    ApprovalPolicy,
    DecisionKind,
    DecisionRecord,
    HandoffRecord,
    Phase,
    Progress,
    WorkflowKind,
)
from workflows.approval import OPERATOR, ApprovalGate, DecisionRefused, GateOutcome, GateResult

REQUESTER = "U0REQUEST"
APPROVER_1 = "U0APPROV1"
APPROVER_2 = "U0APPROV2"
APPROVER_3 = "U0APPROV3"
OUTSIDER = "U0OUTSIDE"
TEAM = "T0SANDBOX"
# The request's channel; ``check`` says the decider is in it unless a test says otherwise.
CHANNEL = "C0GENERAL"
OTHER_TEAM = "T0ELSEWHERE"

APPROVE = DecisionKind.APPROVE
REVISE = DecisionKind.REQUEST_REVISION
REJECT = DecisionKind.REJECT
PENDING = Phase.PENDING_APPROVAL
# Notes each kind needs to pass ``check``: a revision request must say what should change.
VALID_NOTES = {APPROVE: "", REVISE: "Shorten the intro.", REJECT: "Out of scope."}


class Clock:
    """Stands in for ``workflow.now()``; a test moves it on by hand."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(temporal_workflow, "now", lambda: fake.now)
    return fake


def make_gate(
    approvers: tuple[str, ...] = (APPROVER_1, APPROVER_2, APPROVER_3),
    required: int = 1,
    revision: int | None = 1,
) -> ApprovalGate:
    gate = ApprovalGate(
        ApprovalPolicy(approvers=list(approvers), required_approvals=required), REQUESTER, TEAM, channel_id=CHANNEL
    )
    if revision is not None:
        gate.open(revision)
    return gate


def check(
    gate: ApprovalGate,
    user: str,
    kind: DecisionKind = APPROVE,
    revision: int = 1,
    team: str | None = TEAM,
    notes: str | None = None,
    phase: Phase = PENDING,
    member_of: str | None = CHANNEL,
) -> None:
    gate.check(kind, user, revision, team, VALID_NOTES[kind] if notes is None else notes, phase, member_of=member_of)


def decide(gate: ApprovalGate, user: str, kind: DecisionKind = APPROVE, notes: str | None = None) -> None:
    """What the workflow's update does: validate, then apply on the open revision."""
    notes = VALID_NOTES[kind] if notes is None else notes
    assert gate.open_revision is not None
    check(gate, user, kind, gate.open_revision, notes=notes)
    gate.apply(kind, user, gate.open_revision, notes, PENDING)


def result_of(gate: ApprovalGate) -> GateResult | None:
    """The round's result, which ``wait()`` hands back as soon as it is set."""
    return gate._result


# ---------------------------------------------------------------------------
# check: who may decide, and when
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(DecisionKind))
def test_check_accepts_an_approver_on_the_open_revision_and_changes_nothing(kind: DecisionKind) -> None:
    gate = make_gate()

    check(gate, APPROVER_1, kind)

    assert gate.approvals == [] and gate.decisions == [] and result_of(gate) is None


@pytest.mark.parametrize("kind", list(DecisionKind))
def test_check_refuses_the_requester_even_when_listed_as_an_approver(kind: DecisionKind) -> None:
    gate = make_gate(approvers=(REQUESTER, APPROVER_1))

    with pytest.raises(DecisionRefused, match="someone else has to decide"):
        check(gate, REQUESTER, kind)


@pytest.mark.parametrize("kind", list(DecisionKind))
def test_check_refuses_someone_outside_the_approver_list(kind: DecisionKind) -> None:
    gate = make_gate(approvers=(APPROVER_1, APPROVER_2))

    with pytest.raises(DecisionRefused, match="not one of the approvers"):
        check(gate, OUTSIDER, kind)


def test_check_without_an_approver_list_lets_anyone_but_the_requester_decide() -> None:
    gate = make_gate(approvers=())

    check(gate, OUTSIDER)
    with pytest.raises(DecisionRefused, match="someone else"):
        check(gate, REQUESTER)


@pytest.mark.parametrize("stale", [0, 2, 7])
def test_check_refuses_a_button_for_another_revision(stale: int) -> None:
    gate = make_gate(revision=1)

    with pytest.raises(DecisionRefused, match=f"for revision {stale}, but revision 1 is the current draft"):
        check(gate, APPROVER_1, revision=stale)


def test_check_refuses_the_previous_revision_once_a_new_one_is_open() -> None:
    gate = make_gate()
    decide(gate, APPROVER_1, REVISE)
    gate.open(2)

    with pytest.raises(DecisionRefused, match="for revision 1, but revision 2"):
        check(gate, APPROVER_2, revision=1)
    check(gate, APPROVER_2, revision=2)


@pytest.mark.parametrize("kind", list(DecisionKind))
def test_check_refuses_while_no_draft_is_open(kind: DecisionKind) -> None:
    gate = make_gate(revision=None)

    with pytest.raises(DecisionRefused, match="No draft is waiting"):
        check(gate, APPROVER_1, kind)


@pytest.mark.parametrize("phase", sorted(TERMINAL_PHASES))
def test_check_refuses_once_the_workflow_has_finished(phase: Phase) -> None:
    gate = make_gate()

    with pytest.raises(DecisionRefused, match=f"already decided: it is {phase.value.replace('_', ' ')}"):
        check(gate, APPROVER_1, phase=phase)


@pytest.mark.parametrize(
    ("kind", "shown"),
    [(APPROVE, "approved"), (REVISE, "revision requested"), (REJECT, "rejected")],
)
def test_check_refuses_every_decision_once_the_round_is_decided(kind: DecisionKind, shown: str) -> None:
    gate = make_gate()
    decide(gate, APPROVER_1, kind)

    for late in DecisionKind:
        with pytest.raises(DecisionRefused, match=f"Revision 1 was already decided \\({shown}\\)"):
            check(gate, APPROVER_2, late)


def test_check_refuses_a_click_from_another_workspace() -> None:
    gate = make_gate()

    with pytest.raises(DecisionRefused, match="another Slack workspace"):
        check(gate, APPROVER_1, team=OTHER_TEAM)


@pytest.mark.parametrize("team", [TEAM, None, ""])
def test_check_accepts_the_same_workspace_or_a_click_without_one(team: str | None) -> None:
    check(make_gate(), APPROVER_1, team=team)


def test_check_cannot_tell_workspaces_apart_when_the_request_has_none() -> None:
    gate = ApprovalGate(ApprovalPolicy(approvers=[APPROVER_1]), requester_id=None, team_id=None)
    gate.open(1)

    check(gate, APPROVER_1, team=OTHER_TEAM)


@pytest.mark.parametrize("notes", ["", "   ", "\n\t \n"])
def test_check_refuses_a_revision_request_without_notes(notes: str) -> None:
    with pytest.raises(DecisionRefused, match="Revision notes cannot be empty"):
        check(make_gate(), APPROVER_1, REVISE, notes=notes)


def test_check_accepts_a_reject_without_a_reason() -> None:
    check(make_gate(), APPROVER_1, REJECT, notes="")


@pytest.mark.parametrize("kind", [REVISE, REJECT])
def test_check_takes_notes_up_to_the_limit_and_refuses_one_more(kind: DecisionKind) -> None:
    gate = make_gate()

    check(gate, APPROVER_1, kind, notes="n" * MAX_NOTES_CHARS)
    with pytest.raises(DecisionRefused, match=f"{MAX_NOTES_CHARS + 1:,} characters; the limit is {MAX_NOTES_CHARS:,}"):
        check(gate, APPROVER_1, kind, notes="n" * (MAX_NOTES_CHARS + 1))


def test_check_refuses_a_second_approval_by_the_same_person() -> None:
    gate = make_gate(required=2)
    decide(gate, APPROVER_1)

    with pytest.raises(DecisionRefused, match=r"already approved revision 1 \(1 of 2\)"):
        check(gate, APPROVER_1)
    assert gate.approvals == [APPROVER_1] and result_of(gate) is None


@pytest.mark.parametrize("kind", [REVISE, REJECT])
def test_an_approver_who_already_approved_may_still_ask_for_changes_or_reject(kind: DecisionKind) -> None:
    gate = make_gate(required=2)
    decide(gate, APPROVER_1)

    check(gate, APPROVER_1, kind)


# ---------------------------------------------------------------------------
# apply and the quorum
# ---------------------------------------------------------------------------


def test_one_approval_meets_a_quorum_of_one(clock: Clock) -> None:
    gate = make_gate()

    receipt = gate.apply(APPROVE, APPROVER_1, 1, "", PENDING)

    assert (receipt.kind, receipt.revision, receipt.approvals, receipt.required_approvals) == (
        APPROVE,
        1,
        [APPROVER_1],
        1,
    )
    assert receipt.quorum_met
    assert result_of(gate) == GateResult(GateOutcome.APPROVED, 1, [APPROVER_1])
    assert gate.decisions == [DecisionRecord(APPROVE, APPROVER_1, 1, clock.now, "")]


def test_the_quorum_needs_m_distinct_approvers_of_the_same_revision() -> None:
    gate = make_gate(required=3)

    first = gate.apply(APPROVE, APPROVER_1, 1, "", PENDING)
    second = gate.apply(APPROVE, APPROVER_2, 1, "", PENDING)

    assert (first.approvals, first.quorum_met) == ([APPROVER_1], False)
    assert (second.approvals, second.quorum_met) == ([APPROVER_1, APPROVER_2], False)
    assert result_of(gate) is None
    check(gate, APPROVER_3)  # the round is still open to the third

    third = gate.apply(APPROVE, APPROVER_3, 1, "", PENDING)

    assert third.quorum_met
    assert result_of(gate) == GateResult(GateOutcome.APPROVED, 1, [APPROVER_1, APPROVER_2, APPROVER_3])


def test_a_receipt_keeps_the_approvals_as_they_were_when_it_was_given() -> None:
    gate = make_gate(required=2)
    first = gate.apply(APPROVE, APPROVER_1, 1, "", PENDING)

    gate.apply(APPROVE, APPROVER_2, 1, "", PENDING)

    assert first.approvals == [APPROVER_1]


def test_a_second_approval_by_the_same_person_never_reaches_the_quorum() -> None:
    gate = make_gate(required=2)
    decide(gate, APPROVER_1)

    with pytest.raises(DecisionRefused):
        decide(gate, APPROVER_1)

    assert gate.approvals == [APPROVER_1]
    assert len(gate.decisions) == 1
    assert result_of(gate) is None


def test_approvals_do_not_carry_over_to_the_next_revision() -> None:
    gate = make_gate(required=2)
    decide(gate, APPROVER_1)
    decide(gate, APPROVER_2, REVISE)
    gate.open(2)

    decide(gate, APPROVER_1)

    assert gate.approvals == [APPROVER_1]
    assert result_of(gate) is None
    decide(gate, APPROVER_2)
    assert result_of(gate) == GateResult(GateOutcome.APPROVED, 2, [APPROVER_1, APPROVER_2])


def test_a_revision_request_ends_the_round_before_the_quorum() -> None:
    gate = make_gate(required=2)
    decide(gate, APPROVER_1)

    receipt = gate.apply(REVISE, APPROVER_2, 1, "  Add the 2024 figures.\n", PENDING)

    assert not receipt.quorum_met
    assert result_of(gate) == GateResult(GateOutcome.REVISION_REQUESTED, 1, [APPROVER_2], "Add the 2024 figures.")


def test_a_reject_ends_the_round_before_the_quorum() -> None:
    gate = make_gate(required=2)
    decide(gate, APPROVER_1)

    gate.apply(REJECT, APPROVER_2, 1, " Not worth it. ", PENDING)

    assert result_of(gate) == GateResult(GateOutcome.REJECTED, 1, [APPROVER_2], "Not worth it.")


def test_apply_records_every_decision_in_order_with_its_time_and_trimmed_notes(clock: Clock) -> None:
    gate = make_gate(required=2)
    gate.apply(APPROVE, APPROVER_1, 1, "", PENDING)
    clock.advance(timedelta(minutes=5))

    gate.apply(REVISE, APPROVER_2, 1, "\tMore sources. ", PENDING)

    start = clock.now - timedelta(minutes=5)
    assert gate.decisions == [
        DecisionRecord(APPROVE, APPROVER_1, 1, start, ""),
        DecisionRecord(REVISE, APPROVER_2, 1, clock.now, "More sources."),
    ]


def test_open_starts_a_fresh_round_with_its_own_clock(clock: Clock) -> None:
    gate = make_gate(required=2)
    started = clock.now
    decide(gate, APPROVER_1)
    decide(gate, APPROVER_2, REJECT)
    gate.reminders_sent, gate.escalated = 3, True
    clock.advance(timedelta(hours=30))

    gate.open(2)

    assert gate.open_revision == 2
    assert gate.approvals == [] and result_of(gate) is None
    assert (gate.waiting_since, gate.reminders_sent, gate.escalated) == (clock.now, 0, False)
    assert [d.at for d in gate.decisions] == [started, started]  # the history stays


async def test_wait_on_a_decided_round_announces_each_decision_and_returns_at_once() -> None:
    """No timer is needed when the result is already in: nothing of Temporal's runs."""
    announced: list[tuple[DecisionKind, str, list[str]]] = []

    class Hooks:
        async def on_decision(self, record: DecisionRecord, approvals: list[str]) -> None:
            announced.append((record.kind, record.user_id, approvals))

        async def on_handoff(self, record: HandoffRecord) -> None:
            raise AssertionError("nobody claimed or delegated")

        async def on_reminder(self, reminder_number: int, escalate: bool, last: bool) -> None:
            raise AssertionError("no reminder is due")

    gate = make_gate(required=2)
    decide(gate, APPROVER_1)
    decide(gate, APPROVER_2)

    result = await gate.wait(Hooks())

    assert result == GateResult(GateOutcome.APPROVED, 1, [APPROVER_1, APPROVER_2])
    assert announced == [
        (APPROVE, APPROVER_1, [APPROVER_1, APPROVER_2]),
        (APPROVE, APPROVER_2, [APPROVER_1, APPROVER_2]),
    ]
    with pytest.raises(DecisionRefused, match="No draft is waiting"):
        check(gate, APPROVER_3)


# ---------------------------------------------------------------------------
# The operator's decisions (signals): trusted, no quorum, current or next draft
# ---------------------------------------------------------------------------


def test_an_operator_approval_is_final_whatever_the_quorum() -> None:
    gate = make_gate(required=3)
    decide(gate, APPROVER_1)

    gate.operator_decision(APPROVE)

    assert result_of(gate) == GateResult(GateOutcome.APPROVED, 1, [APPROVER_1, OPERATOR])
    assert [(d.kind, d.user_id, d.revision) for d in gate.decisions] == [
        (APPROVE, APPROVER_1, 1),
        (APPROVE, OPERATOR, 1),
    ]


@pytest.mark.parametrize(
    ("kind", "outcome"), [(REVISE, GateOutcome.REVISION_REQUESTED), (REJECT, GateOutcome.REJECTED)]
)
def test_an_operator_revision_request_or_reject_ends_the_open_round(kind: DecisionKind, outcome: GateOutcome) -> None:
    gate = make_gate(required=2)

    gate.operator_decision(kind, " From the CLI. ")

    assert result_of(gate) == GateResult(outcome, 1, [OPERATOR], "From the CLI.")


def test_an_operator_decision_before_any_draft_applies_to_the_first_one() -> None:
    gate = make_gate(revision=None)

    gate.operator_decision(REJECT, "Cancelled upstream.")

    assert gate.decisions == [] and result_of(gate) is None
    gate.open(1)
    assert result_of(gate) == GateResult(GateOutcome.REJECTED, 1, [OPERATOR], "Cancelled upstream.")


def test_an_operator_decision_after_the_round_is_decided_waits_for_the_next_draft() -> None:
    gate = make_gate()
    decide(gate, APPROVER_1, REVISE, "Tighter, please.")

    gate.operator_decision(APPROVE)

    assert result_of(gate) == GateResult(GateOutcome.REVISION_REQUESTED, 1, [APPROVER_1], "Tighter, please.")
    assert len(gate.decisions) == 1
    gate.open(2)
    assert result_of(gate) == GateResult(GateOutcome.APPROVED, 2, [OPERATOR])


def test_a_queued_operator_decision_is_used_once() -> None:
    gate = make_gate(revision=None)
    gate.operator_decision(REVISE, "Redo it.")
    gate.open(1)

    gate.open(2)

    assert result_of(gate) is None
    assert [d.revision for d in gate.decisions] == [1]


# ---------------------------------------------------------------------------
# may_decide: the App Home's copy of the rules, for listing drafts
# ---------------------------------------------------------------------------


def progress(
    phase: Phase = PENDING,
    revision: int = 1,
    approvers: tuple[str, ...] = (APPROVER_1, APPROVER_2),
    approvals: tuple[str, ...] = (),
    required: int = 2,
) -> Progress:
    return Progress(
        workflow_id="report-T0SANDBOX-C0GENERAL-1",
        kind=WorkflowKind.REPORT,
        subject="Solar power in Europe",
        phase=phase,
        requester_id=REQUESTER,
        approvers=list(approvers),
        required_approvals=required,
        revision=revision,
        approvals=list(approvals),
    )


@pytest.mark.parametrize(
    ("state", "user", "expected"),
    [
        (progress(), APPROVER_1, True),
        (progress(approvers=()), OUTSIDER, True),
        (progress(), OUTSIDER, False),
        (progress(), REQUESTER, False),
        (progress(approvers=()), REQUESTER, False),
        (progress(approvals=(APPROVER_1,)), APPROVER_1, False),
        (progress(approvals=(APPROVER_1,)), APPROVER_2, True),
        (progress(revision=0), APPROVER_1, False),
        (progress(phase=Phase.REVISING), APPROVER_1, False),
        (progress(phase=Phase.WRITING), APPROVER_1, False),
        (progress(phase=Phase.APPROVED), APPROVER_1, False),
        (progress(phase=Phase.CANCELLED), APPROVER_1, False),
    ],
)
def test_may_decide(state: Progress, user: str, expected: bool) -> None:
    assert may_decide(state, user, channel_member=True) is expected


@pytest.mark.parametrize("member", [True, False])
@pytest.mark.parametrize("approvers", [(), (APPROVER_1, APPROVER_2)])
@pytest.mark.parametrize("user", [REQUESTER, APPROVER_1, APPROVER_2, OUTSIDER])
def test_may_decide_lists_a_draft_exactly_when_the_gate_would_take_an_approval(
    approvers: tuple[str, ...], user: str, member: bool
) -> None:
    gate = make_gate(approvers=approvers, required=2)
    decide(gate, APPROVER_1)
    state = progress(approvers=approvers, approvals=tuple(gate.approvals))

    try:
        check(gate, user, member_of=CHANNEL if member else None)
    except DecisionRefused:
        accepted = False
    else:
        accepted = True

    assert may_decide(state, user, channel_member=member) is accepted


def test_a_rejection_needs_a_reason_where_the_policy_says_so() -> None:
    gate = ApprovalGate(ApprovalPolicy(reject_reason_required=True), REQUESTER, TEAM, channel_id=CHANNEL)
    gate.open_revision = 1
    with pytest.raises(DecisionRefused, match="needs a reason"):
        gate.check(DecisionKind.REJECT, APPROVER_1, 1, TEAM, "  ", Phase.PENDING_APPROVAL, member_of=CHANNEL)
    gate.check(DecisionKind.REJECT, APPROVER_1, 1, TEAM, "Too late", Phase.PENDING_APPROVAL, member_of=CHANNEL)


def test_a_deadline_past_any_timestamp_reads_capped_while_the_draft_is_being_posted(clock: Clock) -> None:
    """Between ``open`` and the wait's first step (the draft's post is in flight) a query reads the
    deadline; with a policy from before the bounds it overflowed there and the query failed
    ("date value out of range"): a status, Home or test poll at that moment got an error."""
    forever = timedelta(days=100_000_000)
    gate = ApprovalGate(
        ApprovalPolicy(decision_deadline=forever, reminder_interval=forever), REQUESTER, TEAM, channel_id=CHANNEL
    )
    gate.open(1)
    assert gate.deadline == clock.now + MAX_WAIT
