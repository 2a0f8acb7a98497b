"""`signoff audit <workflow-id>`: a workflow's record as JSON on stdout, run as a real command against
the real dev server and a real worker; an unknown or foreign workflow exits 1, Temporal (or a worker
to answer) out of reach exits 2, each with one line on stderr and no traceback."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle

from signoff.contracts.tool_calls import ToolCallState, ToolDecisionInput
from signoff.contracts.workflow_io import ApproveInput, PlanRequest, RejectInput
from signoff.sandbox import SlackSandbox
from signoff.temporal.connection import data_converter
from signoff.temporal.devserver import DevServer, free_port
from tests.support.audit import Run, signoff_audit_with
from tests.support.flows import waiting_draft
from tests.support.slack import APPROVER_1, APPROVER_2, CHANNEL, ORIGIN, REQUESTER
from tests.support.temporal import running_worker, worker_settings
from tests.support.waiting import eventually
from workflows import ApprovalWorkflow, SignoffRequestWorkflow

pytestmark = [pytest.mark.process, pytest.mark.slow]


async def signoff_audit(address: str, *args: str) -> Run:
    """The command as a person runs it (asynchronously: the worker answering its query runs in this loop)."""
    return await signoff_audit_with({"TEMPORAL_ADDRESS": address}, *args)


async def client_for(dev_server: DevServer) -> Client:
    """A client as the bot's: the converter every client of these workflows uses."""
    return await Client.connect(dev_server.address, data_converter=data_converter())


async def worker_client(dev_server: DevServer) -> Client:
    """The worker's (its OpenAI Agents plugin brings the same converter; it refuses another)."""
    return await Client.connect(dev_server.address)


def assert_iso_utc(value: str) -> None:
    assert datetime.fromisoformat(value).utcoffset() is not None, value


async def test_a_signoff_request_pending_then_rejected(dev_server: DevServer, slack: SlackSandbox) -> None:
    settings = worker_settings(slack)
    client = await client_for(dev_server)
    async with running_worker(await worker_client(dev_server), settings):
        handle: WorkflowHandle[Any, Any] = await client.start_workflow(
            "SignoffRequest",
            {
                "title": "Deploy payments-api v2.3.1",
                "body": "Retry idempotency keys",
                "channel": CHANNEL,
                "requester": REQUESTER,
                "approvers": [APPROVER_1, APPROVER_2],
                "required_approvals": 2,
            },
            id=f"audit-request-{uuid.uuid4()}",
            task_queue=settings.task_queue,
        )
        thread_ts, _ = await waiting_draft(slack, handle)
        await handle.execute_update(
            SignoffRequestWorkflow.approve_draft, ApproveInput(1, APPROVER_1, comment="Fine by me")
        )

        pending = (await signoff_audit(dev_server.address, handle.id)).json()
        assert pending["workflow_id"] == handle.id and pending["workflow_type"] == "SignoffRequest"
        assert (pending["status"], pending["kind"], pending["phase"]) == ("RUNNING", "request", "pending_approval")
        assert pending["subject"] == "Deploy payments-api v2.3.1" and pending["outcome"] is None
        assert pending["requester"] == REQUESTER and pending["approvers"] == [APPROVER_1, APPROVER_2]
        assert pending["required_approvals"] == 2 and pending["approvals"] == [APPROVER_1]
        assert pending["thread"] == {"channel": CHANNEL, "ts": thread_ts}
        [approval] = pending["decisions"]
        assert {k: v for k, v in approval.items() if k != "at"} == {
            "user_id": APPROVER_1,
            "kind": "approve",
            "revision": 1,
            "comment": "Fine by me",
            "edited": False,
        }
        assert_iso_utc(approval["at"])
        assert_iso_utc(pending["waiting_since"])
        assert pending["tool_calls"] == []

        await handle.execute_update(
            SignoffRequestWorkflow.reject_draft, RejectInput(1, APPROVER_2, reason="Change freeze")
        )
        await handle.result()
        done = (await signoff_audit(dev_server.address, handle.id)).json()
    assert (done["status"], done["phase"], done["outcome"]) == ("COMPLETED", "rejected", "rejected")
    assert [(d["user_id"], d["kind"], d["comment"]) for d in done["decisions"]] == [
        (APPROVER_1, "approve", "Fine by me"),
        (APPROVER_2, "reject", "Change freeze"),
    ]
    assert_iso_utc(done["closed_at"])


async def test_a_plan_shows_its_tool_calls(dev_server: DevServer, slack: SlackSandbox) -> None:
    settings = worker_settings(slack, approvers=[APPROVER_1, APPROVER_2])
    client = await client_for(dev_server)
    async with running_worker(await worker_client(dev_server), settings):
        handle = await client.start_workflow(
            ApprovalWorkflow.run,
            PlanRequest(task="Announce the offsite in #random", origin=ORIGIN, settings=settings.workflow),
            id=f"audit-plan-{uuid.uuid4()}",
            task_queue=settings.task_queue,
        )
        await waiting_draft(slack, handle)
        await handle.execute_update(ApprovalWorkflow.approve_draft, ApproveInput(1, APPROVER_1))

        async def asking() -> bool:
            progress = await handle.query(ApprovalWorkflow.progress)
            return any(call.state is ToolCallState.PENDING for call in progress.tool_calls)

        await eventually(asking, timeout=30)
        await handle.execute_update(ApprovalWorkflow.allow_tool_call, ToolDecisionInput(1, APPROVER_2))
        await handle.result()
        record = (await signoff_audit(dev_server.address, handle.id)).json()
    assert (record["kind"], record["phase"], record["requester"]) == ("plan", "completed", REQUESTER)
    assert [(d["user_id"], d["kind"]) for d in record["decisions"]] == [(APPROVER_1, "approve")]
    [call] = record["tool_calls"]
    assert (call["call_number"], call["tool"], call["state"]) == (1, "post_message", "done")
    assert call["decided_by"] == [APPROVER_2] and call["asked"] is True
    assert "channel" in call["arguments"] and call["result"]
    assert_iso_utc(call["asked_at"])


async def test_an_unknown_or_foreign_workflow_exits_1(dev_server: DevServer) -> None:
    unknown = await signoff_audit(dev_server.address, "no-such-workflow")
    assert unknown.returncode == 1 and unknown.stdout == ""
    assert "signoff audit: no workflow 'no-such-workflow'" in unknown.stderr and "Traceback" not in unknown.stderr

    client = await client_for(dev_server)
    other = await client.start_workflow(
        "DeployWorkflow", {"service": "x"}, id=f"audit-foreign-{uuid.uuid4()}", task_queue="nobody-listens"
    )
    try:
        foreign = await signoff_audit(dev_server.address, other.id)
    finally:
        await other.terminate()
    assert foreign.returncode == 1 and foreign.stdout == ""
    assert "is a DeployWorkflow workflow, not one of signoff's" in foreign.stderr


async def test_temporal_or_a_worker_out_of_reach_exits_2(dev_server: DevServer) -> None:
    nowhere = await signoff_audit(f"127.0.0.1:{free_port()}", "whatever")
    assert nowhere.returncode == 2 and nowhere.stdout == ""
    assert "signoff audit: cannot reach Temporal at 127.0.0.1:" in nowhere.stderr
    assert "Traceback" not in nowhere.stderr

    # Temporal is there, but no worker serves the workflow's task queue to answer the query.
    client = await client_for(dev_server)
    orphan = await client.start_workflow(
        "SignoffRequest", {"title": "t", "body": "b"}, id=f"audit-orphan-{uuid.uuid4()}", task_queue="no-worker-here"
    )
    try:
        no_worker = await signoff_audit(dev_server.address, orphan.id, "--timeout", "2")
    finally:
        await orphan.terminate()
    assert no_worker.returncode == 2 and no_worker.stdout == ""
    assert "no worker answered" in no_worker.stderr and "'no-worker-here'" in no_worker.stderr
