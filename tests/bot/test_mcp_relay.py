"""The MCP proxy's wire (``bot.api.mcp_relay``) alone: the test is the agent on one socket and the
upstream on another, and reads what the relay hands the proxy's SDK sessions. A call the policy lets
through is relayed under the agent's id and written upstream as it was checked; the proxy's own
requests never meet the agent's ids; an upstream that dies, errs or is cancelled on leaves no call
unanswered or unlogged."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import mcp_types
import pytest
from mcp.shared.message import SessionMessage

from bot.api.mcp_relay import LineProtocol, LineRelay, LineSplitter, Relayed, Sides

ALLOWED = "read_notes"
ASKED = "post_message"
SECONDS = 10.0


@dataclass
class Wire:
    relay: LineRelay
    # The test as the agent, and as the upstream.
    agent: tuple[asyncio.StreamReader, asyncio.StreamWriter]
    upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter]
    # What each relayed call was told at its end: (tool, result, why it failed).
    ended: list[tuple[str, dict[str, Any] | None, str]] = field(default_factory=list)

    def send_agent(self, message: dict[str, Any] | bytes) -> None:
        self.agent[1].write(message if isinstance(message, bytes) else json.dumps(message).encode() + b"\n")

    def send_upstream(self, message: dict[str, Any]) -> None:
        self.upstream[1].write(json.dumps(message).encode() + b"\n")

    async def agent_reads(self) -> dict[str, Any]:
        line = await asyncio.wait_for(self.agent[0].readline(), SECONDS)
        return json.loads(line)

    async def upstream_reads_line(self) -> bytes:
        return await asyncio.wait_for(self.upstream[0].readline(), SECONDS)

    async def upstream_reads(self) -> dict[str, Any]:
        return json.loads(await self.upstream_reads_line())

    async def server_gets(self) -> mcp_types.JSONRPCMessage:
        with anyio.fail_after(SECONDS):
            item = await self.relay.sides.server_streams[0].receive()
        assert isinstance(item, SessionMessage), item
        return item.message

    async def session_gets(self) -> mcp_types.JSONRPCMessage:
        with anyio.fail_after(SECONDS):
            item = await self.relay.sides.session_streams[0].receive()
        assert isinstance(item, SessionMessage), item
        return item.message


async def _relay_end(
    lines: LineSplitter,
) -> tuple[asyncio.WriteTransport, tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """A socket pair: the relay's end (read into ``lines``, written through the transport) and the test's."""
    loop = asyncio.get_running_loop()
    relays, tests = socket.socketpair()
    transport, _ = await loop.connect_accepted_socket(lambda: LineProtocol(lines), relays)
    assert isinstance(transport, asyncio.WriteTransport)
    return transport, await asyncio.open_connection(sock=tests)


@contextlib.asynccontextmanager
async def running_wire() -> AsyncIterator[Wire]:
    ended: list[tuple[str, dict[str, Any] | None, str]] = []

    def unasked(name: str, arguments: dict[str, Any]) -> Relayed | None:
        if name != ALLOWED:
            return None
        return Relayed(name, None, lambda result, why: ended.append((name, result, why)))

    relay = LineRelay(None, Sides.open(), unasked=unasked)  # type: ignore[arg-type]  # set below
    relay.agent_out, agent = await _relay_end(relay.agent_lines())
    relay.upstream_in, upstream = await _relay_end(relay.upstream_lines())
    async with anyio.create_task_group() as tasks:
        for run in (relay.from_server, relay.from_session):
            tasks.start_soon(run)
        yield Wire(relay, agent, upstream, ended)
        tasks.cancel_scope.cancel()


def call(request_id: int | str, tool: str, **params: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": tool, "arguments": {}, **params},
    }


def answer(request_id: int | str, text: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": {"content": [{"type": "text", "text": text}]}}


async def test_an_allowed_call_goes_upstream_under_the_agents_id_and_its_answer_back_unchanged() -> None:
    async with running_wire() as wire:
        wire.send_agent(call(7, ALLOWED, arguments={"topic": "launch"}))
        forwarded = await wire.upstream_reads()
        assert forwarded == call(7, ALLOWED, arguments={"topic": "launch"})
        wire.send_upstream(answer(7, "notes"))
        assert await wire.agent_reads() == answer(7, "notes")
        assert wire.ended == [(ALLOWED, answer(7, "notes")["result"], "")]


async def test_a_call_naming_its_tool_twice_goes_upstream_as_it_was_checked() -> None:
    """JSON with a key twice: Python keeps the last, a parser upstream may keep the first. Relaying the
    line as it came would let ``post_message`` run as the ``read_notes`` the policy allowed."""
    line = (
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call",'
        b'"params":{"name":"post_message","name":"read_notes","arguments":{}}}\n'
    )
    async with running_wire() as wire:
        wire.send_agent(line)
        forwarded = await wire.upstream_reads_line()
        assert b"post_message" not in forwarded and forwarded.count(b'"name"') == 1
        assert json.loads(forwarded)["params"]["name"] == ALLOWED


async def test_a_call_that_asks_goes_to_the_proxys_server_and_nothing_upstream() -> None:
    async with running_wire() as wire:
        wire.send_agent(call(1, ASKED))
        wire.send_agent(
            b'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"read_notes","arguments":{"n":NaN}}}\n'
        )
        wire.send_agent(call(3, ALLOWED))
        handed = await wire.server_gets()
        assert isinstance(handed, mcp_types.JSONRPCRequest) and (handed.id, handed.method) == (1, "tools/call")
        # NaN is not JSON: the server answers it, it is not relayed.
        assert (await wire.upstream_reads())["id"] == 3


async def test_the_proxys_own_requests_never_meet_the_agents_ids() -> None:
    async with running_wire() as wire:
        wire.send_agent(call(1, ALLOWED))
        await wire.relay.sides.session_streams[1].send(
            SessionMessage(mcp_types.JSONRPCRequest(jsonrpc="2.0", id=1, method="ping"))
        )
        first, second = await wire.upstream_reads(), await wire.upstream_reads()
        by_method = {first["method"]: first["id"], second["method"]: second["id"]}
        assert by_method["tools/call"] == 1 and by_method["ping"] != 1
        # Answered the other way round: each goes to whom asked.
        wire.send_upstream({"jsonrpc": "2.0", "id": by_method["ping"], "result": {}})
        wire.send_upstream(answer(1, "notes"))
        pong = await wire.session_gets()
        assert isinstance(pong, mcp_types.JSONRPCResponse) and pong.id == 1 and pong.result == {}
        assert await wire.agent_reads() == answer(1, "notes")


async def test_an_upstream_that_dies_answers_the_calls_it_left_as_tool_errors() -> None:
    async with running_wire() as wire:
        wire.send_agent(call(4, ALLOWED))
        await wire.upstream_reads()
        wire.upstream[1].close()
        told = await wire.agent_reads()
        assert told["id"] == 4 and told["result"]["isError"] is True
        assert "failed on read_notes" in told["result"]["content"][0]["text"]
        assert wire.ended == [(ALLOWED, None, "it exited before answering")]
        # The proxy's client session hears the end; a later call is the server's (it says the upstream is gone).
        with pytest.raises(anyio.EndOfStream):
            await wire.session_gets()
        wire.send_agent(call(5, ALLOWED))
        handed = await wire.server_gets()
        assert isinstance(handed, mcp_types.JSONRPCRequest) and handed.id == 5


async def test_a_json_rpc_error_from_the_upstream_is_a_tool_error_the_model_reads() -> None:
    async with running_wire() as wire:
        wire.send_agent(call("a", ALLOWED))
        await wire.upstream_reads()
        wire.send_upstream({"jsonrpc": "2.0", "id": "a", "error": {"code": -32602, "message": "bad topic"}})
        told = await wire.agent_reads()
        assert told["id"] == "a" and told["result"]["isError"] is True
        assert "McpError: bad topic" in told["result"]["content"][0]["text"]
        assert wire.ended == [(ALLOWED, None, "McpError: bad topic")]


async def test_a_cancelled_call_is_logged_when_cancelled_and_its_late_answer_dropped() -> None:
    async with running_wire() as wire:
        wire.send_agent(call(3, ALLOWED))
        await wire.upstream_reads()
        cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}}
        wire.send_agent(cancel)
        assert await wire.upstream_reads() == cancel
        assert wire.ended == [(ALLOWED, None, "the agent cancelled it")]
        wire.send_upstream(answer(3, "too late"))
        wire.send_agent(call(4, ALLOWED))
        await wire.upstream_reads()
        wire.send_upstream(answer(4, "in time"))
        assert await wire.agent_reads() == answer(4, "in time")


async def test_the_upstreams_progress_on_a_relayed_call_reaches_the_agent() -> None:
    async with running_wire() as wire:
        wire.send_agent(call(9, ALLOWED, _meta={"progressToken": "p9"}))
        await wire.upstream_reads()
        progress = {
            "jsonrpc": "2.0",
            "method": "notifications/progress",
            "params": {"progressToken": "p9", "progress": 1},
        }
        wire.send_upstream(progress)
        assert await wire.agent_reads() == progress
        # Another token's progress is the client session's.
        wire.send_upstream({**progress, "params": {"progressToken": "other", "progress": 1}})
        handed = await wire.session_gets()
        assert isinstance(handed, mcp_types.JSONRPCNotification) and handed.method == "notifications/progress"


async def test_a_cancel_naming_true_does_not_cancel_the_call_with_id_1() -> None:
    """``true`` is not a JSON-RPC id, though Python counts it as 1: the call with id 1 is still answered
    and logged once, with its answer."""
    async with running_wire() as wire:
        wire.send_agent(call(1, ALLOWED))
        await wire.upstream_reads()
        wire.send_agent({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": True}})
        handed = await wire.server_gets()
        assert isinstance(handed, mcp_types.JSONRPCNotification) and handed.method == "notifications/cancelled"
        wire.send_upstream(answer(1, "notes"))
        assert await wire.agent_reads() == answer(1, "notes")
        assert wire.ended == [(ALLOWED, answer(1, "notes")["result"], "")]
