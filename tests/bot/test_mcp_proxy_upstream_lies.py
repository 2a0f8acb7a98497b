"""An upstream that changes under the proxy or lies in its listing (issue 22's bad input): a tool that
appears after the agent listed runs (the proxy lists again before refusing it); a tool that would ask
with an input schema that is itself invalid, or one gone since the listing, is a clear tool error;
nobody is asked and the upstream runs nothing it should not. The proxy's handlers run between two real MCP sessions (the
``mcp`` SDK's in-memory transport); no call here asks, so the gate is one that fails the test if asked."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from mcp import ClientSession, types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server

from bot.api.mcp_proxy import ToolProxy
from bot.api.tool_gate import ToolCallGate
from bot.api.tool_policy import Defaults, Policy
from tests.support.mcp import in_memory_session, text_of

READ_ONLY = types.ToolAnnotations(read_only_hint=True)
TOPIC = {"type": "object", "properties": {"topic": {"type": "string"}}, "required": ["topic"]}


class NeverAsked(ToolCallGate):
    """The gate, failing the test if a call is put to a person."""

    def __init__(self) -> None:  # nothing to reach: it is never asked
        pass

    async def decide(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a person was asked")


class ChangingUpstream:
    """An upstream MCP server whose tool list the test changes, counting the calls it runs."""

    def __init__(self, tools: list[types.Tool]) -> None:
        self.tools = tools
        self.ran: list[str] = []

    def server(self) -> Server[Any]:
        async def list_tools(
            ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
        ) -> types.ListToolsResult:
            return types.ListToolsResult(tools=self.tools)

        async def call_tool(
            ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
        ) -> types.CallToolResult:
            if params.name not in {tool.name for tool in self.tools}:
                return types.CallToolResult(content=[types.TextContent(text=f"no tool {params.name}")], is_error=True)
            self.ran.append(params.name)
            return types.CallToolResult(content=[types.TextContent(text=f"ran {params.name}")])

        return Server("changing-upstream", on_list_tools=list_tools, on_call_tool=call_tool)


@contextlib.asynccontextmanager
async def agent_through_proxy(upstream: ChangingUpstream) -> AsyncIterator[ClientSession]:
    async with in_memory_session(upstream.server()) as session:
        proxy = ToolProxy(session, Policy(rules=(), defaults=Defaults()), NeverAsked())
        async with in_memory_session(proxy.server()) as agent:
            yield agent


async def test_a_tool_that_appears_after_the_listing_runs() -> None:
    upstream = ChangingUpstream([types.Tool(name="read_notes", input_schema=TOPIC, annotations=READ_ONLY)])
    async with agent_through_proxy(upstream) as agent:
        assert [tool.name for tool in (await agent.list_tools()).tools] == ["read_notes"]
        upstream.tools.append(types.Tool(name="read_more", input_schema=TOPIC, annotations=READ_ONLY))
        result = await agent.call_tool("read_more", {"topic": "launch"})
        assert not result.is_error and text_of(result) == "ran read_more"
    assert upstream.ran == ["read_more"]


async def test_a_tool_that_asks_with_an_invalid_schema_is_refused_before_anyone_is_asked() -> None:
    broken = {"type": "object", "properties": {"topic": {"type": 12}}}
    destructive = types.ToolAnnotations(destructive_hint=True)
    upstream = ChangingUpstream([types.Tool(name="drop_notes", input_schema=broken, annotations=destructive)])
    async with agent_through_proxy(upstream) as agent:
        await agent.list_tools()
        result = await agent.call_tool("drop_notes", {"topic": "launch"})
        assert result.is_error and "the upstream's schema is invalid" in text_of(result), text_of(result)
    assert upstream.ran == []


async def test_a_tool_gone_since_the_listing_is_the_upstreams_error() -> None:
    upstream = ChangingUpstream([types.Tool(name="read_notes", input_schema=TOPIC, annotations=READ_ONLY)])
    async with agent_through_proxy(upstream) as agent:
        await agent.list_tools()
        upstream.tools.clear()
        result = await agent.call_tool("read_notes", {"topic": "launch"})
        assert result.is_error and "no tool read_notes" in text_of(result)
    assert upstream.ran == []
