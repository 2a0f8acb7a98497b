"""Two ``signoff mcp-proxy`` processes with the same identity (two ``ToolCallGate``s, each its own
view of the engine) make the same call: once one has closed its request (``finish_tool_call``), the
other's call asks anew, even while that request's run is still posting its last notes; it never takes
the closed request's decision as its own. Slack is made unreachable before the close, so the run
stays in that window for as long as the test needs it (no timing involved)."""

from __future__ import annotations

import pytest

from bot.api import requests_api, routes
from bot.api.tool_gate import Decision, ToolCallGate
from bot.api.tool_policy import Ask
from bot.gateway import RunStatus
from signoff.config.api_keys import ApiKey
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from tests.support.bot import RunningBot
from tests.support.engines import api_bot_on_temporal_and_dbos  # noqa: F401 (the bot fixture)
from tests.support.mcp import pending_tool_call
from tests.support.slack import APPROVER_1, CHANNEL
from tests.support.waiting import eventually

LOADED = 60.0
ASK = Ask(channel=CHANNEL)
CALL = {"path": "/srv/app/config.yaml", "content": "replicas: 3"}


def proxy_process(bot: RunningBot) -> ToolCallGate:
    """What one proxy process holds: its own API over the engine, the shared identity."""
    api = requests_api(bot.deps.settings, bot.deps.gateway)
    return ToolCallGate(api, ApiKey("mcp-stdio", secret=""), "upstream-a", "an agent through signoff mcp-proxy")


async def test_a_twin_call_does_not_join_a_closed_request_still_running(
    bot: RunningBot, slack: SlackSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, twin = proxy_process(bot), proxy_process(bot)
    asked = await first.decide("write_file", CALL, ASK, 0, None)
    message = await slack.wait_for(lambda: pending_tool_call(slack, "write_file"), timeout=LOADED)
    await slack.click_button(APPROVER_1, CHANNEL, message["ts"], action_ids.TOOL_DENY)
    [modal] = await slack.wait_for(lambda: slack.open_views(APPROVER_1), timeout=LOADED)
    await slack.submit_view(APPROVER_1, modal["id"], {action_ids.REASON_BLOCK: {action_ids.REASON_INPUT: "No"}})
    denied = await eventually(lambda: _decided(first), timeout=LOADED)
    assert denied.outcome == "denied" and denied.request_id == asked.request_id

    # Slack unreachable: once closed, the run cannot post its last notes, so it keeps running. (Nor
    # can a new request post its thread: the ask does not wait for it here.)
    monkeypatch.setattr(routes, "THREAD_WAIT_SECONDS", 0.0)
    await slack.pause()
    try:
        await bot.deps.gateway.finish_tool_call(denied.request_id, "mcp-stdio", ok=False, summary="told")
        record = await bot.deps.gateway.request_record(denied.request_id)
        assert record.status is RunStatus.RUNNING
        again = await twin.decide("write_file", CALL, ASK, 0, None)
    finally:
        await slack.resume()
    assert again.outcome == "pending" and again.request_id != denied.request_id


async def _decided(gate: ToolCallGate) -> Decision | None:
    decision = await gate.decide("write_file", CALL, ASK, 0, None)
    return decision if decision.outcome != "pending" else None
