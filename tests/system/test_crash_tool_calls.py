"""Worker SIGKILLed around a plan's tool call: while the call waits for a person, and while it runs.

A real dev server, a real worker process and the sandbox's Slack: the offline executor asks
to post the task's announcement in #random (where the sandbox's app is a member), and that
post waits for a person's Allow.

* Killed while the call waits: the restarted worker replays to the same wait; the Allow that
  comes after the crash is applied there, the approval message is not posted again, and the
  post is made once.
* Killed while the tool's activity runs: the sandbox makes the post at once and holds its
  answer; the worker dies waiting for it. The activity times out (start-to-close, 10 s), and
  the next attempt, on the restarted worker, finds the earlier post by the idempotency key in
  its metadata instead of posting again.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

from signoff.contracts.activity_io import SLACK_POST_TOOL_CALL
from signoff.contracts.tool_calls import TOOL_POST_MESSAGE, ToolCallState, ToolDecisionInput
from signoff.contracts.workflow_io import ApproveInput, Phase, PlanRequest
from signoff.sandbox import SlackSandbox
from signoff.sandbox.recording import Call
from signoff.slack import action_ids
from signoff.temporal.connection import data_converter
from signoff.temporal.devserver import DevServer
from tests.support.flows import waiting_draft
from tests.support.processes import ChildProcess, signoff_env
from tests.support.slack import (
    APPROVER_1,
    APPROVER_2,
    CHANNEL,
    ORIGIN,
    assert_nothing_doubled,
    buttons,
    thread_texts,
)
from tests.support.temporal import worker_settings
from tests.support.waiting import eventually
from workflows import ApprovalWorkflow

pytestmark = [pytest.mark.process, pytest.mark.slow]

RANDOM = "C0RANDOM0"  # #random: the sandbox's app is a member
TASK = "Announce the offsite in #random"
# The tool's post takes effect at once; its answer comes this much later, long after the kill (and
# no later than the dead attempt's 10 s start-to-close, so the sandbox holds no answer at teardown).
SLOW_ANSWER = 10.0
# Starting a worker process and planning with the offline model: seconds, even on a busy machine.
STARTUP = 60.0


def tool_call_posts(slack: SlackSandbox) -> list[Call]:
    """chat.postMessage calls that carried a tool call's approval message (its Allow button)."""
    return [call for call in slack.calls_to("chat.postMessage") if action_ids.TOOL_ALLOW in str(call.params)]


def tool_call_messages(slack: SlackSandbox, thread_ts: str) -> list[dict]:
    """The thread's tool-call approval messages, whatever their state, oldest first."""
    return [m for m in slack.replies(CHANNEL, thread_ts) if (m.get("text") or "").startswith("Tool call ")]


def posts_to_random(slack: SlackSandbox) -> list[Call]:
    return [call for call in slack.calls_to("chat.postMessage") if call.params.get("channel") == RANDOM]


async def finished_runs(handle: WorkflowHandle, activity_type: str) -> list[Any]:
    """The ActivityTaskStarted attributes (attempt, last_failure) of each finished run of ``activity_type``.

    Temporal writes a retried activity's start into the history only when it finishes, with
    the attempt that finished it.
    """
    events = (await handle.fetch_history()).events
    scheduled = {
        event.event_id
        for event in events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and event.activity_task_scheduled_event_attributes.activity_type.name == activity_type
    }
    return [
        event.activity_task_started_event_attributes
        for event in events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and event.activity_task_started_event_attributes.scheduled_event_id in scheduled
    ]


@contextlib.asynccontextmanager
async def plan_asking_for_a_tool_call(
    dev_server: DevServer, slack: SlackSandbox, tmp_path: Path
) -> AsyncIterator[tuple[ChildProcess, WorkflowHandle, str]]:
    """(the worker, the plan, its thread's ts): the plan approved, its post in #random waiting for a person.

    Returns once the approval message's activity has completed in the history: from then on
    the workflow only waits for a decision.
    """
    settings = worker_settings(slack)
    worker = ChildProcess(
        ["worker"], signoff_env(slack, dev_server.address, settings.task_queue), tmp_path / "worker.log"
    )
    worker.start()
    try:
        client = await Client.connect(dev_server.address, data_converter=data_converter())
        handle = await client.start_workflow(
            ApprovalWorkflow.run,
            PlanRequest(task=TASK, origin=ORIGIN, settings=settings.workflow),
            id=f"plan-test-{uuid.uuid4()}",
            task_queue=settings.task_queue,
        )
        ts, _ = await waiting_draft(slack, handle, timeout=STARTUP)
        await handle.execute_update(
            ApprovalWorkflow.approve_draft, ApproveInput(revision=1, user_id=APPROVER_1, member_of=CHANNEL)
        )
        await slack.wait_for(lambda: tool_call_messages(slack, ts), timeout=STARTUP)
        await eventually(lambda: finished_runs(handle, SLACK_POST_TOOL_CALL), timeout=STARTUP)
        assert any("asks to run" in t for t in thread_texts(slack, ts))
        yield worker, handle, ts
    finally:
        worker.stop()


async def assert_done_once(handle: WorkflowHandle, slack: SlackSandbox) -> None:
    """The workflow completed with the call done, and #random got exactly one post."""
    await handle.result()
    state = await handle.query(ApprovalWorkflow.progress)
    assert state.phase is Phase.COMPLETED
    [call] = state.tool_calls
    assert (call.tool, call.state, call.decided_by) == ("post_message", ToolCallState.DONE, [APPROVER_2])
    assert call.result == "Posted the message in #random."
    posts = slack.messages(RANDOM)
    assert len(posts) == 1, f"#random got {len(posts)} posts: {[p['text'] for p in posts]}"
    assert "offsite" in posts[0]["text"]
    assert len(posts_to_random(slack)) == 1, "the tool posted in #random more than once"
    assert_nothing_doubled(slack, RANDOM)
    assert_nothing_doubled(slack, CHANNEL)


# A worker process started twice (killed, restarted) and a plan walked to its tool call: ~19 s alone.
@pytest.mark.timeout(180)
async def test_worker_killed_while_a_tool_call_waits_for_a_person(
    dev_server: DevServer, slack: SlackSandbox, tmp_path: Path
) -> None:
    async with plan_asking_for_a_tool_call(dev_server, slack, tmp_path) as (worker, handle, ts):
        [asking] = tool_call_messages(slack, ts)
        assert action_ids.TOOL_ALLOW in buttons(asking)
        assert slack.messages(RANDOM) == [], "nothing is posted before a person allows it"
        [call] = (await handle.query(ApprovalWorkflow.progress)).tool_calls
        assert call.state is ToolCallState.PENDING
        worker.kill()

        worker.start()
        # The update reaches the workflow once the restarted worker has replayed it to its wait.
        receipt = await handle.execute_update(
            ApprovalWorkflow.allow_tool_call, ToolDecisionInput(call_number=1, user_id=APPROVER_2, member_of=CHANNEL)
        )
        assert receipt.quorum_met
        await assert_done_once(handle, slack)

    # One approval message, posted before the crash, and it is the one the restarted worker updated.
    assert len(tool_call_posts(slack)) == 1, "the approval message was posted again after the restart"
    [message] = tool_call_messages(slack, ts)
    assert message["ts"] == asking["ts"]
    assert buttons(message) == [] and "Allowed by" in str(message["blocks"])
    texts = thread_texts(slack, ts)
    assert len([t for t in texts if "asks to run" in t]) == 1, texts
    assert any("post_message" in t and "Posted the message in #random" in t for t in texts), texts


# A worker process started twice (killed, restarted) and a plan walked to its tool call: ~19 s alone.
@pytest.mark.timeout(180)
async def test_worker_killed_while_the_tool_posts(dev_server: DevServer, slack: SlackSandbox, tmp_path: Path) -> None:
    slack.faults.slow("chat.postMessage", SLOW_ANSWER, match=lambda params: params.get("channel") == RANDOM)
    async with plan_asking_for_a_tool_call(dev_server, slack, tmp_path) as (worker, handle, _):
        # The update completes once the Allow is recorded, before the tool runs.
        await handle.execute_update(
            ApprovalWorkflow.allow_tool_call, ToolDecisionInput(call_number=1, user_id=APPROVER_2, member_of=CHANNEL)
        )
        [posted] = await slack.wait_for(lambda: posts_to_random(slack), timeout=STARTUP)
        worker.kill()
        assert posted.ok, "the post took effect before the worker died"
        lookups_before = len(slack.calls_to("conversations.history"))

        worker.start()
        # The dead attempt times out after start-to-close; the retry finds the post and returns it.
        await assert_done_once(handle, slack)

    [post] = slack.messages(RANDOM)
    assert post["ts"] == posted.response["ts"]  # type: ignore[index]
    lookups = [
        call
        for call in slack.calls_to("conversations.history")[lookups_before:]
        if call.params.get("channel") == RANDOM
    ]
    assert lookups, "the retry did not look for its earlier post"
    # The history says so too: the tool activity completed on a retry, after an attempt timed out (the
    # second, or a later one: under load the server may still match the second to a poll of the killed worker).
    [run] = await finished_runs(handle, TOOL_POST_MESSAGE)
    assert run.attempt >= 2, run
    assert run.last_failure.HasField("timeout_failure_info"), run.last_failure
