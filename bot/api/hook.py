"""``signoff hook`` (run by ``signoff.mcp_stdio.run_hook``): Claude Code's ``PreToolUse`` hook, asking in Slack under the proxy's policy.

Claude Code runs it before each tool call with the hook's JSON on stdin (``session_id``, ``cwd``,
``hook_event_name``, ``tool_name``, ``tool_input``, ``tool_use_id``…) and reads its decision from
stdout, exit code 0: ``{"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision":
"allow" | "deny", "permissionDecisionReason": …}}``; a deny's reason is what Claude reads. A call the
policy allows prints nothing (Claude Code's own permission rules then apply). A call that asks is
the same request, message and gate as the MCP proxy's (``bot.api.tool_gate``), "the same call"
being the same tool and input within the Claude Code session. Input that is not the documented
shape exits 2 (Claude Code blocks the call and shows stderr): the hook fails closed. Every call it
answers goes to the key's hook tool-call log (``signoff audit``), the way the proxy's calls go to its.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.api.tool_call_journal import entry
from bot.api.tool_gate import PENDING_WORDS, ToolCallGate, ToolCallRefused, canonical
from bot.api.tool_policy import Policy
from signoff.contracts.tool_call_log import ToolCallEntry, UpstreamStatus, Verdict

PRE_TOOL_USE = "PreToolUse"
# Claude Code's own tools that only read: allowed by default, as an MCP tool with readOnlyHint is.
READ_ONLY_TOOLS = frozenset({"Read", "Glob", "Grep", "LS", "NotebookRead", "TodoWrite"})
# Exit code 2: Claude Code blocks the tool call and shows stderr to Claude.
BLOCKED = 2


class HookInput(BaseModel):
    """The documented ``PreToolUse`` payload (the fields signoff reads; others are ignored)."""

    model_config = ConfigDict(extra="ignore")

    session_id: str = Field(min_length=1)
    hook_event_name: str
    tool_name: str = Field(min_length=1, max_length=128)
    tool_input: dict[str, Any]
    tool_use_id: str | None = None


def decision_json(decision: str, reason: str) -> str:
    return json.dumps(
        {
            "hookSpecificOutput": {
                "hookEventName": PRE_TOOL_USE,
                "permissionDecision": decision,
                "permissionDecisionReason": reason,
            }
        },
        ensure_ascii=False,
    )


def parse_input(raw: str) -> HookInput:
    """The hook's stdin, or ``ValueError`` with one line saying what is wrong."""
    try:
        parsed = HookInput.model_validate_json(raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "input"
        raise ValueError(f"not a PreToolUse hook's input: {where}: {first['msg']}") from None
    if parsed.hook_event_name != PRE_TOOL_USE:
        raise ValueError(f"signoff hook is a {PRE_TOOL_USE} hook; it was run for {parsed.hook_event_name}")
    return parsed


GateFor = Callable[[HookInput], AbstractAsyncContextManager[ToolCallGate]]
# Where each answered call's entry goes (the key's hook tool-call log); None: nowhere.
Record = Callable[[ToolCallEntry], Awaitable[None]]


async def answer_hook(
    raw: str, policy: Policy, gate_for: GateFor, record: Record | None = None
) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) for one hook call; ``gate_for`` reaches the engine only for a call
    that asks; ``record`` is given the call's log entry once it is answered."""
    try:
        hook = parse_input(raw)
    except ValueError as err:
        return BLOCKED, "", f"signoff hook: {err}"
    answer, logged = await _answer(hook, policy, gate_for)
    if record is not None:
        await record(logged)
    return answer


async def _answer(hook: HookInput, policy: Policy, gate_for: GateFor) -> tuple[tuple[int, str, str], ToolCallEntry]:
    name, arguments = hook.tool_name, canonical(hook.tool_input)
    verdict = policy.verdict(name, read_only=name in READ_ONLY_TOOLS, destructive=None)
    if verdict.action == "allow":
        return (0, "", ""), entry(
            name, arguments, Verdict.ALLOWED_BY_POLICY, UpstreamStatus.LET_THROUGH, note=verdict.because
        )
    if verdict.action == "deny":
        denied = decision_json("deny", f"{name} is denied by signoff's policy ({verdict.because}).")
        return (0, denied, ""), entry(
            name, arguments, Verdict.DENIED_BY_POLICY, UpstreamStatus.NOT_RUN, note=verdict.because
        )
    async with gate_for(hook) as gate:
        try:
            decision = await gate.decide_for_caller(name, hook.tool_input, verdict.ask, policy.wait_seconds, None)
        except ToolCallRefused as err:
            return (0, decision_json("deny", str(err)), ""), entry(
                name, arguments, Verdict.REFUSED, UpstreamStatus.NOT_RUN, note=str(err)
            )
    ran = UpstreamStatus.LET_THROUGH if decision.outcome == "allowed" else UpstreamStatus.NOT_RUN
    logged = entry(
        name,
        arguments,
        Verdict.ASKED,
        ran,
        request_id=decision.request_id,
        decision=decision.outcome,
        decided_by=decision.decided_by,
        note=decision.reason,
    )
    if decision.outcome == "allowed":
        who = ", ".join(decision.decided_by) or "a person"
        return (0, decision_json("allow", f"Allowed in Slack by {who}."), ""), logged
    if decision.outcome == "pending":
        return (0, decision_json("deny", PENDING_WORDS.format(request=decision.request_id)), ""), logged
    return (0, decision_json("deny", f"A person denied this call in Slack. Reason: {decision.reason}"), ""), logged
