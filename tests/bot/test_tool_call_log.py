"""The MCP proxy's tool-call log (issue 22's audit) on Temporal and on DBOS: every call the proxy sees,
asked or not, lands in one log per proxy identity that ``signoff audit <log id>`` shows (verdict,
decision, decider, the upstream's result); an Always allow is kept there, so a proxy started again
with the same identity runs that tool on that target without asking. The proxy runs in this process
between two real MCP sessions (the ``mcp`` SDK's in-memory transport), the upstream being the tests'
upstream server, the engine's stack and the sandbox as Slack behind it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession

from bot.api import requests_api
from bot.api.mcp_proxy import ToolProxy
from bot.api.tool_call_journal import ToolCallJournal, entry
from bot.api.tool_gate import ToolCallGate
from bot.api.tool_policy import Defaults, Policy, Rule
from bot.gateway import GatewayError
from signoff.cli import tool_call_log_record
from signoff.config.api_keys import ApiKey
from signoff.contracts.tool_call_log import (
    ToolCallBatch,
    ToolCallLogStart,
    ToolCallLogView,
    UpstreamStatus,
    Verdict,
    tool_call_log_id,
)
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from tests.support.bot import RunningBot
from tests.support.engines import DBOS_FLOW, api_bot_on_temporal_and_dbos  # noqa: F401 (the bot fixture)
from tests.support.mcp import in_memory_session, pending_tool_call, text_of
from tests.support.slack import APPROVER_1, CHANNEL
from tests.support.upstream_mcp import DESTRUCTIVE_TOOL, DYING_TOOL, READ_TOOL, runs, upstream_server
from tests.support.waiting import eventually

LOADED = 60.0
KEY = ApiKey("mcp-stdio", secret="")
IDENTITY = "upstream-under-test"
LOG_ID = tool_call_log_id(KEY.name, IDENTITY)
# The dying tool is denied by a rule: a call refused by policy never reaches the upstream.
POLICY = Policy(
    rules=(Rule(tools=[DYING_TOOL], action="deny"),), defaults=Defaults(channel=CHANNEL, wait_seconds=LOADED)
)


@contextlib.asynccontextmanager
async def proxied(bot: RunningBot, runs_file: Path) -> AsyncIterator[tuple[ClientSession, list[None]]]:
    """An agent's MCP session with a proxy (as ``serve_proxy`` sets it up) in front of the upstream,
    and the pings the proxy sent the upstream."""
    api = requests_api(bot.deps.settings, bot.deps.gateway)
    gate = ToolCallGate(api, KEY, IDENTITY, "an agent through signoff mcp-proxy")
    journal = ToolCallJournal(bot.deps.gateway, LOG_ID, "mcp-stdio: upstream_mcp")
    grants = await journal.grants()
    async with in_memory_session(upstream_server(runs_file)) as upstream:
        pings: list[None] = []
        ping = upstream.send_ping

        async def counted_ping() -> Any:
            pings.append(None)
            return await ping()

        upstream.send_ping = counted_ping  # type: ignore[method-assign,assignment]
        proxy = ToolProxy(upstream, POLICY, gate, journal=journal)
        proxy.always_allowed = {(grant.tool, grant.target): grant.request_id for grant in grants}
        journal.start()
        try:
            async with in_memory_session(proxy.server()) as agent:
                yield agent, pings
        finally:
            await journal.close()


def tool_messages(slack: SlackSandbox) -> int:
    return len([m for m in slack.messages(CHANNEL) if "Tool call:" in (m.get("text") or "")])


@pytest.mark.parametrize(
    "bot",
    [
        "temporal",
        pytest.param("dbos-sqlite", marks=DBOS_FLOW),
        pytest.param("restate", marks=[pytest.mark.process, DBOS_FLOW]),
    ],
    indirect=True,
)
async def test_every_call_is_logged_and_always_allow_survives_a_restart(
    bot: RunningBot, slack: SlackSandbox, tmp_path: Path
) -> None:
    runs_file = tmp_path / "runs.jsonl"
    first, later, after_restart = ({"channel": "#ops", "text": text} for text in ("1", "2", "3"))
    async with proxied(bot, runs_file) as (agent, pings):
        assert not (await agent.call_tool(READ_TOOL, {"topic": "launch"})).is_error
        assert "denied by this server's approval policy" in text_of(await agent.call_tool(DYING_TOOL, {}))
        assert "has no tool" in text_of(await agent.call_tool("drop_everything", {}))
        calling = asyncio.create_task(agent.call_tool(DESTRUCTIVE_TOOL, first))
        ask = await slack.wait_for(lambda: pending_tool_call(slack, DESTRUCTIVE_TOOL), timeout=LOADED)
        await slack.click_button(APPROVER_1, CHANNEL, ask["ts"], action_ids.TOOL_ALWAYS_ALLOW)
        assert text_of(await calling) == "posted to #ops"
        assert not (await agent.call_tool(DESTRUCTIVE_TOOL, later)).is_error
        # The upstream is pinged only before a person is asked: the forward reports a dead one.
        assert len(pings) == 1
    assert tool_messages(slack) == 1

    # Started again with the same identity: the grant is read back, the call runs unasked.
    async with proxied(bot, runs_file) as (agent, _):
        assert not (await agent.call_tool(DESTRUCTIVE_TOOL, after_restart)).is_error
    assert tool_messages(slack) == 1
    assert [run["arguments"] for run in runs(runs_file) if run["tool"] == DESTRUCTIVE_TOOL] == [
        first,
        later,
        after_restart,
    ]

    # signoff audit <log id>: each call, how it was decided, by whom, and how the upstream answered.
    record = await eventually(lambda: _with_calls(bot, 6), timeout=LOADED)
    calls = [(c["tool"], c["verdict"], c["upstream"], c["decision"], c["decided_by"]) for c in record["calls"]]
    assert calls == [
        (READ_TOOL, Verdict.ALLOWED_BY_POLICY, UpstreamStatus.OK, None, []),
        (DYING_TOOL, Verdict.DENIED_BY_POLICY, UpstreamStatus.NOT_RUN, None, []),
        ("drop_everything", Verdict.REFUSED, UpstreamStatus.NOT_RUN, None, []),
        (DESTRUCTIVE_TOOL, Verdict.ASKED, UpstreamStatus.OK, "allowed", [APPROVER_1]),
        (DESTRUCTIVE_TOOL, Verdict.ALWAYS_ALLOWED, UpstreamStatus.OK, None, []),
        (DESTRUCTIVE_TOOL, Verdict.ALWAYS_ALLOWED, UpstreamStatus.OK, None, []),
    ]
    asked = record["calls"][3]["request_id"]
    assert asked.startswith("api-") and {c["request_id"] for c in record["calls"][4:]} == {asked}
    assert record["calls"][0]["arguments_preview"] == '{"topic":"launch"}'
    [grant] = record["always_allowed"]
    assert (grant["tool"], grant["target"], grant["request_id"], grant["decided_by"]) == (
        DESTRUCTIVE_TOOL,
        "#ops",
        asked,
        [APPROVER_1],
    )


async def _with_calls(bot: RunningBot, count: int) -> dict[str, Any] | None:
    record = await tool_call_log_record(bot.deps.gateway, LOG_ID)
    return record if len(record["calls"]) >= count else None


@pytest.mark.parametrize("bot", ["temporal"], indirect=True)
async def test_a_long_log_continues_as_new_and_the_audit_reads_every_run(bot: RunningBot) -> None:
    """Past its bound the log's run continues as new, the grants carried over; the audit reads the
    runs back in order."""
    gateway = bot.deps.gateway
    start = ToolCallLogStart(label="mcp-stdio: bounded", max_entries=2)
    log_id = tool_call_log_id(KEY.name, "bounded")
    for number in range(5):
        logged = entry(f"tool_{number}", "{}", Verdict.ALLOWED_BY_POLICY, UpstreamStatus.OK)
        await gateway.append_tool_calls(log_id, start, ToolCallBatch(entries=[logged]))

    async def continued() -> ToolCallLogView | None:
        # A query sent as the run continues as new may find no worker in time: asked again.
        with contextlib.suppress(GatewayError):
            latest = await gateway.tool_call_log(log_id)
            # Runs before the latest hold the entries past each bound (a run may take a few at once).
            if latest.earlier_entries >= 2 and latest.earlier_entries + len(latest.entries) == 5:
                return latest
        return None

    await eventually(continued, timeout=LOADED)

    async def audited() -> dict[str, Any] | None:
        with contextlib.suppress(GatewayError):
            return await tool_call_log_record(gateway, log_id)
        return None

    record = await eventually(audited, timeout=LOADED)
    assert [call["tool"] for call in record["calls"]] == [f"tool_{number}" for number in range(5)]
    assert record["entries_not_shown"] == 0
