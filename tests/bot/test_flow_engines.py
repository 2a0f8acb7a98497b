"""The Slack flow on both engines: the same clicks get the same answers on Temporal and on DBOS.

Each test runs once per engine (``engine`` fixture): Temporal on the time-skipping server, DBOS
on SQLite and on a real PostgreSQL (the revision and tool-call flows; the rest on SQLite only), Restate. The tests speak only through the
sandbox and the bot's gateway, so what they prove is what a person in Slack sees.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from temporalio.testing import WorkflowEnvironment

from bot.dbos_gateway import DbosGateway
from signoff.contracts.tool_calls import ToolCallState
from signoff.contracts.workflow_io import Phase
from signoff.dbos.engine import APPLICATION_VERSION
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from signoff.slack.action_ids import ButtonValue
from tests.support.block_checks import assert_valid_everything
from tests.support.bot import RunningBot, bot_settings
from tests.support.engines import ENGINES, REQUEST_ENGINES, phase_of, running_stack
from tests.support.flows import start_via_slack
from tests.support.postgres import database_url
from tests.support.slack import (
    APPROVER_1,
    APPROVER_2,
    CHANNEL,
    OUTSIDER,
    REQUESTER,
    buttons,
    draft_messages,
    thread_texts,
    told,
)

APPROVERS = [APPROVER_1, APPROVER_2]
# The flows whose steps the other tests already walk on DBOS-on-PostgreSQL (one gateway class and one
# engine for both DBOS databases; the revision and tool-call flows below run there too): every engine
# but that one, four runs of several seconds each of make test's 10 minutes covering no new database path.
DETAIL_ENGINES = REQUEST_ENGINES
RANDOM = "C0RANDOM0"


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def stack(
    engine: str, time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[RunningBot]:
    if engine == "dbos-postgres":
        server: str = request.getfixturevalue("postgres_url")
        engine = "dbos-postgres:" + database_url(server, f"flow_{uuid.uuid4().hex[:8]}")
    settings = bot_settings(
        slack,
        approvers=APPROVERS,
        reminder_interval=timedelta(seconds=2),
        max_reminders=1,
        decision_deadline=timedelta(seconds=5),
    )
    async with running_stack(engine, slack, settings, temporal_client=time_env.client, tmp_path=tmp_path) as bot:
        yield bot
    assert_valid_everything(slack)


async def _started(slack: SlackSandbox, bot: RunningBot, text: str, command: str = "/report") -> str:
    return (await start_via_slack(slack, bot.client, text, command)).id


async def _waiting(slack: SlackSandbox, bot: RunningBot, workflow_id: str, revision: int = 1) -> tuple[str, dict]:
    progress = await phase_of(bot, workflow_id, Phase.PENDING_APPROVAL)
    assert progress.thread is not None
    ts = progress.thread.ts
    drafts = await slack.wait_for(lambda: len(draft_messages(slack, ts)) >= revision and draft_messages(slack, ts))
    return ts, drafts[-1]


@pytest.mark.parametrize("engine", ["temporal", "dbos-sqlite"], indirect=True)
async def test_the_engines_calls_are_timed_under_its_own_name(
    stack: RunningBot, slack: SlackSandbox, engine: str
) -> None:
    mine, other = (
        ("signoff_bot_temporal_call_seconds", "signoff_bot_dbos_call_seconds")
        if engine == "temporal"
        else ("signoff_bot_dbos_call_seconds", "signoff_bot_temporal_call_seconds")
    )

    def count(name: str) -> float:
        return REGISTRY.get_sample_value(f"{name}_count", {"outcome": "ok"}) or 0.0

    before = count(mine), count(other)
    workflow_id = await _started(slack, stack, "Solar panels for farms")
    await phase_of(stack, workflow_id, Phase.PENDING_APPROVAL)
    assert count(mine) > before[0]
    assert count(other) == before[1]


@pytest.mark.parametrize("engine", ["dbos-sqlite"], indirect=True)
async def test_dbos_runs_are_of_the_pinned_application_version(stack: RunningBot, slack: SlackSandbox) -> None:
    workflow_id = await _started(slack, stack, "Solar panels for farms")
    await phase_of(stack, workflow_id, Phase.PENDING_APPROVAL)
    gateway = stack.deps.gateway
    assert isinstance(gateway, DbosGateway)
    [status] = await gateway.client.list_workflows_async(workflow_ids=[workflow_id])
    # Not DBOS's hash of today's workflow sources: a release that changes them still recovers this run.
    assert status.app_version == APPLICATION_VERSION


async def test_revise_refusals_and_approve(stack: RunningBot, slack: SlackSandbox) -> None:
    workflow_id = await _started(slack, stack, "Solar panels for farms")
    thread_ts, draft1 = await _waiting(slack, stack, workflow_id)

    # The requester may not decide; an outsider is not an approver: both told, nothing changes.
    await slack.click_button(REQUESTER, CHANNEL, draft1["ts"], action_ids.APPROVE)
    await told(slack, REQUESTER, "someone else has to decide")
    await slack.click_button(OUTSIDER, CHANNEL, draft1["ts"], action_ids.APPROVE)
    await told(slack, OUTSIDER, "not one of the approvers")
    assert (await stack.deps.gateway.progress(workflow_id)).decisions == []

    # A revision request with notes reaches the writer; revision 2 is posted.
    await slack.click_button(APPROVER_1, CHANNEL, draft1["ts"], action_ids.REQUEST_REVISION)
    [modal] = await slack.wait_for(lambda: slack.open_views(APPROVER_1))
    await slack.submit_view(
        APPROVER_1, modal["id"], {action_ids.NOTES_BLOCK: {action_ids.NOTES_INPUT: "Add maintenance costs"}}
    )
    await told(slack, APPROVER_1, "Sent revision 1 back to the writer")
    first, second = await slack.wait_for(
        lambda: len(draft_messages(slack, thread_ts)) == 2 and draft_messages(slack, thread_ts)
    )
    assert buttons(first) == []

    # A stale click on revision 1 is refused with the same words on both engines.
    stale = ButtonValue(workflow_id=workflow_id, revision=1).encode()
    await slack.click_button_raw(APPROVER_2, CHANNEL, first["ts"], action_ids.APPROVE, stale)
    await told(slack, APPROVER_2, "revision 2 is the current draft")

    await slack.click_button(APPROVER_2, CHANNEL, second["ts"], action_ids.APPROVE)
    await told(slack, APPROVER_2, "Recorded your approval of revision 2")
    final = await phase_of(stack, workflow_id, Phase.APPROVED)
    assert [d.user_id for d in final.decisions] == [APPROVER_1, APPROVER_2]
    updated = await slack.wait_for(lambda: (m := slack.message(CHANNEL, second["ts"])) and not buttons(m) and m)
    assert "Approved by <@U0APPROV2>" in json.dumps(updated["blocks"])
    assert any("maintenance" in text.lower() for text in thread_texts(slack, thread_ts))

    # A click after the end is refused and changes nothing.
    await slack.click_button_raw(
        APPROVER_1, CHANNEL, second["ts"], action_ids.APPROVE, ButtonValue(workflow_id, 2).encode()
    )
    await told(slack, APPROVER_1, "already")
    assert [d.user_id for d in (await stack.deps.gateway.progress(workflow_id)).decisions] == [APPROVER_1, APPROVER_2]


@pytest.mark.parametrize("engine", DETAIL_ENGINES, indirect=True)
async def test_reject_with_a_reason(stack: RunningBot, slack: SlackSandbox) -> None:
    workflow_id = await _started(slack, stack, "Wind farms")
    _, draft = await _waiting(slack, stack, workflow_id)
    await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.REJECT)
    [modal] = await slack.wait_for(lambda: slack.open_views(APPROVER_1))
    await slack.submit_view(
        APPROVER_1, modal["id"], {action_ids.REASON_BLOCK: {action_ids.REASON_INPUT: "Out of scope"}}
    )
    await told(slack, APPROVER_1, "Rejected revision 1")
    final = await phase_of(stack, workflow_id, Phase.REJECTED)
    assert final.decisions[-1].notes == "Out of scope"


@pytest.mark.parametrize("engine", DETAIL_ENGINES, indirect=True)
async def test_cancel_by_requester_but_not_by_an_outsider(stack: RunningBot, slack: SlackSandbox) -> None:
    workflow_id = await _started(slack, stack, "Tidal power")
    thread_ts, _ = await _waiting(slack, stack, workflow_id)
    await slack.send_slash_command(OUTSIDER, "/report", f"cancel {workflow_id}", channel_id=CHANNEL)
    await told(slack, OUTSIDER, "Only the person who requested it or one of its approvers")
    await slack.send_slash_command(REQUESTER, "/report", f"status {workflow_id}", channel_id=CHANNEL)
    await told(slack, REQUESTER, "Waiting for approval")
    await slack.send_slash_command(REQUESTER, "/report", f"cancel {workflow_id}", channel_id=CHANNEL)
    await told(slack, REQUESTER, "Cancelling")
    await phase_of(stack, workflow_id, Phase.CANCELLED)
    await slack.wait_for(lambda: any("cancelled" in text for text in thread_texts(slack, thread_ts)))
    [draft] = draft_messages(slack, thread_ts)
    assert buttons(draft) == []


@pytest.mark.parametrize("engine", DETAIL_ENGINES, indirect=True)
async def test_plan_approved_and_executed(stack: RunningBot, slack: SlackSandbox) -> None:
    workflow_id = await _started(slack, stack, "Migrate the billing database", "/plan")
    _, draft = await _waiting(slack, stack, workflow_id)
    await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)
    await told(slack, APPROVER_1, "Recorded your approval of revision 1")
    await phase_of(stack, workflow_id, Phase.COMPLETED)


@pytest.mark.parametrize("engine", DETAIL_ENGINES, indirect=True)
async def test_reminder_then_expiry(stack: RunningBot, slack: SlackSandbox) -> None:
    """Reminders and the deadline come from the engine's durable timers (skipped time on Temporal,
    recv's timeout on DBOS)."""
    workflow_id = await _started(slack, stack, "Geothermal heating")
    thread_ts, draft = await _waiting(slack, stack, workflow_id)
    await phase_of(stack, workflow_id, Phase.EXPIRED)
    # The phase changes before the thread says so: wait for the note.
    texts = await slack.wait_for(
        lambda: (t := thread_texts(slack, thread_ts)) and any("expired" in text for text in t) and t
    )
    assert any("Reminder 1" in text for text in texts), texts
    # The buttons are gone; a forged click on them is refused.
    await slack.click_button_raw(
        APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE, ButtonValue(workflow_id, 1).encode()
    )
    await told(slack, APPROVER_1, "already")


async def test_plan_tool_calls_allow_and_deny(stack: RunningBot, slack: SlackSandbox) -> None:
    """The executor's two tool calls: one allowed (the post appears in #random), one denied with a
    reason the agent reads. On DBOS the second is asked once the first is decided (steps run in order)."""
    workflow_id = await _started(slack, stack, "Announce the offsite in #random and #general", "/plan")
    thread_ts, draft = await _waiting(slack, stack, workflow_id)
    await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)

    def call_waiting(number: int) -> dict | None:
        waiting = [m for m in slack.replies(CHANNEL, thread_ts) if action_ids.TOOL_ALLOW in buttons(m)]
        return next((m for m in waiting if f"(call {number})" in json.dumps(m["blocks"])), None)

    first = await slack.wait_for(lambda: call_waiting(1))
    await slack.click_button(REQUESTER, CHANNEL, first["ts"], action_ids.TOOL_ALLOW)
    await told(slack, REQUESTER, "someone else has to decide")
    await slack.click_button(APPROVER_2, CHANNEL, first["ts"], action_ids.TOOL_ALLOW)
    await told(slack, APPROVER_2, "Allowed tool call 1")

    second = await slack.wait_for(lambda: call_waiting(2))
    await slack.click_button(APPROVER_2, CHANNEL, second["ts"], action_ids.TOOL_DENY)
    [modal] = await slack.wait_for(lambda: slack.open_views(APPROVER_2))
    await slack.submit_view(
        APPROVER_2, modal["id"], {action_ids.REASON_BLOCK: {action_ids.REASON_INPUT: "Not in #general, please"}}
    )
    await told(slack, APPROVER_2, "Denied tool call 2")

    final = await phase_of(stack, workflow_id, Phase.COMPLETED)
    assert [c.state for c in final.tool_calls] == [ToolCallState.DONE, ToolCallState.DENIED]
    assert final.tool_calls[1].result == "Not in #general, please"
    assert len(slack.messages(RANDOM)) == 1
