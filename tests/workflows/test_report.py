"""The report workflow on the time-skipping test server, with real Slack activities against the sandbox."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import timedelta
from typing import Any

import pytest
from agents.models.interface import ModelProvider
from temporalio.client import (
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import CancelledError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from signoff.config.settings import Settings
from signoff.contracts.workflow_io import (
    ApproveInput,
    Phase,
    RejectInput,
    RevisionInput,
    WorkflowSettings,
)
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from tests.support.flows import waiting_draft
from tests.support.models import RecordingModelProvider
from tests.support.slack import (
    APPROVALS_CHANNEL,
    APPROVER_1,
    APPROVER_2,
    APPROVER_3,
    CHANNEL,
    LEADS,
    OUTSIDER,
    REQUESTER,
    buttons,
    draft_messages,
    draft_posts,
    is_draft,
    thread_texts,
)
from tests.support.temporal import running_worker, start_report, wait_for_phase, with_agents_plugin, worker_settings
from tests.support.waiting import eventually
from workflows import ReportGenerationWorkflow


@contextlib.asynccontextmanager
async def pending_report(
    time_env: WorkflowEnvironment, slack: SlackSandbox, models: ModelProvider | None = None, **policy: object
) -> AsyncIterator[WorkflowHandle]:
    """A worker, and a report started from Slack that waits for a decision on revision 1.

    Yielded once the draft is in the thread: the phase turns pending_approval as the draft
    is posted, and a cancellation that lands while the post is in flight leaves the posted
    draft's buttons in place (the workflow does not know the post's ts yet).
    """
    settings = worker_settings(slack, **policy)
    async with running_worker(time_env.client, settings, models):
        handle = await start_report(with_agents_plugin(time_env.client, settings), settings)
        await waiting_draft(slack, handle)
        yield handle


async def progress(handle: WorkflowHandle):
    return await handle.query(ReportGenerationWorkflow.progress)


async def test_reminders_then_escalation_then_expiry(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with pending_report(time_env, slack, escalation_to=LEADS) as handle:
        # Seven days of waiting pass on the test server's clock, skipped while the result is awaited
        # (were they not skipped, the suite's per-test timeout would stop the test).
        result = await handle.result()
        state = await progress(handle)

    assert result == "Report expired: no decision before the deadline"
    assert state.phase is Phase.EXPIRED
    # 24 h interval, 7-day deadline: reminders at days 1-3, escalations at days 4-6, expiry at day 7.
    assert state.reminders_sent == 6 and state.escalated
    texts = thread_texts(slack, state.thread.ts)
    reminders = [text for text in texts if "Reminder" in text]
    escalations = [text for text in texts if "Escalated" in text]
    assert len(reminders) == 3 and len(escalations) == 3
    assert all(f"<!subteam^{LEADS}>" in text for text in escalations)
    assert "1 day" in reminders[0] and "3 days" in reminders[2]
    assert any("expired" in text for text in texts)
    [draft] = draft_messages(slack, state.thread.ts)
    assert buttons(draft) == []


async def test_approve_after_second_reminder(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with pending_report(time_env, slack) as handle:
        await time_env.sleep(timedelta(hours=49))
        state = await progress(handle)
        assert state.reminders_sent == 2 and state.phase is Phase.PENDING_APPROVAL
        receipt = await handle.execute_update(
            ReportGenerationWorkflow.approve_draft,
            ApproveInput(revision=state.revision, user_id=APPROVER_1, member_of=CHANNEL),
        )
        assert receipt.quorum_met
        report = await handle.result()
        assert "## Summary" in report
        assert await handle.query(ReportGenerationWorkflow.get_status) == "approved"
        final = await progress(handle)
    assert [decision.user_id for decision in final.decisions] == [APPROVER_1]
    [draft] = draft_messages(slack, final.thread.ts)
    assert buttons(draft) == [] and f"Approved by <@{APPROVER_1}>" in str(draft["blocks"])


async def test_two_of_three_quorum(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    quorum: dict[str, Any] = {"approvers": [APPROVER_1, APPROVER_2, APPROVER_3], "required_approvals": 2}
    async with pending_report(time_env, slack, **quorum) as handle:
        revision = (await progress(handle)).revision
        first = await handle.execute_update(
            ReportGenerationWorkflow.approve_draft,
            ApproveInput(revision=revision, user_id=APPROVER_1, member_of=CHANNEL),
        )
        assert first.approvals == [APPROVER_1] and not first.quorum_met
        thread_ts = (await progress(handle)).thread.ts

        async def draft_shows_one_of_two() -> bool:
            [draft] = draft_messages(slack, thread_ts)
            return "1 of 2" in str(draft["blocks"]) and bool(buttons(draft))

        await eventually(draft_shows_one_of_two)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                ReportGenerationWorkflow.approve_draft,
                ApproveInput(revision=revision, user_id=APPROVER_1, member_of=CHANNEL),
            )
        assert "already approved" in str(refused.value.cause)
        assert await handle.query(ReportGenerationWorkflow.get_status) == "pending_approval"
        second = await handle.execute_update(
            ReportGenerationWorkflow.approve_draft,
            ApproveInput(revision=revision, user_id=APPROVER_3, member_of=CHANNEL),
        )
        assert second.quorum_met
        await handle.result()
        final = await progress(handle)
    assert final.phase is Phase.APPROVED
    texts = thread_texts(slack, thread_ts)
    assert any("approved revision 1 (1 of 2)" in text for text in texts)
    assert any("approved revision 1 (2 of 2)" in text for text in texts)


async def test_revision_notes_reach_the_writer(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    models = RecordingModelProvider()
    notes = "Add a section on maintenance costs for dairy farms"
    async with pending_report(time_env, slack, models=models) as handle:
        writer_calls_before = len(models.inputs_for("writer"))
        await handle.execute_update(
            ReportGenerationWorkflow.request_draft_revision,
            RevisionInput(revision=1, user_id=APPROVER_1, notes=notes, member_of=CHANNEL),
        )

        async def revision_two_waiting() -> bool:
            state = await progress(handle)
            return state.revision == 2 and state.phase is Phase.PENDING_APPROVAL

        await eventually(revision_two_waiting)
        state = await progress(handle)
        # The status turns pending_approval as the draft is posted; wait for the post itself.
        await slack.wait_for(lambda: len(draft_messages(slack, state.thread.ts)) == 2)
        new_writer_inputs = models.inputs_for("writer")[writer_calls_before:]
        assert new_writer_inputs and f"Human revision notes:\n{notes}" in new_writer_inputs[0]
        state = await progress(handle)
        first, second = draft_messages(slack, state.thread.ts)
        assert buttons(first) == [] and "Superseded by revision 2" in str(first["blocks"])
        assert buttons(second) == list(action_ids.DECISION_ACTIONS)

        # A click on revision 1's (now removed) button is refused and changes nothing.
        with pytest.raises(WorkflowUpdateFailedError) as stale:
            await handle.execute_update(
                ReportGenerationWorkflow.approve_draft, ApproveInput(revision=1, user_id=APPROVER_1, member_of=CHANNEL)
            )
        assert "revision 2 is the current draft" in str(stale.value.cause)
        assert asdict(await progress(handle)) == asdict(state)

        await handle.execute_update(
            ReportGenerationWorkflow.approve_draft, ApproveInput(revision=2, user_id=APPROVER_2, member_of=CHANNEL)
        )
        report = await handle.result()
    assert "maintenance costs" in report


async def test_reject_with_reason(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with pending_report(time_env, slack) as handle:
        await handle.execute_update(
            ReportGenerationWorkflow.reject_draft,
            RejectInput(revision=1, user_id=APPROVER_1, reason="Out of scope", member_of=CHANNEL),
        )
        result = await handle.result()
        state = await progress(handle)
    assert result == "Report rejected: Out of scope"
    assert state.phase is Phase.REJECTED
    [draft] = draft_messages(slack, state.thread.ts)
    assert buttons(draft) == [] and f"Rejected by <@{APPROVER_1}>" in str(draft["blocks"])
    assert any("rejected revision 1: Out of scope" in text for text in thread_texts(slack, state.thread.ts))


async def test_cancel_ends_cleanly_with_a_thread_message(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with pending_report(time_env, slack) as handle:
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
        assert isinstance(failure.value.cause, CancelledError)
        state = await progress(handle)
    assert state.phase is Phase.CANCELLED
    assert any("cancelled" in text for text in thread_texts(slack, state.thread.ts))
    [draft] = draft_messages(slack, state.thread.ts)
    assert buttons(draft) == []


async def test_cancel_while_the_draft_is_being_posted_removes_its_buttons(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    # The draft post takes effect at once but its answer comes 2 s late: the cancel arrives
    # while the activity is in flight, and the cleanup must still find the draft it posted.
    slack.faults.slow("chat.postMessage", 2.0, match=lambda params: is_draft(params) and "actions" in str(params))
    settings = worker_settings(slack)
    async with running_worker(time_env.client, settings):
        handle = await start_report(with_agents_plugin(time_env.client, settings), settings)
        await eventually(lambda: any("actions" in str(call.params) for call in draft_posts(slack)))
        await handle.cancel()
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        state = await progress(handle)
    assert state.phase is Phase.CANCELLED
    [draft] = draft_messages(slack, state.thread.ts)
    assert buttons(draft) == []
    assert "Cancelled" in str(draft["blocks"])


@pytest.mark.parametrize(
    ("policy", "update", "payload", "reason"),
    [
        (
            {"approvers": [APPROVER_1]},
            "approve_draft",
            ApproveInput(1, OUTSIDER, member_of=CHANNEL),
            "not one of the approvers",
        ),
        ({}, "approve_draft", ApproveInput(1, REQUESTER, member_of=CHANNEL), "someone else has to decide"),
        ({}, "approve_draft", ApproveInput(7, APPROVER_1, member_of=CHANNEL), "revision 1 is the current draft"),
        (
            {},
            "approve_draft",
            ApproveInput(1, APPROVER_1, team_id="T0OTHER", member_of=CHANNEL),
            "another Slack workspace",
        ),
        ({}, "request_draft_revision", RevisionInput(1, APPROVER_1, "   ", member_of=CHANNEL), "cannot be empty"),
        ({}, "request_draft_revision", RevisionInput(1, APPROVER_1, "x" * 3001, member_of=CHANNEL), "limit is 3,000"),
        ({}, "reject_draft", RejectInput(1, OUTSIDER, "y" * 5000, member_of=CHANNEL), "limit is 3,000"),
    ],
)
async def test_validator_refusals_leave_state_unchanged(
    time_env: WorkflowEnvironment, slack: SlackSandbox, policy: dict, update: str, payload: object, reason: str
) -> None:
    async with pending_report(time_env, slack, **policy) as handle:
        before = asdict(await progress(handle))
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(getattr(ReportGenerationWorkflow, update), payload)
        assert reason in str(refused.value.cause)
        assert asdict(await progress(handle)) == before
        await handle.cancel()


async def test_decision_after_the_end_is_refused(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with pending_report(time_env, slack) as handle:
        await handle.execute_update(
            ReportGenerationWorkflow.approve_draft, ApproveInput(1, APPROVER_1, member_of=CHANNEL)
        )
        await handle.result()
        before = asdict(await progress(handle))
        # The server refuses updates to a closed workflow; no worker code runs.
        with pytest.raises(RPCError) as refused:
            await handle.execute_update(
                ReportGenerationWorkflow.reject_draft, RejectInput(1, APPROVER_2, member_of=CHANNEL)
            )
        # NOT_FOUND, which the bot tells as "already finished" (the message differs between servers:
        # "workflow execution already completed" on the dev server, "update … not found" on the test server).
        assert refused.value.status is RPCStatusCode.NOT_FOUND, refused.value
        assert asdict(await progress(handle)) == before


async def test_bare_topic_takes_the_worker_settings_and_default_channel(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    base = worker_settings(slack, approvers=[APPROVER_2])
    settings = Settings(
        task_queue=base.task_queue,
        slack_bot_token=base.slack_bot_token,
        slack_api_url=base.slack_api_url,
        workflow=WorkflowSettings(policy=base.workflow.policy, default_channel=APPROVALS_CHANNEL),
    )
    client = with_agents_plugin(time_env.client, settings)
    async with running_worker(time_env.client, settings):
        handle = await client.start_workflow(
            ReportGenerationWorkflow.run,
            "Bare topic from the Temporal CLI",
            id=f"bare-{uuid.uuid4()}",
            task_queue=settings.task_queue,
        )
        await wait_for_phase(handle, Phase.PENDING_APPROVAL)
        state = await progress(handle)
        # The worker's approver list applies: anyone else is refused.
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(
                ReportGenerationWorkflow.approve_draft, ApproveInput(1, APPROVER_1, member_of=CHANNEL)
            )
        await handle.execute_update(
            ReportGenerationWorkflow.approve_draft, ApproveInput(1, APPROVER_2, member_of=CHANNEL)
        )
        await handle.result()
    assert state.approvers == [APPROVER_2] and state.requester_id is None
    assert state.thread is not None and state.thread.channel_id == APPROVALS_CHANNEL
    assert slack.messages(APPROVALS_CHANNEL)[0]["ts"] == state.thread.ts
