"""SignoffRequestWorkflow: the approval step any workflow or client can use, by name, in plain JSON.

It is the report's human loop without the agents: the caller's title and body become the draft
in a Slack thread, with the same gate (validators, quorum, reminders, escalation, deadline), and
the answer comes back as a JSON object (``signoff_client.SignoffResult``). A request that
is wrong fails at once, never retried, naming the field, before anything is posted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import timedelta
from typing import Any, Literal

from pydantic import ValidationError
from signoff_client import (
    CHANNEL_NOT_FOUND,
    INVALID_REQUEST,
    NOT_IN_CHANNEL,
    SIGNOFF_REQUEST,
    SLACK_REFUSED,
    DecisionEntry,
    Outcome,
    SignoffRequestInput,
    SignoffResult,
    ThreadLink,
    describe_invalid,
)
from temporalio import workflow
from temporalio.exceptions import ApplicationError, CancelledError, FailureError

from signoff.contracts.activity_io import LOAD_WORKER_SETTINGS
from signoff.contracts.api import (
    DELIVER_WEBHOOK,
    WEBHOOK_RETRY_POLICY,
    WEBHOOK_START_TO_CLOSE,
    ApiSignoffRequest,
    ProxiedToolCall,
    RequestStatus,
    WebhookInput,
    api_request_of,
)
from signoff.contracts.steps import StepFailed
from signoff.contracts.tool_calls import ForwardInput, ToolCallState, ToolResult
from signoff.contracts.workflow_io import (
    DecisionKind,
    DecisionReceipt,
    DecisionRecord,
    Phase,
    WorkflowKind,
    WorkflowSettings,
)
from signoff.contracts.workflow_step import (
    COMPLETE_STEP_RETRY_POLICY,
    COMPLETE_STEP_START_TO_CLOSE,
    COMPLETE_WORKFLOW_STEP,
    StepCompletion,
    WorkflowStepRequest,
    function_execution_of,
)
from workflows.approval import DecisionRefused, GateOutcome, GateResult
from workflows.human_loop import SETTINGS_RETRY_POLICY, SETTINGS_TIMEOUT, DecisionHandlers, HumanReviewedWorkflow
from workflows.patches import (
    BOUNDED_REQUEST_PATCH,
    FAILED_WEBHOOK_PATCH,
    PROXIED_TOOL_CALL_PATCH,
    TOOL_CALL_CLOSED_PATCH,
    WEBHOOK_PATCH,
    WORKFLOW_STEP_PATCH,
)
from workflows.runtime import durable
from workflows.tool_approvals import ToolApprovals, ToolCallDecisions

# How long a decided tool call waits for its caller (the MCP proxy, the hook) to collect the decision;
# an Allow not collected by then is never run.
TOOL_CALL_COLLECT_WINDOW = timedelta(hours=1)
MAX_FORWARD_SUMMARY_CHARS = 4000

_OUTCOMES: dict[GateOutcome, tuple[Phase, Outcome, str]] = {
    GateOutcome.APPROVED: (Phase.APPROVED, "approved", ":tada: Approved."),
    GateOutcome.REJECTED: (Phase.REJECTED, "rejected", ":no_entry: Rejected."),
    GateOutcome.REVISION_REQUESTED: (
        Phase.COMPLETED,
        "revision_requested",
        ":repeat: Sent back for revision: the requesting workflow decides what comes next.",
    ),
    GateOutcome.EXPIRED: (Phase.EXPIRED, "expired", ":hourglass: No decision before the deadline: expired."),
}


@workflow.defn(name=SIGNOFF_REQUEST)
class SignoffRequestWorkflow(ToolCallDecisions, HumanReviewedWorkflow):
    KIND = WorkflowKind.REQUEST

    def __init__(self) -> None:
        super().__init__()
        self._request: SignoffRequestInput | None = None
        # The result once decided: the HTTP API reads it while the webhook is still being delivered.
        self._answer: dict[str, Any] | None = None
        # A proxied tool call (ProxiedToolCall): its gate, and what its caller did with the decision.
        self._tools = ToolApprovals(self)
        self._forward_claimed = False
        self._tool_call_report: ForwardInput | None = None

    @workflow.run
    async def run(self, request: dict[str, Any]) -> dict[str, Any]:
        execution = function_execution_of(request)
        if execution is None:
            return await self._run(request)
        # Started by the Workflow Builder step: however the request ends, the step ends with it.
        try:
            answer = await self._run(request)
        except (CancelledError, asyncio.CancelledError):
            await self._complete_step(StepCompletion(execution, error="The sign-off request was cancelled."))
            raise
        except (ApplicationError, FailureError, StepFailed) as err:
            await self._complete_step(StepCompletion(execution, error=f"Sign-off could not be requested: {err}"))
            raise
        await self._complete_step(StepCompletion(execution, outputs=step_outputs(answer)))
        return answer

    async def _run(self, request: dict[str, Any]) -> dict[str, Any]:
        # A request made through the HTTP API carries its key's name (and maybe a callback_url); one the
        # Workflow Builder step started, its function_execution_id.
        model: type[SignoffRequestInput] = SignoffRequestInput
        if api_request_of(request):
            model = ApiSignoffRequest
        elif function_execution_of(request) is not None:
            model = WorkflowStepRequest
        try:
            parsed = model.model_validate(request)
        except ValidationError as err:
            recorded = _as_recorded(request)
            if recorded is None or await durable().patched_async(BOUNDED_REQUEST_PATCH):
                self.enter(Phase.FAILED)
                raise ApplicationError(describe_invalid(err), type=INVALID_REQUEST, non_retryable=True) from None
            parsed = recorded
        self._request = parsed
        try:
            result = await self.guarded(lambda: self._ask(parsed))
        except (CancelledError, asyncio.CancelledError):
            await self._notify("cancelled", None)
            raise
        except (ApplicationError, FailureError, StepFailed) as err:
            await self._notify_failed(err)
            raise
        self._answer = result.model_dump(mode="json")
        await self._notify(result.outcome, self._answer)
        return self._answer

    @workflow.query
    def answer(self) -> dict[str, Any] | None:
        """The result (``SignoffResult``'s JSON) once decided, else None."""
        return self._answer

    def api_key(self) -> str | None:
        return self._request.api_key if isinstance(self._request, ApiSignoffRequest) else None

    async def _notify_failed(self, err: ApplicationError | FailureError | StepFailed) -> None:
        """The webhook of a request that failed (a Slack post refused for good, the app removed from
        the channel): its caller hears that, and why, instead of waiting for an end that came."""
        if not self._has_webhook() or not await durable().patched_async(FAILED_WEBHOOK_PATCH):
            return
        if isinstance(err, StepFailed):
            kind, message = err.error_type or err.step, err.message or str(err)
        else:
            kind, message = getattr(err, "type", None) or type(err).__name__, err.message
        await self._notify("failed", None, error={"type": kind, "message": message})

    def _has_webhook(self) -> bool:
        return isinstance(self._request, ApiSignoffRequest) and self._request.callback_url is not None

    async def _notify(
        self, status: RequestStatus, result: dict[str, Any] | None, *, error: dict[str, str] | None = None
    ) -> None:
        """POST how the request ended to its callback_url (a request made through the API with one),
        signed with its key's secret; retried with backoff for a bounded time. A webhook that is never
        taken is logged and changes nothing: the result stays readable through the API."""
        request = self._request
        if not isinstance(request, ApiSignoffRequest) or request.callback_url is None:
            return
        if not await durable().patched_async(WEBHOOK_PATCH):
            return
        parent = self._thread.parent if self._thread else None
        event: dict[str, Any] = {
            "id": durable().workflow_id(),
            "status": status,
            "thread": {"channel": parent.channel_id, "ts": parent.ts} if parent else None,
            "result": result,
        }
        if error is not None:
            event["error"] = error
        delivery = WebhookInput(
            workflow_id=durable().workflow_id(),
            url=request.callback_url,
            api_key=request.api_key,
            body=json.dumps(event, separators=(",", ":"), sort_keys=True),
        )
        try:
            await durable().execute_activity(
                DELIVER_WEBHOOK, delivery, start_to_close_timeout=WEBHOOK_START_TO_CLOSE, policy=WEBHOOK_RETRY_POLICY
            )
        except StepFailed as err:
            durable().logger.warning("webhook to %s given up: %s", request.callback_url, err)

    async def _complete_step(self, completion: StepCompletion) -> None:
        """Complete (or fail) the Workflow Builder step that started this request, through Slack, retried
        until Slack takes it. A step Slack refuses for good (it ended in Slack) is logged and changes nothing."""
        if not await durable().patched_async(WORKFLOW_STEP_PATCH):
            return
        try:
            await durable().execute_activity(
                COMPLETE_WORKFLOW_STEP,
                completion,
                start_to_close_timeout=COMPLETE_STEP_START_TO_CLOSE,
                policy=COMPLETE_STEP_RETRY_POLICY,
            )
        except StepFailed as err:
            durable().logger.warning("step %s not completed: %s", completion.function_execution_id, err)

    def allows_edits(self) -> bool:
        return self._request is not None and self._request.allow_edits

    def allows_revision(self) -> bool:
        return self._request is None or self._request.allow_revision

    async def _ask(self, request: SignoffRequestInput) -> SignoffResult:
        settings = await self._settings_for(request)
        try:
            await self.begin(request.title, None, settings, channel=request.channel, requester_id=request.requester)
        except StepFailed as err:
            refused = _not_in_channel(err, request.channel or settings.default_channel)
            if refused is None:
                raise
            raise refused from None
        if self.thread.parent is None:
            raise ApplicationError(
                "channel: no channel was given and the worker has no SIGNOFF_DEFAULT_CHANNEL",
                type=INVALID_REQUEST,
                non_retryable=True,
            )
        call = request.tool_call if isinstance(request, ApiSignoffRequest) else None
        if call is not None and await durable().patched_async(PROXIED_TOOL_CALL_PATCH):
            assert isinstance(request, ApiSignoffRequest)
            return await self._ask_tool_call(request, call)
        result = await self.ask_human(request.body)
        phase, outcome, note = _OUTCOMES[result.outcome]
        await self.finish(phase, outcome, note)
        return self._result(request, result, outcome)

    # ------------------------------------------------------------------ a proxied tool call

    async def _ask_tool_call(self, request: ApiSignoffRequest, call: ProxiedToolCall) -> SignoffResult:
        """The tool-call message and gate of /plan's executor for one call; once decided, the answer is
        readable at once while the run waits (``TOOL_CALL_COLLECT_WINDOW``) for its caller to run the
        allowed call (``start_forward``, at most once) and say how it ended (``finish_tool_call``)."""
        self.enter(Phase.PENDING_APPROVAL)
        await self.thread.show_phase(self._phase)
        allowed, told = await self._tools.ask(call.agent, call.tool, call.arguments, None)
        record = self._tools.records[-1]
        outcome: Outcome = "approved" if allowed else "expired" if record.state is ToolCallState.EXPIRED else "rejected"
        parent = self.thread.parent
        answer = SignoffResult(
            outcome=outcome,
            decided_by=list(record.decided_by),
            notes="" if allowed else told,
            text="",
            edited=False,
            decisions=[],
            thread=ThreadLink(channel=parent.channel_id, ts=parent.ts) if parent else None,
            metadata=request.metadata,
        )
        self._answer = answer.model_dump(mode="json")
        # Decided, and in its caller's hands until it says what came of it: not ended yet (a run whose
        # phase is terminal takes no more messages on DBOS and Restate).
        phase = {"approved": Phase.APPROVED, "expired": Phase.EXPIRED}.get(outcome, Phase.REJECTED)
        self.enter(Phase.EXECUTING)
        # The message and the thread say how it was decided now (the caller reads the answer meanwhile),
        # not once the call has run: the buttons go at the click, as a draft's do.
        await self._tools.settle()
        try:
            await durable().wait_condition(lambda: self._tool_call_report is not None, timeout=TOOL_CALL_COLLECT_WINDOW)
        except TimeoutError:
            if allowed and not self._forward_claimed:
                record.state, record.result = ToolCallState.CANCELLED, "not run: nobody collected the Allow in time"
            elif allowed:
                record.state, record.result = ToolCallState.FAILED, "run, but its caller never said how it ended"
        report = self._tool_call_report
        if report is not None and self._forward_claimed:
            await self._tools.finished(record, ToolResult(ok=report.ok, summary=report.summary or "done"))
        await self._tools.settle()
        words = {
            "approved": ":white_check_mark: Allowed.",
            "rejected": ":no_entry: Denied: the call was not made.",
            "expired": ":hourglass: No decision before the deadline: the call was not made.",
        }
        await self.finish(phase, outcome, words[outcome])
        return answer

    @workflow.update
    async def start_forward(self, claim: ForwardInput) -> DecisionReceipt:
        self._forward_claimed = True
        return self._forward_receipt(claim)

    @start_forward.validator
    def _check_start_forward(self, claim: ForwardInput) -> None:
        record = self._tools.record(claim.call_number)
        if record is None or self._answer is None:
            raise DecisionRefused("This tool call has not been decided yet.")
        if record.state is not ToolCallState.ALLOWED:
            raise DecisionRefused(f"This tool call was not allowed: it is {record.state.value}.")
        if self._forward_claimed:
            raise DecisionRefused("This tool call was already run once; it is never run twice.")

    @workflow.update
    async def finish_tool_call(self, report: ForwardInput) -> DecisionReceipt:
        self._tool_call_report = report
        record = self._tools.record(report.call_number)
        if record is not None and await durable().patched_async(TOOL_CALL_CLOSED_PATCH):
            record.closed = True
        return self._forward_receipt(report)

    @finish_tool_call.validator
    def _check_finish_tool_call(self, report: ForwardInput) -> None:
        record = self._tools.record(report.call_number)
        if record is None or self._answer is None:
            raise DecisionRefused("This tool call has not been decided yet.")
        if self._tool_call_report is not None:
            raise DecisionRefused("This tool call is already closed.")
        if record.state is ToolCallState.ALLOWED and not self._forward_claimed:
            raise DecisionRefused("This tool call was allowed but not run (start_forward first).")
        if len(report.summary) > MAX_FORWARD_SUMMARY_CHARS:
            raise DecisionRefused(f"The summary is over {MAX_FORWARD_SUMMARY_CHARS:,} characters.")

    def _forward_receipt(self, claim: ForwardInput) -> DecisionReceipt:
        record = self._tools.record(claim.call_number)
        return DecisionReceipt(
            kind=DecisionKind.APPROVE,
            revision=claim.call_number,
            approvals=list(record.decided_by) if record else [],
            required_approvals=self.settings.policy.required_approvals,
            phase=self._phase,
        )

    def decision_handlers(self) -> DecisionHandlers:
        return (
            super().decision_handlers()
            | self.tool_decision_handlers()
            | {
                "start_forward": (self._check_start_forward, lambda c: SignoffRequestWorkflow.start_forward(self, c)),
                "finish_tool_call": (
                    self._check_finish_tool_call,
                    lambda r: SignoffRequestWorkflow.finish_tool_call(self, r),
                ),
            }
        )

    async def _settings_for(self, request: SignoffRequestInput) -> WorkflowSettings:
        """The worker's settings, with the request's own policy on top."""
        settings = await durable().execute_activity(
            LOAD_WORKER_SETTINGS,
            result_type=WorkflowSettings,
            start_to_close_timeout=SETTINGS_TIMEOUT,
            policy=SETTINGS_RETRY_POLICY,
        )
        policy = settings.policy
        if request.approvers is not None:
            policy = dataclasses.replace(policy, approvers=list(request.approvers))
        if request.approver_group is not None:
            # The request's group is its pool: nobody named, whatever the worker's SIGNOFF_APPROVERS.
            # (Only requests made since the field can name one: a run from before replays as it was.)
            policy = dataclasses.replace(policy, approvers=[], approver_group=request.approver_group)
        policy = dataclasses.replace(policy, required_approvals=request.required_approvals)
        if request.reminder_interval is not None:
            policy = dataclasses.replace(policy, reminder_interval=request.reminder_interval)
        if request.never_expires:
            policy = dataclasses.replace(policy, decision_deadline=None)
        elif request.decision_deadline is not None:
            policy = dataclasses.replace(policy, decision_deadline=request.decision_deadline)
        if policy.approvers and policy.required_approvals > len(policy.approvers):
            raise ApplicationError(
                f"required_approvals: {policy.required_approvals} approvals needed but only "
                f"{len(policy.approvers)} approvers",
                type=INVALID_REQUEST,
                non_retryable=True,
            )
        others = [approver for approver in policy.approvers if approver != request.requester]
        if (
            policy.approvers
            and policy.required_approvals > len(others)
            and await durable().patched_async(BOUNDED_REQUEST_PATCH)
        ):
            # The worker's SIGNOFF_APPROVERS, when the request names none: the requester may not approve.
            raise ApplicationError(
                f"required_approvals: {policy.required_approvals} approvals needed but only {len(others)} "
                "approvers other than the requester",
                type=INVALID_REQUEST,
                non_retryable=True,
            )
        return dataclasses.replace(settings, policy=policy)

    def _result(self, request: SignoffRequestInput, result: GateResult, outcome: Outcome) -> SignoffResult:
        gate = self._require_gate()
        decisions = [_entry(record) for record in gate.decisions]
        edited = self._edit is not None and outcome == "approved"
        if outcome == "approved":
            notes = "\n".join(
                record.notes for record in gate.decisions if record.notes and record.revision == result.revision
            )
        else:
            notes = result.notes
        parent = self.thread.parent
        return SignoffResult(
            outcome=outcome,
            decided_by=list(result.decided_by),
            notes=notes,
            text=self.approved_text if outcome == "approved" else "",
            edited=edited,
            decisions=decisions,
            thread=ThreadLink(channel=parent.channel_id, ts=parent.ts) if parent else None,
            metadata=request.metadata,
        )


def step_outputs(answer: dict[str, Any]) -> dict[str, Any]:
    """The step's output parameters (the manifests' ``request_signoff``) from a ``SignoffResult``'s JSON."""
    return {
        "outcome": answer["outcome"],
        "decided_by": list(answer.get("decided_by") or []),
        "notes": answer.get("notes") or "",
        "text": answer.get("text") or "",
    }


def _as_recorded(request: dict[str, Any]) -> SignoffRequestInput | None:
    """The request by the rules before BOUNDED_REQUEST_PATCH, or None when those refused it too."""
    try:
        return SignoffRequestInput.as_recorded(request)
    except ValidationError:
        return None


def _entry(record: DecisionRecord) -> DecisionEntry:
    kind: Literal["approve", "request_revision", "reject"] = "reject"
    if record.kind is DecisionKind.APPROVE:
        kind = "approve"
    elif record.kind is DecisionKind.REQUEST_REVISION:
        kind = "request_revision"
    return DecisionEntry(
        user_id=record.user_id,
        kind=kind,
        at=record.at.isoformat(),
        comment=record.notes,
        edited=record.edited,
        revision=record.revision,
    )


def _not_in_channel(err: StepFailed, channel: str | None) -> ApplicationError | None:
    """Slack refused the thread for good: say why, in an error the caller can match on."""
    if not (err.details and isinstance(err.details[0], str)):
        return None
    code = err.details[0]
    if code == "not_in_channel":
        return ApplicationError(
            f"not_in_channel: the app is not in <#{channel}>; invite it there (/invite @signoff) and ask again",
            type=NOT_IN_CHANNEL,
            non_retryable=True,
        )
    if code == "channel_not_found":
        return ApplicationError(
            f"channel_not_found: the app cannot see <#{channel}> (a private channel needs the app invited "
            "first, or the id is wrong)",
            type=CHANNEL_NOT_FOUND,
            non_retryable=True,
        )
    return ApplicationError(f"Slack refused the thread: {code}", code, type=SLACK_REFUSED, non_retryable=True)
