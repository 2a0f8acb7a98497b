"""The article's client.py, unchanged in spirit, against the real dev server and our worker."""

from __future__ import annotations

import pytest
from temporalio.client import Client

from signoff.config.settings import Settings
from signoff.contracts.workflow_io import DEFAULT_TASK_QUEUE
from signoff.temporal.devserver import DevServer
from tests.support.temporal import running_worker
from workflows import ApprovalWorkflow, ReportGenerationWorkflow

pytestmark = pytest.mark.process


async def test_article_client_flow(dev_server: DevServer) -> None:
    settings = Settings(temporal_address=dev_server.address)
    assert settings.task_queue == DEFAULT_TASK_QUEUE == "agent-workflows"
    # The article's client: default data converter, a bare topic, the signal and the query.
    client = await Client.connect(dev_server.address)
    async with running_worker(client, settings):
        handle = await client.start_workflow(
            ReportGenerationWorkflow.run,
            "The impact of AI agents on software engineering",
            id="report-001",
            task_queue="agent-workflows",
        )
        status = await handle.query(ReportGenerationWorkflow.get_status)
        assert status in {"starting", "researching", "writing", "reviewing", "pending_approval"}
        await handle.signal(ReportGenerationWorkflow.approve)
        result = await handle.result()
        assert await handle.query(ReportGenerationWorkflow.get_status) == "approved"
    assert "## Key findings" in result and "AI agents" in result


async def test_article_approval_workflow_decide_signal(dev_server: DevServer) -> None:
    settings = Settings(temporal_address=dev_server.address)
    client = await Client.connect(dev_server.address)
    async with running_worker(client, settings):
        declined = await client.start_workflow(
            ApprovalWorkflow.run, "Migrate the billing service", id="plan-declined", task_queue="agent-workflows"
        )
        await declined.signal(ApprovalWorkflow.decide, args=["plan_approval", "rejected"])
        assert await declined.result() == "Workflow cancelled: plan not approved"

        approved = await client.start_workflow(
            ApprovalWorkflow.run, "Migrate the billing service", id="plan-approved", task_queue="agent-workflows"
        )
        await approved.signal(ApprovalWorkflow.decide, args=["plan_approval", "approved"])
        result = await approved.result()
        assert await approved.query(ApprovalWorkflow.pending_decision) is None
    assert "billing" in result.lower()
