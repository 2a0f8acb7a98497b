"""Tool calls that wait for a person: each side-effecting call of an agent is its own gate.

An agent's run stops at an interruption (the Agents SDK's ``needs_approval``). Each pending
call gets an ``ApprovalGate`` (the same approvers, quorum, reminders, escalation and deadline
as a draft) and its own message in the thread with Allow / Always allow / Deny. Once every
pending call is decided the run resumes from its ``RunState``: allowed calls run, denied and
timed-out ones are refused with a reason the agent reads. A timeout never counts as an
approval. All of it is workflow state: a restarted worker replays to the same place.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from temporalio import workflow
from temporalio.exceptions import CancelledError

from core.contracts import DecisionKind, DecisionReceipt, DecisionRecord, MessageRef, Phase, WorkflowSettings
from core.mrkdwn import agent_words, escape, humanize, mention, truncate
from core.tool_calls import ToolCallRecord, ToolCallState, ToolCallView, ToolDecisionInput, ToolResult
from workflows.approval import OPERATOR, ApprovalGate, DecisionRefused, GateOutcome, GateResult, GateWords
from workflows.runtime import durable
from workflows.thread import SlackThread

with workflow.unsafe.imports_passed_through():
    from agents import Agent, RunConfig, RunResult, RunState, ToolApprovalItem

TOOL_CALL_WORDS = GateWords(item="tool call", approved="allowed", rejected="denied")
DENIED_FOR_AGENT = "A person denied this tool call; it was not made."
EXPIRED_FOR_AGENT = "Nobody decided on this tool call before the deadline; it was not made. Do not retry it."
NOTE_CHARS = 500
# When the last waiting call is allowed, its action goes first and the thread's posts about the
# Allow follow it: the action then shares the worker and the channel's posting pace with nothing
# (Slack calls all, so a slow Slack delays both alike). Runs started before posted first.
ACTION_FIRST_PATCH = "tool-action-first"
# An agent run that keeps asking (each answer a new model call) stops here.
MAX_AGENT_TURNS = 20

_STATE_FOR_OUTCOME = {
    GateOutcome.APPROVED: ToolCallState.ALLOWED,
    GateOutcome.REJECTED: ToolCallState.DENIED,
    GateOutcome.EXPIRED: ToolCallState.EXPIRED,
}


_SUMMARY_HEADINGS = (
    (ToolCallState.DONE, ":white_check_mark: Done"),
    (ToolCallState.FAILED, ":warning: Failed"),
    (ToolCallState.DENIED, ":no_entry: Denied"),
    (ToolCallState.EXPIRED, ":alarm_clock: Timed out"),
    (ToolCallState.CANCELLED, ":no_entry_sign: Not made (cancelled)"),
)


class ToolCallHost(Protocol):
    """What the tool approvals need of their workflow."""

    @property
    def thread(self) -> SlackThread: ...

    @property
    def settings(self) -> WorkflowSettings: ...

    @property
    def requester_id(self) -> str | None: ...

    @property
    def team_id(self) -> str | None: ...

    def who_decides(self) -> str: ...


@dataclass
class _PendingCall:
    record: ToolCallRecord
    gate: ApprovalGate
    message: MessageRef | None = None
    # Approvers who chose Always allow on this call.
    always_by: set[str] = field(default_factory=set)


class ToolApprovals:
    """The tool calls of one workflow's agent runs: the policy, the pending gates and the log."""

    def __init__(self, host: ToolCallHost) -> None:
        self._host = host
        self._pending: dict[int, _PendingCall] = {}
        self._by_call_id: dict[str, ToolCallRecord] = {}
        # Each asked call's approval message, updated once more when the call has run.
        self._messages: dict[int, MessageRef] = {}
        # Thread posts about a decision, made while the allowed call already runs.
        self._in_flight: list[Awaitable[None]] = []
        # Posts about an Allow that wait for the allowed action (ACTION_FIRST_PATCH).
        self._held: list[Callable[[], Coroutine[Any, Any, None]]] = []
        self.records: list[ToolCallRecord] = []
        # Tools a person chose "Always allow" for, for the rest of this run.
        self.always_allowed: set[str] = set()

    # --- policy -------------------------------------------------------------------------

    def needs_approval(self, tool: str) -> bool:
        """Every tool needs a person unless the policy or an earlier Always allow says otherwise."""
        return tool not in self._host.settings.auto_approved_tools and tool not in self.always_allowed

    # --- decisions (validators, then handlers) --------------------------------------------

    def check(self, kind: DecisionKind, decision: ToolDecisionInput, phase: Phase) -> None:
        call = self._pending.get(decision.call_number)
        if call is None:
            known = next((r for r in self.records if r.call_number == decision.call_number), None)
            if known is None:
                raise DecisionRefused(f"There is no tool call {decision.call_number} in this run.")
            raise DecisionRefused(f"Tool call {decision.call_number} was already decided: it is {known.state.value}.")
        call.gate.check(kind, decision.user_id, decision.call_number, decision.team_id, decision.reason, phase)

    def apply(self, kind: DecisionKind, decision: ToolDecisionInput, phase: Phase) -> DecisionReceipt:
        call = self._pending[decision.call_number]
        if kind is DecisionKind.APPROVE and decision.always:
            call.always_by.add(decision.user_id)
        return call.gate.apply(kind, decision.user_id, decision.call_number, decision.reason, phase)

    def pending_numbers(self) -> list[int]:
        return sorted(self._pending)

    def record(self, call_number: int) -> ToolCallRecord | None:
        return next((r for r in self.records if r.call_number == call_number), None)

    # --- running an agent ---------------------------------------------------------------

    async def run(self, agent: Agent[Any], prompt: str) -> RunResult:
        """Run ``agent`` to its final answer, stopping at every interruption for people's decisions."""
        config = RunConfig(tool_not_found_behavior="return_error_to_model")
        turn_input: str | RunState[Any] = prompt
        while True:
            try:
                result = await durable().run_agent(agent, turn_input, run_config=config, max_turns=MAX_AGENT_TURNS)
            except BaseException:
                # The run stopped (failed or cancelled): what was held would announce an action not made.
                self._held.clear()
                raise
            # An allowed call that did not run (the model's turn went elsewhere) still has its posts.
            self._release()
            if not result.interruptions:
                await self.settle()
                return result
            state = result.to_state()
            verdicts = await durable().gather(*(self._ask(item) for item in result.interruptions))
            for item, (allowed, message) in zip(result.interruptions, verdicts, strict=True):
                if allowed:
                    state.approve(item)
                else:
                    state.reject(item, rejection_message=message)
            turn_input = state

    async def _ask(self, item: ToolApprovalItem) -> tuple[bool, str]:
        """One message, one gate: wait for the people's decision on this call."""
        raw: Any = item.raw_item
        arguments = _arguments(getattr(raw, "arguments", None))
        tool = item.tool_name or "?"
        if arguments is None:
            # Nothing to show a person and nothing that could run: the model hears why.
            record = self._new_record(item.agent.name, tool, {}, getattr(raw, "call_id", None), asked=False)
            record.state, record.result = ToolCallState.DENIED, "arguments were not a JSON object"
            return False, f"The arguments for {tool} are not a JSON object. Nothing was run; fix them and try again."
        record = self._new_record(item.agent.name, tool, arguments, getattr(raw, "call_id", None), asked=True)
        policy = self._host.settings.policy
        gate = ApprovalGate(policy, self._host.requester_id, self._host.team_id, TOOL_CALL_WORDS)
        gate.open(record.call_number)
        call = _PendingCall(record, gate)
        self._pending[record.call_number] = call
        try:
            await self._host.thread.note(
                f":hammer_and_wrench: {agent_words(record.agent).capitalize()} asks to run `{escape(record.tool)}` "
                f"(call {record.call_number}). {self._host.who_decides()}"
            )
            call.message = await self._host.thread.post_tool_call(self._view(call))
            if call.message is not None:
                self._messages[record.call_number] = call.message
            result = await gate.wait(_ToolCallHooks(self, call))
        except (asyncio.CancelledError, CancelledError):
            # The workflow is being cancelled: the call is not made, and its buttons go.
            record.state = ToolCallState.CANCELLED
            await self._update(call, "Cancelled: the workflow was cancelled.")
            raise
        finally:
            del self._pending[record.call_number]
        record.state = _STATE_FOR_OUTCOME[result.outcome]
        record.decided_by = list(result.decided_by)
        if result.outcome is GateOutcome.APPROVED:
            if call.always_by and set(result.decided_by) <= call.always_by:
                self.always_allowed.add(record.tool)
            # The call runs at once; its message is updated after it or meanwhile (before its result is noted).
            note = _describe(result, always=record.tool in self.always_allowed)
            await self.after_allow(call, lambda: self._update(call, note))
            return True, ""
        if result.outcome is GateOutcome.EXPIRED:
            record.result = "no decision before the deadline"
            await self._update(call, "Timed out: no decision before the deadline.")
            return False, EXPIRED_FOR_AGENT
        record.result = result.notes
        await self._update(call, _describe(result, always=False))
        reason = f" Their reason: {result.notes}" if result.notes else ""
        return False, DENIED_FOR_AGENT + reason

    # --- the tools report back ----------------------------------------------------------

    def started(self, agent: str, tool: str, arguments: dict[str, Any], call_id: str) -> ToolCallRecord:
        """A tool is about to run: its record (made when it was asked for, or now when it needed no one)."""
        record = self._by_call_id.get(call_id)
        if record is None:
            record = self._new_record(agent, tool, arguments, call_id, asked=False)
            record.state = ToolCallState.ALLOWED
        return record

    def in_background(self, post: Coroutine[Any, Any, None]) -> None:
        """Post to the thread without holding the run up; ``settle`` waits for it."""
        self._in_flight.append(durable().background(post))

    async def after_allow(
        self, call: _PendingCall, post: Callable[[], Coroutine[Any, Any, None]], *, final: bool = True
    ) -> None:
        """A post about an Allow of ``call`` (``final``: the one that meets the quorum). When no other
        call waits, the run resumes now: the post waits for the action (``settle`` in ``finished``,
        or the run's next turn)."""
        resumes_now = final and all(number == call.record.call_number for number in self._pending)
        if resumes_now and await durable().patched_async(ACTION_FIRST_PATCH):
            self._held.append(post)
        else:
            self.in_background(post())

    def _release(self) -> None:
        held, self._held = self._held, []
        for post in held:
            self.in_background(post())

    async def settle(self) -> None:
        """Wait for the thread posts still under way, so what follows comes after them."""
        self._release()
        while self._in_flight:
            pending, self._in_flight = self._in_flight, []
            await durable().gather(*pending)

    async def finished(self, record: ToolCallRecord, result: ToolResult) -> None:
        # The decision's note and message update come first in the thread.
        await self.settle()
        record.state = ToolCallState.DONE if result.ok else ToolCallState.FAILED
        record.result = result.summary
        message = self._messages.get(record.call_number)
        if message is not None:
            people = ", ".join(mention(user) for user in record.decided_by)
            note = f"Allowed by {people}. " if people else ""
            await self._host.thread.update_tool_call(
                message, self._record_view(record, note + escape(truncate(result.summary, NOTE_CHARS)))
            )
        how = "" if record.asked else " (allowed by the policy, no one asked)"
        icon = ":white_check_mark:" if result.ok else ":warning:"
        link = f" <{escape(result.permalink).replace('|', '%7C')}|View it>" if result.permalink else ""
        await self._host.thread.note(
            f"{icon} `{escape(record.tool)}` (call {record.call_number}){how}: "
            f"{escape(truncate(result.summary, NOTE_CHARS))}{link}"
        )

    def summary(self) -> str:
        """What the run's tool calls came to, for the final thread message (mrkdwn, safe)."""
        if not self.records:
            return "No tool was called."
        parts = []
        for state, heading in _SUMMARY_HEADINGS:
            rows = [r for r in self.records if r.state is state]
            if rows:
                lines = [
                    f"• `{escape(r.tool)}` (call {r.call_number})"
                    + (f": {escape(truncate(r.result, 200))}" if r.result else "")
                    for r in rows
                ]
                parts.append(f"*{heading}* ({len(rows)})\n" + "\n".join(lines))
        return "\n".join(parts)

    # --- helpers ------------------------------------------------------------------------

    def _new_record(
        self, agent: str, tool: str, arguments: dict[str, Any], call_id: str | None, *, asked: bool
    ) -> ToolCallRecord:
        record = ToolCallRecord(
            call_number=len(self.records) + 1,
            agent=agent,
            tool=tool,
            arguments=arguments,
            state=ToolCallState.PENDING,
            asked_at=durable().now(),
            asked=asked,
        )
        self.records.append(record)
        if call_id:
            self._by_call_id[call_id] = record
        return record

    def _view(self, call: _PendingCall, note: str = "") -> ToolCallView:
        return self._record_view(call.record, note, call.gate.approvals)

    def _record_view(self, record: ToolCallRecord, note: str, approvals: list[str] | None = None) -> ToolCallView:
        """The call's message as it should read now (approvals so far while it waits)."""
        return ToolCallView(
            workflow_id=durable().workflow_id(),
            call_number=record.call_number,
            agent=record.agent,
            tool=record.tool,
            arguments=record.arguments,
            state=record.state,
            approvals=list(approvals or []),
            required_approvals=self._host.settings.policy.required_approvals,
            status_note=note,
        )

    async def _update(self, call: _PendingCall, note: str) -> None:
        if call.message is not None:
            await self._host.thread.update_tool_call(call.message, self._view(call, note))


class _ToolCallHooks:
    """The gate's callbacks for one tool call: decisions and reminders in the thread."""

    def __init__(self, owner: ToolApprovals, call: _PendingCall) -> None:
        self._owner = owner
        self._call = call

    async def on_decision(self, record: DecisionRecord, approvals: list[str]) -> None:
        owner, call = self._owner, self._call
        who = "A Temporal operator" if record.user_id == OPERATOR else mention(record.user_id)
        what = f"`{escape(call.record.tool)}` (call {call.record.call_number})"
        if record.kind is DecisionKind.APPROVE:
            required = owner._host.settings.policy.required_approvals
            count = f" ({len(approvals)} of {required})" if required > 1 else ""
            always = " for the rest of this run" if record.user_id in call.always_by else ""
            # Not awaited: an allowed call should not wait for the note that says so (see after_allow).
            text = f":white_check_mark: {who} allowed {what}{always}{count}."
            await owner.after_allow(call, lambda: owner._host.thread.note(text), final=len(approvals) >= required)
            if len(approvals) < required and call.message is not None:
                await owner._host.thread.update_tool_call(call.message, owner._view(call))
        else:
            reason = f": {escape(truncate(record.notes, NOTE_CHARS))}" if record.notes else "."
            await owner._host.thread.note(f":no_entry: {who} denied {what}{reason}")

    async def on_reminder(self, reminder_number: int, escalate: bool, last: bool) -> None:
        owner, call = self._owner, self._call
        waited = humanize(call.gate.reminders_sent * owner._host.settings.policy.reminder_interval)
        what = f"`{escape(call.record.tool)}` (call {call.record.call_number})"
        if escalate:
            escalation_to = owner._host.settings.policy.escalation_to
            target = mention(escalation_to) if escalation_to else "the channel"
            text = f":rotating_light: Escalated to {target}: {what} has waited {waited}. {owner._host.who_decides()}"
        else:
            text = (
                f":alarm_clock: Reminder {reminder_number}: {what} has been waiting {waited} "
                f"for a decision. {owner._host.who_decides()}"
            )
        await owner._host.thread.note(text + (call.gate.last_reminder_note() if last else ""))


def _arguments(raw: Any) -> dict[str, Any] | None:
    """The model's arguments as an object, or None when they are not a JSON object."""
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str):
        return None
    try:
        parsed = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _describe(result: GateResult, *, always: bool) -> str:
    people = ", ".join("a Temporal operator" if user == OPERATOR else mention(user) for user in result.decided_by)
    if result.outcome is GateOutcome.APPROVED:
        suffix = " Later calls of this tool in this run need no one." if always else ""
        return f"Allowed by {people}.{suffix}"
    reason = f": {escape(truncate(result.notes, NOTE_CHARS))}" if result.notes else "."
    return f"Denied by {people}{reason}"
