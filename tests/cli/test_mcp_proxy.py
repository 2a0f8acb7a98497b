"""``signoff mcp-proxy`` end to end: a real proxy process in front of a real upstream MCP server
(tests/support/upstream_mcp.py), driven by the ``mcp`` SDK's client and the Agents SDK (offline
model), the bot and its worker on Temporal, the sandbox as Slack: read-only passes unasked; a
destructive call asks with /plan's tool-call message; Deny with a reason reaches the model; Allow
runs the upstream once with the shown arguments; a call pending past the bound, repeated, runs once;
a proxy SIGKILLed while a call waits is restarted and the decision still applies, once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, RunConfig, Runner
from agents.mcp import MCPServerStdio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from temporalio.testing import WorkflowEnvironment

from bot.api.mcp import GET_SIGNOFF, REQUEST_SIGNOFF
from bot.server import EVENTS_PATH
from signoff.contracts.tool_call_log import Verdict
from signoff.contracts.tool_calls import ToolCallState
from signoff.contracts.workflow_io import Progress
from signoff.models.offline import OfflineModelProvider
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from tests.support.api import CI_KEY, KEYS
from tests.support.bot import RunningBot, bot_settings
from tests.support.engines import running_stack
from tests.support.mcp import engine_environment, pending_tool_call, text_of
from tests.support.slack import APPROVER_1, CHANNEL
from tests.support.upstream_mcp import DESTRUCTIVE_TOOL, DYING_TOOL, READ_TOOL, runs
from tests.support.waiting import eventually

# Generous: these wait on child processes and the engine on a loaded 2-core machine.
LOADED = 60.0

# Each step may wait up to LOADED on a loaded machine: the whole test gets several of them.
pytestmark = [pytest.mark.process, pytest.mark.slow, pytest.mark.timeout(240)]

POST = {"channel": "#launch", "text": "We ship on Friday."}


@pytest.fixture
async def bot(time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path) -> AsyncIterator[RunningBot]:
    settings = replace(bot_settings(slack), api_keys=KEYS)
    with time_env.auto_time_skipping_disabled():
        async with running_stack(
            "temporal", slack, settings, temporal_client=time_env.client, tmp_path=tmp_path
        ) as running:
            yield running


def proxy_command(
    bot: RunningBot, time_env: WorkflowEnvironment, runs_file: Path, *flags: str
) -> StdioServerParameters:
    settings = replace(bot.deps.settings, temporal_address=time_env.client.service_client.config.target_host)
    upstream = [sys.executable, "-m", "tests.support.upstream_mcp", str(runs_file)]
    return StdioServerParameters(
        command=sys.executable,
        args=[
            "-m",
            "signoff.cli",
            "--env-file",
            "/dev/null",
            "mcp-proxy",
            "--channel",
            CHANNEL,
            *flags,
            "--",
            *upstream,
        ],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **engine_environment(settings)},
        cwd=str(Path(__file__).parents[2]),
    )


@contextlib.asynccontextmanager
async def proxy_session(server: StdioServerParameters, errlog: Path) -> AsyncIterator[ClientSession]:
    with errlog.open("a") as log:
        async with (
            stdio_client(server, errlog=log) as (read_stream, write_stream),
            ClientSession(read_stream, write_stream) as session,
        ):
            await session.initialize()
            yield session


async def deny_with_reason(slack: SlackSandbox, message: dict[str, Any], reason: str) -> None:
    await slack.click_button(APPROVER_1, CHANNEL, message["ts"], action_ids.TOOL_DENY)
    [modal] = await slack.wait_for(lambda: slack.open_views(APPROVER_1), timeout=LOADED)
    await slack.submit_view(APPROVER_1, modal["id"], {action_ids.REASON_BLOCK: {action_ids.REASON_INPUT: reason}})


async def test_read_only_passes_deny_reaches_the_model_allow_runs_once(
    bot: RunningBot, time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path
) -> None:
    runs_file = tmp_path / "runs.jsonl"
    server = proxy_command(bot, time_env, runs_file)
    async with proxy_session(server, tmp_path / "proxy.log") as session:
        listed = await session.list_tools()
        assert [tool.name for tool in listed.tools] == [READ_TOOL, DESTRUCTIVE_TOOL, DYING_TOOL]
        assert listed.tools[1].annotations is not None and listed.tools[1].annotations.destructive_hint

        # Read-only: through at once, no message.
        read = await session.call_tool(READ_TOOL, {"topic": "launch"})
        assert not read.is_error and "notes on launch" in text_of(read)
        assert slack.messages(CHANNEL) == []

        # Bad input: a tool the upstream does not have, arguments its schema refuses: told, nothing asked.
        unknown = await session.call_tool("drop_everything", {})
        assert unknown.is_error and "has no tool 'drop_everything'" in text_of(unknown)
        mismatched = await session.call_tool(DESTRUCTIVE_TOOL, {"channel": "#launch"})
        assert mismatched.is_error and "'text' is a required property" in text_of(mismatched)
        assert slack.messages(CHANNEL) == []

        # Destructive: asked (progress meanwhile); Deny with a reason; the model reads it; nothing ran.
        notes: list[str | None] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            notes.append(message)

        calling = asyncio.create_task(session.call_tool(DESTRUCTIVE_TOOL, POST, progress_callback=on_progress))
        message = await slack.wait_for(lambda: pending_tool_call(slack, DESTRUCTIVE_TOOL), timeout=LOADED)
        assert "We ship on Friday." in str(message["blocks"])
        # Progress while it waits (the SDK runs the callback in a task of its own).
        [note, *_] = await eventually(lambda: notes, timeout=LOADED)
        assert note is not None and "waiting for a decision in Slack" in note
        await deny_with_reason(slack, message, "Not before the retro")
        denied = await calling
        assert denied.is_error and "Not before the retro" in text_of(denied), text_of(denied)
        assert [run["tool"] for run in runs(runs_file)] == [READ_TOOL]

        # Asked again (a new request: the last was closed); Allow: runs once, with the shown arguments.
        calling = asyncio.create_task(session.call_tool(DESTRUCTIVE_TOOL, POST))
        message = await slack.wait_for(lambda: pending_tool_call(slack, DESTRUCTIVE_TOOL), timeout=LOADED)
        await slack.click_button(APPROVER_1, CHANNEL, message["ts"], action_ids.TOOL_ALLOW)
        allowed = await calling
        assert not allowed.is_error and text_of(allowed) == "posted to #launch"
        assert runs(runs_file)[1:] == [{"tool": DESTRUCTIVE_TOOL, "arguments": POST}]

        # The upstream dies mid-call: a tool error; after that, nothing is asked for a call that cannot run.
        died = await session.call_tool(DYING_TOOL, {})
        assert died.is_error and "upstream MCP server failed" in text_of(died), text_of(died)
        asked = len(slack.messages(CHANNEL))
        dead = await session.call_tool(DESTRUCTIVE_TOOL, {**POST, "text": "again"})
        assert dead.is_error and "did not answer" in text_of(dead), text_of(dead)
        assert len(slack.messages(CHANNEL)) == asked


async def test_pending_past_the_bound_then_repeated_runs_once_and_survives_sigkill(
    bot: RunningBot, time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path
) -> None:
    runs_file = tmp_path / "runs.jsonl"
    errlog = tmp_path / "proxy.log"
    server = proxy_command(bot, time_env, runs_file, "--wait", "0.5")
    async with proxy_session(server, errlog) as session:
        pending = await session.call_tool(DESTRUCTIVE_TOOL, POST)
        assert pending.is_error and "Approval pending" in text_of(pending) and "same arguments" in text_of(pending)
        [request_id] = re.findall(r"api-[0-9a-f]{40}", text_of(pending))
        message = await slack.wait_for(lambda: pending_tool_call(slack, DESTRUCTIVE_TOOL), timeout=LOADED)
        # Called again while still undecided: the same request (no second message).
        again = await session.call_tool(DESTRUCTIVE_TOOL, POST)
        assert "Approval pending" in text_of(again)
        assert len([m for m in slack.messages(CHANNEL) if "Tool call:" in (m.get("text") or "")]) == 1
        [pid] = re.findall(r"signoff mcp-proxy \(pid (\d+)\)", errlog.read_text())
        # The proxy dies while the call waits (SIGKILL: nothing of it runs on the way out).
        os.kill(int(pid), signal.SIGKILL)
    assert runs(runs_file) == []
    await slack.click_button(APPROVER_1, CHANNEL, message["ts"], action_ids.TOOL_ALLOW)
    # Restarted: the same call finds the Allow and runs once.
    async with proxy_session(server, errlog) as session:
        allowed = await session.call_tool(DESTRUCTIVE_TOOL, POST)
        assert not allowed.is_error, text_of(allowed)
        assert runs(runs_file) == [{"tool": DESTRUCTIVE_TOOL, "arguments": POST}]

        # Always allow: later calls of the tool to the same channel run unasked (also once the proxy
        # is started again); another channel still asks.
        first, later, elsewhere = (
            {"channel": where, "text": text} for where, text in (("#ops", "1"), ("#ops", "2"), ("#dev", "3"))
        )
        assert "Approval pending" in text_of(await session.call_tool(DESTRUCTIVE_TOOL, first))
        ask = await slack.wait_for(lambda: pending_tool_call(slack, DESTRUCTIVE_TOOL), timeout=LOADED)
        await slack.click_button(APPROVER_1, CHANNEL, ask["ts"], action_ids.TOOL_ALWAYS_ALLOW)
        await eventually(lambda: pending_tool_call(slack, DESTRUCTIVE_TOOL) is None, timeout=LOADED)
        assert not (await session.call_tool(DESTRUCTIVE_TOOL, first)).is_error
        asked = len(slack.messages(CHANNEL))
        assert not (await session.call_tool(DESTRUCTIVE_TOOL, later)).is_error
        assert len(slack.messages(CHANNEL)) == asked
        assert "Approval pending" in text_of(await session.call_tool(DESTRUCTIVE_TOOL, elsewhere))
        *_, pid = re.findall(r"signoff mcp-proxy \(pid (\d+)\)", errlog.read_text())
        os.kill(int(pid), signal.SIGKILL)
    # SIGKILLed and started again: the Always allow holds (kept in the proxy's tool-call log).
    asked = len(slack.messages(CHANNEL))
    restarted = {"channel": "#ops", "text": "after the restart"}
    async with proxy_session(server, errlog) as session:
        assert not (await session.call_tool(DESTRUCTIVE_TOOL, restarted)).is_error
    assert len(slack.messages(CHANNEL)) == asked
    assert [run["arguments"] for run in runs(runs_file)] == [POST, first, later, restarted]
    # The log the proxy named at start holds every call (the last flushed as the proxy closed).
    [log_id, *_] = re.findall(r"tool-call log: (toolcalls-[0-9a-f]+)", errlog.read_text())
    log = await bot.deps.gateway.tool_call_log(log_id)
    assert [entry.verdict for entry in log.entries][-1] == Verdict.ALWAYS_ALLOWED
    # The audit: the call, who allowed it, and how the upstream call ended.
    progress = await eventually(lambda: _closed(bot, request_id), timeout=LOADED)
    [call] = progress.tool_calls
    assert (call.tool, call.arguments, call.decided_by) == (DESTRUCTIVE_TOOL, POST, [APPROVER_1])
    assert call.state is ToolCallState.DONE and call.result == "done: posted to #launch"


async def _closed(bot: RunningBot, request_id: str) -> Progress | None:
    progress = await bot.deps.gateway.progress(request_id)
    return progress if progress.tool_calls and progress.tool_calls[0].state is ToolCallState.DONE else None


async def test_the_agents_sdk_model_reads_the_denial(
    bot: RunningBot, time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path
) -> None:
    runs_file = tmp_path / "runs.jsonl"
    server = proxy_command(bot, time_env, runs_file)

    async def deny() -> None:
        message = await slack.wait_for(lambda: pending_tool_call(slack, DESTRUCTIVE_TOOL), timeout=LOADED)
        await deny_with_reason(slack, message, "Use #general instead")

    params = {"command": server.command, "args": server.args, "env": server.env, "cwd": server.cwd}
    async with MCPServerStdio(params, client_session_timeout_seconds=120) as mcp_server:  # type: ignore[arg-type]
        agent = Agent(name="executor", instructions="You are signoff's executor agent.", mcp_servers=[mcp_server])
        denying = asyncio.create_task(deny())
        result = await Runner.run(
            agent,
            f"Task: Announce the launch in <#{CHANNEL}|approvals>",
            run_config=RunConfig(model_provider=OfflineModelProvider()),
        )
        await denying
    assert "Use #general instead" in str(result.final_output)
    assert runs(runs_file) == []


async def test_an_upstream_over_streamable_http_and_an_allow_all_policy_warned(
    bot: RunningBot, time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The upstream is signoff's own /mcp (Streamable HTTP, a bearer key in --header); ``--allow '*'``
    lets everything through, and the proxy says so at start."""
    base = bot.url.removesuffix(EVENTS_PATH)
    settings = replace(bot.deps.settings, temporal_address=time_env.client.service_client.config.target_host)
    server = StdioServerParameters(
        command=sys.executable,
        args=[
            *("-m", "signoff.cli", "--env-file", "/dev/null", "mcp-proxy", "--allow", "*"),
            *("--upstream-url", f"{base}/mcp", "--header", f"Authorization: Bearer {CI_KEY.secret}"),
        ],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **engine_environment(settings)},
    )
    errlog = tmp_path / "proxy.log"
    async with proxy_session(server, errlog) as session:
        listed = await session.list_tools()
        assert REQUEST_SIGNOFF in [tool.name for tool in listed.tools]
        # Forwarded as is, the upstream's own answer (here its refusal) back unchanged.
        missing = await session.call_tool(GET_SIGNOFF, {"id": "api-" + "0" * 40, "wait_seconds": 0})
        assert missing.is_error and "no such request" in text_of(missing)
    assert "warning: policy rule 1 allows every tool (*)" in errlog.read_text()
