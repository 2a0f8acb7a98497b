"""The wire of ``signoff mcp-proxy``: JSON-RPC lines between the agent (the proxy's stdin/stdout) and an
upstream server run as a child process, with the proxy's MCP handlers (``bot.api.mcp_proxy``) on the side.

A call the policy lets through unasked (``ToolProxy.relay_unasked``: a listed tool allowed by a rule
or an earlier Always allow) is relayed here under the agent's own id, and its answer goes back as the
upstream wrote it: the proxy's whole cost for it is reading two lines and writing them on. The SDK's
server and client sessions would cost an allowed call about what the upstream does (a message model,
memory streams and a task per request each way, and the SDK's stdio server reads and writes through
worker threads), which is why that path does not go through them.
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


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


# One decoder for every line (``json.loads`` with an option builds one per call).
_DECODER = json.JSONDecoder(parse_constant=_not_json)


def _json(line: bytes) -> Any:
    """A line's JSON value (MCP's stdio is UTF-8), None when it is not JSON (NaN and Infinity are not)."""
    try:
        return _DECODER.decode(line.decode())
    except ValueError:  # UnicodeDecodeError too
        return None


def _as_id(value: Any) -> str | int | None:
    """``value`` as a JSON-RPC request id (a string or an integer; not ``true``, which Python counts as 1)."""
    return value if isinstance(value, str | int) and not isinstance(value, bool) else None


class LineSplitter:
    """Splits what a pipe or socket delivers into lines (JSON-RPC over stdio: one message a line)."""

    def __init__(self, on_line: Callable[[bytes], None], on_end: Callable[[], None]) -> None:
        self._on_line, self._on_end = on_line, on_end
        self._held: list[bytes] = []
        self._ended = False

    def feed(self, data: bytes) -> None:
        if b"\n" not in data:
            self._held.append(data)
            return
        if self._held:
            data = b"".join([*self._held, data])
            self._held.clear()
        *lines, rest = data.split(b"\n")
        if rest:
            self._held.append(rest)
        for line in lines:
            if line.strip():
                self._on_line(line)

    def end(self) -> None:
        if not self._ended:
            self._ended = True
            self._on_end()


class LineProtocol(asyncio.Protocol):
    """A read pipe (or, in tests, a socket) feeding a ``LineSplitter``."""

    def __init__(self, lines: LineSplitter) -> None:
        self.lines = lines

    def data_received(self, data: bytes) -> None:
        self.lines.feed(data)

    def eof_received(self) -> bool:
        self.lines.end()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.lines.end()


@dataclass
class LineRelay:
    """Relays the agent's lines and the upstream's, handing what it does not relay to the SDK's sessions.

    Lines are handled in the transports' callbacks, without a task switch: a relayed call costs a
    parse and a write each way. Without an upstream process (one over Streamable HTTP: the client
    session has its own transport) every line of the agent's goes to the proxy's server."""

    agent_out: asyncio.WriteTransport
    sides: Sides
    upstream_in: asyncio.WriteTransport | None = None
    # Whether a call may run unasked, and what to do with its answer: ``ToolProxy.relay_unasked``.
    unasked: Callable[[str, dict[str, Any]], Relayed | None] = lambda name, arguments: None
    relayed: dict[str | int, Relayed] = field(default_factory=dict)
    # The client session's requests in flight: the id the upstream sees → the session's own.
    own_requests: dict[str, Any] = field(default_factory=dict)
    own_prefix: str = field(default_factory=lambda: f"signoff-{uuid.uuid4().hex[:8]}-")
    upstream_gone: bool = False

    def agent_lines(self) -> LineSplitter:
        return LineSplitter(self.agent_line, self.agent_ended)

    def upstream_lines(self) -> LineSplitter:
        return LineSplitter(self.upstream_line, self.upstream_ended)

    def _send_agent(self, data: bytes) -> None:
        if not self.agent_out.is_closing():
            self.agent_out.write(data)

    def _send_upstream(self, data: bytes) -> bool:
        if self.upstream_gone or self.upstream_in is None or self.upstream_in.is_closing():
            return False
        self.upstream_in.write(data)
        return True

    @staticmethod
    def _hand(stream: MemoryObjectSendStream[SessionMessage | Exception], item: SessionMessage | Exception) -> None:
        # A session that has ended takes nothing more; what it would have read has nobody to read it.
        with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
            stream.send_nowait(item)

    # ------------------------------------------------------------------ agent → upstream

    def agent_line(self, line: bytes) -> None:
        message = _json(line)
        if isinstance(message, dict) and self.upstream_in is not None and not self.upstream_gone:
            if self._relay_call(message):
                return
            if message.get("method") == "notifications/cancelled":
                params = message.get("params")
                cancelled = _as_id(params.get("requestId")) if isinstance(params, dict) else None
                if cancelled is not None and cancelled in self.relayed:
                    # The upstream may not answer a cancelled call: its log entry is written now.
                    self.relayed.pop(cancelled).done(None, "the agent cancelled it")
                    self._send_upstream(_line(message))
                    return
        self._hand(self.sides.to_server, _parsed(message if isinstance(message, dict) else line))

    def agent_ended(self) -> None:
        """The agent closed its side: the proxy's server hears the end."""
        self.sides.to_server.close()

    def _relay_call(self, message: Message) -> bool:
        """Relays ``message`` when it is a call that runs unasked; False: not one."""
        request_id = _as_id(message.get("id"))
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
        if not self._send_upstream(_line(message)):
            del self.relayed[request_id]
            self._failed(request_id, relayed, "it exited")
        return True

    def _failed(self, request_id: str | int, relayed: Relayed, why: str) -> None:
        """The agent told that the upstream failed on ``relayed``, as a tool error its model reads; logged."""
        self._send_agent(tool_error(request_id, failed_text(relayed.tool, why)))
        relayed.done(None, why)

    # ------------------------------------------------------------------ upstream → agent

    def upstream_line(self, line: bytes) -> None:
        message = _json(line)
        if not isinstance(message, dict):
            self._hand(self.sides.to_session, _parsed(line))
            return
        if "method" not in message and ("result" in message or "error" in message):
            self._answer(message, line)
            return
        if message.get("method") == "notifications/progress":
            params = message.get("params")
            token = params.get("progressToken") if isinstance(params, dict) else None
            if token is not None and any(relayed.progress_token == token for relayed in self.relayed.values()):
                self._send_agent(line + b"\n")
                return
        # The upstream's own requests (sampling, roots, ping) and notifications: the client session's.
        self._hand(self.sides.to_session, _parsed(message))

    def upstream_ended(self) -> None:
        """The upstream closed its stdout (it exited): every relayed call still out is answered as
        failed, and the proxy's client session hears the end."""
        self.upstream_gone = True
        for request_id, relayed in list(self.relayed.items()):
            del self.relayed[request_id]
            self._failed(request_id, relayed, "it exited before answering")
        self.sides.to_session.close()

    def _answer(self, message: Message, line: bytes) -> None:
        request_id = _as_id(message.get("id"))
        if isinstance(request_id, str) and request_id in self.own_requests:
            message["id"] = self.own_requests.pop(request_id)
            self._hand(self.sides.to_session, _parsed(message))
            return
        relayed = self.relayed.pop(request_id, None) if request_id is not None else None
        if relayed is None or request_id is None:
            # A late answer to a call the agent cancelled (or one nobody asked): dropped, as MCP says.
            log.debug("an answer to no request in flight (id %r) dropped", request_id)
            return
        result = message.get("result")
        if "error" in message or not isinstance(result, dict):
            error = message.get("error")
            self._failed(request_id, relayed, f"McpError: {error.get('message') if isinstance(error, dict) else error}")
            return
        # As it came: what the agent is given is the upstream's answer (the call was checked on its way in).
        self._send_agent(line + b"\n")
        relayed.done(result, "")

    # ------------------------------------------------------------------ the SDK's sessions

    async def from_server(self) -> None:
        async for message in self.sides.from_server:
            self._send_agent(_model_line(message))

    async def from_session(self) -> None:
        async for message in self.sides.from_session:
            if not isinstance(message.message, mcp_types.JSONRPCRequest):
                self._send_upstream(_model_line(message))
                continue
            data = message.message.model_dump(by_alias=True, mode="json", exclude_unset=True)
            own_id = f"{self.own_prefix}{data['id']}"
            self.own_requests[own_id], data["id"] = data["id"], own_id
            if not self._send_upstream(_line(data)):
                # The upstream is gone: the request is answered so, not left waiting.
                del self.own_requests[own_id]
                closed = {"code": CONNECTION_CLOSED, "message": "Connection closed"}
                self._hand(
                    self.sides.to_session, _parsed({"jsonrpc": "2.0", "id": message.message.id, "error": closed})
                )


def failed_text(name: str, why: str) -> str:
    """What the agent reads when the upstream failed on a call it forwarded."""
    return f"The upstream MCP server failed on {name} ({why})."


class _UpstreamPipes(asyncio.SubprocessProtocol):
    def __init__(self, exited: asyncio.Future[None]) -> None:
        self.exited = exited
        self.lines: LineSplitter | None = None

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd == 1 and self.lines is not None:
            self.lines.feed(data)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 1 and self.lines is not None:
            self.lines.end()

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)


@contextlib.asynccontextmanager
async def upstream_process(command: tuple[str, ...], relay: LineRelay) -> AsyncIterator[None]:
    """Runs ``command`` with its stdin and stdout the relay's (its stderr the proxy's, where clients
    log it). On the way out it closes the upstream's stdin, as the MCP stdio transport's shutdown says,
    then terminates it, and at last kills it."""
    loop = asyncio.get_running_loop()
    exited: asyncio.Future[None] = loop.create_future()
    pipes = _UpstreamPipes(exited)
    # The relay reads the upstream from the start: nothing it says is lost before the session is built.
    pipes.lines = relay.upstream_lines()
    transport, _ = await loop.subprocess_exec(
        lambda: pipes, *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=None
    )
    stdin = transport.get_pipe_transport(0)
    assert isinstance(stdin, asyncio.WriteTransport)
    relay.upstream_in = stdin
    try:
        yield
    finally:
        stdin.close()
        for stop in (None, transport.terminate, transport.kill):
            if exited.done():
                break
            if stop is not None:
                with contextlib.suppress(ProcessLookupError):
                    stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(exited), UPSTREAM_EXIT_SECONDS)
        transport.close()


@contextlib.asynccontextmanager
async def agent_stdio() -> AsyncIterator[tuple[asyncio.WriteTransport, Callable[[LineSplitter], Awaitable[None]]]]:
    """The agent's side: the process's stdout as a write pipe, and how to start reading its stdin
    into a ``LineSplitter`` (both asyncio pipes: no worker threads).

    While the proxy runs, fd 0 reads the null device and fd 1 writes to stderr (as the SDK's stdio
    server arranges), so nothing else in the process, a library's stray print included, can write
    into the protocol; both are restored on the way out.
    """
    loop = asyncio.get_running_loop()
    wire_in, wire_out = os.dup(0), os.dup(1)
    saved_in, saved_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    readers: list[asyncio.BaseTransport] = []

    async def read_into(lines: LineSplitter) -> None:
        transport, _ = await loop.connect_read_pipe(lambda: LineProtocol(lines), os.fdopen(wire_in, "rb", buffering=0))
        readers.append(transport)

    try:
        os.dup2(null, 0)
        os.dup2(2, 1)
        out, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(wire_out, "wb", buffering=0))
        try:
            yield out, read_into
        finally:
            for reader in readers:
                reader.close()
            out.close()
    finally:
        os.close(null)
        os.dup2(saved_in, 0)
        os.dup2(saved_out, 1)
        os.close(saved_in)
        os.close(saved_out)
        sys.stdout.flush()
