"""The human decision both workflows wait for: who may decide, quorum, reminders, deadline.

``ApprovalGate`` is plain workflow-side state plus one ``wait`` coroutine. It
never talks to Slack itself; it calls back into ``GateHooks`` (implemented by
the workflow with activities) so that reminder and decision messages are
durable side effects in the workflow's history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from signoff.contracts.access import NOT_A_MEMBER, decision_refusal, member_of_channel, pool_of
from signoff.contracts.mrkdwn import mention
from signoff.contracts.workflow_io import (
    MAX_ESCALATIONS,
    MAX_NOTES_CHARS,
    MAX_WAIT,
    MIN_WAIT,
    ApprovalPolicy,
    DecisionKind,
    DecisionReceipt,
    DecisionRecord,
    HandoffKind,
    HandoffRecord,
    Phase,
)
from workflows.patches import BOUNDED_GATE_PATCH, TIMER_DRIVEN_GATE_PATCH
from workflows.runtime import durable

# Decisions that arrive through the article's signals carry no Slack user.
OPERATOR = "temporal-operator"


class GateOutcome(StrEnum):
    APPROVED = "approved"
    REVISION_REQUESTED = "revision_requested"
    REJECTED = "rejected"
    EXPIRED = "expired"


@dataclass
class GateResult:
    outcome: GateOutcome
    revision: int
    decided_by: list[str] = field(default_factory=list)
    notes: str = ""


@dataclass(frozen=True)
class GateWords:
    """What the refusals call the thing decided and the two outcomes (a draft's revision by default)."""

    item: str = "revision"
    approved: str = "approved"
    rejected: str = "rejected"

    def outcome(self, outcome: GateOutcome) -> str:
        if outcome is GateOutcome.APPROVED:
            return self.approved
        if outcome is GateOutcome.REJECTED:
            return self.rejected
        return outcome.value.replace("_", " ")


DRAFT_WORDS = GateWords()


def checked_channel(decision: object, request_channel: str | None) -> str | None:
    """The channel the bot found the decider a member of (a decision's ``member_of``).

    A decision pickled before that field existed has none in its ``__dict__``: DBOS re-reading, as it
    recovers a workflow, a message it accepted under the earlier rule (anyone but the requester).
    It is judged as it was then, so the recovered run takes the same steps. A decision decoded from
    JSON (Temporal) always has the field, ``None`` when its sender left it out."""
    if "member_of" not in vars(decision):
        return request_channel
    member_of = getattr(decision, "member_of", None)
    return member_of if isinstance(member_of, str) else None


def pool_group_of(policy: ApprovalPolicy) -> str | None:
    """The user group whose members are a policy's pool (SIGNOFF_APPROVER_GROUP), when it names nobody."""
    # getattr: a policy pickled before the field (a DBOS run's input) has none.
    group = getattr(policy, "approver_group", None)
    return group if group and not policy.approvers else None


class DecisionRefused(ValueError):
    """Raised by update validators; the message is shown to the clicker as is."""


class GateHooks(Protocol):
    async def on_decision(self, record: DecisionRecord, approvals: list[str]) -> None: ...

    async def on_handoff(self, record: HandoffRecord) -> None:
        """Who decides changed (a claim, a release, a delegation)."""

    async def on_reminder(self, reminder_number: int, escalate: bool, last: bool) -> None:
        """``last``: nobody is pinged after this one (``last_reminder_note`` says so)."""


class ApprovalGate:
    def __init__(
        self,
        policy: ApprovalPolicy,
        requester_id: str | None,
        team_id: str | None,
        words: GateWords = DRAFT_WORDS,
        *,
        channel_id: str | None = None,
    ):
        self.policy = policy
        self.words = words
        self.requester_id = requester_id
        self.team_id = team_id
        # The request's channel: with no approvers named, its members decide (signoff/contracts/access.py).
        # The workflow sets the thread's own id once it is posted.
        self.channel_id = channel_id
        self.open_revision: int | None = None
        self.approvals: list[str] = []
        self.decisions: list[DecisionRecord] = []
        self.waiting_since: datetime | None = None
        self.reminders_sent = 0
        self.escalated = False
        # Whether this gate keeps to BOUNDED_GATE_PATCH's schedule: None until its first wait asks.
        # A query in between (the draft is being posted) shows the bounded schedule, the one every
        # run that has not asked yet takes; the unbounded one could overflow a timestamp there.
        self._bounded: bool | None = None
        self._result: GateResult | None = None
        self._unannounced: list[DecisionRecord] = []
        # Signals (the article's API) may arrive before a draft is open; they apply to the next one.
        self._queued_operator_decision: tuple[DecisionKind, str] | None = None
        # Routing (ROUTING_PATCH; the workflow turns it on as a draft opens): the named deciders with
        # any delegate in place of whom they stand for, the pool's claimer, and every change of hands.
        self.routing = False
        self.named: list[str] = list(policy.approvers)
        self.claimed_by: str | None = None
        self.handoffs: list[HandoffRecord] = []
        self._unannounced_handoffs: list[HandoffRecord] = []

    # --- validation: raises DecisionRefused, never changes state -------------------------

    def check(
        self,
        kind: DecisionKind,
        user_id: str,
        revision: int,
        team_id: str | None,
        notes: str,
        phase: Phase,
        *,
        member_of: str | None = None,
    ) -> None:
        """Refuse (``DecisionRefused``) a decision the rules do not allow; ``member_of`` is the channel
        the bot found ``user_id`` in (None: not checked, so not a member)."""
        self._check_open(revision, team_id, phase)
        self._check_decider(user_id, member_of)
        if kind is DecisionKind.APPROVE and user_id in self.approvals:
            raise DecisionRefused(
                f"You already {self.words.approved} {self.words.item} {revision} "
                f"({len(self.approvals)} of {self.policy.required_approvals})."
            )
        if kind is DecisionKind.REQUEST_REVISION and not notes.strip():
            raise DecisionRefused("Revision notes cannot be empty: say what should change.")
        if kind is DecisionKind.REJECT and self.policy.reject_reason_required and not notes.strip():
            raise DecisionRefused("A rejection needs a reason here: say why.")
        if len(notes) > MAX_NOTES_CHARS:
            raise DecisionRefused(f"Notes are {len(notes):,} characters; the limit is {MAX_NOTES_CHARS:,}.")

    def _check_open(self, revision: int, team_id: str | None, phase: Phase) -> None:
        if phase.is_terminal:
            raise DecisionRefused(f"This was already decided: it is {phase.value.replace('_', ' ')}.")
        if self.open_revision is None:
            raise DecisionRefused("No draft is waiting for a decision right now; a new revision is being prepared.")
        if self._result is not None:
            raise DecisionRefused(
                f"{self.words.item.capitalize()} {self.open_revision} was already decided "
                f"({self.words.outcome(self._result.outcome)})."
            )
        if revision != self.open_revision:
            raise DecisionRefused(
                f"That button is for revision {revision}, but revision {self.open_revision} "
                "is the current draft. Use the buttons on the latest draft."
            )
        if team_id and self.team_id and team_id != self.team_id:
            raise DecisionRefused("This request belongs to another Slack workspace.")

    def _check_decider(self, user_id: str, member_of: str | None) -> None:
        if self.claimed_by is not None and user_id != self.claimed_by:
            raise DecisionRefused(f"{mention(self.claimed_by)} claimed this request: only they decide on it now.")
        refusal = decision_refusal(
            user_id,
            self.requester_id,
            self.deciders,
            channel_member=member_of_channel(member_of, self.pool_id),
        )
        if refusal == NOT_A_MEMBER and self.pool_group is not None:
            refusal = f"Only members of {mention(self.pool_group)} may decide on this request."
        if refusal is not None:
            raise DecisionRefused(refusal)

    @property
    def pool_group(self) -> str | None:
        """The user group whose members are the pool (SIGNOFF_APPROVER_GROUP), when nobody is named."""
        return pool_group_of(self.policy)

    @property
    def pool_id(self) -> str | None:
        """Where the pool's members are checked: the user group, else the request's channel."""
        return pool_of(self.channel_id, self.pool_group)

    @property
    def deciders(self) -> list[str]:
        """The named people who decide now: the claimer, else the approvers with delegates in place
        (empty: the channel's members, the pool)."""
        return [self.claimed_by] if self.claimed_by is not None else list(self.named)

    @property
    def pooled(self) -> bool:
        """Nobody is named: the channel's members are the pool, one of whom may claim it."""
        return not self.named

    # --- routing: claim, release, delegate (validated like decisions, never change state when refused) ---

    def check_handoff(
        self,
        kind: HandoffKind,
        user_id: str,
        revision: int,
        team_id: str | None,
        phase: Phase,
        *,
        member_of: str | None = None,
        to_user: str | None = None,
        to_member_of: str | None = None,
        reason: str = "",
    ) -> None:
        """Refuse (``DecisionRefused``) a claim, release or delegation the rules do not allow."""
        if not self.routing:
            raise DecisionRefused(
                "This request was started before claiming and delegating existed: decide on it, or start it again."
            )
        self._check_open(revision, team_id, phase)
        if kind is HandoffKind.CLAIM:
            self._check_claim(user_id, member_of)
        elif kind is HandoffKind.RELEASE:
            if self.claimed_by is None:
                raise DecisionRefused("Nobody has claimed this request: there is nothing to release.")
            if user_id != self.claimed_by:
                raise DecisionRefused(f"Only {mention(self.claimed_by)}, who claimed this request, can release it.")
        elif kind is HandoffKind.STEP_ASIDE:
            self._check_step_aside(user_id, member_of)
        else:
            self._check_delegate(user_id, member_of, to_user, to_member_of, reason)

    def _check_claim(self, user_id: str, member_of: str | None) -> None:
        if not self.pooled:
            raise DecisionRefused("This request names its approvers: there is nothing to claim.")
        if self.policy.required_approvals > 1:
            raise DecisionRefused(
                f"This request needs {self.policy.required_approvals} approvals: one person cannot claim it."
            )
        if self.claimed_by == user_id:
            raise DecisionRefused("You already claimed this request.")
        if self.claimed_by is not None:
            raise DecisionRefused(f"{mention(self.claimed_by)} already claimed this request.")
        self._check_decider(user_id, member_of)

    def _check_step_aside(self, user_id: str, member_of: str | None) -> None:
        self._check_decider(user_id, member_of)
        if self.claimed_by == user_id:
            return
        if self.pooled:
            raise DecisionRefused("Nobody is named on this request: there is nothing to step out of.")
        if user_id in self.approvals:
            raise DecisionRefused(f"You already {self.words.approved} {self.words.item} {self.open_revision}.")
        others = [person for person in self.named if person != user_id]
        if len(others) < self.policy.required_approvals:
            raise DecisionRefused(
                f"Without you only {len(others)} approver(s) are left for {self.policy.required_approvals} "
                "approvals: delegate it to someone instead."
            )

    def _check_delegate(
        self, user_id: str, member_of: str | None, to_user: str | None, to_member_of: str | None, reason: str
    ) -> None:
        if not to_user:
            raise DecisionRefused("Choose the person to hand this request to.")
        if to_user == user_id:
            raise DecisionRefused("You cannot delegate a request to yourself.")
        self._check_decider(user_id, member_of)
        if user_id in self.approvals:
            raise DecisionRefused(f"You already {self.words.approved} {self.words.item} {self.open_revision}.")
        if to_user == self.requester_id:
            raise DecisionRefused(f"{mention(to_user)} requested this, so they cannot decide on it.")
        if to_user in self.deciders or to_user in self.approvals:
            raise DecisionRefused(f"{mention(to_user)} already decides on this request.")
        if self.pooled and not member_of_channel(to_member_of, self.pool_id):
            where = mention(self.pool_group) if self.pool_group else "this request's channel"
            raise DecisionRefused(f"{mention(to_user)} is not a member of {where}, so cannot decide.")
        if len(reason) > MAX_NOTES_CHARS:
            raise DecisionRefused(f"The reason is {len(reason):,} characters; the limit is {MAX_NOTES_CHARS:,}.")

    def apply_handoff(
        self,
        kind: HandoffKind,
        user_id: str,
        revision: int,
        phase: Phase,
        *,
        to_user: str | None = None,
        reason: str = "",
    ) -> DecisionReceipt:
        """Apply a checked claim, release or delegation; the thread is told as the gate waits."""
        record = HandoffRecord(
            kind=kind, user_id=user_id, revision=revision, at=durable().now(), to_user=to_user, reason=reason.strip()
        )
        if kind is HandoffKind.CLAIM:
            self.claimed_by = user_id
        elif kind is HandoffKind.RELEASE:
            self.claimed_by = None
        elif kind is HandoffKind.STEP_ASIDE:
            if self.claimed_by == user_id:
                self.claimed_by = None
            else:
                self.named = [person for person in self.named if person != user_id]
        else:
            assert to_user is not None, "check_handoff refuses a delegation without a delegate"
            if self.pooled:
                # In a pool the delegate takes the claim (claimed or not: they are its one decider now).
                self.claimed_by = to_user
            else:
                self.named = [to_user if person == user_id else person for person in self.named]
        self.handoffs.append(record)
        self._unannounced_handoffs.append(record)
        return DecisionReceipt(
            kind=DecisionKind.APPROVE,
            revision=revision,
            approvals=list(self.approvals),
            required_approvals=self.policy.required_approvals,
            phase=phase,
            handoff=kind,
            deciders=tuple(self.deciders),
        )

    def route_around(self, away: list[tuple[str, str | None, str]], phase: Phase) -> None:
        """Hand each absent approver's part (user, delegate or None, reason) to their delegate where the rules
        allow one, else to the other approvers where enough are left; else they stay (and are reminded)."""
        for user_id, delegate, reason in away:
            if user_id not in self.named:
                continue
            kind = HandoffKind.DELEGATE if delegate is not None else HandoffKind.STEP_ASIDE
            try:
                self.check_handoff(kind, user_id, self.open_revision or 0, None, phase, to_user=delegate)
            except DecisionRefused:
                if kind is HandoffKind.STEP_ASIDE:
                    continue
                kind, delegate = HandoffKind.STEP_ASIDE, None
                try:
                    self.check_handoff(kind, user_id, self.open_revision or 0, None, phase)
                except DecisionRefused:
                    continue
            self.apply_handoff(kind, user_id, self.open_revision or 0, phase, to_user=delegate, reason=reason)

    # --- applying an accepted decision ---------------------------------------------------

    def apply(
        self, kind: DecisionKind, user_id: str, revision: int, notes: str, phase: Phase, *, edited: bool = False
    ) -> DecisionReceipt:
        record = DecisionRecord(
            kind=kind, user_id=user_id, revision=revision, at=durable().now(), notes=notes.strip(), edited=edited
        )
        self.decisions.append(record)
        self._unannounced.append(record)
        if kind is DecisionKind.APPROVE:
            self.approvals.append(user_id)
            if len(self.approvals) >= self.policy.required_approvals:
                self._result = GateResult(GateOutcome.APPROVED, revision, list(self.approvals))
        elif kind is DecisionKind.REQUEST_REVISION:
            self._result = GateResult(GateOutcome.REVISION_REQUESTED, revision, [user_id], record.notes)
        else:
            self._result = GateResult(GateOutcome.REJECTED, revision, [user_id], record.notes)
        return DecisionReceipt(
            kind=kind,
            revision=revision,
            approvals=list(self.approvals),
            required_approvals=self.policy.required_approvals,
            phase=phase,
        )

    def operator_decision(self, kind: DecisionKind, notes: str = "") -> None:
        """A signal from the Temporal CLI or an old client: trusted, no quorum, current or next draft."""
        if self.open_revision is None or self._result is not None:
            self._queued_operator_decision = (kind, notes)
            return
        self._apply_operator(kind, notes)

    def _apply_operator(self, kind: DecisionKind, notes: str) -> None:
        assert self.open_revision is not None
        revision = self.open_revision
        self.apply(kind, OPERATOR, revision, notes, Phase.PENDING_APPROVAL)
        if kind is DecisionKind.APPROVE:
            # The operator's approval is final whatever the quorum.
            self._result = GateResult(GateOutcome.APPROVED, revision, list(self.approvals))

    # --- waiting ---------------------------------------------------------------------

    def open(self, revision: int) -> None:
        """Start accepting decisions on ``revision``; called before its draft is posted,
        so a click that races the post is already valid."""
        self.open_revision = revision
        self.approvals = []
        self._result = None
        # Each draft gets its own clock: a revision request is a decision, so the
        # reminders and the deadline start again for the new draft.
        self.waiting_since = durable().now()
        self.reminders_sent = 0
        self.escalated = False
        if self._queued_operator_decision is not None:
            kind, notes = self._queued_operator_decision
            self._queued_operator_decision = None
            self._apply_operator(kind, notes)

    async def wait(self, hooks: GateHooks) -> GateResult:
        """Wait for a decision on the open revision, reminding and escalating on a fixed schedule."""
        revision = self.open_revision
        assert revision is not None, "open() a revision before waiting on it"
        schedule_checked = False
        try:
            while True:
                while self._unannounced_handoffs:
                    await hooks.on_handoff(self._unannounced_handoffs.pop(0))
                while self._unannounced:
                    record = self._unannounced.pop(0)
                    await hooks.on_decision(record, list(self.approvals))
                if self._result is not None:
                    return self._result
                if not schedule_checked:
                    # Once per wait, when a timer is first needed (a decided round needs none).
                    self._bounded = await durable().patched_async(BOUNDED_GATE_PATCH)
                    schedule_checked = True
                due, expires = self._next_due()
                if due is None:
                    # No reminder left and no deadline: only a decision (or a cancel) ends the wait.
                    await durable().wait_condition(self._has_news)
                    continue
                try:
                    # A timer of zero would not fire; anything overdue fires at once.
                    timeout = max(due - durable().now(), timedelta(milliseconds=1))
                    await durable().wait_condition(self._has_news, timeout=timeout)
                except TimeoutError:
                    if not durable().patched(TIMER_DRIVEN_GATE_PATCH):
                        # Started before the patch: the clock decides, as it did then.
                        due_now, expires = self._due_by_clock()
                        if due_now is None:
                            continue
                    # The timer for `due` fired: act on it without comparing clocks again. An
                    # activation's timestamp can trail the timer by a little, and a branch on it
                    # then differed between the first run and a replay (nondeterminism, seen
                    # after a server restart).
                    if expires:
                        return GateResult(GateOutcome.EXPIRED, revision)
                    await self._remind(hooks)
        finally:
            self.open_revision = None

    @property
    def outcome(self) -> GateOutcome | None:
        """How the open revision was decided, once it was (before ``wait`` returns it)."""
        return self._result.outcome if self._result is not None else None

    def _has_news(self) -> bool:
        return bool(self._unannounced) or bool(self._unannounced_handoffs) or self._result is not None

    @property
    def deadline(self) -> datetime | None:
        """When the open draft expires unless someone decides (None: nothing open, or no deadline)."""
        return self._deadline() if self.open_revision is not None else None

    def _deadline(self) -> datetime | None:
        if self.policy.decision_deadline is None or self.waiting_since is None:
            return None
        if self._bounded is not False:
            return self.waiting_since + min(self.policy.decision_deadline, MAX_WAIT)
        return self.waiting_since + self.policy.decision_deadline

    @property
    def _reminders_at_most(self) -> int:
        """How many reminders a bounded wait sends: the plain ones, then MAX_ESCALATIONS escalations."""
        return self.policy.max_reminders + MAX_ESCALATIONS

    def _next_reminder_at(self) -> datetime | None:
        """When the next reminder is due; None when no reminder is left (BOUNDED_GATE_PATCH)."""
        assert self.waiting_since is not None
        number = self.reminders_sent + 1
        if self._bounded is False:
            return self.waiting_since + self.policy.reminder_interval * number
        if number > self._reminders_at_most:
            return None
        try:
            offset = max(self.policy.reminder_interval, MIN_WAIT) * number
        except OverflowError:
            return None
        # A reminder past the longest wait would overflow a timestamp or never come: it is not sent.
        return self.waiting_since + offset if offset <= MAX_WAIT else None

    def _next_due(self) -> tuple[datetime | None, bool]:
        """When the gate must act next (None: never), and whether that is the deadline (else a reminder)."""
        reminder = self._next_reminder_at()
        deadline = self._deadline()
        if deadline is not None and (reminder is None or deadline <= reminder):
            return deadline, True
        return reminder, False

    def _due_by_clock(self) -> tuple[datetime | None, bool]:
        """What is due at ``durable().now()``: the deadline, a reminder, or (None) nothing yet."""
        now = durable().now()
        deadline = self._deadline()
        if deadline is not None and now >= deadline:
            return deadline, True
        reminder = self._next_reminder_at()
        return (reminder, False) if reminder is not None and now >= reminder else (None, False)

    async def _remind(self, hooks: GateHooks) -> None:
        self.reminders_sent += 1
        escalate = self.reminders_sent > self.policy.max_reminders
        if escalate:
            self.escalated = True
        last = self._bounded is True and self.reminders_sent >= self._reminders_at_most
        await hooks.on_reminder(self.reminders_sent, escalate, last)

    def last_reminder_note(self) -> str:
        """What the last reminder adds: nobody else is pinged, and how the wait ends now."""
        deadline = self._deadline()
        ends = (
            f"it expires on {deadline.strftime('%Y-%m-%d %H:%M UTC')} unless someone decides first."
            if deadline is not None
            else "it waits until someone decides."
        )
        return f" That was the last reminder: nobody else will be pinged; {ends}"
