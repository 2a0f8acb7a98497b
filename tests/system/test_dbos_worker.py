"""``signoff worker`` on DBOS: processes of their own run the workflows queued in PostgreSQL.

Nothing but the shared database connects the test to the workers: reports are queued and decided
through ``DbosGateway`` (as a bot would), and the worker processes run them to the end. Two workers
on one queue run each report once; which takes which is DBOS's (a process takes all that are
queued when it looks: six queued at once went to one of the two when this was written), so the
test freezes one worker (SIGSTOP) while it queues the reports the other is to take.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from dbos import DBOSClient

from bot.dbos_gateway import DbosGateway
from signoff.contracts.workflow_io import ApprovalPolicy, Phase, SlackOrigin, WorkflowSettings
from signoff.sandbox import SlackSandbox
from signoff.sandbox.directory import BOT_USER_ID, DEFAULT_CHANNELS, Channel
from tests.support.postgres import database_url
from tests.support.processes import ChildProcess
from tests.support.slack import APPROVER_1, CHANNEL, REQUESTER, TEAM, assert_nothing_doubled
from tests.support.waiting import eventually

pytestmark = [pytest.mark.process, pytest.mark.slow]

READY = "DBOS worker running workflows"


@contextlib.asynccontextmanager
async def workers(
    postgres_url: str, slack: SlackSandbox, tmp_path: Path, *executor_ids: str
) -> AsyncIterator[tuple[DbosGateway, DBOSClient, dict[str, ChildProcess]]]:
    """``signoff worker`` processes on one new database, each with its own executor id, and a
    gateway to them; the processes by executor id."""
    url = database_url(postgres_url, f"worker_{uuid.uuid4().hex[:8]}")
    started: list[ChildProcess] = []
    client: DBOSClient | None = None
    try:
        for executor_id in executor_ids:
            env = {
                "SLACK_BOT_TOKEN": slack.bot_token,
                "SLACK_API_URL": slack.api_url,
                "SIGNOFF_ENGINE": "dbos",
                "SIGNOFF_DATABASE_URL": url,
                "DBOS__VMID": executor_id,
            }
            worker = ChildProcess(["worker"], env, tmp_path / f"{executor_id}.log")
            started.append(worker)
            worker.start()
            # The first launch creates DBOS's tables and queue; each worker says when it is ready.
            await eventually(functools.partial(said_ready, worker), timeout=60)
        client = DBOSClient(system_database_url=url)
        gateway = DbosGateway(client, workflow_settings=WorkflowSettings(policy=ApprovalPolicy()))
        yield gateway, client, dict(zip(executor_ids, started, strict=True))
    finally:
        if client is not None:
            client.destroy()
        for worker in started:
            worker.stop()


def said_ready(worker: ChildProcess) -> bool:
    return READY in worker.output()


async def _in_phase(gateway: DbosGateway, workflow_id: str, phase: Phase) -> bool:
    try:
        return (await gateway.progress(workflow_id)).phase is phase
    except Exception:  # not started yet
        return False


ORIGIN = SlackOrigin(team_id=TEAM, channel_id=CHANNEL, requester_id=REQUESTER)


async def test_a_worker_process_runs_queued_workflows(postgres_url: str, slack: SlackSandbox, tmp_path: Path) -> None:
    async with workers(postgres_url, slack, tmp_path, "worker-1") as (gateway, client, _):
        started = await gateway.start_report("Heat pumps", ORIGIN, f"worker-test-{uuid.uuid4()}")
        await eventually(lambda: _in_phase(gateway, started.workflow_id, Phase.PENDING_APPROVAL), timeout=60)
        [status] = await client.list_workflows_async(workflow_ids=[started.workflow_id])
        assert status.executor_id == "worker-1"

        receipt = await gateway.approve(started.workflow_id, 1, APPROVER_1, TEAM, member_of=CHANNEL)
        assert receipt.approvals == [APPROVER_1]
        await eventually(lambda: _in_phase(gateway, started.workflow_id, Phase.APPROVED), timeout=30)


# A channel per report: the worker posts about one a second per channel, as Slack asks, so six
# reports in one channel would keep their workflows posting, and a decision queued, past 10 s.
CHANNELS = [Channel(f"C0SHARE{n:02d}", f"share-{n}", frozenset({APPROVER_1, REQUESTER, BOT_USER_ID})) for n in range(6)]


@pytest.fixture
async def slack_with_channels() -> AsyncIterator[SlackSandbox]:
    sandbox = SlackSandbox(channels=[*DEFAULT_CHANNELS, *CHANNELS])
    await sandbox.start(port=0)
    try:
        yield sandbox
    finally:
        await sandbox.stop()


@contextlib.contextmanager
def frozen(worker: ChildProcess) -> Iterator[None]:
    """The worker process stopped by SIGSTOP (it takes nothing from the queue), then let go on."""
    assert worker.process is not None
    worker.process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        worker.process.send_signal(signal.SIGCONT)


# Two worker processes, each importing DBOS and the Agents SDK, run six reports: ~21 s alone.
@pytest.mark.timeout(180)
async def test_two_workers_share_the_queue_each_runs_the_reports_it_took_once(
    postgres_url: str, slack_with_channels: SlackSandbox, tmp_path: Path
) -> None:
    slack = slack_with_channels
    async with workers(postgres_url, slack, tmp_path, "worker-1", "worker-2") as (gateway, client, processes):
        # Three reports queued while worker-2 is frozen, so worker-1 takes them; three more the other way.
        batches = {"worker-1": (CHANNELS[:3], processes["worker-2"]), "worker-2": (CHANNELS[3:], processes["worker-1"])}
        expected: dict[str, str] = {}
        topics: dict[str, str] = {}
        channel_of: dict[str, str] = {}
        for executor_id, (channels, other) in batches.items():
            with frozen(other):
                for channel in channels:
                    topic = f"Heat pumps in {channel.name}"
                    started = await gateway.start_report(
                        topic, replace(ORIGIN, channel_id=channel.id), f"workers-test-{uuid.uuid4()}"
                    )
                    expected[started.workflow_id], topics[channel.id] = executor_id, topic
                    channel_of[started.workflow_id] = channel.id
                    await eventually(
                        functools.partial(_in_phase, gateway, started.workflow_id, Phase.PENDING_APPROVAL), timeout=60
                    )
        ids = list(expected)
        statuses = await client.list_workflows_async(workflow_ids=ids)
        assert {status.workflow_id: status.executor_id for status in statuses} == expected

        # Each worker answers the decisions of the reports it took, and runs them to the end.
        await asyncio.gather(
            *(
                gateway.approve(workflow_id, 1, APPROVER_1, TEAM, member_of=channel_of[workflow_id])
                for workflow_id in ids
            )
        )
        for workflow_id in ids:
            await eventually(functools.partial(_in_phase, gateway, workflow_id, Phase.APPROVED), timeout=60)

    # One thread per report, each message once, whichever worker ran it.
    for channel in CHANNELS:
        parents = [m for m in slack.messages(channel.id) if topics[channel.id] in (m.get("text") or "")]
        assert len(parents) == 1, [m.get("text") for m in slack.messages(channel.id)]
        assert_nothing_doubled(slack, channel.id)
