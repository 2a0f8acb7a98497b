"""The gate's schedule is bounded (time-skipping server): escalations stop after MAX_ESCALATIONS and
the thread says nobody else will be pinged; a wait longer than any timestamp is capped at MAX_WAIT
instead of failing the workflow's task forever with the draft already posted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from signoff.contracts.workflow_io import MAX_ESCALATIONS, MAX_WAIT, ApproveInput, Phase
from signoff.sandbox import SlackSandbox
from tests.support.slack import APPROVER_1, CHANNEL, LEADS, thread_texts
from tests.support.waiting import eventually
from tests.workflows.test_report import pending_report, progress
from workflows import ReportGenerationWorkflow

LAST_NOTE = "That was the last reminder: nobody else will be pinged"


@pytest.mark.parametrize(
    "interval",
    [
        timedelta(hours=24),
        # Under a microsecond (accepted before the bounds): it was 0, a 1 ms loop of escalations.
        timedelta(0),
    ],
)
async def test_escalations_stop_after_the_bound_and_the_thread_says_so(
    time_env: WorkflowEnvironment, slack: SlackSandbox, interval: timedelta
) -> None:
    async with pending_report(
        time_env, slack, escalation_to=LEADS, decision_deadline=None, reminder_interval=interval
    ) as handle:
        thread_ts = (await progress(handle)).thread.ts
        # Far longer than every reminder and escalation together (3 + MAX_ESCALATIONS days).
        await time_env.sleep(timedelta(days=30))
        await eventually(lambda: any(LAST_NOTE in text for text in thread_texts(slack, thread_ts)))
        texts = thread_texts(slack, thread_ts)

        # A year later nobody has been pinged again, and the draft still waits for a decision.
        await time_env.sleep(timedelta(days=365))
        state = await progress(handle)
        assert state.phase is Phase.PENDING_APPROVAL and state.reminders_sent == 3 + MAX_ESCALATIONS
        assert thread_texts(slack, thread_ts) == texts
        receipt = await handle.execute_update(
            ReportGenerationWorkflow.approve_draft,
            ApproveInput(revision=state.revision, user_id=APPROVER_1, member_of=CHANNEL),
        )
        assert receipt.quorum_met
        await handle.result()

    reminders = [text for text in texts if "Reminder" in text]
    escalations = [text for text in texts if "Escalated" in text]
    assert len(reminders) == 3 and len(escalations) == MAX_ESCALATIONS
    assert all(f"<!subteam^{LEADS}>" in text for text in escalations)
    # Only the last escalation says so, and how the wait ends now.
    assert [LAST_NOTE in text for text in escalations] == [False] * (MAX_ESCALATIONS - 1) + [True]
    assert "it waits until someone decides" in escalations[-1]


async def test_the_last_escalation_names_the_deadline_it_now_waits_for(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    async with pending_report(
        time_env, slack, reminder_interval=timedelta(hours=1), max_reminders=1, decision_deadline=timedelta(days=2)
    ) as handle:
        state = await progress(handle)
        assert state.waiting_since is not None
        expires = (state.waiting_since + timedelta(days=2)).strftime("%Y-%m-%d %H:%M UTC")
        assert await handle.result() == "Report expired: no decision before the deadline"
        final = await progress(handle)
    texts = thread_texts(slack, final.thread.ts)
    escalations = [text for text in texts if "Escalated" in text]
    assert final.reminders_sent == 1 + MAX_ESCALATIONS and len(escalations) == MAX_ESCALATIONS
    assert f"{LAST_NOTE}; it expires on {expires} unless someone decides first." in escalations[-1]


async def _timer_or_failure(handle: WorkflowHandle) -> tuple[str, object] | None:
    """The gate's first timer (its duration), or a failed workflow task (its message), whichever came."""
    for event in (await handle.fetch_history()).events:
        if event.HasField("workflow_task_failed_event_attributes"):
            return "failed", event.workflow_task_failed_event_attributes.failure.message
        if event.HasField("timer_started_event_attributes"):
            return "timer", event.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
    return None


async def test_a_wait_past_any_timestamp_is_capped_at_the_longest_wait(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    """A policy from before the bounds (a workflow started then carries it in its input): waiting_since
    plus it overflowed, and the workflow's task failed on every retry with the draft posted."""
    forever = timedelta(days=100_000_000)
    async with pending_report(time_env, slack, reminder_interval=forever, decision_deadline=forever) as handle:
        kind, value = await eventually(lambda: _timer_or_failure(handle))
        assert kind == "timer", value
        # The deadline's timer, capped (less the moments the workflow took before it began waiting).
        assert isinstance(value, timedelta) and MAX_WAIT - timedelta(minutes=1) < value <= MAX_WAIT
        await time_env.sleep(timedelta(days=365))
        state = await progress(handle)
        assert state.phase is Phase.PENDING_APPROVAL and state.reminders_sent == 0
        await handle.execute_update(
            ReportGenerationWorkflow.approve_draft,
            ApproveInput(revision=state.revision, user_id=APPROVER_1, member_of=CHANNEL),
        )
        assert "## Summary" in await handle.result()
