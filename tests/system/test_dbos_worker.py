"""``signoff worker`` on DBOS: a process of its own runs the workflows queued in PostgreSQL.

Nothing but the shared database connects the test to the worker: the report is queued and decided
through ``DbosGateway`` (as a bot would), and the worker process runs it to the end.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from dbos import DBOSClient

from bot.dbos_gateway import DbosGateway
from core.contracts import ApprovalPolicy, Phase, SlackOrigin, WorkflowSettings
from sandbox import SlackSandbox
from tests.support.postgres import database_url
from tests.support.processes import ChildProcess
from tests.support.slack import APPROVER_1, CHANNEL, REQUESTER, TEAM
from tests.support.waiting import eventually

pytestmark = [pytest.mark.process, pytest.mark.slow]


async def test_a_worker_process_runs_queued_workflows(postgres_url: str, slack: SlackSandbox, tmp_path: Path) -> None:
    url = database_url(postgres_url, f"worker_{uuid.uuid4().hex[:8]}")
    env = {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_API_URL": slack.api_url,
        "SIGNOFF_ENGINE": "dbos",
        "SIGNOFF_DATABASE_URL": url,
        "DBOS__VMID": "worker-1",
    }
    worker = ChildProcess(["worker"], env, tmp_path / "worker.log")
    worker.start()
    client: DBOSClient | None = None
    try:
        # The worker's launch creates DBOS's tables and queue; it says when it is ready.
        await eventually(lambda: "DBOS worker running workflows" in worker.output(), timeout=60)
        client = DBOSClient(system_database_url=url)
        gateway = DbosGateway(client, workflow_settings=WorkflowSettings(policy=ApprovalPolicy()))
        origin = SlackOrigin(team_id=TEAM, channel_id=CHANNEL, requester_id=REQUESTER)
        started = await gateway.start_report("Heat pumps", origin, f"worker-test-{uuid.uuid4()}")

        async def pending() -> bool:
            try:
                return (await gateway.progress(started.workflow_id)).phase is Phase.PENDING_APPROVAL
            except Exception:
                return False

        await eventually(pending, timeout=60)
        [status] = await client.list_workflows_async(workflow_ids=[started.workflow_id])
        assert status.executor_id == "worker-1"

        receipt = await gateway.approve(started.workflow_id, 1, APPROVER_1, TEAM)
        assert receipt.approvals == [APPROVER_1]

        async def approved() -> bool:
            return (await gateway.progress(started.workflow_id)).phase is Phase.APPROVED

        await eventually(approved, timeout=30)
    finally:
        if client is not None:
            client.destroy()
        worker.stop()
