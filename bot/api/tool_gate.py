"""One tool call of someone else's agent, decided in Slack: what ``signoff mcp-proxy``, ``signoff hook``
and the MCP server's ``approval_prompt`` share.

A call that asks becomes a ``SignoffRequest`` about that call (``ProxiedToolCall``): its message is
/plan's tool-call message (arguments in full, or openly cut with "Show full arguments"), its gate the
same (approvers, quorum, reminders, deadline → deny). Its id comes from the caller's identity, the
tool and the arguments (canonical JSON), so the same call made again joins the same request (a
restarted proxy finds the decision); once a request is closed, the same call asks anew (the next
"generation" of that id). An Allow runs at most once: ``start_forward`` is granted once per request.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from bot.api.models import CreateRequest, RequestView
from bot.api.problems import ProblemError
from bot.api.routes import RequestsApi
from bot.api.tool_policy import Ask
from bot.gateway import Finished, GatewayError, NotFound, Refused, RunStatus
from signoff.config.api_keys import ApiKey
from signoff.contracts.api import ProxiedToolCall
from signoff.contracts.tool_calls import ToolCallRecord
from signoff.slack.rendering.tool_calls import arguments_fit_modal

log = logging.getLogger(__name__)

# The largest arguments asked about (canonical JSON, bytes): a workflow's input stays well inside an
# engine's payload limit; a bigger call is refused before anything is asked.
MAX_ARGUMENTS_BYTES = 256 * 1024
# Requests for the same call closed one after another before a new one is asked (a bound on the probe).
MAX_GENERATIONS = 1000
# How often a waiting call looks at its request (seconds): from the first to the last, doubling.
_POLL_FIRST, _POLL_MAX = 0.05, 0.25
# How long closing a request waits for its run to end (its last notes in the thread).
CLOSE_WAIT_SECONDS = 15.0
PROGRESS_EVERY_SECONDS = 5.0

Progress = Callable[[float, float, str], Awaitable[None]]
Outcome = Literal["allowed", "denied", "pending"]
PENDING_WORDS = (
    "Approval pending: a person has been asked in Slack ({request}) and has not decided yet. The call "
    "was not made. Call this tool again with exactly the same arguments to keep waiting; it will run "
    "once allowed."
)


def canonical(arguments: dict[str, Any]) -> str:
    return json.dumps(arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def call_digest(identity: str, tool: str, arguments: dict[str, Any]) -> str:
    """The same caller, tool and arguments: the same digest (argument order and spacing aside)."""
    return hashlib.sha256(f"{identity}\0{tool}\0{canonical(arguments)}".encode()).hexdigest()


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    # The request's id (api-…), for the audit and the "call again" message.
    request_id: str
    # Denied: why, for the model (the approver's reason, or the deadline).
    reason: str = ""
    decided_by: tuple[str, ...] = ()
    # Allowed with Always allow: later calls of the tool (on the same target) need no one.
    always: bool = False


class ToolCallRefused(Exception):
    """The call cannot be asked about or run (too large, a channel the key may not use, Slack refused
    the thread, already run once): the message says why, for the model."""


@dataclass
class ToolCallGate:
    """Asks about tool calls as ``key`` through ``api``; ``identity`` scopes "the same call" (the key
    and the upstream server, or the coding agent's session)."""

    api: RequestsApi
    key: ApiKey
    identity: str
    agent: str

    async def decide(
        self, tool: str, arguments: dict[str, Any], ask: Ask, wait: float, progress: Progress | None
    ) -> Decision:
        """Ask (or join the open request for this very call) and wait up to ``wait`` seconds. An Allow
        comes back claimed (``start_forward``): the caller runs the call, once, then ``finish``es."""
        size = len(canonical(arguments).encode())
        # What a person allows, they can read in full ("Show full arguments"): larger is refused unasked.
        if size > MAX_ARGUMENTS_BYTES or not arguments_fit_modal(arguments):
            raise ToolCallRefused(
                f"The arguments of {tool} ({size:,} bytes) are more than a person can be shown in full in "
                "Slack to approve them. Nothing was asked or run; pass less (a path or a reference instead "
                "of the content)."
            )
        # No channel in the policy: this process's SIGNOFF_DEFAULT_CHANNEL, as the bot's API defaults.
        body = _request_body(tool, ask, ask.channel or self.api.default_channel)
        call = ProxiedToolCall(tool=tool, arguments=arguments, agent=self.agent)
        digest = call_digest(self.identity, tool, arguments)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        generation = 0
        while True:
            view, generation = await self._open_request(digest, body, call, generation)
            decision = _decision(await self._waited(view, tool, deadline, wait, progress))
            if decision.outcome != "allowed":
                return decision
            try:
                await self.api.gateway.start_forward(decision.request_id, self.key.name)
            except (Refused, Finished, NotFound):
                # That Allow was used already (its call ran, or a twin call took it): this is another
                # call of the same tool with the same arguments, and it asks anew.
                generation += 1
                continue
            except GatewayError as err:
                raise ToolCallRefused(f"Not run: {err}") from None
            return replace(decision, always=await self._always_allowed(decision.request_id))

    async def _always_allowed(self, request_id: str) -> bool:
        record = await self._tool_call(request_id)
        return record is not None and record.always_allowed

    async def _tool_call(self, request_id: str) -> ToolCallRecord | None:
        """The request's tool call as its run has it (None, logged, when it cannot be read)."""
        try:
            return await self.api.gateway.tool_call(request_id, 1)
        except GatewayError as err:
            log.info("could not read %s's tool call: %s", request_id, err)
            return None

    async def _waited(
        self, view: RequestView, tool: str, deadline: float, wait: float, progress: Progress | None
    ) -> RequestView:
        """``view`` once decided or at ``deadline``, looked at often, progress notes meanwhile."""
        loop = asyncio.get_running_loop()
        pause = _POLL_FIRST
        reported = -PROGRESS_EVERY_SECONDS
        while view.status == "pending" and (left := deadline - loop.time()) > 0:
            waited = wait - left
            if progress is not None and waited - reported >= PROGRESS_EVERY_SECONDS:
                reported = waited
                await progress(waited, wait, f"waiting for a decision in Slack on {tool} ({view.id})")
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, _POLL_MAX)
            view = await self._call(self.api.view(self.key, view.id, 0))
        return view

    async def decide_for_caller(
        self, tool: str, arguments: dict[str, Any], ask: Ask, wait: float, progress: Progress | None
    ) -> Decision:
        """``decide``, for a caller that runs the tool itself (a coding agent's hook or permission
        prompt): an Allow is claimed and the request closed at once, a denial closed as told."""
        decision = await self.decide(tool, arguments, ask, wait, progress)
        if decision.outcome == "allowed":
            await self.finish(decision, ok=True, summary=f"allowed: {self.agent} runs it itself")
        elif decision.outcome == "denied":
            await self.finish(decision, ok=False, summary="the caller was told")
        return decision

    async def start_forward(self, decision: Decision) -> None:
        """Claim the Allow: granted once per request (``ToolCallRefused`` when it was run already)."""
        try:
            await self.api.gateway.start_forward(decision.request_id, self.key.name)
        except GatewayError as err:
            raise ToolCallRefused(f"Not run: {err}") from None

    async def finish(self, decision: Decision, *, ok: bool, summary: str) -> None:
        """Close the request: how the run call ended, or that the denial reached the caller. Logged, not
        raised, when it fails: the call's outcome stands either way."""
        try:
            await self.api.gateway.finish_tool_call(decision.request_id, self.key.name, ok=ok, summary=summary[:4000])
        except GatewayError as err:
            log.warning("could not close %s: %s", decision.request_id, err)
            return
        # A run that says its call is closed is never joined again; one from before it said so
        # (TOOL_CALL_CLOSED_PATCH) is joined while it runs, so it is waited for.
        if not await self._closed(decision.request_id):
            await self._until_ended(decision.request_id)

    async def _until_ended(self, request_id: str) -> None:
        """Wait (a bounded while) for a closed request's run to end: until it does, the same call made
        again would find it running and join it, and get this decision again instead of asking anew."""
        try:
            record = await self.api.record_until(
                request_id,
                lambda record: record.status is not RunStatus.RUNNING,
                CLOSE_WAIT_SECONDS,
                longest_pause=_POLL_MAX,
            )
        except (ProblemError, GatewayError):
            return
        if record.status is RunStatus.RUNNING:
            log.info("%s is closed but still running after %g s", request_id, CLOSE_WAIT_SECONDS)

    async def _open_request(
        self, digest: str, body: CreateRequest, call: ProxiedToolCall, first: int
    ) -> tuple[RequestView, int]:
        """The open request for this call (joined), or a new one after the closed ones, from generation
        ``first`` on; and its generation."""
        for generation in range(first, MAX_GENERATIONS):
            idempotency_key = f"tool-{digest[:40]}-{generation}"
            view, replayed = await self._call(self.api.submit(self.key, body, idempotency_key, call))
            if not replayed:
                log.info("asked about %s: %s", call.tool, view.id)
                return view, generation
            record = await self._call(self.api.record(self.key, view.id))
            # Running but closed (posting its last notes): its decision was this call's twin's.
            if record.status is RunStatus.RUNNING and not await self._closed(view.id):
                return view, generation
        raise ToolCallRefused(f"{call.tool} was asked about {MAX_GENERATIONS} times with these arguments; not again.")

    async def _closed(self, request_id: str) -> bool:
        """Whether the request's caller has closed its tool call (unreadable: taken as open, as before)."""
        record = await self._tool_call(request_id)
        return record is not None and record.closed

    async def _call(self, work: Awaitable[Any]) -> Any:
        try:
            return await work
        except ProblemError as err:
            raise ToolCallRefused(f"Could not ask for approval: {err.detail}") from None
        except GatewayError as err:
            raise ToolCallRefused(f"Could not ask for approval: {err}") from None


def _request_body(tool: str, ask: Ask, channel: str | None) -> CreateRequest:
    return CreateRequest(
        title=f"Tool call: {tool}"[:150],
        body=f"An agent asks to run `{tool}`; the arguments are in the tool-call message.",
        channel=channel,
        approvers=ask.approvers,
        required_approvals=ask.required_approvals or 1,
        reminder_interval_seconds=ask.reminder_seconds,
        decision_deadline_seconds=ask.deadline_seconds,
    )


def _decision(view: RequestView) -> Decision:
    result = view.result
    decided_by = tuple(result.decided_by) if result else ()
    if view.status == "pending":
        return Decision("pending", view.id)
    if view.status == "approved":
        return Decision("allowed", view.id, decided_by=decided_by)
    if view.status == "expired":
        reason = "Nobody decided on this tool call before the deadline; it was not made. Do not retry it."
    elif view.status == "rejected" and result is not None:
        reason = result.notes or "A person denied this tool call; it was not made."
    elif view.error is not None:
        reason = f"Approval could not be asked: {view.error.message}"
    else:
        reason = f"The approval request ended as {view.status}; the call was not made."
    return Decision("denied", view.id, reason, decided_by)
