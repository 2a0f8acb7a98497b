"""Slack failing under the workflows: 429, 500s and an outage delay messages but lose and double none;
permanent errors are not retried and are told to someone.

The activity-level error mapping is tests/activities/test_slack_activities.py; here the real workflows
run on a real-time Temporal dev server (so Retry-After is honoured in seconds of wall clock)
against the sandbox, and every message is counted by its idempotency key.
"""

from __future__ import annotations

import json
import time

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from signoff.contracts.activity_io import SLACK_RETRY_POLICY
from signoff.contracts.workflow_io import ApproveInput, Phase
from signoff.sandbox import SlackSandbox
from signoff.temporal.devserver import DevServer
from tests.support.bot import bot_settings, worker_and_bot
from tests.support.flows import start_via_slack, waiting_draft
from tests.support.slack import (
    APPROVER_1,
    CHANNEL,
    REQUESTER,
    assert_nothing_doubled,
    buttons,
    draft_messages,
    stored,
    thread_texts,
)
from tests.support.temporal import running_worker, start_report, with_agents_plugin, worker_settings
from tests.support.waiting import eventually
from workflows import ReportGenerationWorkflow

WATERCOOLER = "C0WATERCO"  # #watercooler: everyone but the app


async def retrying_activity(handle: WorkflowHandle, activity: str, attempts: int) -> str:
    """Wait until Temporal is retrying ``activity`` and has made at least ``attempts`` attempts; its last failure."""

    async def pending() -> str | None:
        description = await handle.describe()
        for info in description.raw_description.pending_activities:
            if info.activity_type.name == activity and info.attempt > attempts:
                return info.last_failure.message
        return None

    return await eventually(pending, timeout=30)


@pytest.mark.process
@pytest.mark.slow
async def test_429_500_and_an_outage_delay_but_lose_and_double_nothing(
    dev_server: DevServer, slack: SlackSandbox
) -> None:
    settings = worker_settings(slack, approvers=[APPROVER_1])
    client = await Client.connect(dev_server.address)
    # The thread's first post is answered 429 Retry-After: 2; the first two chat.update calls 500.
    slack.faults.rate_limit("chat.postMessage", retry_after=2)
    slack.faults.fail("chat.update", times=2, status=500)
    async with running_worker(client, settings):
        handle = await start_report(with_agents_plugin(client, settings), settings)
        thread_ts, _ = await waiting_draft(slack, handle)

        # 429: the retried post came no earlier than Retry-After, and is the same post (same key).
        limited, retried = slack.calls_to("chat.postMessage")[:2]
        assert limited.status == 429 and retried.ok
        waited = retried.time - limited.time
        assert waited >= 2.0, f"retried {waited:.2f}s after a 429 with Retry-After: 2"
        assert limited.params["metadata"] == retried.params["metadata"]

        # 500, 500, then the phase update went through, with the policy's backoff (1 s, then 2 s).
        # (The parent's phase update follows the "ready for a decision" note.)
        updates = await slack.wait_for(
            lambda: len(slack.calls_to("chat.update")) >= 3 and slack.calls_to("chat.update")
        )
        assert [c.status for c in updates[:3]] == [500, 500, 200]
        assert updates[1].time - updates[0].time >= SLACK_RETRY_POLICY.initial_interval.total_seconds()
        assert "Waiting for approval" in json.dumps(stored(slack, CHANNEL, thread_ts)["blocks"])

        # Slack refuses connections while an approver approves: the decision is recorded at once
        # (it never waited on Slack), its note waits for Slack to come back.
        await slack.pause()
        try:
            receipt = await handle.execute_update(ReportGenerationWorkflow.approve_draft, ApproveInput(1, APPROVER_1))
            assert receipt.quorum_met
            failure = await retrying_activity(handle, "slack_post_thread_note", attempts=2)
            assert "could not reach Slack" in failure
        finally:
            back = time.time()
            await slack.resume()
        assert await handle.result()

    texts = thread_texts(slack, thread_ts)
    # The approval's own note (the final message's summary of decisions names it too).
    approved_notes = [t for t in texts if "approved revision 1" in t and "Decisions:" not in t]
    assert len(approved_notes) == 1
    [note_call] = [
        c
        for c in slack.calls_to("chat.postMessage")
        if "approved revision 1" in (c.params.get("text") or "") and "Decisions:" not in c.params["text"]
    ]
    assert note_call.time >= back, "the note was delayed until Slack was back"
    assert sum("is approved. The report is final" in t for t in texts) == 1
    [draft] = draft_messages(slack, thread_ts)
    assert buttons(draft) == [] and "Approved by" in json.dumps(draft["blocks"])
    assert_nothing_doubled(slack)


@pytest.mark.parametrize("error", ["channel_not_found", "invalid_auth"])
async def test_permanent_error_mid_flow_is_not_retried_and_the_thread_is_told(
    time_env: WorkflowEnvironment, slack: SlackSandbox, error: str
) -> None:
    settings = worker_settings(slack, approvers=[APPROVER_1])
    async with running_worker(time_env.client, settings):
        handle = await start_report(with_agents_plugin(time_env.client, settings), settings)
        thread_ts, _ = await waiting_draft(slack, handle)
        posts_before = len(slack.calls_to("chat.postMessage"))
        # The approval note is refused for good, once; the thread is still there for the failure note.
        slack.faults.fail("chat.postMessage", error=error)
        await handle.execute_update(ReportGenerationWorkflow.approve_draft, ApproveInput(1, APPROVER_1))
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        state = await handle.query(ReportGenerationWorkflow.progress)

    assert state.phase is Phase.FAILED
    posts = slack.calls_to("chat.postMessage")[posts_before:]
    # One refused attempt, then the failure note: no retry of a permanent error.
    assert [c.error for c in posts] == [error, None]
    [failure] = [t for t in thread_texts(slack, thread_ts) if "This request failed" in t]
    assert f"chat.postMessage failed: {error}" in failure
    assert "Failed" in json.dumps(stored(slack, CHANNEL, thread_ts)["blocks"])


async def test_token_revoked_mid_flow_ends_the_workflow_after_one_try_each(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    settings = worker_settings(slack, approvers=[APPROVER_1])
    async with running_worker(time_env.client, settings):
        handle = await start_report(with_agents_plugin(time_env.client, settings), settings)
        await waiting_draft(slack, handle)
        before = len(slack.calls)
        # Every later Slack call is refused: nothing can be told through Slack any more.
        for method in ("chat.postMessage", "chat.update", "conversations.replies", "chat.postEphemeral"):
            slack.faults.fail(method, times=50, error="invalid_auth")
        await handle.execute_update(ReportGenerationWorkflow.approve_draft, ApproveInput(1, APPROVER_1))
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        state = await handle.query(ReportGenerationWorkflow.progress)
    assert state.phase is Phase.FAILED and "invalid_auth" in (state.outcome or "")
    # The approval note, then the failure note: each tried once; the workflow is closed, so nothing more.
    assert [(c.method, c.error) for c in slack.calls[before:]] == [
        ("chat.postMessage", "invalid_auth"),
        ("chat.postMessage", "invalid_auth"),
    ]


async def start_from_slack_and_fail(slack: SlackSandbox, client: Client) -> str:
    """/report through the bot while the thread's post is refused: the workflow id, once it has failed."""
    handle = await start_via_slack(slack, client, "Wind farms", confirmed=False)
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    return handle.id


def stopped_notice(text: str | None) -> bool:
    return "has stopped before it could post its thread" in (text or "")


@pytest.mark.parametrize("error", ["invalid_auth", "channel_not_found"])
async def test_thread_that_cannot_be_created_is_told_to_the_requester(
    time_env: WorkflowEnvironment, slack: SlackSandbox, error: str
) -> None:
    slack.faults.fail("chat.postMessage", error=error)
    async with worker_and_bot(slack, time_env.client, bot_settings(slack, approvers=[APPROVER_1])) as bot:
        workflow_id = await start_from_slack_and_fail(slack, bot.client)
        # The workflow told the requester itself before it ended.
        [message] = [e["text"] for e in slack.ephemerals(REQUESTER) if stopped_notice(e.get("text"))]
        assert f"(`{workflow_id}`)" in message and f"chat.postMessage failed: {error}" in message
    # One attempt at the thread, no retries, nothing posted.
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert slack.messages(CHANNEL) == []
    assert not any("Started your" in (e.get("text") or "") for e in slack.ephemerals(REQUESTER))


@pytest.mark.parametrize("command", ["/report", "/plan"])
async def test_a_channel_the_app_is_not_in_tells_the_requester_to_invite_it(
    time_env: WorkflowEnvironment, slack: SlackSandbox, command: str
) -> None:
    """Slack refuses the thread and the ephemeral there (not_in_channel); the command's response_url
    still reaches the requester in that channel, only them, saying what to do."""
    async with worker_and_bot(slack, time_env.client, bot_settings(slack, approvers=[APPROVER_1])) as bot:
        handle = await start_via_slack(slack, bot.client, "Wind farms", command, channel=WATERCOOLER, confirmed=False)
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    [told] = [e for e in slack.ephemerals(REQUESTER) if stopped_notice(e.get("text"))]
    assert told["channel"] == WATERCOOLER and f"(`{handle.id}`)" in told["text"]
    assert f"I am not in this channel. Invite me (`/invite @signoff`), then run `{command}` again" in told["text"]
    assert [c.error for c in slack.calls_to("chat.postMessage")] == ["not_in_channel"]
    assert [c.error for c in slack.calls_to("chat.postEphemeral")] == ["not_in_channel"]
    assert [c.status for c in slack.calls_to("response_url")] == [200]
    # Not moved to a DM; nothing in the channel.
    assert slack.messages(REQUESTER) == [] and slack.messages(WATERCOOLER) == []


async def test_requester_is_told_by_dm_when_the_channel_refuses_the_ephemeral_and_there_is_no_response_url(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    """Started by a client other than the bot (no slash command to answer): the DM is the last resort."""
    slack.faults.fail("chat.postMessage", error="not_in_channel")
    slack.faults.fail("chat.postEphemeral", error="channel_not_found")
    settings = worker_settings(slack, approvers=[APPROVER_1])
    async with running_worker(time_env.client, settings):
        handle = await start_report(with_agents_plugin(time_env.client, settings), settings, "Wind farms")
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    [dm] = [m["text"] for m in slack.messages(REQUESTER) if stopped_notice(m.get("text"))]
    assert f"(`{handle.id}`)" in dm and "chat.postMessage failed: not_in_channel" in dm
    assert "Invite me (`/invite @signoff`), then run `/report` again" in dm
    # The thread and the DM; the refused ephemeral once; nothing in the channel.
    assert [c.params["channel"] for c in slack.calls_to("chat.postMessage")] == [CHANNEL, REQUESTER]
    assert [c.error for c in slack.calls_to("chat.postEphemeral")] == ["channel_not_found"]
    assert slack.messages(CHANNEL) == []
