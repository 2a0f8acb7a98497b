"""The lists' typed filter on both engines: the same requests, filtered by who asked, where, and
whose decision they wait for, list the same workflows on Temporal (a visibility query on the search
attributes, on the real dev server) and on DBOS (what ``DBOSClient`` lists, filtered by the gateway);
a value that is not an id is refused alike on both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client

from bot.gateway import GatewayError, Listing, RunFilter, workflow_id_for
from signoff.contracts.workflow_io import Phase, WorkflowKind
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from signoff.temporal.devserver import DevServer
from signoff.temporal.search_attributes import register
from tests.support.bot import RunningBot, bot_settings
from tests.support.engines import DBOS_FLOW, phase_of, running_stack
from tests.support.slack import APPROVALS_CHANNEL, APPROVER_1, CHANNEL, OUTSIDER, REQUESTER, draft_messages, told
from tests.support.temporal import fresh_namespace
from tests.support.waiting import eventually

# Temporal's lists are visibility queries: the real dev server (on DBOS it only stands by).
pytestmark = pytest.mark.process


@pytest.fixture
async def stack(engine: str, dev_server: DevServer, slack: SlackSandbox, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """The bot on ``engine``: Temporal in a namespace of its own with the search attributes."""
    temporal = await Client.connect(dev_server.address)
    if engine == "temporal":
        temporal = await fresh_namespace(temporal)
        assert await register(temporal, temporal.namespace)  # what `signoff setup` does
    settings = bot_settings(slack, approvers=[APPROVER_1])
    async with running_stack(engine, slack, settings, temporal_client=temporal, tmp_path=tmp_path) as bot:
        yield bot


async def _requested(slack: SlackSandbox, bot: RunningBot, user: str, channel: str, topic: str) -> str:
    """``user`` types ``/report topic`` in ``channel``; the workflow's id once its draft waits."""
    result = await slack.send_slash_command(user, "/report", topic, channel_id=channel)
    assert result.acked, result
    workflow_id = workflow_id_for(WorkflowKind.REPORT, slack.workspace.team_id, channel, f"/report:{result.trigger_id}")
    await phase_of(bot, workflow_id, Phase.PENDING_APPROVAL)
    return workflow_id


async def _lists(bot: RunningBot, which: RunFilter, expected: set[str]) -> None:
    """``which`` lists exactly ``expected`` (visibility follows the workflows a moment later)."""

    async def listed() -> set[str]:
        return {item.workflow_id for item in await bot.deps.gateway.list_workflows(which)}

    last: set[str] = set()

    async def matches() -> bool:
        nonlocal last
        last = await listed()
        return last == expected

    try:
        await eventually(matches, timeout=30, interval=0.2)
    except AssertionError:
        raise AssertionError(f"{which} listed {sorted(last)}, not {sorted(expected)}") from None


@pytest.mark.parametrize(
    "engine", [pytest.param("temporal", marks=pytest.mark.process), pytest.param("dbos-sqlite", marks=DBOS_FLOW)]
)
async def test_one_filter_lists_the_same_workflows_on_every_engine(stack: RunningBot, slack: SlackSandbox) -> None:
    here = await _requested(slack, stack, REQUESTER, CHANNEL, "Solar panels")
    elsewhere = await _requested(slack, stack, REQUESTER, APPROVALS_CHANNEL, "Wind farms")
    someone_elses = await _requested(slack, stack, OUTSIDER, CHANNEL, "Tidal power")

    await _lists(stack, RunFilter(requested_by=REQUESTER, channel=CHANNEL), {here})
    await _lists(stack, RunFilter(state=Listing.RUNNING, requested_by=REQUESTER), {here, elsewhere})
    await _lists(stack, RunFilter(channel=CHANNEL), {here, someone_elses})
    await _lists(stack, RunFilter(waiting_for=APPROVER_1), {here, elsewhere, someone_elses})

    # Decided: it waits for nobody and no longer runs, but it is still the requester's.
    progress = await phase_of(stack, here, Phase.PENDING_APPROVAL)
    assert progress.thread is not None
    [draft] = draft_messages(slack, progress.thread.ts)
    await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)
    await told(slack, APPROVER_1, "Recorded your approval of revision 1")
    await _lists(stack, RunFilter(waiting_for=APPROVER_1), {elsewhere, someone_elses})
    await _lists(stack, RunFilter(state=Listing.RUNNING, channel=CHANNEL), {someone_elses})
    await _lists(stack, RunFilter(requested_by=REQUESTER, channel=CHANNEL), {here})

    with pytest.raises(GatewayError, match=r"^Cannot list that: not an id that can be looked up"):
        await stack.deps.gateway.list_workflows(RunFilter(channel=f"{CHANNEL}' OR SignoffKind != 'x"))
