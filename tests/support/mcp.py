"""The MCP server as a client sees it: the ``mcp`` SDK's own ``ClientSession`` over Streamable HTTP
(the bot's ``/mcp``) or over stdio (a real ``signoff mcp`` child process), and the tools' answers."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx2
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.lowlevel import Server
from mcp.shared.memory import create_client_server_memory_streams

from signoff.config.api_keys import ApiKey
from signoff.config.settings import Engine, Settings
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from tests.support.slack import APPROVER_1, CHANNEL, buttons, open_drafts


@contextlib.asynccontextmanager
async def http_session(
    base: str, key: ApiKey | None, session_ids: list[str] | None = None, *, origin: str | None = None
) -> AsyncIterator[ClientSession]:
    """An initialised MCP session with the bot at ``base`` (its root URL) as ``key`` (from a web page
    at ``origin``, as a browser would say); the session id the server gave is appended to ``session_ids``."""
    headers = {"Authorization": f"Bearer {key.secret}"} if key is not None else {}
    if origin is not None:
        headers["Origin"] = origin

    async def record(response: httpx2.Response) -> None:
        given = response.headers.get("mcp-session-id")
        if session_ids is not None and given and given not in session_ids:
            session_ids.append(given)

    async with (
        httpx2.AsyncClient(
            headers=headers, timeout=httpx2.Timeout(30, read=300), event_hooks={"response": [record]}
        ) as http,
        streamable_http_client(base + "/mcp", http_client=http) as (read_stream, write_stream),
        ClientSession(read_stream, write_stream) as session,
    ):
        await session.initialize()
        yield session


@contextlib.asynccontextmanager
async def in_memory_session(server: Server[Any]) -> AsyncIterator[ClientSession]:
    """An initialised ``ClientSession`` (as ``signoff mcp-proxy`` opens its upstream's) with ``server``
    run in this process over the SDK's memory streams. (The SDK's own ``Client(server)`` negotiates a
    protocol version on which ``ping`` is not a method.)"""
    async with (
        create_client_server_memory_streams() as (client_streams, server_streams),
        anyio.create_task_group() as tasks,
    ):

        async def serve() -> None:
            await server.run(server_streams[0], server_streams[1], server.create_initialization_options())

        tasks.start_soon(serve)
        async with ClientSession(*client_streams) as session:
            await session.initialize()
            yield session
        tasks.cancel_scope.cancel()


def answer_of(result: types.CallToolResult) -> dict[str, Any]:
    """A tool's answer (the request as the API shows it), or an AssertionError with its error text."""
    assert not result.is_error, text_of(result)
    document: dict[str, Any] = json.loads(text_of(result))
    assert result.structured_content == document
    return document


def text_of(result: types.CallToolResult) -> str:
    [content] = result.content
    assert isinstance(content, types.TextContent)
    return content.text


def pending_tool_call(slack: SlackSandbox, tool: str, channel: str = CHANNEL) -> dict[str, Any] | None:
    """The newest tool-call message (Allow / Always allow / Deny) still waiting on a request about ``tool``
    (signoff mcp-proxy's, signoff hook's, approval_prompt's)."""
    for parent in reversed(slack.messages(channel)):
        if f"Tool call: {tool}" in (parent.get("text") or ""):
            for reply in slack.replies(channel, parent["ts"]):
                if action_ids.TOOL_ALLOW in buttons(reply):
                    return reply
    return None


async def approve_when_posted(slack: SlackSandbox, title: str, channel: str = CHANNEL) -> None:
    """Click Approve on the draft of the request titled ``title`` once it is posted in ``channel``."""

    def draft() -> dict[str, Any] | None:
        for parent in slack.messages(channel):
            if title in (parent.get("text") or ""):
                drafts = open_drafts(slack, parent["ts"], channel)
                if drafts:
                    return drafts[0]
        return None

    posted = await slack.wait_for(draft)
    await slack.click_button(APPROVER_1, channel, posted["ts"], action_ids.APPROVE)


@contextlib.asynccontextmanager
async def stdio_session(environment: dict[str, str], *args: str) -> AsyncIterator[ClientSession]:
    """An initialised MCP session with a real ``signoff mcp *args`` child process, its settings only
    ``environment`` (and PATH), as a client (Claude Code, Cursor) starts it."""
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "signoff.cli", "--env-file", "/dev/null", "mcp", *args],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **environment},
    )
    async with stdio_client(server) as (read_stream, write_stream), ClientSession(read_stream, write_stream) as session:
        await session.initialize()
        yield session


def engine_environment(settings: Settings) -> dict[str, str]:
    """The environment a process of its own reads to reach the engine ``settings`` name (and the
    test's own preferences file, ``tests/conftest.py``)."""
    own = {"SIGNOFF_PREFERENCES": os.environ["SIGNOFF_PREFERENCES"]} if "SIGNOFF_PREFERENCES" in os.environ else {}
    if settings.engine is Engine.DBOS:
        assert settings.database_url is not None
        return {**own, "SIGNOFF_ENGINE": "dbos", "SIGNOFF_DATABASE_URL": settings.database_url}
    if settings.engine is Engine.RESTATE:
        return {
            **own,
            "SIGNOFF_ENGINE": "restate",
            "SIGNOFF_RESTATE_URL": settings.restate_url,
            "SIGNOFF_RESTATE_ADMIN_URL": settings.restate_admin_url,
        }
    return {**own, "TEMPORAL_ADDRESS": settings.temporal_address, "SIGNOFF_TASK_QUEUE": settings.task_queue}
