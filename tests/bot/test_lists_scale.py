"""The lists (App Home, `/report list`, `/report status` with no id) are visibility queries on signoff's
search attributes, so a draft stays listed however many workflows are newer than it; and a namespace
without the attributes (nobody ran `signoff setup`) still runs every workflow, with the old bounded
listing and a log line saying why. Both on the real dev server, each in a namespace of its own."""

from __future__ import annotations

import json
import logging

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Replayer

from bot.gateway import MAX_LISTED
from signoff.config.settings import Settings
from signoff.contracts import search_attributes
from signoff.contracts.workflow_io import ApproveInput, Phase
from signoff.sandbox import SlackSandbox
from signoff.slack.action_ids import ButtonValue
from signoff.temporal.devserver import DevServer
from signoff.temporal.search_attributes import register
from signoff.worker import agents_plugin, workflow_runner
from tests.support.block_checks import assert_valid_everything
from tests.support.bot import bot_settings, worker_and_bot
from tests.support.flows import start_via_slack
from tests.support.slack import APPROVALS_CHANNEL, APPROVER_1, APPROVER_2, REQUESTER, button_pairs
from tests.support.temporal import fresh_namespace, running_worker, wait_for_phase, worker_settings
from tests.support.visibility import start_idle_reports
from tests.support.waiting import eventually
from workflows import ApprovalWorkflow, ReportGenerationWorkflow, SignoffRequestWorkflow

pytestmark = [pytest.mark.process, pytest.mark.slow]

# Newer workflows than the draft: six times the old listing's page, enough to bury it there.
NEWER = 6 * MAX_LISTED
FILLER_REQUESTER = "U0FILLER"
ELSEWHERE = "C0ELSEWHERE"


async def _home_buttons(slack: SlackSandbox, user: str, workflow_id: str) -> list[tuple[str, str]]:
    await slack.open_home(user)
    view = await slack.wait_for(lambda: slack.home_view(user))
    return [pair for pair in button_pairs(view) if ButtonValue.decode(pair[1]).workflow_id == workflow_id]


def _upserts(events: list) -> int:
    """signoff's upserts (the SDK upserts TemporalChangeVersion for its patches by itself)."""
    return sum(
        1
        for event in events
        if event.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
        and any(
            name.startswith("Signoff")
            for name in event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
        )
    )


async def _replays(handle: WorkflowHandle) -> None:
    replayer = Replayer(
        workflows=[ReportGenerationWorkflow, ApprovalWorkflow, SignoffRequestWorkflow],
        plugins=[agents_plugin(Settings())],
        workflow_runner=workflow_runner(),
    )
    await replayer.replay_workflow(await handle.fetch_history())


async def test_a_draft_behind_hundreds_of_newer_workflows_is_still_listed(
    dev_server: DevServer, slack: SlackSandbox
) -> None:
    temporal = await fresh_namespace(await Client.connect(dev_server.address))
    assert await register(temporal, temporal.namespace)  # what `signoff setup` does
    settings = bot_settings(slack, approvers=[APPROVER_1])
    async with worker_and_bot(slack, temporal, settings) as bot:
        gateway = bot.deps.gateway
        handle = await start_via_slack(slack, bot.client, "Battery storage", channel=APPROVALS_CHANNEL)
        await wait_for_phase(handle, Phase.PENDING_APPROVAL)
        # Hundreds of newer drafts for someone else, by someone else, elsewhere.
        await start_idle_reports(
            bot.client, NEWER, requester=FILLER_REQUESTER, approvers=[APPROVER_2], channel=ELSEWHERE
        )

        async def all_visible() -> bool:
            return (await bot.client.count_workflows(search_attributes.running_query())).count == NEWER + 1

        await eventually(all_visible, timeout=60, interval=0.2)
        # The bounded listing of the newest workflows (what the lists used before) no longer reaches it.
        assert handle.id not in {item.workflow_id for item in await gateway.list_workflows()}

        # The approver's Home still offers its buttons; nobody else's drafts are there.
        ours = await eventually(lambda: _home_buttons(slack, APPROVER_1, handle.id), interval=0.2)
        assert ours
        view = json.dumps(slack.home_view(APPROVER_1))
        assert "Waiting for your decision (1)" in view and "Idle report" not in view

        # The requester's Home lists it among their requests, from visibility.
        await slack.open_home(REQUESTER)
        await slack.wait_for(lambda: "Battery storage" in json.dumps(slack.home_view(REQUESTER) or {}))
        assert "Your requests (1)" in json.dumps(slack.home_view(REQUESTER))

        # /report status with no id: the latest in this channel, though hundreds started since elsewhere.
        await slack.send_slash_command(REQUESTER, "/report", "status", channel_id=APPROVALS_CHANNEL)
        await slack.wait_for(
            lambda: any("Battery storage" in json.dumps(e.get("blocks") or []) for e in slack.ephemerals(REQUESTER)),
            timeout=15,
        )

        # /report list: the newest running ones, and how many run in all (counted by the server).
        await slack.send_slash_command(REQUESTER, "/report", "list", channel_id=APPROVALS_CHANNEL)
        listed = await slack.wait_for(
            lambda: next((e for e in slack.ephemerals(REQUESTER) if "open workflow" in (e.get("text") or "")), None),
            timeout=15,
        )
        assert f"of {NEWER + 1:,} running workflows" in json.dumps(listed)

        # Decided: it leaves the approver's list, and visibility has its final phase.
        await handle.execute_update(ReportGenerationWorkflow.approve_draft, ApproveInput(1, APPROVER_1))
        await handle.result()

        async def approved() -> bool:
            mine = await gateway.requested_by(REQUESTER, 5)
            return [(item.workflow_id, item.phase) for item in mine] == [(handle.id, Phase.APPROVED)]

        await eventually(approved, timeout=30, interval=0.2)
        assert await gateway.waiting_for(APPROVER_1, 5) == []

    # The new path's history (its upserts) replays against the code: deterministic.
    events = [event async for event in handle.fetch_history_events()]
    assert _upserts(events) >= 5, "at start and on each phase change"
    await _replays(handle)
    assert_valid_everything(slack)


async def test_without_the_attributes_workflows_run_and_the_lists_fall_back(
    dev_server: DevServer, slack: SlackSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="signoff.temporal.search_attributes")
    temporal = await fresh_namespace(await Client.connect(dev_server.address))
    settings = bot_settings(slack, approvers=[APPROVER_1])
    async with worker_and_bot(slack, temporal, settings) as bot:
        # Started by the bot (its settings say: no attributes here): not stuck on an upsert.
        handle = await start_via_slack(slack, bot.client, "Battery storage", channel=APPROVALS_CHANNEL)
        await wait_for_phase(handle, Phase.PENDING_APPROVAL)
        # Started with only a topic (the worker's settings activity says the same).
        bare = await bot.client.start_workflow(
            ReportGenerationWorkflow.run, "Heat pumps", id=f"bare-{handle.id}", task_queue=settings.task_queue
        )
        await wait_for_phase(bare, Phase.PENDING_APPROVAL)
        assert not await bot.deps.gateway.lists_by_search_attributes()

        # The Home falls back to the newest workflows of the namespace, which hold this draft.
        assert await eventually(lambda: _home_buttons(slack, APPROVER_1, handle.id), interval=0.2)
        # The approver of both sees both (the requester would see only their own: the bare one has no
        # requester and no channel, signoff/contracts/access.py).
        await slack.send_slash_command(APPROVER_1, "/report", "list", channel_id=APPROVALS_CHANNEL)
        await slack.wait_for(
            lambda: any("2 open workflow(s)" in (e.get("text") or "") for e in slack.ephemerals(APPROVER_1)),
            timeout=15,
        )
    for workflow in (handle, bare):
        assert _upserts([event async for event in workflow.fetch_history_events()]) == 0
    said = [record.getMessage() for record in caplog.records if record.name == "signoff.temporal.search_attributes"]
    assert any(
        f"not usable in namespace {temporal.namespace!r} (missing SignoffKind" in line
        and "newest 50 workflows" in line
        and "Run `signoff setup`" in line
        for line in said
    ), said
    assert any("workflows started without settings" in line for line in said), said


async def test_a_request_started_by_another_workflow_is_listed_once_setup_ran(
    dev_server: DevServer, slack: SlackSandbox
) -> None:
    """`signoff setup` while a worker runs: a SignoffRequest (settings from the worker's activity) upserts."""
    temporal = await fresh_namespace(await Client.connect(dev_server.address))
    settings = worker_settings(slack)
    async with running_worker(temporal, settings):
        await register(temporal, temporal.namespace)
        handle = await temporal.start_workflow(
            "SignoffRequest",
            {
                "title": "Deploy",
                "body": "v2",
                "channel": "C0GENERAL",
                "requester": REQUESTER,
                "approvers": [APPROVER_1],
            },
            id=f"request-{temporal.namespace}",
            task_queue=settings.task_queue,
        )
        await wait_for_phase(handle, Phase.PENDING_APPROVAL)
        query = search_attributes.waiting_for_query(APPROVER_1)

        async def listed() -> list[str]:
            return [execution.id async for execution in temporal.list_workflows(query)]

        assert await eventually(listed, timeout=30, interval=0.2) == [handle.id]
        await handle.terminate()
