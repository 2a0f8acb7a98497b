"""SignoffRequest from any workflow: a JSON-only caller sees every outcome (time-skipping server)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from signoff.contracts.workflow_io import ApproveInput, RejectInput, RevisionInput
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from tests.support.slack import (
    APPROVER_1,
    APPROVER_2,
    CHANNEL,
    OUTSIDER,
    REQUESTER,
    buttons,
    draft_messages,
    thread_texts,
)
from tests.support.temporal import running_worker, with_agents_plugin, worker_settings
from tests.support.waiting import eventually
from tests.workflows.json_caller import JsonCaller
from workflows import SignoffRequestWorkflow

DEPLOY: dict[str, Any] = {
    "title": "Deploy payments-api v2.3.1 to production",
    "body": "## Changes\n- Retry idempotency keys\n- <!channel> should not ping\n\nRollback: `deploy v2.3.0`",
    "channel": CHANNEL,
    "requester": REQUESTER,
    "approvers": [APPROVER_1, APPROVER_2],
    "metadata": {"change": "CHG-1042", "nested": {"ok": True}},
}


async def waiting_request(slack: SlackSandbox, child: WorkflowHandle) -> dict:
    async def draft() -> dict | None:
        try:
            state = await child.query(SignoffRequestWorkflow.progress)
        except Exception:  # not started yet
            return None
        if state.thread is None:
            return None
        drafts = [d for d in draft_messages(slack, state.thread.ts) if action_ids.APPROVE in buttons(d)]
        return drafts[0] if drafts else None

    return await eventually(draft)


@contextlib.asynccontextmanager
async def caller(time_env: WorkflowEnvironment, slack: SlackSandbox, **policy: object) -> AsyncIterator[Any]:
    """``ask(request)`` through a JSON caller workflow, to a worker with this approval policy."""
    settings = worker_settings(slack, **policy)
    client = with_agents_plugin(time_env.client, settings)
    caller_queue = f"caller-{uuid.uuid4()}"

    async def ask(request: dict[str, Any]) -> tuple[WorkflowHandle, WorkflowHandle]:
        child_id = f"deploy-approval-{uuid.uuid4()}"
        parent = await client.start_workflow(
            JsonCaller.run,
            {"request": request, "child_id": child_id, "task_queue": settings.task_queue},
            id=f"caller-{uuid.uuid4()}",
            task_queue=caller_queue,
        )
        return parent, client.get_workflow_handle(child_id)

    async with (
        running_worker(time_env.client, settings),
        Worker(client, task_queue=caller_queue, workflows=[JsonCaller]),
    ):
        yield ask


async def test_approved_with_a_comment(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with caller(time_env, slack) as ask:
        parent, child = await ask(DEPLOY)
        draft = await waiting_request(slack, child)
        assert action_ids.REQUEST_REVISION in buttons(draft)
        await child.execute_update(
            SignoffRequestWorkflow.approve_draft, ApproveInput(1, APPROVER_1, comment="Ship it after 14:00")
        )
        result = await parent.result()
    assert result["outcome"] == "approved" and result["decided_by"] == [APPROVER_1]
    assert result["text"] == DEPLOY["body"] and result["edited"] is False
    assert result["notes"] == "Ship it after 14:00"
    assert result["metadata"] == DEPLOY["metadata"]
    [decision] = result["decisions"]
    assert decision["user_id"] == APPROVER_1 and decision["kind"] == "approve"
    assert decision["comment"] == "Ship it after 14:00" and decision["at"].startswith("20")
    assert result["thread"]["channel"] == CHANNEL
    # The final message sums the decisions up (the audit in the thread).
    final = thread_texts(slack, result["thread"]["ts"])[-1]
    assert "Decisions:" in final and f"<@{APPROVER_1}> approved revision 1" in final and "Ship it after 14:00" in final
    # Plain JSON all the way: nothing Python-only in the answer.
    assert set(result) == {"outcome", "decided_by", "notes", "text", "edited", "decisions", "thread", "metadata"}


@pytest.mark.parametrize(
    ("decide", "outcome", "notes"),
    [
        (
            lambda c: c.execute_update(SignoffRequestWorkflow.reject_draft, RejectInput(1, APPROVER_2, "Freeze")),
            "rejected",
            "Freeze",
        ),
        (
            lambda c: c.execute_update(
                SignoffRequestWorkflow.request_draft_revision, RevisionInput(1, APPROVER_1, "Add the rollback plan")
            ),
            "revision_requested",
            "Add the rollback plan",
        ),
    ],
)
async def test_rejected_and_revision_requested(
    time_env: WorkflowEnvironment, slack: SlackSandbox, decide: Any, outcome: str, notes: str
) -> None:
    async with caller(time_env, slack) as ask:
        parent, child = await ask(DEPLOY)
        await waiting_request(slack, child)
        await decide(child)
        result = await parent.result()
        state = await child.query(SignoffRequestWorkflow.progress)
    assert result["outcome"] == outcome and result["notes"] == notes and result["text"] == ""
    [draft] = draft_messages(slack, state.thread.ts)
    assert buttons(draft) == []


async def test_expired_after_its_deadline_with_reminders(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    request = {**DEPLOY, "reminder_interval_seconds": 3600, "decision_deadline_seconds": 4 * 3600}
    async with caller(time_env, slack) as ask:
        parent, child = await ask(request)
        await waiting_request(slack, child)
        result = await parent.result()  # the test server skips the four hours
        state = await child.query(SignoffRequestWorkflow.progress)
    assert result["outcome"] == "expired" and result["decided_by"] == []
    assert state.reminders_sent == 3


async def test_quorum_and_edits_and_revision_switches(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with caller(time_env, slack) as ask:
        # Edits allowed, no revisions: Edit & approve replaces the text; Request revision is refused.
        parent, child = await ask({**DEPLOY, "allow_edits": True, "allow_revision": False})
        draft = await waiting_request(slack, child)
        assert action_ids.REQUEST_REVISION not in buttons(draft)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await child.execute_update(
                SignoffRequestWorkflow.request_draft_revision, RevisionInput(1, APPROVER_1, "More")
            )
        assert "cannot be sent back" in str(refused.value.cause)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await child.execute_update(
                SignoffRequestWorkflow.approve_draft, ApproveInput(1, APPROVER_1, edited_text=" ")
            )
        assert "empty" in str(refused.value.cause)
        edit = DEPLOY["body"] + "\n- Canary at 5% first"
        await child.execute_update(SignoffRequestWorkflow.approve_draft, ApproveInput(1, APPROVER_2, edited_text=edit))
        result = await parent.result()
        assert result["text"] == edit and result["edited"] is True and result["decisions"][0]["edited"] is True

        # Edits not allowed: refused. Two approvals needed: the first is not enough.
        parent, child = await ask({**DEPLOY, "required_approvals": 2})
        await waiting_request(slack, child)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await child.execute_update(
                SignoffRequestWorkflow.approve_draft, ApproveInput(1, APPROVER_1, edited_text="x")
            )
        assert "does not allow edits" in str(refused.value.cause)
        await child.execute_update(SignoffRequestWorkflow.approve_draft, ApproveInput(1, APPROVER_1))
        assert (await child.query(SignoffRequestWorkflow.get_status)) == "pending_approval"
        await child.execute_update(SignoffRequestWorkflow.approve_draft, ApproveInput(1, APPROVER_2))
        result = await parent.result()
    assert result["outcome"] == "approved" and result["decided_by"] == [APPROVER_1, APPROVER_2]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 151}, "title"),
        ({"body": "   "}, "body"),
        ({"body": "y" * 100_001}, "body"),
        ({"channel": "#general"}, "channel"),
        ({"approvers": ["bob"]}, "approvers"),
        ({"requester": "<!channel>"}, "requester"),
        ({"required_approvals": 3}, "required_approvals"),
        ({"required_approvals": 0}, "required_approvals"),
        ({"colour": "blue"}, "colour"),
        # Waits past any timestamp: before their bound they failed the workflow's task forever.
        ({"reminder_interval_seconds": 1_000_000_000_000}, "reminder_interval_seconds"),
        ({"decision_deadline_seconds": 10**30}, "decision_deadline_seconds"),
        # Quorums nobody can meet: one person listed twice; the requester as the only approver.
        ({"approvers": [APPROVER_1, APPROVER_1], "required_approvals": 2}, "required_approvals"),
        ({"approvers": [REQUESTER]}, "required_approvals"),
    ],
)
async def test_a_bad_request_fails_at_once_naming_the_field(
    time_env: WorkflowEnvironment, slack: SlackSandbox, change: dict[str, Any], field: str
) -> None:
    async with caller(time_env, slack) as ask:
        parent, _ = await ask({**DEPLOY, **change})
        result = await parent.result()
    assert result["type"] == "InvalidSignoffRequest" and result["non_retryable"] is True
    assert field in result["error"]
    assert slack.messages(CHANNEL) == []


async def test_a_channel_the_app_is_not_in_fails_with_not_in_channel(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    async with caller(time_env, slack) as ask:
        parent, _ = await ask({**DEPLOY, "channel": "C0WATERCO"})
        result = await parent.result()
    assert result["type"] == "SlackNotInChannel" and "invite" in result["error"]


async def test_refusals_are_the_same_as_for_reports(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with caller(time_env, slack) as ask:
        parent, child = await ask(DEPLOY)
        await waiting_request(slack, child)
        for who, reason in ((REQUESTER, "someone else has to decide"), (OUTSIDER, "not one of the approvers")):
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await child.execute_update(SignoffRequestWorkflow.approve_draft, ApproveInput(1, who))
            assert reason in str(refused.value.cause)
        # Cancelling the caller cancels the request: it ends as cancelled, buttons gone.
        await parent.cancel()
        await eventually(lambda: _status(child, "cancelled"))
        state = await child.query(SignoffRequestWorkflow.progress)
    [draft] = draft_messages(slack, state.thread.ts)
    assert buttons(draft) == []


async def _status(handle: WorkflowHandle, status: str) -> bool:
    return await handle.query(SignoffRequestWorkflow.get_status) == status


async def test_a_private_channel_the_app_cannot_see_fails_with_channel_not_found(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    async with caller(time_env, slack) as ask:
        parent, _ = await ask({**DEPLOY, "channel": "G0PRIVATE"})
        result = await parent.result()
    assert result["type"] == "SlackChannelNotFound" and "invite" in result["error"]
