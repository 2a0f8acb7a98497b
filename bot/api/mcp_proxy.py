"""``signoff mcp-proxy`` (run by ``signoff.mcp_stdio.run_proxy``): an MCP server on stdio in front of one upstream MCP server, asking in Slack
before the calls its policy names (``bot.api.tool_policy``).

It lists the upstream's tools unchanged and forwards every call, except: a call the policy denies is
refused; a call that asks waits for a decision (``bot.api.tool_gate``: the same request, message and
gate as /plan's tool calls) up to the policy's ``wait_seconds`` with progress notifications, then
answers "pending, call again with the same arguments"; a Deny is a tool error carrying the reason;
an Allow runs the call once, exactly as shown. The upstream is a child process (``-- COMMAND ARGS``)
or a Streamable HTTP URL. Like ``signoff mcp`` it reads the bot's settings and reaches the engine
through the bot's gateway; its requests are the key's (``--key``) or ``mcp-stdio``'s.

Every call, however decided, goes to the identity's tool-call log in the engine
(``bot.api.tool_call_journal``: buffered, flushed in the background), which also keeps the Always
allow grants a restarted proxy reads back; ``signoff audit <log id>`` shows it (the id is logged at start).
The upstream is pinged only before a person is asked: an allowed call's forward reports a dead one.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import httpx2
import jsonschema  # type: ignore[import-untyped]  # no stubs
from anyio.abc import TaskGroup
from mcp import ClientSession, types
from mcp.client.streamable_http import streamable_http_client
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server

from bot.api.mcp_relay import LineRelay, Relayed, Sides, agent_stdio, failed_text, upstream_process
from bot.api.routes import RequestsApi
from bot.api.tool_call_journal import ToolCallJournal, entry
from bot.api.tool_gate import PENDING_WORDS, Decision, ToolCallGate, ToolCallRefused, canonical
from bot.api.tool_policy import Policy
from bot.api.tool_policy import Verdict as PolicyVerdict
from signoff.config.api_keys import ApiKey
from signoff.config.setting_types import SettingsError
from signoff.contracts.tool_call_log import AlwaysAllowGrant, ToolCallEntry, UpstreamStatus, Verdict, tool_call_log_id

log = logging.getLogger(__name__)

SERVER_NAME = "signoff-mcp-proxy"


@dataclass(frozen=True)
class Upstream:
    """The server fronted: a command run as a child process, or a Streamable HTTP URL."""

    command: tuple[str, ...] = ()
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if bool(self.command) == (self.url is not None):
            raise SettingsError("give the upstream either as -- COMMAND [ARGS…] or as --upstream-url URL, not both")

    @property
    def identity(self) -> str:
        """What "the same call" is scoped to besides the key: this upstream."""
        return self.url or "\0".join(self.command)

    @contextlib.asynccontextmanager
    async def session(self, relay: LineRelay, tasks: TaskGroup) -> AsyncIterator[ClientSession]:
        """The proxy's initialised client session with the upstream: over Streamable HTTP, the SDK's
        transport; a command, run as a child process whose stdio ``relay`` carries (its tasks in ``tasks``)."""
        if self.url is not None:
            async with (
                httpx2.AsyncClient(headers=self.headers, timeout=httpx2.Timeout(30, read=300)) as http,
                streamable_http_client(self.url, http_client=http) as (read_stream, write_stream),
                ClientSession(read_stream, write_stream) as session,
            ):
                await session.initialize()
                yield session
            return
        async with upstream_process(self.command, relay):
            tasks.start_soon(relay.from_session)
            async with ClientSession(*relay.sides.session_streams) as session:
                await session.initialize()
                yield session


def parse_headers(raw: list[str]) -> dict[str, str]:
    headers = {}
    for item in raw:
        name, colon, value = item.partition(":")
        if not colon or not name.strip():
            raise SettingsError(f"--header {item!r}: give it as Name:value")
        headers[name.strip()] = value.strip()
    return headers


def _error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=True)


def target_of(arguments: dict[str, Any]) -> str | None:
    """What Always allow covers besides the tool, as /plan's tool calls scope it: the ``channel`` the
    call names (None: the whole tool)."""
    channel = arguments.get("channel")
    return channel.strip() if isinstance(channel, str) else None


def _unanswered(name: str, err: Exception) -> types.CallToolResult:
    return _error(f"The upstream MCP server did not answer ({type(err).__name__}: {err}); {name} was not called.")


def _relayed_result(result: dict[str, Any] | None, name: str, why: str) -> types.CallToolResult:
    """A relayed call's answer as the SDK path would have had it (None: the upstream failed, ``why``)."""
    if result is None:
        return _error(failed_text(name, why))
    if result.get("isError") is not True:
        return types.CallToolResult(content=[])
    try:
        return types.CallToolResult.model_validate(result)
    except ValueError:
        return _error("the upstream's result is not a tool result")


def _summary(result: types.CallToolResult) -> str:
    """A forwarded call's result in a line, for the thread and the audit (its first text part)."""
    text = next((part.text for part in result.content if isinstance(part, types.TextContent)), "")
    status = "failed" if result.is_error else "done"
    return f"{status}: {text[:300]}" if text else status


@dataclass
class _Call:
    """One call on its way through the proxy, and what its log entry will say."""

    tool: str
    arguments: dict[str, Any]
    verdict: Verdict = Verdict.REFUSED
    # Set when the upstream was not called; else the forward's result says how it ended.
    upstream: UpstreamStatus | None = None
    request_id: str | None = None
    decision: str | None = None
    decided_by: tuple[str, ...] = ()
    note: str = ""

    @functools.cached_property
    def canonical(self) -> str:
        # Worked out when the entry is written, after a relayed call's answer is on its way.
        return canonical(self.arguments)

    def refused(self, result: types.CallToolResult) -> types.CallToolResult:
        self.verdict, self.upstream = Verdict.REFUSED, UpstreamStatus.NOT_RUN
        self.note = _summary(result).removeprefix("failed: ")
        return result


@dataclass
class ToolProxy:
    """The proxy's MCP handlers over one upstream session."""

    upstream: ClientSession
    policy: Policy
    gate: ToolCallGate
    tools: dict[str, types.Tool] = field(default_factory=dict)
    # Each tool's input-schema validator, built once per listing (or why its schema is unusable).
    validators: dict[str, Any] = field(default_factory=dict)
    verdicts: dict[str, PolicyVerdict] = field(default_factory=dict)
    # (tool, target) a person chose Always allow for, and the request they chose it in: later such
    # calls run unasked (read back from the tool-call log at start, so a restart keeps them).
    always_allowed: dict[tuple[str, str | None], str] = field(default_factory=dict)
    # Where every call goes for the audit (None: nowhere, the proxy's own log only).
    journal: ToolCallJournal | None = None

    def server(self) -> Server[Any]:
        return Server(SERVER_NAME, on_list_tools=self.list_tools, on_call_tool=self.call_tool)

    async def refresh(self) -> list[types.Tool]:
        listed: list[types.Tool] = []
        cursor: str | None = None
        while True:
            page = await self.upstream.list_tools(
                params=types.PaginatedRequestParams(cursor=cursor) if cursor else None
            )
            listed.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        self.tools = {tool.name: tool for tool in listed}
        self.validators = {tool.name: _validator(tool) for tool in listed}
        self.verdicts = {tool.name: self._verdict_of(tool) for tool in listed}
        return listed

    async def list_tools(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=await self.refresh())

    async def call_tool(
        self, ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        name, arguments = params.name, dict(params.arguments or {})
        call = _Call(name, arguments)
        result = await self._call(ctx, call)
        self._record(call, lambda: result)
        return result

    def relay_unasked(self, name: str, arguments: dict[str, Any]) -> Relayed | None:
        """The call as the wire relays it, when it runs without anyone asked (a listed tool allowed by the
        policy or an earlier Always allow: the upstream answers for its arguments); None: ``call_tool``
        decides, and says why it refuses."""
        tool = self.tools.get(name)
        if tool is None:
            return None
        call = _Call(name, arguments)
        if not self._runs_unasked(call, self._verdict(tool)):
            return None

        def done(result: dict[str, Any] | None, why: str) -> None:
            self._record(call, lambda: _relayed_result(result, name, why))

        return Relayed(name, None, done)

    def _record(self, call: _Call, result: Callable[[], types.CallToolResult]) -> None:
        """Log ``call``, its entry made when the journal sends it (off a relayed call's path)."""
        if self.journal is None:
            return
        at = datetime.now(UTC)

        def logged() -> ToolCallEntry:
            ended = result()
            upstream = call.upstream or (UpstreamStatus.ERROR if ended.is_error else UpstreamStatus.OK)
            return entry(
                call.tool,
                call.canonical,
                call.verdict,
                upstream,
                request_id=call.request_id,
                decision=call.decision,
                decided_by=call.decided_by,
                note=call.note or (_summary(ended) if upstream is UpstreamStatus.ERROR else ""),
                at=at,
            )

        self.journal.record(logged)

    def _verdict(self, tool: types.Tool) -> PolicyVerdict:
        # The policy reads only the tool's name and hints: worked out once per listing.
        return self.verdicts.get(tool.name) or self._verdict_of(tool)

    def _verdict_of(self, tool: types.Tool) -> PolicyVerdict:
        hints = tool.annotations
        return self.policy.verdict(
            tool.name,
            read_only=hints.read_only_hint if hints else None,
            destructive=hints.destructive_hint if hints else None,
        )

    def _runs_unasked(self, call: _Call, verdict: PolicyVerdict) -> bool:
        """Whether ``call`` runs without a person asked (its log entry says why)."""
        call.note = verdict.because
        if verdict.action == "allow":
            log.info("allowed by policy: %s (%s)", call.tool, verdict.because)
            call.verdict = Verdict.ALLOWED_BY_POLICY
            return True
        granted_in = self.always_allowed.get((call.tool, target_of(call.arguments)))
        if verdict.action == "ask" and granted_in is not None:
            log.info("allowed by an earlier Always allow (%s): %s", granted_in, call.tool)
            call.verdict, call.request_id, call.note = Verdict.ALWAYS_ALLOWED, granted_in, ""
            return True
        return False

    async def _call(self, ctx: ServerRequestContext[Any, Any], call: _Call) -> types.CallToolResult:
        name, arguments = call.tool, call.arguments
        try:
            tool = await self._listed(name)
        except Exception as err:  # the upstream died or broke the protocol: nothing is asked
            return call.refused(_unanswered(name, err))
        if tool is None:
            return call.refused(_error(f"The upstream MCP server has no tool {name!r}; nothing was asked or run."))
        verdict = self._verdict(tool)
        if verdict.action == "deny":
            log.info("denied by policy: %s (%s)", name, verdict.because)
            call.verdict, call.upstream, call.note = Verdict.DENIED_BY_POLICY, UpstreamStatus.NOT_RUN, verdict.because
            return _error(f"{name} is denied by this server's approval policy ({verdict.because}). It was not run.")
        if self._runs_unasked(call, verdict):
            # No ping and no schema check first: the upstream answers for a call nobody is asked about
            # (it is gone, or it refuses the arguments), as it would without the proxy.
            return await self._forward(name, arguments)
        # A person is asked only about a call that can run: arguments the tool's schema takes, an upstream that answers.
        problem = _schema_problem(self.validators[name], arguments)
        if problem:
            return call.refused(
                _error(f"The arguments do not match {name}'s input schema: {problem}. Nothing was asked or run.")
            )
        try:
            # Alive before anyone is asked: a call that cannot run is never put to a person.
            await self.upstream.send_ping()
        except Exception as err:
            return call.refused(_unanswered(name, err))
        try:
            decision = await self.gate.decide(
                name, arguments, verdict.ask, self.policy.wait_seconds, ctx.session.report_progress
            )
        except ToolCallRefused as err:
            return call.refused(_error(str(err)))
        call.verdict, call.request_id, call.decision = Verdict.ASKED, decision.request_id, decision.outcome
        call.decided_by, call.note = decision.decided_by, decision.reason
        if decision.outcome != "allowed":
            call.upstream = UpstreamStatus.NOT_RUN
        return await self._decided(name, arguments, decision)

    async def _decided(self, name: str, arguments: dict[str, Any], decision: Decision) -> types.CallToolResult:
        if decision.outcome == "pending":
            return _error(PENDING_WORDS.format(request=decision.request_id))
        if decision.outcome == "denied":
            await self.gate.finish(decision, ok=False, summary="the caller was told")
            who = ", ".join(decision.decided_by)
            by = f" by {who}" if who else ""
            return _error(f"A person denied this call{by} in Slack; {name} was not run. Reason: {decision.reason}")
        if decision.always:
            target = target_of(arguments)
            self.always_allowed[(name, target)] = decision.request_id
            if self.journal is not None:
                grant = AlwaysAllowGrant(
                    name, target, decision.request_id, list(decision.decided_by), datetime.now(UTC)
                )
                await self.journal.grant(grant)
        result = await self._forward(name, arguments)
        await self.gate.finish(decision, ok=not result.is_error, summary=_summary(result))
        return result

    async def _listed(self, name: str) -> types.Tool | None:
        """The upstream's tool ``name``, listing again when it is new (it may have appeared since)."""
        if name not in self.tools:
            await self.refresh()
        return self.tools.get(name)

    async def _forward(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        try:
            return await self.upstream.call_tool(name, arguments)
        except Exception as err:  # the upstream died mid-call: the model hears it, the proxy goes on
            return _error(failed_text(name, f"{type(err).__name__}: {err}"))


def _validator(tool: types.Tool) -> Any:
    """A validator of ``tool``'s input schema (by its ``$schema``, else draft 2020-12), or the text
    saying why the schema itself is unusable."""
    try:
        kind = jsonschema.validators.validator_for(tool.input_schema, default=jsonschema.Draft202012Validator)
        kind.check_schema(tool.input_schema)
    except jsonschema.SchemaError as err:
        return f"the upstream's schema is invalid ({err.message})"
    return kind(tool.input_schema)


def _schema_problem(validator: Any, arguments: dict[str, Any]) -> str | None:
    if isinstance(validator, str):
        return validator
    if validator.is_valid(arguments):
        return None
    error = jsonschema.exceptions.best_match(validator.iter_errors(arguments))
    if error is None:
        return None
    where = ".".join(str(part) for part in error.absolute_path)
    return f"{where}: {error.message}" if where else str(error.message)


async def serve_proxy(api: RequestsApi, key: ApiKey, policy: Policy, upstream: Upstream) -> None:
    """Serve the upstream's tools on stdio, through the policy, as ``key``, until the client closes them."""
    log.info("signoff mcp-proxy (pid %d) in front of %s", os.getpid(), upstream.url or upstream.command[0])
    async with agent_stdio() as (agent_out, read_agent), anyio.create_task_group() as tasks:
        relay = LineRelay(agent_out, Sides.open())
        async with upstream.session(relay, tasks) as session:
            # Named without the command's arguments or the URL's query, which may carry a token.
            shown = Path(upstream.command[0]).name if upstream.command else (upstream.url or "").partition("?")[0]
            gate = ToolCallGate(api, key, upstream.identity, f"an agent through signoff mcp-proxy ({shown})")
            journal = ToolCallJournal(
                api.gateway, tool_call_log_id(key.name, upstream.identity), f"{key.name}: {shown}"
            )
            grants = await journal.grants()
            log.info(
                "tool-call log: %s (signoff audit %s); %d Always allow grant(s) kept",
                journal.log_id,
                journal.log_id,
                len(grants),
            )
            proxy = ToolProxy(session, policy, gate, journal=journal)
            proxy.always_allowed = {(grant.tool, grant.target): grant.request_id for grant in grants}
            relay.unasked = proxy.relay_unasked
            journal.start()
            try:
                server = proxy.server()
                tasks.start_soon(relay.from_server)
                await read_agent(relay.agent_lines())
                await server.run(*relay.sides.server_streams, server.create_initialization_options())
            finally:
                await journal.close()
        tasks.cancel_scope.cancel()
