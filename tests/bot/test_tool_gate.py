"""``ToolCallGate`` (what the MCP proxy, the hook and ``approval_prompt`` share) against the bot and its
worker on Temporal, the sandbox as Slack: the request's message is /plan's tool-call message (a long
argument openly cut, the whole one click away); the same call joins the open request; an Allow is
run at most once (a second claim is refused); a closed request's call asks anew; too-large arguments
are refused before anything is asked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from bot.api import requests_api
from bot.api.tool_gate import MAX_ARGUMENTS_BYTES, Decision, ToolCallGate, ToolCallRefused
from bot.api.tool_policy import Ask
from signoff.config.api_keys import ApiKey
from signoff.contracts.tool_calls import ToolCallRecord, ToolCallState
from signoff.contracts.workflow_io import Progress
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from signoff.slack.rendering.tool_calls import arguments_fit_modal, tool_arguments_modal
from tests.support.api import KEYS
from tests.support.block_checks import assert_valid_everything
from tests.support.bot import RunningBot, bot_settings
from tests.support.engines import REQUEST_ENGINES, running_stack
from tests.support.mcp import pending_tool_call
from tests.support.slack import APPROVER_1, CHANNEL, buttons
from tests.support.waiting import eventually

# Generous: these wait on child processes and the engine on a loaded 2-core machine.
LOADED = 60.0

ASK = Ask(channel=CHANNEL)
LONG = {"path": "/srv/app/config.yaml", "content": "replicas: 3\n" * 100}


# Each engine SignoffRequest runs on, once: DBOS on PostgreSQL runs the same code as on SQLite.
GATE_ENGINES = [engine for engine in REQUEST_ENGINES if "dbos-postgres" not in str(engine)]


@pytest.fixture(params=GATE_ENGINES)
async def bot(
    request: pytest.FixtureRequest, time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path
) -> AsyncIterator[RunningBot]:
    """The bot and its engine: each engine SignoffRequest runs on (the updates are engine-specific)."""
    settings = replace(bot_settings(slack), api_keys=KEYS)
    with time_env.auto_time_skipping_disabled():
        async with running_stack(
            str(request.param), slack, settings, temporal_client=time_env.client, tmp_path=tmp_path
        ) as running:
            yield running


def gate_of(bot: RunningBot) -> ToolCallGate:
    api = requests_api(bot.deps.settings, bot.deps.gateway)
    return ToolCallGate(api, ApiKey("mcp-stdio", secret=""), "upstream-a", "an agent through signoff mcp-proxy")


async def test_joined_cut_openly_allowed_once_then_asked_anew(bot: RunningBot, slack: SlackSandbox) -> None:
    gate = gate_of(bot)
    first = await gate.decide("write_file", LONG, ASK, 0, None)
    assert first.outcome == "pending"
    message = await slack.wait_for(lambda: pending_tool_call(slack, "write_file"), timeout=LOADED)
    # /plan's message: Allow / Always allow / Deny, the long argument cut with a count, and the whole
    # of it behind Show full arguments (read from the request, as a plan's).
    assert buttons(message)[:3] == [action_ids.TOOL_ALLOW, action_ids.TOOL_ALWAYS_ALLOW, action_ids.TOOL_DENY]
    assert "cut: showing" in str(message["blocks"]) and action_ids.TOOL_SHOW_ARGUMENTS in buttons(message)
    await slack.click_button(APPROVER_1, CHANNEL, message["ts"], action_ids.TOOL_SHOW_ARGUMENTS)
    [modal] = await slack.wait_for(lambda: slack.open_views(APPROVER_1), timeout=LOADED)
    assert "replicas: 3" * 1 in str(modal["blocks"]) and str(modal["blocks"]).count("replicas: 3") >= 100

    # The same call again (arguments in another order): the same request, no second message.
    again = await gate.decide("write_file", dict(reversed(LONG.items())), ASK, 0, None)
    assert again.request_id == first.request_id
    await slack.click_button(APPROVER_1, CHANNEL, message["ts"], action_ids.TOOL_ALLOW)
    allowed = await eventually(lambda: _decided(gate), timeout=LOADED)
    assert allowed.outcome == "allowed" and allowed.decided_by == (APPROVER_1,)

    # The Allow came back claimed: a second claim of it (a restarted proxy, a twin call) is refused.
    with pytest.raises(ToolCallRefused, match="never run twice"):
        await gate.start_forward(allowed)
    await gate.finish(allowed, ok=True, summary="done: written")
    progress = await eventually(lambda: _done(bot, allowed.request_id), timeout=LOADED)
    [call] = progress.tool_calls
    assert call.state is ToolCallState.DONE and call.result == "done: written"

    # That Allow is used: the same call again is a new request (even before the old one has ended).
    anew = await gate.decide("write_file", LONG, ASK, 0, None)
    assert anew.outcome == "pending" and anew.request_id != first.request_id
    assert_valid_everything(slack)


async def _decided(gate: ToolCallGate) -> Decision | None:
    decision = await gate.decide("write_file", LONG, ASK, 0, None)
    return decision if decision.outcome != "pending" else None


async def _done(bot: RunningBot, request_id: str) -> Progress | None:
    progress = await bot.deps.gateway.progress(request_id)
    return progress if progress.outcome == "approved" and progress.tool_calls[0].state is ToolCallState.DONE else None


async def test_arguments_too_large_are_refused_before_asking(bot: RunningBot, slack: SlackSandbox) -> None:
    # Within the size bound, but more than "Show full arguments" could show (escaped, in 3,000-character blocks).
    unshowable = {"content": "<&>" * 30_000}
    assert not arguments_fit_modal(unshowable)
    for arguments in (unshowable, {"content": "x" * MAX_ARGUMENTS_BYTES}):
        with pytest.raises(ToolCallRefused, match="Nothing was asked or run"):
            await gate_of(bot).decide("write_file", arguments, ASK, 0, None)
    assert slack.messages(CHANNEL) == []
    # The largest that fits is shown whole in the modal (nothing left out).
    fits = {"content": "a" * 250_000}
    assert arguments_fit_modal(fits)
    modal = tool_arguments_modal(ToolCallRecord(1, "agent", "write_file", fits, ToolCallState.PENDING))
    assert "Not shown" not in str(modal.to_dict())
