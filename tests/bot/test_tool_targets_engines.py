"""Tool-call targets on both engines, through Slack: Always allow for #random covers #random by id
and nothing else, and a read of another conversation asks and keeps its text out of the thread."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

import signoff.dbos.stack
from signoff.contracts.tool_calls import ToolCallState
from signoff.contracts.workflow_io import Phase
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from tests.support.bot import RunningBot, bot_settings, worker_and_bot
from tests.support.engines import phase_of, running_stack
from tests.support.flows import start_via_slack
from tests.support.models import ScriptedExecutorProvider
from tests.support.slack import APPROVALS_CHANNEL, APPROVER_1, APPROVER_2, CHANNEL, buttons, everything_in, told

RANDOM = "C0RANDOM0"
SECRET = "Merger codename BLUEBIRD closes on the 14th"
TURNS: list[list[tuple[str, dict[str, Any]]]] = [
    [("read_channel", {"channel": "#general", "limit": 2})],
    [("post_message", {"channel": "#random", "text": "First"})],
    [("post_message", {"channel": RANDOM, "text": "By id"})],
    [("read_channel", {"channel": "#approvals", "limit": 5})],
]


# On DBOS the engine launches and the plan calls every tool: ~15 s alone.
@pytest.fixture(params=["temporal", pytest.param("dbos-sqlite", marks=pytest.mark.timeout(180))])
async def stack(
    request: pytest.FixtureRequest,
    time_env: WorkflowEnvironment,
    slack: SlackSandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[RunningBot]:
    models = ScriptedExecutorProvider(TURNS)
    settings = bot_settings(slack, approvers=[APPROVER_1, APPROVER_2])
    if request.param == "temporal":
        async with worker_and_bot(slack, time_env.client, settings, models=models) as bot:
            yield bot
        return
    monkeypatch.setattr(signoff.dbos.stack, "model_provider", lambda _settings: models)
    async with running_stack("dbos-sqlite", slack, settings, temporal_client=time_env.client, tmp_path=tmp_path) as bot:
        yield bot


def waiting_call(slack: SlackSandbox, thread_ts: str, number: int) -> dict | None:
    waiting = [m for m in slack.replies(CHANNEL, thread_ts) if action_ids.TOOL_ALLOW in buttons(m)]
    return next((m for m in waiting if f"(call {number})" in json.dumps(m["blocks"])), None)


async def test_targets_decide_what_asks(stack: RunningBot, slack: SlackSandbox) -> None:
    await slack.post_as_user(APPROVER_1, APPROVALS_CHANNEL, SECRET)
    workflow_id = (await start_via_slack(slack, stack.client, "Announce the offsite", "/plan")).id
    progress = await phase_of(stack, workflow_id, Phase.PENDING_APPROVAL)
    assert progress.thread is not None
    thread_ts = progress.thread.ts
    [draft] = await slack.wait_for(
        lambda: [m for m in slack.replies(CHANNEL, thread_ts) if action_ids.APPROVE in buttons(m)]
    )
    await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)

    # Call 1 reads the plan's own channel without asking; call 2 (#random) asks: Always allow it.
    second = await slack.wait_for(lambda: waiting_call(slack, thread_ts, 2))
    assert "`post_message` in #random for this run" in json.dumps(second["blocks"])
    await slack.click_button(APPROVER_2, CHANNEL, second["ts"], action_ids.TOOL_ALWAYS_ALLOW)
    await told(slack, APPROVER_2, "Allowed tool call 2")
    # Call 3 posts in #random by id without asking; call 4 reads another conversation: it asks.
    fourth = await slack.wait_for(lambda: waiting_call(slack, thread_ts, 4))
    await slack.click_button(APPROVER_2, CHANNEL, fourth["ts"], action_ids.TOOL_ALLOW)

    final = await phase_of(stack, workflow_id, Phase.COMPLETED)
    assert [(c.tool, c.state, c.asked) for c in final.tool_calls] == [
        ("read_channel", ToolCallState.DONE, False),
        ("post_message", ToolCallState.DONE, True),
        ("post_message", ToolCallState.DONE, False),
        ("read_channel", ToolCallState.DONE, True),
    ]
    assert [m["text"] for m in slack.messages(RANDOM)] == ["First", "By id"]
    assert SECRET not in json.dumps(everything_in(slack, CHANNEL))
