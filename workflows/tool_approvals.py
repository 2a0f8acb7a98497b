"""Tool calls that wait for a person: each side-effecting call of an agent is its own gate.

An agent's run stops at an interruption (the Agents SDK's ``needs_approval``). Each pending
call gets an ``ApprovalGate`` (the same approvers, quorum, reminders, escalation and deadline
as a draft) and its own message in the thread with Allow / Always allow / Deny. Once every
pending call is decided the run resumes from its ``RunState``: allowed calls run, denied and
timed-out ones are refused with a reason the agent reads. A timeout never counts as an
approval. All of it is workflow state: a restarted worker replays to the same place.

A call's target is the conversation its ``channel`` argument names, found as the tool finds it
(an id or ``<#C…>`` link as it is, a #name looked up by the ``tool_resolve_channel`` activity):
``read_channel`` runs without asking only on the plan's own conversation, and "Always allow"
covers later calls of the tool to the same conversation only (TOOL_TARGETS_PATCH).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from temporalio import workflow
from temporalio.exceptions import CancelledError

from signoff.contracts.activity_io import SLACK_RETRY_POLICY, SLACK_START_TO_CLOSE
from signoff.contracts.mrkdwn import agent_words, escape, humanize, mention, truncate
from signoff.contracts.steps import StepFailed
from signoff.contracts.tool_calls import (
    READ_CHANNEL,
    TOOL_RESOLVE_CHANNEL,
    ResolveChannelInput,
    ResolvedChannel,
    ToolCallRecord,
    ToolCallState,
    ToolCallView,
    ToolDecisionInput,
    ToolResult,
    channel_name_key,
    conversation_id_in,
)
from signoff.contracts.workflow_io import (
    MAX_NOTES_CHARS,
    DecisionKind,
    DecisionReceipt,
    DecisionRecord,
    HandoffRecord,
    MessageRef,
    Phase,
    WorkflowSettings,
)
from workflows.approval import (
    OPERATOR,
    ApprovalGate,
    DecisionRefused,
    GateOutcome,
    GateResult,
    GateWords,
    checked_channel,
    pool_group_of,
)
from workflows.human_loop import DecisionHandlers
from workflows.patches import ACTION_FIRST_PATCH, TOOL_TARGETS_PATCH
from workflows.runtime import durable
from workflows.thread import SlackThread

with workflow.unsafe.imports_passed_through():
    from agents import Agent, RunConfig, RunResult, RunState, ToolApprovalItem

TOOL_CALL_WORDS = GateWords(item="tool call", approved="allowed", rejected="denied")
DENIED_FOR_AGENT = "A person denied this tool call; it was not made."
EXPIRED_FOR_AGENT = "Nobody decided on this tool call before the deadline; it was not made. Do not retry it."
NOTE_CHARS = 500
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
        # Tools a person chose "Always allow" for, for the rest of this run (runs before TOOL_TARGETS_PATCH).
        self.always_allowed: set[str] = set()
        # (tool, target) pairs a person chose "Always allow" for, for the rest of this run.
        self.always_allowed_targets: set[tuple[str, str]] = set()
        # Whether this run scopes by target (TOOL_TARGETS_PATCH), known once its executor starts.
        self._by_target = False

    # --- policy -------------------------------------------------------------------------

    async def needs_approval(self, tool: str, arguments: dict[str, Any]) -> bool:
        """Every tool needs a person unless the policy or an earlier Always allow says otherwise.

        The policy lets ``read_channel`` through on the plan's own conversation only; Always allow
        covers the tool on the conversation it was given for only."""
        policy = self._host.settings.auto_approved_tools
        if not self._by_target:
            return tool not in policy and tool not in self.always_allowed
        if tool == READ_CHANNEL:
            own = self._host.thread.channel_id
            if tool in policy and own is not None and await self.target(arguments) == own:
                return False
        elif tool in policy:
            return False
        if any(allowed == tool for allowed, _ in self.always_allowed_targets):
            return (tool, await self.target(arguments)) not in self.always_allowed_targets
        return True

    async def target(self, arguments: dict[str, Any]) -> str:
        """The conversation a call's ``channel`` names, as its tool will find it: an id when one is
        written or a lookup finds one; else the name as the tool looks it up ("#name"). Looked up
        again for each call, not remembered: a name may stand for another channel later in the run."""
        channel = arguments.get("channel")
        if not isinstance(channel, str):
            return ""
        conversation = conversation_id_in(channel)
        if conversation is not None:
            return conversation
        name = "#" + channel_name_key(channel)
        return await _resolve_channel(name) or name

    # --- decisions (validators, then handlers) --------------------------------------------

    def check(self, kind: DecisionKind, decision: ToolDecisionInput, phase: Phase) -> None:
        call = self._pending.get(decision.call_number)
        if call is None:
            known = next((r for r in self.records if r.call_number == decision.call_number), None)
            if known is None:
                raise DecisionRefused(f"There is no tool call {decision.call_number} in this run.")
            raise DecisionRefused(f"Tool call {decision.call_number} was already decided: it is {known.state.value}.")
        call.gate.check(
            kind,
            decision.user_id,
            decision.call_number,
            decision.team_id,
            decision.reason,
            phase,
            member_of=checked_channel(decision, call.gate.channel_id),
        )

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
        # Asked here, before any tool call, so both engines meet the patch at the same step.
        self._by_target = await durable().patched_async(TOOL_TARGETS_PATCH)
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
        return await self.ask(item.agent.name, tool, arguments, getattr(raw, "call_id", None))

    async def ask(self, agent: str, tool: str, arguments: dict[str, Any], call_id: str | None) -> tuple[bool, str]:
        """Post the call's message and wait for people's decision: (allowed, what the agent is told
        when not). The call's record (``records[-1]``) says how it was decided and by whom."""
        record = self._new_record(agent, tool, arguments, call_id, asked=True)
        policy = self._host.settings.policy
        thread = self._host.thread.parent
        gate = ApprovalGate(
            policy,
            self._host.requester_id,
            self._host.team_id,
            TOOL_CALL_WORDS,
            channel_id=thread.channel_id if thread else None,
        )
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
            always = bool(call.always_by) and set(result.decided_by) <= call.always_by
            record.always_allowed = always
            if always and self._by_target:
                self.always_allowed_targets.add((record.tool, await self.target(record.arguments)))
            elif always:
                self.always_allowed.add(record.tool)
            # The call runs at once; its message is updated after it or meanwhile (before its result is noted).
            note = _describe(
                result,
                always=always if self._by_target else record.tool in self.always_allowed,
                target=self._scope(record),
            )
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
        # What a read found goes to the agent only (result.note says what was read, not the text).
        record.result = result.shown
        message = self._messages.get(record.call_number)
        if message is not None:
            people = ", ".join(mention(user) for user in record.decided_by)
            note = f"Allowed by {people}. " if people else ""
            await self._host.thread.update_tool_call(
                message, self._record_view(record, note + escape(truncate(result.shown, NOTE_CHARS)))
            )
        how = "" if record.asked else " (allowed by the policy, no one asked)"
        icon = ":white_check_mark:" if result.ok else ":warning:"
        link = f" <{escape(result.permalink).replace('|', '%7C')}|View it>" if result.permalink else ""
        await self._host.thread.note(
            f"{icon} `{escape(record.tool)}` (call {record.call_number}){how}: "
            f"{escape(truncate(result.shown, NOTE_CHARS))}{link}"
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
            always_allow_target=self._scope(record),
            pool_group=pool_group_of(self._host.settings.policy),
        )

    def _scope(self, record: ToolCallRecord) -> str | None:
        """What Always allow on ``record`` covers besides its tool, as the model wrote it (None: the whole tool)."""
        if not self._by_target:
            return None
        channel = record.arguments.get("channel")
        return channel.strip() if isinstance(channel, str) else ""

    async def _update(self, call: _PendingCall, note: str) -> None:
        if call.message is not None:
            await self._host.thread.update_tool_call(call.message, self._view(call, note))


class ToolCallDecisions:
    """Allow / Always allow / Deny on a workflow's tool calls (its ``_tools``): the updates the bot's
    buttons send, their validators, and the query "Show full arguments" reads."""

    _tools: ToolApprovals
    _phase: Phase

    @workflow.update
    async def allow_tool_call(self, decision: ToolDecisionInput) -> DecisionReceipt:
        return self._tools.apply(DecisionKind.APPROVE, decision, self._phase)

    @allow_tool_call.validator
    def _check_allow_tool_call(self, decision: ToolDecisionInput) -> None:
        self._tools.check(DecisionKind.APPROVE, decision, self._phase)

    @workflow.update
    async def deny_tool_call(self, decision: ToolDecisionInput) -> DecisionReceipt:
        return self._tools.apply(DecisionKind.REJECT, decision, self._phase)

    @deny_tool_call.validator
    def _check_deny_tool_call(self, decision: ToolDecisionInput) -> None:
        if len(decision.reason) > MAX_NOTES_CHARS:
            raise DecisionRefused(
                f"The reason is {len(decision.reason):,} characters; the limit is {MAX_NOTES_CHARS:,}."
            )
        self._tools.check(DecisionKind.REJECT, decision, self._phase)

    def tool_decision_handlers(self) -> DecisionHandlers:
        return {
            "allow_tool_call": (self._check_allow_tool_call, lambda d: ToolCallDecisions.allow_tool_call(self, d)),
            "deny_tool_call": (self._check_deny_tool_call, lambda d: ToolCallDecisions.deny_tool_call(self, d)),
        }

    @workflow.query
    def tool_call(self, call_number: int) -> ToolCallRecord | None:
        """One tool call of this run (its full arguments, state and result)."""
        return self._tools.record(call_number)

    def tool_call_records(self) -> list[ToolCallRecord]:
        return list(self._tools.records)


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
            always = ""
            if record.user_id in call.always_by:
                always = _always_words(call.record.tool, owner._scope(call.record))
            # Not awaited: an allowed call should not wait for the note that says so (see after_allow).
            text = f":white_check_mark: {who} allowed {what}{always}{count}."
            await owner.after_allow(call, lambda: owner._host.thread.note(text), final=len(approvals) >= required)
            if len(approvals) < required and call.message is not None:
                await owner._host.thread.update_tool_call(call.message, owner._view(call))
        else:
            reason = f": {escape(truncate(record.notes, NOTE_CHARS))}" if record.notes else "."
            await owner._host.thread.note(f":no_entry: {who} denied {what}{reason}")

    async def on_handoff(self, record: HandoffRecord) -> None:
        raise AssertionError("a tool call's gate never routes: claims and delegations are the draft's")

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


async def _resolve_channel(name: str) -> str | None:
    """The conversation id the tools would find for ``name``, or None (none found, or Slack refused)."""
    try:
        resolved: ResolvedChannel = await durable().execute_activity(
            TOOL_RESOLVE_CHANNEL,
            ResolveChannelInput(channel=name),
            result_type=ResolvedChannel,
            start_to_close_timeout=SLACK_START_TO_CLOSE,
            policy=SLACK_RETRY_POLICY,
        )
    except StepFailed:
        # Slack refused for good (a missing scope): the call is then scoped by its name as written.
        return None
    return resolved.channel_id


def _always_words(tool: str, target: str | None) -> str:
    """What an Always allow covers, after "allowed `tool` (call n)" (mrkdwn, safe)."""
    if target is None:
        return " for the rest of this run"
    where = f" in {escape(truncate(target, 80))}" if target else ""
    return f" and every later `{escape(tool)}` call{where} for the rest of this run"


def _describe(result: GateResult, *, always: bool, target: str | None = None) -> str:
    people = ", ".join("a Temporal operator" if user == OPERATOR else mention(user) for user in result.decided_by)
    if result.outcome is GateOutcome.APPROVED:
        suffix = ""
        if always and target is None:
            suffix = " Later calls of this tool in this run need no one."
        elif always:
            where = f" in {escape(truncate(target, 80))}" if target else ""
            suffix = f" Later calls of this tool{where} in this run need no one; elsewhere they still ask."
        return f"Allowed by {people}.{suffix}"
    reason = f": {escape(truncate(result.notes, NOTE_CHARS))}" if result.notes else "."
    return f"Denied by {people}{reason}"
