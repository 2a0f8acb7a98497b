"""An upstream MCP server for the proxy's tests, speaking real MCP over stdio through the SDK:
``read_notes`` (read-only) and ``post_message`` (destructive). Every call it runs is appended to the
file named by its first argument (one JSON line each), so a test counts what actually ran.

Run as ``python -m tests.support.upstream_mcp RUNS_FILE``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import anyio
from mcp import types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

READ_TOOL = "read_notes"
DESTRUCTIVE_TOOL = "post_message"
# Read-only by its annotation, and the server exits in the middle of it (an upstream that dies).
DYING_TOOL = "read_and_die"

TOOLS = [
    types.Tool(
        name=READ_TOOL,
        description="Read the team's notes on a topic.",
        input_schema={"type": "object", "properties": {"topic": {"type": "string"}}, "required": ["topic"]},
        annotations=types.ToolAnnotations(read_only_hint=True),
    ),
    types.Tool(
        name=DESTRUCTIVE_TOOL,
        description="Post a message to a channel.",
        input_schema={
            "type": "object",
            "properties": {"channel": {"type": "string"}, "text": {"type": "string"}},
            "required": ["channel", "text"],
        },
        annotations=types.ToolAnnotations(destructive_hint=True),
    ),
    types.Tool(
        name=DYING_TOOL,
        description="Read something, and crash.",
        input_schema={"type": "object"},
        annotations=types.ToolAnnotations(read_only_hint=True),
    ),
]


def runs(path: Path) -> list[dict[str, Any]]:
    """Every call the upstream ran, in order."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def upstream_server(runs_file: str | Path) -> Server[Any]:
    """The upstream server, appending each call it runs to ``runs_file``."""

    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=TOOLS)

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        arguments = params.arguments or {}
        # Written before it answers: a run the proxy never heard back from is still counted.
        async with await anyio.open_file(runs_file, "a", encoding="utf-8") as out:
            await out.write(json.dumps({"tool": params.name, "arguments": arguments}) + "\n")
        if params.name == DYING_TOOL:
            os._exit(1)
        if params.name == READ_TOOL:
            text = f"notes on {arguments.get('topic')}: none yet"
        else:
            text = f"posted to {arguments.get('channel')}"
        return types.CallToolResult(content=[types.TextContent(text=text)])

    return Server("upstream-test", on_list_tools=list_tools, on_call_tool=call_tool)


def main(runs_file: str) -> None:
    server = upstream_server(runs_file)

    async def serve() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(serve)


if __name__ == "__main__":
    main(sys.argv[1])
