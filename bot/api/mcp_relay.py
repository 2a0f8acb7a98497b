"""The wire of ``signoff mcp-proxy``: JSON-RPC lines between the agent (the proxy's stdin/stdout) and an
upstream server run as a child process, with the proxy's MCP handlers (``bot.api.mcp_proxy``) on the side.

A call the policy lets through unasked (``ToolProxy.relay_unasked``: a listed tool, arguments its
schema takes, allowed by a rule or an earlier Always allow) is relayed here under the agent's own id,
and its answer goes back as the upstream wrote it: the proxy's whole cost for it is reading two lines
and writing them on. The SDK's server and client sessions would cost an allowed call about what the
upstream does (a message model, memory streams and a task per request each way, and the SDK's stdio
server reads and writes through worker threads), which is why that path does not go through them.
The call is written upstream from what was checked, not as the line came: a line naming a key twice
could be read one way here and another way upstream.

Everything else goes through the ``mcp`` SDK: the agent's other messages (initialize, listing, calls
that ask, are refused or denied) to the proxy's ``Server``; the proxy's own requests to the upstream
(listing, ping, a call a person allowed) from its ``ClientSession``. Those requests are sent under
ids of the proxy's own (``signoff-<run>-N``), so they never meet the agent's ids in the upstream's
answers.

A relayed call whose answer never comes because the upstream died is answered here as a tool error;
one the upstream answers with a JSON-RPC error gets the tool error the SDK path gives; one the agent
cancels is logged when it cancels it (the upstream may never answer), and a late answer is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import mcp_types
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp import types
from mcp.shared.message import SessionMessage
from mcp_types import CONNECTION_CLOSED

log = logging.getLogger(__name__)

# One line is one JSON-RPC message: a tool's result can be large.
LINE_LIMIT = 64 * 1024 * 1024
# The upstream's time to exit once its stdin is closed, then once terminated, before it is killed.
UPSTREAM_EXIT_SECONDS = 2.0

Message = dict[str, Any]


@dataclass
class Relayed:
    """A call relayed to the upstream under the agent's own id, until its answer comes back."""

    tool: str
    progress_token: str | int | None
    # Told the answer: (the result, or None when the upstream failed; why it failed).
    done: Callable[[Message | None, str], None]


@dataclass
class Sides:
    """The SDK's two sessions as the relay sees them: what it feeds each, and what each sends."""

    to_server: MemoryObjectSendStream[SessionMessage | Exception]
    from_server: MemoryObjectReceiveStream[SessionMessage]
    to_session: MemoryObjectSendStream[SessionMessage | Exception]
    from_session: MemoryObjectReceiveStream[SessionMessage]
    # The other ends, for ``Server.run`` and ``ClientSession``.
    server_streams: tuple[MemoryObjectReceiveStream[SessionMessage | Exception], MemoryObjectSendStream[SessionMessage]]
    session_streams: tuple[
        MemoryObjectReceiveStream[SessionMessage | Exception], MemoryObjectSendStream[SessionMessage]
    ]

    @classmethod
    def open(cls) -> Sides:
        # Unbounded: a session busy with one message must not hold up the relayed calls behind it.
        to_server, server_reads = anyio.create_memory_object_stream[SessionMessage | Exception](math.inf)
        server_writes, from_server = anyio.create_memory_object_stream[SessionMessage](math.inf)
        to_session, session_reads = anyio.create_memory_object_stream[SessionMessage | Exception](math.inf)
        session_writes, from_session = anyio.create_memory_object_stream[SessionMessage](math.inf)
        return cls(
            to_server,
            from_server,
            to_session,
            from_session,
            (server_reads, server_writes),
            (session_reads, session_writes),
        )


def _line(message: Message) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def _model_line(message: SessionMessage) -> bytes:
    return message.message.model_dump_json(by_alias=True, exclude_unset=True).encode() + b"\n"


def _parsed(raw: bytes | Message) -> SessionMessage | Exception:
    """A line (or a message already parsed) as the SDK's sessions take it, or why it is not one."""
    try:
        if isinstance(raw, bytes):
            return SessionMessage(mcp_types.jsonrpc_message_adapter.validate_json(raw, by_name=False))
        return SessionMessage(mcp_types.jsonrpc_message_adapter.validate_python(raw, by_name=False))
    except Exception as err:  # the session answers or logs it, as the SDK's own transports do
        return err


def tool_error(request_id: str | int, text: str) -> bytes:
    result = types.CallToolResult(content=[types.TextContent(text=text)], is_error=True)
    return _line(
        {"jsonrpc": "2.0", "id": request_id, "result": result.model_dump(by_alias=True, mode="json", exclude_none=True)}
    )


def _json(line: bytes | str) -> Any:
    """A line's JSON value, None when it is not JSON (NaN and Infinity are not)."""
    try:
        return json.loads(line, parse_constant=_not_json)
    except ValueError:
        return None


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _request_id(message: Message) -> str | int | None:
    request_id = message.get("id")
    return request_id if isinstance(request_id, str | int) and not isinstance(request_id, bool) else None


@dataclass
class LineRelay:
    """Relays the agent's lines and the upstream's, handing what it does not relay to the SDK's sessions.

    Without an upstream process (one over Streamable HTTP: the client session has its own transport)
    every line of the agent's goes to the proxy's server."""

    agent_in: asyncio.StreamReader
    agent_out: asyncio.StreamWriter
    sides: Sides
    upstream_in: asyncio.StreamWriter | None = None
    upstream_out: asyncio.StreamReader | None = None
    # Whether a call may run unasked, and what to do with its answer: ``ToolProxy.relay_unasked``.
    unasked: Callable[[str, dict[str, Any]], Relayed | None] = lambda name, arguments: None
    relayed: dict[str | int, Relayed] = field(default_factory=dict)
    # The client session's requests in flight: the id the upstream sees → the session's own.
    own_requests: dict[str, Any] = field(default_factory=dict)
    own_prefix: str = field(default_factory=lambda: f"signoff-{uuid.uuid4().hex[:8]}-")
    upstream_gone: bool = False

    async def _send_agent(self, data: bytes) -> None:
        self.agent_out.write(data)
        with contextlib.suppress(ConnectionError):
            await self.agent_out.drain()

    async def _send_upstream(self, data: bytes) -> bool:
        if self.upstream_gone or self.upstream_in is None:
            return False
        try:
            self.upstream_in.write(data)
            await self.upstream_in.drain()
        except (ConnectionError, RuntimeError):  # its stdin closed under us: it died
            return False
        return True

    @staticmethod
    async def _hand(
        stream: MemoryObjectSendStream[SessionMessage | Exception], item: SessionMessage | Exception
    ) -> None:
        # A session that has ended takes nothing more; what it would have read has nobody to read it.
        with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
            await stream.send(item)

    # ------------------------------------------------------------------ agent → upstream

    async def from_agent(self) -> None:
        """Until the agent closes its side (then the proxy's server hears the end)."""
        try:
            while line := await self.agent_in.readline():
                if line.strip():
                    await self._agent_line(line)
        finally:
            self.sides.to_server.close()

    async def _agent_line(self, line: bytes) -> None:
        message = _json(line)
        if isinstance(message, dict) and self.upstream_in is not None and not self.upstream_gone:
            if await self._relay_call(message):
                return
            if message.get("method") == "notifications/cancelled":
                params = message.get("params")
                cancelled = params.get("requestId") if isinstance(params, dict) else None
                if isinstance(cancelled, str | int) and cancelled in self.relayed:
                    # The upstream may not answer a cancelled call: its log entry is written now.
                    self.relayed.pop(cancelled).done(None, "the agent cancelled it")
                    await self._send_upstream(_line(message))
                    return
        await self._hand(self.sides.to_server, _parsed(message if isinstance(message, dict) else line))

    async def _relay_call(self, message: Message) -> bool:
        """Relays ``message`` when it is a call that runs unasked; False: not one."""
        request_id = _request_id(message)
        params = message.get("params")
        if message.get("method") != "tools/call" or request_id is None or request_id in self.relayed:
            return False
        if not isinstance(params, dict) or not isinstance(params.get("name"), str):
            return False
        arguments = params.get("arguments") or {}
        relayed = self.unasked(params["name"], arguments) if isinstance(arguments, dict) else None
        if relayed is None:
            return False
        meta = params.get("_meta")
        relayed.progress_token = meta.get("progressToken") if isinstance(meta, dict) else None
        self.relayed[request_id] = relayed
        # Written out again from what was checked, not the line as it came: a line with a key twice
        # might be read one way here and another way upstream.
        if not await self._send_upstream(_line(message)):
            self.relayed.pop(request_id, None)
            relayed.done(None, "it exited")
            await self._send_agent(tool_error(request_id, failed_text(relayed.tool, "it exited")))
        return True

    # ------------------------------------------------------------------ upstream → agent

    async def from_upstream(self) -> None:
        """Until the upstream closes its stdout (it exited): then every relayed call still out is
        answered as failed, and the proxy's client session hears the end."""
        assert self.upstream_out is not None
        try:
            while line := await self.upstream_out.readline():
                if line.strip():
                    await self._upstream_line(line)
        except (ConnectionError, ValueError) as err:  # a line over LINE_LIMIT, a pipe gone bad
            log.warning("reading the upstream MCP server failed: %s", err)
        finally:
            self.upstream_gone = True
            for request_id, relayed in list(self.relayed.items()):
                del self.relayed[request_id]
                relayed.done(None, "it exited before answering")
                await self._send_agent(tool_error(request_id, failed_text(relayed.tool, "it exited before answering")))
            self.sides.to_session.close()

    async def _upstream_line(self, line: bytes) -> None:
        message = _json(line)
        if not isinstance(message, dict):
            await self._hand(self.sides.to_session, _parsed(line))
            return
        if "method" not in message and ("result" in message or "error" in message):
            await self._answer(message, line)
            return
        if message.get("method") == "notifications/progress":
            params = message.get("params")
            token = params.get("progressToken") if isinstance(params, dict) else None
            if token is not None and any(relayed.progress_token == token for relayed in self.relayed.values()):
                await self._send_agent(_line(message))
                return
        # The upstream's own requests (sampling, roots, ping) and notifications: the client session's.
        await self._hand(self.sides.to_session, _parsed(message))

    async def _answer(self, message: Message, line: bytes) -> None:
        request_id = _request_id(message)
        if isinstance(request_id, str) and request_id in self.own_requests:
            message["id"] = self.own_requests.pop(request_id)
            await self._hand(self.sides.to_session, _parsed(message))
            return
        relayed = self.relayed.pop(request_id, None) if request_id is not None else None
        if relayed is None or request_id is None:
            # A late answer to a call the agent cancelled (or one nobody asked): dropped, as MCP says.
            log.debug("an answer to no request in flight (id %r) dropped", request_id)
            return
        result = message.get("result")
        if "error" in message or not isinstance(result, dict):
            error = message.get("error")
            why = f"McpError: {error.get('message') if isinstance(error, dict) else error}"
            relayed.done(None, why)
            await self._send_agent(tool_error(request_id, failed_text(relayed.tool, why)))
            return
        # As it came: what the agent is given is the upstream's answer (the call was checked on its way in).
        await self._send_agent(line)
        relayed.done(result, "")

    # ------------------------------------------------------------------ the SDK's sessions

    async def from_server(self) -> None:
        async for message in self.sides.from_server:
            await self._send_agent(_model_line(message))

    async def from_session(self) -> None:
        async for message in self.sides.from_session:
            if isinstance(message.message, mcp_types.JSONRPCRequest):
                data = message.message.model_dump(by_alias=True, mode="json", exclude_unset=True)
                own_id = f"{self.own_prefix}{data['id']}"
                self.own_requests[own_id], data["id"] = data["id"], own_id
                if not await self._send_upstream(_line(data)):
                    # The upstream is gone: the request is answered so, not left waiting.
                    del self.own_requests[own_id]
                    closed = {"code": CONNECTION_CLOSED, "message": "Connection closed"}
                    gone = {"jsonrpc": "2.0", "id": message.message.id, "error": closed}
                    await self._hand(self.sides.to_session, _parsed(gone))
            else:
                await self._send_upstream(_model_line(message))


def failed_text(name: str, why: str) -> str:
    """What the agent reads when the upstream failed on a call it forwarded."""
    return f"The upstream MCP server failed on {name} ({why})."


@dataclass
class UpstreamProcess:
    """The upstream server, a child process whose stdin and stdout are the relay's."""

    process: asyncio.subprocess.Process

    @property
    def stdin(self) -> asyncio.StreamWriter:
        assert self.process.stdin is not None
        return self.process.stdin

    @property
    def stdout(self) -> asyncio.StreamReader:
        assert self.process.stdout is not None
        return self.process.stdout

    @classmethod
    @contextlib.asynccontextmanager
    async def run(cls, command: tuple[str, ...]) -> AsyncIterator[UpstreamProcess]:
        """Runs ``command`` (its stderr the proxy's, where clients log it); on the way out closes its
        stdin, as the MCP stdio transport's shutdown says, then terminates and at last kills it."""
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=LINE_LIMIT
        )
        try:
            yield cls(process)
        finally:
            await cls._stop(process)

    @staticmethod
    async def _stop(process: asyncio.subprocess.Process) -> None:
        if process.returncode is not None:
            return
        if process.stdin is not None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                process.stdin.close()
        for stop in (None, process.terminate, process.kill):
            if stop is not None:
                with contextlib.suppress(ProcessLookupError):
                    stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), UPSTREAM_EXIT_SECONDS)
                return


@contextlib.asynccontextmanager
async def agent_stdio() -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """The agent's side: the process's stdin and stdout as asyncio pipes (no worker threads).

    While the proxy runs, fd 0 reads the null device and fd 1 writes to stderr (as the SDK's stdio
    server arranges), so nothing else in the process, a library's stray print included, can write
    into the protocol; both are restored on the way out.
    """
    loop = asyncio.get_running_loop()
    wire_in, wire_out = os.dup(0), os.dup(1)
    saved_in, saved_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        os.dup2(null, 0)
        os.dup2(2, 1)
        reader = asyncio.StreamReader(limit=LINE_LIMIT)
        read_transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(wire_in, "rb", buffering=0)
        )
        write_transport, protocol = await loop.connect_write_pipe(
            lambda: asyncio.streams.FlowControlMixin(loop=loop), os.fdopen(wire_out, "wb", buffering=0)
        )
        writer = asyncio.StreamWriter(write_transport, protocol, None, loop)
        try:
            yield reader, writer
        finally:
            read_transport.close()
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            write_transport.close()
    finally:
        os.close(null)
        os.dup2(saved_in, 0)
        os.dup2(saved_out, 1)
        os.close(saved_in)
        os.close(saved_out)
        sys.stdout.flush()


async def run_relay(relay: LineRelay, serve: Callable[[], Awaitable[None]]) -> None:
    """Relays until the agent closes its side and ``serve`` (the proxy's server) has ended."""
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(relay.from_upstream)
        tasks.start_soon(relay.from_session)
        tasks.start_soon(relay.from_server)
        tasks.start_soon(relay.from_agent)
        await serve()
        tasks.cancel_scope.cancel()
