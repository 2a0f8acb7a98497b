"""What the report and plan workflows share: the decision updates, status queries and thread.

Its one job is the human half of a workflow: the updates, their validators, the queries
and the thread hooks all act on the same workflow state.

A subclass produces a draft (a report or a plan) and calls ``ask_human``; this
base class posts it, waits on the ``ApprovalGate`` and keeps the thread and the
draft message in step with every decision, reminder and terminal state.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar, TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError, CancelledError

from signoff.contracts import search_attributes
from signoff.contracts.activity_io import (
    AWAY_RETRY_POLICY,
    AWAY_START_TO_CLOSE,
    LOAD_AWAY,
    LOAD_WORKER_SETTINGS,
    SLACK_PERMANENT_ERROR,
    AwayNotice,
    AwayQuery,
)
from signoff.contracts.mrkdwn import escape, humanize, mention, mentions, truncate
from signoff.contracts.steps import StepFailed, StepPolicy
from signoff.contracts.tool_calls import ToolCallRecord
from signoff.contracts.usage import UsageMeter, usage_line
from signoff.contracts.workflow_io import (
    MAX_EDIT_CHARS,
    ApproveInput,
    ClaimInput,
    DecisionKind,
    DecisionReceipt,
    DecisionRecord,
    DelegateInput,
    DraftState,
    DraftView,
    HandoffKind,
    HandoffRecord,
    Phase,
    Progress,
    RejectInput,
    ReleaseInput,
    ReviewRound,
    RevisionInput,
    SlackOrigin,
    StepAsideInput,
    WorkflowKind,
    WorkflowSettings,
)
from workflows.approval import OPERATOR, ApprovalGate, DecisionRefused, GateOutcome, GateResult, checked_channel
from workflows.patches import (
    AWAY_PATCH,
    DECIDED_PHASE_PATCH,
    DM_REMINDERS_PATCH,
    ROUTING_PATCH,
    SEARCH_ATTRIBUTES_PATCH,
    TELL_REQUESTER_PATCH,
    TOKEN_BUDGET_PATCH,
)
from workflows.runtime import durable
from workflows.thread import SlackThread, tell_requester

with workflow.unsafe.imports_passed_through():
    from agents import Agent, RunResult, Usage
    from agents.exceptions import AgentsException
    from temporalio.openai_agents import AgentsWorkflowError

T = TypeVar("T")

# The final message's audit: the latest decisions, each note cut short (the whole log: /report status).
MAX_SUMMARY_DECISIONS = 10
SUMMARY_NOTE_CHARS = 200
_SUMMARY_VERBS = {
    DecisionKind.APPROVE: "approved",
    DecisionKind.REQUEST_REVISION: "requested a revision of",
    DecisionKind.REJECT: "rejected",
}

SETTINGS_TIMEOUT = timedelta(seconds=30)
SETTINGS_RETRY_POLICY = StepPolicy(maximum_attempts=5)
# A malformed structured answer is a model behaviour problem, not a transport one:
# ask again a couple of times, then give up and say so in the thread.
AGENT_RUN_ATTEMPTS = 3
NOTE_EXCERPT_CHARS = 1500
# The subject as echoed to the requester (the thread shows it whole), and as kept in the memo.
SUBJECT_ECHO_CHARS = 200
SUBJECT_MEMO_CHARS = 200

_DRAFT_STATE_FOR_OUTCOME = {
    GateOutcome.APPROVED: DraftState.APPROVED,
    GateOutcome.REVISION_REQUESTED: DraftState.REVISION_REQUESTED,
    GateOutcome.REJECTED: DraftState.REJECTED,
    GateOutcome.EXPIRED: DraftState.EXPIRED,
}


@dataclass
class DraftEdit:
    """An approver's edit of the draft they approved (Edit & approve)."""

    user_id: str
    before: str
    after: str


# Each decision update by name: (validator, handler).
DecisionHandlers = dict[
    str, tuple[Callable[[Any], None], Callable[[Any], DecisionReceipt | Awaitable[DecisionReceipt]]]
]


class PipelineFailed(Exception):
    """An agent step failed for good (after its retries); the reason is safe to show."""


class BudgetReached(Exception):
    """The run has used its token budget: no further agent run starts."""


class HumanReviewedWorkflow:
    KIND: ClassVar[WorkflowKind]

    def __init__(self) -> None:
        self._phase = Phase.STARTING
        self._subject = ""
        self._origin: SlackOrigin | None = None
        # Who asked: the Slack origin's requester, or a SignoffRequest's ``requester``.
        self._requester: str | None = None
        self._settings = WorkflowSettings()
        self._gate: ApprovalGate | None = None
        self._thread: SlackThread | None = None
        self._revision = 0
        self._review_rounds: list[ReviewRound] = []
        self._draft = ""
        self._outcome: str | None = None
        # The approver's edit of the approved revision, if any.
        self._edit: DraftEdit | None = None
        # The article's signals may arrive before the gate exists (right after start).
        self._early_operator_decisions: list[tuple[DecisionKind, str]] = []
        # Every model call's tokens, by model.
        self._usage = UsageMeter()

    # ------------------------------------------------------------------ queries

    @workflow.query
    def get_status(self) -> str:
        """One of the ``Phase`` values, e.g. ``pending_approval`` or ``approved``."""
        return self._phase.value

    @workflow.query
    def current_draft(self) -> str:
        """The latest draft (report or plan) text, empty before the first one."""
        return self._draft

    @workflow.query
    def progress(self) -> Progress:
        gate = self._gate
        policy = self._settings.policy
        return Progress(
            workflow_id=durable().workflow_id(),
            kind=self.KIND,
            subject=self._subject,
            phase=self._phase,
            requester_id=self._requester,
            approvers=list(policy.approvers),
            required_approvals=policy.required_approvals,
            revision=self._revision,
            review_rounds=list(self._review_rounds),
            waiting_since=gate.waiting_since if gate and gate.open_revision else None,
            reminders_sent=gate.reminders_sent if gate else 0,
            escalated=gate.escalated if gate else False,
            approvals=list(gate.approvals) if gate else [],
            decisions=list(gate.decisions) if gate else [],
            thread=self._thread.parent if self._thread else None,
            outcome=self._outcome,
            tool_calls=self.tool_call_records(),
            usage=self._usage.summary(self._settings.model_prices),
            channel_id=gate.channel_id if gate else (self._origin.channel_id if self._origin else None),
            api_key=self.api_key(),
            deciders=gate.deciders if gate and gate.deciders != policy.approvers else None,
            handoffs=tuple(gate.handoffs) if gate else (),
            deadline=gate.deadline if gate else None,
            pool_group=gate.pool_group if gate else None,
        )

    def api_key(self) -> str | None:
        """The HTTP API key that asked (a SignoffRequest made through the API overrides this)."""
        return None

    def tool_call_records(self) -> list[ToolCallRecord]:
        """The agents' tool calls so far (a workflow whose agents use tools overrides this)."""
        return []

    # ------------------------------------------------------------------ decision updates

    @workflow.update
    async def approve_draft(self, decision: ApproveInput) -> DecisionReceipt:
        edited = decision.edited_text is not None and decision.edited_text != self._draft
        if edited:
            assert decision.edited_text is not None
            self._edit = DraftEdit(decision.user_id, self._draft, decision.edited_text)
            self._draft = decision.edited_text
        return self._require_gate().apply(
            DecisionKind.APPROVE, decision.user_id, decision.revision, decision.comment, self._phase, edited=edited
        )

    @approve_draft.validator
    def _check_approve(self, decision: ApproveInput) -> None:
        self._check(DecisionKind.APPROVE, decision, decision.comment)
        if decision.edited_text is not None:
            self._check_edit(decision.edited_text)

    def allows_edits(self) -> bool:
        """Whether Edit & approve is offered (reports and plans: always; a request says)."""
        return True

    def allows_revision(self) -> bool:
        """Whether Request revision is offered (reports and plans: always; a request says)."""
        return True

    def _check_edit(self, text: str) -> None:
        if not self.allows_edits():
            raise DecisionRefused("This request does not allow edits: approve it as it is, or ask for a revision.")
        if len(self._draft) > MAX_EDIT_CHARS:
            # The form holds only the first 3,000 characters: an "edit" would cut the draft.
            raise DecisionRefused(
                f"This draft is {len(self._draft):,} characters, too long to edit in Slack's form "
                f"({MAX_EDIT_CHARS:,}): approve it as it is, or ask for a revision."
            )
        if not text.strip():
            raise DecisionRefused("The edited text is empty: an edit cannot remove everything.")
        if len(text) > MAX_EDIT_CHARS:
            raise DecisionRefused(f"The edited text is {len(text):,} characters; the limit is {MAX_EDIT_CHARS:,}.")
        if self._settings.policy.required_approvals > 1:
            raise DecisionRefused(
                "Edit & approve needs a single approver; with several approvals needed, request a revision instead."
            )

    @workflow.update
    async def request_draft_revision(self, decision: RevisionInput) -> DecisionReceipt:
        return self._require_gate().apply(
            DecisionKind.REQUEST_REVISION, decision.user_id, decision.revision, decision.notes, self._phase
        )

    @request_draft_revision.validator
    def _check_revision(self, decision: RevisionInput) -> None:
        if not self.allows_revision():
            raise DecisionRefused("This request cannot be sent back for revision: approve or reject it.")
        self._check(DecisionKind.REQUEST_REVISION, decision, decision.notes)

    @workflow.update
    async def reject_draft(self, decision: RejectInput) -> DecisionReceipt:
        return self._require_gate().apply(
            DecisionKind.REJECT, decision.user_id, decision.revision, decision.reason, self._phase
        )

    @reject_draft.validator
    def _check_reject(self, decision: RejectInput) -> None:
        self._check(DecisionKind.REJECT, decision, decision.reason)

    # ------------------------------------------------------------------ routing updates

    @workflow.update
    async def claim_draft(self, claim: ClaimInput) -> DecisionReceipt:
        return self._handed(
            self._require_gate().apply_handoff(HandoffKind.CLAIM, claim.user_id, claim.revision, self._phase)
        )

    def _handed(self, receipt: DecisionReceipt) -> DecisionReceipt:
        """The lists follow who decides now (the SignoffApprovers search attribute)."""
        if self._indexed():
            durable().upsert_search_attributes(search_attributes.deciders_changed(list(receipt.deciders)))
        return receipt

    @claim_draft.validator
    def _check_claim(self, claim: ClaimInput) -> None:
        self._require_gate_to_route().check_handoff(
            HandoffKind.CLAIM,
            claim.user_id,
            claim.revision,
            claim.team_id,
            self._phase,
            member_of=checked_channel(claim, self._require_gate_to_route().channel_id),
        )

    @workflow.update
    async def release_draft(self, release: ReleaseInput) -> DecisionReceipt:
        return self._handed(
            self._require_gate().apply_handoff(HandoffKind.RELEASE, release.user_id, release.revision, self._phase)
        )

    @release_draft.validator
    def _check_release(self, release: ReleaseInput) -> None:
        self._require_gate_to_route().check_handoff(
            HandoffKind.RELEASE, release.user_id, release.revision, release.team_id, self._phase
        )

    @workflow.update
    async def delegate_draft(self, delegation: DelegateInput) -> DecisionReceipt:
        return self._handed(
            self._require_gate().apply_handoff(
                HandoffKind.DELEGATE,
                delegation.user_id,
                delegation.revision,
                self._phase,
                to_user=delegation.to_user,
                reason=delegation.reason,
            )
        )

    @delegate_draft.validator
    def _check_delegate(self, delegation: DelegateInput) -> None:
        gate = self._require_gate_to_route()
        gate.check_handoff(
            HandoffKind.DELEGATE,
            delegation.user_id,
            delegation.revision,
            delegation.team_id,
            self._phase,
            member_of=checked_channel(delegation, gate.channel_id),
            to_user=delegation.to_user,
            to_member_of=delegation.to_member_of,
            reason=delegation.reason,
        )

    @workflow.update
    async def step_aside_draft(self, step: StepAsideInput) -> DecisionReceipt:
        return self._handed(
            self._require_gate().apply_handoff(
                HandoffKind.STEP_ASIDE, step.user_id, step.revision, self._phase, reason=step.reason
            )
        )

    @step_aside_draft.validator
    def _check_step_aside(self, step: StepAsideInput) -> None:
        gate = self._require_gate_to_route()
        gate.check_handoff(
            HandoffKind.STEP_ASIDE,
            step.user_id,
            step.revision,
            step.team_id,
            self._phase,
            member_of=checked_channel(step, gate.channel_id),
            reason=step.reason,
        )

    def _require_gate_to_route(self) -> ApprovalGate:
        if self._gate is None:
            raise DecisionRefused("Nothing is waiting for a decision yet.")
        return self._gate

    def decision_handlers(self) -> DecisionHandlers:
        """Each decision update by name: its validator and its handler (an engine without updates
        calls them itself when a decision arrives)."""
        return {
            "approve_draft": (self._check_approve, lambda d: HumanReviewedWorkflow.approve_draft(self, d)),
            "request_draft_revision": (
                self._check_revision,
                lambda d: HumanReviewedWorkflow.request_draft_revision(self, d),
            ),
            "reject_draft": (self._check_reject, lambda d: HumanReviewedWorkflow.reject_draft(self, d)),
            "claim_draft": (self._check_claim, lambda d: HumanReviewedWorkflow.claim_draft(self, d)),
            "release_draft": (self._check_release, lambda d: HumanReviewedWorkflow.release_draft(self, d)),
            "delegate_draft": (self._check_delegate, lambda d: HumanReviewedWorkflow.delegate_draft(self, d)),
            "step_aside_draft": (self._check_step_aside, lambda d: HumanReviewedWorkflow.step_aside_draft(self, d)),
        }

    def _check(self, kind: DecisionKind, decision: ApproveInput | RevisionInput | RejectInput, notes: str) -> None:
        gate = self._gate
        if gate is None:
            raise DecisionRefused("Nothing is waiting for a decision yet.")
        gate.check(
            kind,
            decision.user_id,
            decision.revision,
            decision.team_id,
            notes,
            self._phase,
            member_of=checked_channel(decision, gate.channel_id),
        )

    def phase_after(self, outcome: GateOutcome) -> Phase:
        """The phase a decision on the draft leads to (a workflow that goes on differently overrides it)."""
        return {
            GateOutcome.APPROVED: Phase.APPROVED,
            GateOutcome.REJECTED: Phase.REJECTED,
            GateOutcome.REVISION_REQUESTED: Phase.REVISING,
            GateOutcome.EXPIRED: Phase.EXPIRED,
        }[outcome]

    def _require_gate(self) -> ApprovalGate:
        assert self._gate is not None, "validators run first and refuse without a gate"
        return self._gate

    def _operator_decision(self, kind: DecisionKind, notes: str = "") -> None:
        if self._phase.is_terminal:
            durable().logger.warning("Ignoring %s signal: the workflow is already %s", kind, self._phase)
            return
        if self._gate is None:
            self._early_operator_decisions.append((kind, notes))
        else:
            self._gate.operator_decision(kind, notes)

    # ------------------------------------------------------------------ lifecycle

    async def begin(
        self,
        subject: str,
        origin: SlackOrigin | None,
        settings: WorkflowSettings | None,
        *,
        channel: str | None = None,
        requester_id: str | None = None,
    ) -> None:
        """Settings, gate and thread. Without a Slack origin the thread goes to ``channel`` (else the
        default channel) and ``requester_id`` is the one who may not decide."""
        self._subject = subject
        self._origin = origin
        self._requester = origin.requester_id if origin else requester_id
        if settings is None:
            settings = await durable().execute_activity(
                LOAD_WORKER_SETTINGS,
                result_type=WorkflowSettings,
                start_to_close_timeout=SETTINGS_TIMEOUT,
                policy=SETTINGS_RETRY_POLICY,
            )
        self._settings = settings
        where = origin.channel_id if origin else (channel or settings.default_channel)
        self._gate = ApprovalGate(
            settings.policy, self._requester, origin.team_id if origin else None, channel_id=where
        )
        for kind, notes in self._early_operator_decisions:
            self._gate.operator_decision(kind, notes)
        self._early_operator_decisions.clear()
        if self._indexed():
            durable().upsert_search_attributes(
                search_attributes.at_start(self.KIND, self._requester, settings.policy.approvers, where, self._phase)
            )
            # The lists show the subject from the memo without asking the workflow (the bot sets it
            # at start; a SignoffRequest started by another workflow has none).
            durable().upsert_memo({"subject": subject[:SUBJECT_MEMO_CHARS]})
        self._thread = SlackThread(where, self.KIND, subject, self._requester)
        await self._thread.open(self._phase)
        if self._thread.parent is not None:
            # The id Slack posted in (the default channel may be a #name): whose members decide.
            self._gate.channel_id = self._thread.parent.channel_id
        if origin is not None and self._thread.parent is not None and durable().patched(TELL_REQUESTER_PATCH):
            await tell_requester(
                origin.channel_id,
                origin.requester_id,
                f":white_check_mark: Started your {self.KIND.value} on _{self._echo_subject()}_ "
                f"(`{durable().workflow_id()}`).",
                thread=self._thread.parent,
                response_url=origin.response_url,
            )

    @property
    def thread(self) -> SlackThread:
        assert self._thread is not None
        return self._thread

    @property
    def approved_text(self) -> str:
        """The latest draft as it stands: after an Edit & approve, the approver's text."""
        return self._draft

    @property
    def settings(self) -> WorkflowSettings:
        return self._settings

    @property
    def requester_id(self) -> str | None:
        return self._requester

    @property
    def team_id(self) -> str | None:
        return self._origin.team_id if self._origin else None

    def who_decides(self) -> str:
        return self._who_decides()

    async def set_phase(self, phase: Phase, note: str | None = None) -> None:
        self.enter(phase)
        if note:
            await self.thread.note(note)

    def enter(self, phase: Phase) -> None:
        """Every phase change goes through here, so the workflow's search attributes follow it."""
        changed = phase is not self._phase
        self._phase = phase
        if changed and self._indexed():
            durable().upsert_search_attributes(search_attributes.phase_changed(phase))

    def _indexed(self) -> bool:
        """Whether to upsert the search attributes: only where they are registered (an unregistered
        one fails every workflow task), and never in workflows started before this code."""
        return self._settings.search_attributes and durable().patched(SEARCH_ATTRIBUTES_PATCH)

    async def run_agent(
        self,
        agent: Agent,
        prompt: str,
        *,
        run: Callable[[Agent, str], Awaitable[RunResult]] | None = None,
        attempts: int = AGENT_RUN_ATTEMPTS,
    ) -> object:
        """Run one agent; each model call inside is a durable activity.

        ``run`` replaces ``Runner.run`` (the tool approvals' loop); ``attempts`` is how often an
        unusable answer is asked again (once when tools may already have acted).
        """
        self._check_budget()
        last_error = ""
        for _ in range(attempts):
            try:
                result = await (run or _run)(agent, prompt)
            except AgentsWorkflowError as err:
                # The model activity failed after its retry policy: nothing more to try here.
                raise PipelineFailed(f"{agent.name} failed: {_root_cause(err)}") from err
            except StepFailed as err:
                if err.cancelled:
                    raise
                raise PipelineFailed(f"{agent.name} failed: {_root_cause(err)}") from err
            except AgentsException as err:
                if err.run_data is not None:
                    self._count_usage(agent, err.run_data.context_wrapper.usage)
                last_error = str(err)
                durable().logger.warning("%s gave an unusable answer: %s", agent.name, err)
                continue
            self._count_usage(agent, result.context_wrapper.usage)
            return result.final_output
        raise PipelineFailed(f"{agent.name} gave no usable answer after {attempts} tries: {last_error}")

    def _count_usage(self, agent: Agent, usage: Usage) -> None:
        model = agent.model if isinstance(agent.model, str) else getattr(agent.model, "model", "?")
        self._usage.add(str(model), usage.requests, usage.input_tokens, usage.output_tokens)

    def _check_budget(self) -> None:
        """Refuse to start another agent run once the run has used its token budget."""
        budget = self._settings.token_budget
        if budget is None or self._usage.total_tokens < budget:
            return
        if durable().patched(TOKEN_BUDGET_PATCH):
            raise BudgetReached(f"{self._usage.total_tokens:,} tokens used of a budget of {budget:,}")

    def usage_note(self) -> str:
        """The run's tokens and estimated cost, as the final message's last line (nothing without model calls)."""
        usage = self._usage.summary(self._settings.model_prices)
        if not usage.requests and not usage.total_tokens:
            return ""
        return f"\n:bar_chart: Usage: {usage_line(usage)}."

    async def ask_human(self, draft: str) -> GateResult:
        """Post ``draft`` as a new revision, retire the previous one, and wait for a decision."""
        previous_draft = self._draft
        self._revision += 1
        if self._revision > 1:
            await self.thread.update_draft(
                self._view(
                    self._revision - 1,
                    DraftState.SUPERSEDED,
                    f"Superseded by revision {self._revision}.",
                    body=previous_draft,
                )
            )
        self._draft = draft
        gate = self._require_gate()
        first_routed = not gate.routing
        if first_routed:
            gate.routing = await durable().patched_async(ROUTING_PATCH)
        gate.open(self._revision)
        if first_routed and gate.routing and gate.named and await durable().patched_async(AWAY_PATCH):
            await self._route_around_the_away(gate)
        self.enter(Phase.PENDING_APPROVAL)
        await self.thread.post_draft(self._view(self._revision, DraftState.OPEN))
        await self.thread.show_phase(self._phase)
        await self.announce_draft(f":memo: Revision {self._revision} is ready for a decision. {self._who_decides()}")
        result = await gate.wait(_ThreadHooks(self))
        state = _DRAFT_STATE_FOR_OUTCOME[result.outcome]
        await self.thread.update_draft(self._view(self._revision, state, _describe(result)))
        return result

    async def announce_draft(self, text: str) -> None:
        """Say in the thread that the posted draft waits for a decision (a workflow that streams its
        progress ends the stream with it)."""
        await self.thread.note(text)

    async def end_progress(self, why: str) -> None:
        """The run ends before a draft is posted: a workflow that streams its progress stops the stream."""

    async def _route_around_the_away(self, gate: ApprovalGate) -> None:
        """Approvers away (/signoff away) hand their part over as the request opens; the thread says so."""
        query = AwayQuery(user_ids=list(gate.named), today=durable().now().date().isoformat())
        try:
            away = await durable().execute_activity(
                LOAD_AWAY,
                query,
                result_type=list[AwayNotice],
                start_to_close_timeout=AWAY_START_TO_CLOSE,
                policy=AWAY_RETRY_POLICY,
            )
        except StepFailed as err:
            durable().logger.warning("who is away is unknown; the request opens as named: %s", err)
            return
        gate.route_around([(a.user_id, a.delegate, f"Away until {a.until}.") for a in away], self._phase)
        if self._indexed() and gate.handoffs:
            durable().upsert_search_attributes(search_attributes.deciders_changed(gate.deciders))

    async def finish(self, phase: Phase, outcome: str, note: str) -> None:
        """End with ``note`` in the thread, followed by the decisions that led here (the audit)."""
        self.enter(phase)
        self._outcome = outcome
        await self.thread.note(note + self._decision_summary() + self.usage_note())
        await self.thread.show_phase(phase)

    def _decision_summary(self) -> str:
        gate = self._gate
        if gate is None or not gate.decisions:
            return ""
        lines = []
        for record in gate.decisions[-MAX_SUMMARY_DECISIONS:]:
            who = "a Temporal operator" if record.user_id == OPERATOR else mention(record.user_id)
            verb = _SUMMARY_VERBS[record.kind]
            edited = " with their edit" if record.edited else ""
            said = f": _{escape(truncate(record.notes, SUMMARY_NOTE_CHARS))}_" if record.notes else ""
            when = record.at.strftime("%Y-%m-%d %H:%M UTC")
            lines.append(f"• {when} {who} {verb} revision {record.revision}{edited}{said}")
        skipped = len(gate.decisions) - len(lines)
        more = f"\n_…and {skipped} earlier._" if skipped > 0 else ""
        return "\n*Decisions:*\n" + "\n".join(lines) + more

    async def finish_cancelled(self) -> None:
        """Cancellation was requested: say so, remove the buttons, end as cancelled."""
        self.enter(Phase.CANCELLED)
        self._outcome = "cancelled"
        if self._thread is None:
            return
        await self.end_progress("Cancelled")
        if self._revision:
            await self.thread.update_draft(self._view(self._revision, DraftState.CANCELLED, "Cancelled."))
        await self.thread.note(":no_entry_sign: This request was cancelled.")
        await self.thread.show_phase(Phase.CANCELLED)

    async def finish_stopped(self, reason: str) -> None:
        """The token budget is used up: say so, remove the buttons, end as stopped (never approved)."""
        self.enter(Phase.STOPPED)
        self._outcome = f"stopped: {reason}"
        if self._thread is None:
            return
        await self.end_progress("Stopped at the token budget")
        if self._gate is not None and self._revision and self._gate.open_revision:
            await self.thread.update_draft(self._view(self._revision, DraftState.CANCELLED, "Stopped."))
        await self.thread.note(
            f":octagonal_sign: Stopped: this {self.KIND.value} reached its token budget ({escape(reason)}). "
            f"No further agent run was started, and it ends here without a result.{self.usage_note()}"
        )
        await self.thread.show_phase(Phase.STOPPED)

    async def finish_failed(self, reason: str, slack_error: str | None = None) -> None:
        """Failed for good; ``slack_error``: Slack's error name when Slack refused a post (``not_in_channel``…)."""
        self.enter(Phase.FAILED)
        self._outcome = reason
        why = escape(truncate(reason, NOTE_EXCERPT_CHARS))
        origin = self._origin
        if self._thread is not None and self._thread.parent is not None:
            await self.end_progress("Failed")
            await self.thread.note(f":x: This request failed: {why}")
            await self.thread.show_phase(Phase.FAILED)
        elif origin is not None and durable().patched(TELL_REQUESTER_PATCH):
            # No thread to say it in (Slack refused it for good, or it failed before):
            # the requester is the one person who can still be told.
            stopped = (
                f":x: Your {self.KIND.value} on _{self._echo_subject()}_ (`{durable().workflow_id()}`) "
                f"has stopped before it could post its thread in <#{origin.channel_id}>"
            )
            invite = _INVITE_THE_APP.get(slack_error or "")
            await tell_requester(
                origin.channel_id,
                origin.requester_id,
                f"{stopped}: {invite.format(command=f'/{self.KIND.value}')} ({why})" if invite else f"{stopped}: {why}",
                response_url=origin.response_url,
            )

    async def guarded(self, body: Callable[[], Awaitable[T]], stopped: Callable[[str], T] | None = None) -> T:
        """Run ``body`` and turn cancellation and agent failures into terminal states; a run stopped
        at its token budget returns ``stopped(reason)``. A step that failed for good (in ``body`` or
        in saying so) ends the run as its engine fails runs (``Durable.run_failure``)."""
        try:
            return await self._guarded(body, stopped)
        except StepFailed as err:
            # Its own cause chain kept (no ``from``): on Temporal the ActivityError, with the activity's failure.
            raise durable().run_failure(err)  # noqa: B904

    async def _guarded(self, body: Callable[[], Awaitable[T]], stopped: Callable[[str], T] | None) -> T:
        try:
            return await body()
        except PipelineFailed as err:
            await self.finish_failed(str(err))
            raise ApplicationError(str(err), type="PipelineFailed", non_retryable=True) from err
        except BudgetReached as err:
            await self.finish_stopped(str(err))
            if stopped is None:
                raise ApplicationError(str(err), type="BudgetReached", non_retryable=True) from err
            return stopped(str(err))
        except StepFailed as err:
            if not err.cancelled:
                await self.finish_failed(_root_cause(err), _slack_error(err))
                raise
            await self.finish_cancelled()
            raise
        except (CancelledError, asyncio.CancelledError):
            await self.finish_cancelled()
            raise

    # ------------------------------------------------------------------ views and texts

    def _view(self, revision: int, state: DraftState, status_note: str = "", body: str | None = None) -> DraftView:
        gate = self._gate
        return DraftView(
            workflow_id=durable().workflow_id(),
            kind=self.KIND,
            subject=self._subject,
            revision=revision,
            body=self._draft if body is None else body,
            state=state,
            approvals=list(gate.approvals) if gate and revision == self._revision else [],
            required_approvals=self._settings.policy.required_approvals,
            status_note=status_note,
            allow_revision=self.allows_revision(),
            # One approver edits; with a quorum, edits go through a revision request.
            allow_edits=self.allows_edits() and self._settings.policy.required_approvals == 1,
            routing=bool(gate and gate.routing),
            claimable=bool(gate and gate.routing and gate.pooled and self._settings.policy.required_approvals == 1),
            claimed_by=gate.claimed_by if gate else None,
            pool_group=gate.pool_group if gate else None,
        )

    def _echo_subject(self) -> str:
        return escape(truncate(self._subject, SUBJECT_ECHO_CHARS))

    def _who_decides(self) -> str:
        policy = self._settings.policy
        needed = f" ({policy.required_approvals} approvals needed)" if policy.required_approvals > 1 else ""
        gate = self._gate
        if gate is not None and gate.claimed_by is not None:
            return f"Claimed by {mention(gate.claimed_by)}, who decides."
        if gate is not None and gate.named != policy.approvers:
            return f"Approvers: {mentions(gate.named)}{needed}"
        if policy.approvers:
            return f"Approvers: {mentions(policy.approvers)}{needed}"
        requester = self._requester
        group = gate.pool_group if gate is not None else None
        if group:
            but = f" but {mention(requester)}" if requester else ""
            return f"Anyone in {mention(group)}{but} can decide{needed}."
        if requester:
            return f"Anyone here but {mention(requester)} can decide{needed}."
        return f"Anyone here can decide{needed}."


class _ThreadHooks:
    """The gate's callbacks, posting to the thread through activities."""

    def __init__(self, owner: HumanReviewedWorkflow):
        self._owner = owner

    async def on_decision(self, record: DecisionRecord, approvals: list[str]) -> None:
        owner = self._owner
        outcome = owner._require_gate().outcome
        if (
            outcome is not None
            and owner._phase is Phase.PENDING_APPROVAL
            and await durable().patched_async(DECIDED_PHASE_PATCH)
        ):
            owner.enter(owner.phase_after(outcome))
        policy = owner._settings.policy
        who = "A Temporal operator" if record.user_id == OPERATOR else mention(record.user_id)
        if record.kind is DecisionKind.APPROVE:
            count = f" ({len(approvals)} of {policy.required_approvals})" if policy.required_approvals > 1 else ""
            comment = _quoted(record.notes)
            await owner.thread.note(f":white_check_mark: {who} approved revision {record.revision}{count}.{comment}")
            if record.edited and owner._edit is not None:
                await owner.thread.note(
                    f":pencil2: {who} edited revision {record.revision} before approving: "
                    f"{edit_summary(owner._edit.before, owner._edit.after)}. The edited text is what was approved."
                )
            if len(approvals) < policy.required_approvals:
                await owner.thread.update_draft(owner._view(owner._revision, DraftState.OPEN))
        elif record.kind is DecisionKind.REQUEST_REVISION:
            await owner.thread.note(
                f":repeat: {who} requested a revision of revision {record.revision}:\n>"
                + escape(truncate(record.notes, NOTE_EXCERPT_CHARS)).replace("\n", "\n>")
            )
        else:
            reason = f": {escape(truncate(record.notes, NOTE_EXCERPT_CHARS))}" if record.notes else "."
            await owner.thread.note(f":no_entry: {who} rejected revision {record.revision}{reason}")

    async def on_handoff(self, record: HandoffRecord) -> None:
        owner = self._owner
        who = mention(record.user_id)
        reason = _quoted(record.reason)
        if record.kind is HandoffKind.CLAIM:
            text = f":raising_hand: {who} claimed this request: they decide on it now.{reason}"
        elif record.kind is HandoffKind.RELEASE:
            text = (
                f":leftwards_arrow_with_hook: {who} released this request: anyone here but the requester can claim it."
            )
        elif record.kind is HandoffKind.STEP_ASIDE:
            text = f":palm_tree: {who} stepped out of this request.{reason} {owner._who_decides()}"
        else:
            assert record.to_user is not None
            text = f":arrow_right: {who} delegated this request to {mention(record.to_user)}.{reason} {owner._who_decides()}"
        await owner.thread.note(text)
        await owner.thread.update_draft(owner._view(owner._revision, DraftState.OPEN))

    async def on_reminder(self, reminder_number: int, escalate: bool, last: bool) -> None:
        owner = self._owner
        gate = owner._require_gate()
        waited = humanize(gate.reminders_sent * owner._settings.policy.reminder_interval)
        text = (
            f":alarm_clock: Reminder {reminder_number}: revision {owner._revision} has been waiting "
            f"{waited} for a decision. {owner._who_decides()}"
        )
        escalation_to = owner._settings.policy.escalation_to
        if escalate:
            target = mention(escalation_to) if escalation_to else "the channel"
            text = f":rotating_light: Escalated to {target}: no decision after {waited}. {owner._who_decides()}"
        await owner.thread.note(text + (gate.last_reminder_note() if last else ""))
        await self._remind_by_dm(reminder_number)

    async def _remind_by_dm(self, reminder_number: int) -> None:
        """Each named decider who has not acted also gets the reminder in their DM, with the buttons: one
        per round (so at most one a day unless the reminder interval is shorter)."""
        owner = self._owner
        gate = owner._require_gate()
        waiting = [person for person in gate.deciders if person not in gate.approvals]
        if not waiting or not await durable().patched_async(DM_REMINDERS_PATCH):
            return
        waited = humanize(gate.reminders_sent * owner._settings.policy.reminder_interval)
        text = (
            f":alarm_clock: Reminder {reminder_number}: _{owner._echo_subject()}_ (revision {owner._revision}) "
            f"has been waiting {waited} for your decision."
        )
        view = owner._view(owner._revision, DraftState.OPEN)
        await durable().gather(*(owner.thread.remind_by_dm(person, text, view, reminder_number) for person in waiting))


def _quoted(text: str) -> str:
    """`text` as a quote under a thread note (escaped), or nothing."""
    if not text:
        return ""
    return "\n>" + escape(truncate(text, NOTE_EXCERPT_CHARS)).replace("\n", "\n>")


def edit_summary(before: str, after: str) -> str:
    """How much an edit changed, in words: lines added and removed, and the length."""
    added = removed = 0
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        if line.startswith("+ "):
            added += 1
        elif line.startswith("- "):
            removed += 1
    lines = []
    if added:
        lines.append(f"{added} line{'s' if added != 1 else ''} added")
    if removed:
        lines.append(f"{removed} line{'s' if removed != 1 else ''} removed")
    changed = ", ".join(lines) or "the same lines, reworded"
    return f"{changed} ({len(before):,} → {len(after):,} characters)"


def _describe(result: GateResult) -> str:
    people = ", ".join("a Temporal operator" if user == OPERATOR else mention(user) for user in result.decided_by)
    when = durable().now().strftime("%Y-%m-%d %H:%M UTC")
    match result.outcome:
        case GateOutcome.APPROVED:
            return f"Approved by {people} on {when}."
        case GateOutcome.REVISION_REQUESTED:
            return f"Revision requested by {people} on {when}."
        case GateOutcome.REJECTED:
            return f"Rejected by {people} on {when}."
        case GateOutcome.EXPIRED:
            return f"Expired on {when}: no decision before the deadline."


async def _run(agent: Agent, prompt: str) -> RunResult:
    return await durable().run_agent(agent, prompt)


# What the requester can do when Slack refused the thread because the app is not in the channel.
_INVITE_THE_APP = {
    "not_in_channel": "I am not in this channel. Invite me (`/invite @signoff`), then run `{command}` again",
    "channel_not_found": "I cannot see this conversation: if it is a private channel, invite me (`/invite @signoff`) "
    "and run `{command}` again; else run it in a channel I am in",
}


def _slack_error(err: StepFailed) -> str | None:
    """Slack's error name when a Slack activity failed for good (it rides as the failure's detail)."""
    if err.error_type == SLACK_PERMANENT_ERROR and err.details:
        code = err.details[0]
        return code if isinstance(code, str) else None
    return None


def _root_cause(err: BaseException) -> str:
    while err.__cause__ is not None:
        err = err.__cause__
    return str(err) or type(err).__name__


__all__ = ["DecisionRefused", "GateOutcome", "HumanReviewedWorkflow", "PipelineFailed"]
