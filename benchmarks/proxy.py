"""``signoff mcp-proxy``: what it costs an allowed call, and how long an asked one takes after the click.

Two figures, each against a baseline measured in the same run:

* **allowed call**: ``call_tool`` of a read-only tool (``readOnlyHint``: the default policy lets it
  through without asking) through the proxy, against the same call on the upstream directly; the
  ``mcp`` SDK's client over stdio for both, one call at a time, alternating. The upstream is a
  real MCP server over stdio (this module, ``--upstream``) whose tools return at once, so the
  figure is the proxy's own cost (one more process on the path, the policy); a bare
  relay (``--bare-relay``), measured in turn with both, shows what any process in between costs.
* **ask → Allow → result**: a destructive call through the proxy waits in Slack; the sandbox
  delivers a signed Allow click to the bot; measured from the click to the upstream's result back
  at the client. The baseline is /plan's tool-approval path in the same run (benchmarks/tool_allow.py's
  parked plans): the same click on a plan's tool call to the tool's post in #random.

``python -m benchmarks.proxy --upstream`` is that upstream server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
import uuid
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from benchmarks.drafts import bench_channels
from benchmarks.harness import (
    Figure,
    bot_child,
    children,
    compared,
    dev_server,
    log,
    ratio,
    summary,
    temporal_client,
    wait_http,
    worker_child,
)
from benchmarks.slack_tiers import slack_sandbox
from benchmarks.tool_allow import APPROVER, RANDOM_SPACING, _observe, _park_plans
from signoff.sandbox import SlackSandbox
from signoff.sandbox.directory import DEFAULT_CHANNELS
from signoff.slack import action_ids
from signoff.temporal.devserver import free_port

NAME = "proxy"
READ_TOOL = "lookup"
# Read-only too, and takes REMOTE_SECONDS as a call to a remote API would (GitHub's answer in tens of ms).
REMOTE_TOOL = "lookup_remote"
REMOTE_SECONDS = 0.025
WRITE_TOOL = "deploy"


# ---------------------------------------------------------------------- the upstream


def serve_upstream() -> None:
    tools = [
        types.Tool(
            name=READ_TOOL,
            input_schema={"type": "object", "properties": {"key": {"type": "string"}}, "required": ["key"]},
            annotations=types.ToolAnnotations(read_only_hint=True),
        ),
        types.Tool(
            name=REMOTE_TOOL,
            input_schema={"type": "object", "properties": {"key": {"type": "string"}}, "required": ["key"]},
            annotations=types.ToolAnnotations(read_only_hint=True),
        ),
        types.Tool(
            name=WRITE_TOOL,
            input_schema={"type": "object", "properties": {"version": {"type": "string"}}, "required": ["version"]},
            annotations=types.ToolAnnotations(destructive_hint=True),
        ),
    ]

    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        if params.name == REMOTE_TOOL:
            await anyio.sleep(REMOTE_SECONDS)
        return types.CallToolResult(content=[types.TextContent(text=f"{params.name}: {params.arguments}")])

    server = Server("bench-upstream", on_list_tools=list_tools, on_call_tool=call_tool)

    async def serve() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(serve)


UPSTREAM = [sys.executable, "-m", "benchmarks.proxy", "--upstream"]


def serve_bare_relay(command: list[str]) -> None:
    """The floor of any stdio proxy: a process in between that reads each line and writes it on (a JSON
    parse each way, as anything that routes by id must), with nothing else (no policy, no log, no SDK)."""

    class Lines(asyncio.Protocol):
        def __init__(self, on_line: Any) -> None:
            self.held, self.on_line = b"", on_line

        def data_received(self, data: bytes) -> None:
            *lines, self.held = (self.held + data).split(b"\n")
            for line in lines:
                self.on_line(line)

    class Upstream(asyncio.SubprocessProtocol):
        def __init__(self, lines: Lines, exited: asyncio.Future[None]) -> None:
            self.lines, self.exited = lines, exited

        def pipe_data_received(self, fd: int, data: bytes) -> None:
            self.lines.data_received(data)

        def process_exited(self) -> None:
            self.exited.set_result(None)

    async def relay() -> None:
        loop = asyncio.get_running_loop()
        out, _ = await loop.connect_write_pipe(asyncio.Protocol, sys.stdout.buffer)

        def answered(line: bytes) -> None:
            json.loads(line)
            out.write(line + b"\n")  # type: ignore[attr-defined]

        exited: asyncio.Future[None] = loop.create_future()
        process, _ = await loop.subprocess_exec(
            lambda: Upstream(Lines(answered), exited),
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        upstream_in = process.get_pipe_transport(0)

        def asked(line: bytes) -> None:
            upstream_in.write(json.dumps(json.loads(line)).encode() + b"\n")  # type: ignore[attr-defined]

        await loop.connect_read_pipe(lambda: Lines(asked), sys.stdin.buffer)
        await exited

    asyncio.run(relay())


BARE_RELAY = [sys.executable, "-m", "benchmarks.proxy", "--bare-relay", "--", *UPSTREAM]


@contextlib.asynccontextmanager
async def session(command: list[str], env: dict[str, str] | None, errlog: Path) -> AsyncIterator[ClientSession]:
    server = StdioServerParameters(command=command[0], args=command[1:], env=env)
    with errlog.open("a") as log_file:
        async with (
            stdio_client(server, errlog=log_file) as (read_stream, write_stream),
            ClientSession(read_stream, write_stream) as client,
        ):
            await client.initialize()
            yield client


def _tool_call_message(sandbox: SlackSandbox, channel: str, version: str) -> dict[str, Any] | None:
    for parent in reversed(sandbox.messages(channel)):
        if f"Tool call: {WRITE_TOOL}" not in (parent.get("text") or ""):
            continue
        for reply in sandbox.replies(channel, parent["ts"]):
            blocks = str(reply.get("blocks"))
            if version in blocks and action_ids.TOOL_ALLOW in blocks:
                return reply
    return None


# ---------------------------------------------------------------------- the run


async def run(tmp: Path, quick: bool) -> list[Figure]:
    calls = 30 if quick else 300  # allowed calls per path
    asks = 4 if quick else 20  # asked calls (and plan clicks)
    task_queue = f"bench-proxy-{uuid.uuid4().hex[:6]}"
    prefix = f"proxy-{uuid.uuid4().hex[:6]}"
    bot_port = free_port()
    plan_channels = bench_channels(asks + 1)
    [proxy_channel] = bench_channels(1, prefix="C0PROXYBE")
    proxied: list[float] = []
    direct: list[float] = []
    relayed: list[float] = []
    remote_proxied: list[float] = []
    remote_direct: list[float] = []
    asked: list[float] = []
    planned: list[float] = []
    async with (
        dev_server(tmp) as server,
        slack_sandbox(
            channels=[*DEFAULT_CHANNELS, *plan_channels, proxy_channel],
            request_url=f"http://127.0.0.1:{bot_port}/slack/events",
        ) as sandbox,
    ):
        worker = worker_child(tmp, server.address, task_queue, sandbox.api_url)
        bot = bot_child(tmp, bot_port, server.address, task_queue, sandbox.api_url)
        async with children(worker, bot):
            await wait_http(f"http://127.0.0.1:{bot_port}/healthz", bot)
            client = await temporal_client(server.address)
            parked = await _park_plans(client, sandbox, task_queue, prefix, [c.id for c in plan_channels], timeout=300)
            env = {"PATH": "/usr/bin:/bin", "TEMPORAL_ADDRESS": server.address, "SIGNOFF_TASK_QUEUE": task_queue}
            proxy_command = [
                sys.executable,
                *("-m", "signoff.cli", "--env-file", "/dev/null", "--log-level", "WARNING", "mcp-proxy"),
                *("--channel", proxy_channel.id, "--wait", "120", "--", *UPSTREAM),
            ]
            async with (
                session(proxy_command, env, tmp / "proxy.log") as through_proxy,
                session(UPSTREAM, None, tmp / "upstream.log") as upstream,
                session(BARE_RELAY, None, tmp / "relay.log") as through_relay,
            ):
                await through_proxy.list_tools()
                # Allowed calls, in turn through the proxy, direct and through the bare relay; the first
                # ten of each warm up.
                paths = [(through_proxy, proxied), (upstream, direct), (through_relay, relayed)]
                for i in range(3 * calls + 30):
                    target, samples = paths[i % 3]
                    sent = time.perf_counter()
                    result = await target.call_tool(READ_TOOL, {"key": f"k{i}"})
                    elapsed = (time.perf_counter() - sent) * 1000
                    assert not result.is_error, result
                    if i >= 30:
                        samples.append(elapsed)
                for i in range(2 * (calls // 3) + 10):
                    target = through_proxy if i % 2 == 0 else upstream
                    sent = time.perf_counter()
                    result = await target.call_tool(REMOTE_TOOL, {"key": f"r{i}"})
                    elapsed = (time.perf_counter() - sent) * 1000
                    assert not result.is_error, result
                    if i >= 10:
                        (remote_proxied if i % 2 == 0 else remote_direct).append(elapsed)
                log(
                    f"proxy: {len(proxied) + len(remote_proxied)} calls through the proxy, {len(direct) + len(remote_direct)} direct"
                )

                # Asked calls and /plan's tool calls, alternating, one at a time.
                last_post = 0.0
                for i in range(2 * (asks + 1)):
                    keep = i >= 2
                    if i % 2 == 0:
                        version = f"v{i}-{uuid.uuid4().hex[:6]}"
                        calling = asyncio.create_task(through_proxy.call_tool(WRITE_TOOL, {"version": version}))
                        message = await sandbox.wait_for(
                            partial(_tool_call_message, sandbox, proxy_channel.id, version), 60, interval=0.01
                        )
                        # Its thread quiet (the request's posts are paced per channel) before the click.
                        await asyncio.sleep(RANDOM_SPACING)
                        sent = time.time()
                        clicked = await sandbox.click_button(
                            APPROVER, proxy_channel.id, message["ts"], action_ids.TOOL_ALLOW, via="http"
                        )
                        assert clicked.acked, clicked
                        result = await calling
                        done = time.time()
                        assert not result.is_error, result
                        if keep:
                            asked.append((done - sent) * 1000)
                    else:
                        call = parked[i // 2]
                        await asyncio.sleep(max(0.3, RANDOM_SPACING - (time.time() - last_post)))
                        mark = len(sandbox.calls)
                        sent = time.time()
                        clicked = await sandbox.click_button(
                            APPROVER, call.channel_id, call.message_ts, action_ids.TOOL_ALLOW, via="http"
                        )
                        assert clicked.acked, clicked
                        last_post = await _observe(sandbox, mark, call.marker)
                        if keep:
                            planned.append((last_post - sent) * 1000)
                        await asyncio.wait_for(client.get_workflow_handle(call.workflow_id).result(), timeout=60)
                log(f"proxy: {len(asked)} asked calls allowed, {len(planned)} plan tool calls allowed")

    allowed, base, bare = summary(proxied), summary(direct), summary(relayed)
    ask, plan = summary(asked), summary(planned)
    remote, remote_base = summary(remote_proxied), summary(remote_direct)
    allowed_ratio = ratio(allowed["p50"], base["p50"])
    remote_ratio = ratio(remote["p50"], remote_base["p50"])
    return [
        compared(
            NAME,
            "allowed (read-only) tool call through the proxy",
            allowed,
            base,
            ratio_of="p50",
            target="≤ 1.2× the upstream called directly",
            met=allowed_ratio <= 1.2,
            note=(
                f"{allowed['n']} calls through signoff mcp-proxy and {base['n']} to the upstream directly, alternating, "
                f"one at a time, in turn with the bare relay, the mcp SDK's client over stdio; the upstream's tool returns at once, so the "
                f"difference ({allowed['p50'] - base['p50']:.2f} ms at the median) is the proxy's own: one more process on the path "
                f"(the proxy's relay) and the policy. p99 ratio {ratio(allowed['p99'], base['p99']):.2f}×. "
                f"The floor of any process in between, the bare relay below: {ratio(bare['p50'], base['p50']):.2f}×."
            ),
            extra={"proxy": allowed, "direct": base, "bare_relay": bare},
        ),
        compared(
            NAME,
            "the same call through a bare relay (the floor of any stdio proxy)",
            bare,
            base,
            ratio_of="p50",
            note=(
                f"{bare['n']} calls through a process that only reads each line, parses it and writes it on "
                "(benchmarks/proxy.py's --bare-relay: no policy, no log, no SDK), in turn with the two above: "
                "what one more process on the path costs on this machine, whatever it does."
            ),
            extra={"bare_relay": bare},
        ),
        compared(
            NAME,
            f"allowed tool call through the proxy, the upstream taking {REMOTE_SECONDS * 1000:g} ms",
            remote,
            remote_base,
            ratio_of="p50",
            target="≤ 1.2× the upstream called directly",
            met=remote_ratio <= 1.2,
            note=(
                f"As above ({remote['n']} and {remote_base['n']} calls), the upstream's tool taking "
                f"{REMOTE_SECONDS * 1000:g} ms as a remote API's would: the proxy's "
                f"{remote['p50'] - remote_base['p50']:.2f} ms against a call that does something. "
                f"p99 ratio {ratio(remote['p99'], remote_base['p99']):.2f}×."
            ),
            extra={"proxy": remote, "direct": remote_base},
        ),
        compared(
            NAME,
            "ask → Allow click → upstream result at the client",
            ask,
            plan,
            ratio_of="p50",
            note=(
                f"{ask['n']} destructive calls through the proxy, each waiting in Slack, an Allow click delivered to the "
                f"bot over signed HTTP, to the upstream's result back at the client; baseline = {plan['n']} Allow clicks "
                "on /plan tool calls (parked plans) to the tool's post in #random, alternating. The proxy path after "
                "the click: the workflow's answer read by the proxy's poll (every ≤ 0.25 s), the claim (an update), "
                "the upstream call."
            ),
            extra={"ask": ask, "plan": plan},
        ),
    ]


if __name__ == "__main__":
    if sys.argv[1:] == ["--upstream"]:
        serve_upstream()
    elif sys.argv[1:3] == ["--bare-relay", "--"]:
        serve_bare_relay(sys.argv[3:])
    else:
        sys.exit(
            "python -m benchmarks.proxy --upstream: the benchmark's upstream MCP server (run python -m benchmarks --only proxy)"
        )
