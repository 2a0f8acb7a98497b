"""The plan's executor acting through tools, each side effect allowed by a person (time-skipping server).

The offline model asks to post in every channel the task names; the sandbox is the Slack
the tools act on.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import timedelta

import pytest
from agents.models.interface import ModelProvider
from temporalio.client import WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from signoff.contracts.tool_calls import ToolCallState, ToolDecisionInput
from signoff.contracts.workflow_io import ApproveInput, Phase, PlanRequest, WorkflowSettings
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from signoff.slack.action_ids import ButtonValue
from tests.support.flows import waiting_draft
from tests.support.models import RecordingModelProvider, ScriptedExecutorProvider
from tests.support.slack import (
    APPROVER_1,
    APPROVER_2,
    CHANNEL,
    ORIGIN,
    OUTSIDER,
    REQUESTER,
    button_pairs,
    buttons,
    thread_texts,
)
from tests.support.temporal import running_worker, with_agents_plugin, worker_settings
from tests.support.waiting import eventually
from workflows import ApprovalWorkflow

RANDOM = "C0RANDOM0"  # #random: the bot is a member
WATERCOOLER = "C0WATERCO"  # #watercooler: everyone but the bot


def tool_messages(slack: SlackSandbox, thread_ts: str) -> list[dict]:
    """The thread's tool-call approval messages (the ones that had Allow buttons), oldest first."""
    return [
        m
        for m in slack.replies(CHANNEL, thread_ts)
        if "Tool call" in (m.get("text") or "") or action_ids.TOOL_ALLOW in str(m.get("blocks"))
    ]


def pending_tool_calls(slack: SlackSandbox, thread_ts: str) -> list[dict]:
    """Tool-call messages still waiting, by call number (calls asked together are posted side by side)."""
    pending = [m for m in tool_messages(slack, thread_ts) if action_ids.TOOL_ALLOW in buttons(m)]
    return sorted(pending, key=lambda m: ButtonValue.decode(dict(button_pairs(m))[action_ids.TOOL_ALLOW]).revision)


@contextlib.asynccontextmanager
async def approved_plan(
    time_env: WorkflowEnvironment,
    slack: SlackSandbox,
    task: str,
    models: ModelProvider | None = None,
    auto_approved_tools: list[str] | None = None,
    **policy: object,
) -> AsyncIterator[tuple[WorkflowHandle, str]]:
    """A plan started from #general, approved, its executor now asking for its first tool calls."""
    settings = worker_settings(slack, **policy)
    if auto_approved_tools is not None:
        settings.workflow.auto_approved_tools = auto_approved_tools
    async with running_worker(time_env.client, settings, models):
        handle = await with_agents_plugin(time_env.client, settings).start_workflow(
            ApprovalWorkflow.run,
            PlanRequest(task=task, origin=ORIGIN, settings=settings.workflow),
            id=f"plan-test-{uuid.uuid4()}",
            task_queue=settings.task_queue,
        )
        ts, _ = await waiting_draft(slack, handle)
        await handle.execute_update(
            ApprovalWorkflow.approve_draft, ApproveInput(revision=1, user_id=APPROVER_1, member_of=CHANNEL)
        )
        yield handle, ts


async def test_allow_posts_in_the_channel_once(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with approved_plan(time_env, slack, "Announce the offsite in #random") as (handle, ts):
        [message] = await eventually(lambda: pending_tool_calls(slack, ts))
        assert "post_message" in str(message["blocks"]) and "#random" in str(message["blocks"])
        # Nothing is posted before a person allows it.
        assert slack.messages(RANDOM) == []
        receipt = await handle.execute_update(
            ApprovalWorkflow.allow_tool_call, ToolDecisionInput(call_number=1, user_id=APPROVER_2, member_of=CHANNEL)
        )
        assert receipt.quorum_met
        report = await handle.result()
        state = await handle.query(ApprovalWorkflow.progress)
    [post] = slack.messages(RANDOM)
    assert "offsite" in post["text"]
    assert "post_message" in report
    assert state.phase is Phase.COMPLETED
    [call] = state.tool_calls
    assert call.state is ToolCallState.DONE and call.decided_by == [APPROVER_2]
    [message] = tool_messages(slack, ts)
    assert buttons(message) == [] and "Allowed by" in str(message["blocks"])
    texts = thread_texts(slack, ts)
    assert any("Done" in text and "post_message" in text for text in texts), texts


async def test_the_allowed_action_goes_before_the_posts_about_it(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    async with approved_plan(time_env, slack, "Announce the offsite in #random") as (handle, ts):
        [message] = await eventually(lambda: pending_tool_calls(slack, ts))
        mark = len(slack.calls)
        await handle.execute_update(
            ApprovalWorkflow.allow_tool_call, ToolDecisionInput(1, APPROVER_2, member_of=CHANNEL)
        )
        await handle.result()
    writes = [
        (c.method, c.params.get("channel"), str(c.params.get("text")), c.params.get("ts"))
        for c in slack.calls[mark:]
        if c.ok and c.method in ("chat.postMessage", "chat.update")
    ]
    action = next(i for i, w in enumerate(writes) if w[1] == RANDOM)
    allowed_note = next(i for i, w in enumerate(writes) if w[1] == CHANNEL and "allowed" in w[2])
    message_update = next(i for i, w in enumerate(writes) if w[0] == "chat.update" and w[3] == message["ts"])
    # The action first; then the thread says who allowed it, and only then what it did.
    assert action < allowed_note and action < message_update, writes
    texts = thread_texts(slack, ts)
    allowed = next(i for i, t in enumerate(texts) if "allowed" in t and "post_message" in t)
    result = next(i for i, t in enumerate(texts) if "Posted the message" in t)
    assert allowed < result, texts


async def test_an_allowed_call_is_noted_while_another_still_waits(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    async with approved_plan(time_env, slack, "Announce the offsite in #random and #general") as (handle, ts):
        await eventually(lambda: len(pending_tool_calls(slack, ts)) == 2)
        await handle.execute_update(
            ApprovalWorkflow.allow_tool_call, ToolDecisionInput(1, APPROVER_1, member_of=CHANNEL)
        )
        # Call 2 still waits (the run does not resume yet): call 1's note and message do not wait for it.
        await eventually(lambda: any("allowed" in t and "(call 1)" in t for t in thread_texts(slack, ts)))
        [waiting] = await eventually(lambda: len(pending_tool_calls(slack, ts)) == 1 and pending_tool_calls(slack, ts))
        assert "#general" in str(waiting["blocks"])
        assert slack.messages(RANDOM) == []
        await handle.execute_update(
            ApprovalWorkflow.deny_tool_call, ToolDecisionInput(2, APPROVER_1, member_of=CHANNEL)
        )
        await handle.result()
    assert len(slack.messages(RANDOM)) == 1


async def test_deny_with_a_reason_reaches_the_agent(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    models = RecordingModelProvider()
    async with approved_plan(time_env, slack, "Announce the offsite in #random", models) as (handle, ts):
        await eventually(lambda: pending_tool_calls(slack, ts))
        await handle.execute_update(
            ApprovalWorkflow.deny_tool_call,
            ToolDecisionInput(
                call_number=1, user_id=APPROVER_2, reason="Not before the budget is signed", member_of=CHANNEL
            ),
        )
        await handle.result()
        state = await handle.query(ApprovalWorkflow.progress)
    assert slack.messages(RANDOM) == []
    [call] = state.tool_calls
    assert call.state is ToolCallState.DENIED and call.result == "Not before the budget is signed"
    # The executor's next model call carries the denial and the reason.
    executor_inputs = models.inputs_for("executor")
    assert any("Not before the budget is signed" in text for text in executor_inputs), executor_inputs
    assert any("Denied" in text for text in thread_texts(slack, ts))


async def test_two_parallel_calls_get_one_message_each(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with approved_plan(time_env, slack, "Announce the offsite in #random and #general") as (handle, ts):
        pending = await eventually(lambda: len(pending_tool_calls(slack, ts)) == 2 and pending_tool_calls(slack, ts))
        assert "#random" in str(pending[0]["blocks"]) and "#general" in str(pending[1]["blocks"])
        await handle.execute_update(
            ApprovalWorkflow.deny_tool_call,
            ToolDecisionInput(call_number=2, user_id=APPROVER_1, reason="not there", member_of=CHANNEL),
        )
        # One decided, one still waiting: the run waits for both.
        assert len(pending_tool_calls(slack, ts)) == 1 or await eventually(
            lambda: len(pending_tool_calls(slack, ts)) == 1
        )
        await handle.execute_update(
            ApprovalWorkflow.allow_tool_call, ToolDecisionInput(call_number=1, user_id=APPROVER_1, member_of=CHANNEL)
        )
        await handle.result()
        state = await handle.query(ApprovalWorkflow.progress)
    assert [c.state for c in state.tool_calls] == [ToolCallState.DONE, ToolCallState.DENIED]
    assert len(slack.messages(RANDOM)) == 1


async def test_always_allow_lets_later_calls_of_the_tool_through(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    later_turns = ScriptedExecutorProvider(
        [
            [("post_message", {"channel": "#random", "text": "First"})],
            [("post_message", {"channel": "#random", "text": "Second"})],
            [("set_channel_topic", {"channel": "#random", "topic": "Offsite"})],
        ]
    )
    async with approved_plan(time_env, slack, "Announce the offsite", later_turns) as (handle, ts):
        await eventually(lambda: pending_tool_calls(slack, ts))
        await handle.execute_update(
            ApprovalWorkflow.allow_tool_call,
            ToolDecisionInput(call_number=1, user_id=APPROVER_1, always=True, member_of=CHANNEL),
        )
        # The second post runs without asking; another tool still asks.
        await eventually(
            lambda: (
                [m["blocks"] for m in pending_tool_calls(slack, ts)]
                and all("set_channel_topic" in str(m["blocks"]) for m in pending_tool_calls(slack, ts))
            )
        )
        await handle.execute_update(
            ApprovalWorkflow.deny_tool_call, ToolDecisionInput(call_number=3, user_id=APPROVER_1, member_of=CHANNEL)
        )
        await handle.result()
        state = await handle.query(ApprovalWorkflow.progress)
    assert [(c.tool, c.state, c.asked) for c in state.tool_calls] == [
        ("post_message", ToolCallState.DONE, True),
        ("post_message", ToolCallState.DONE, False),
        ("set_channel_topic", ToolCallState.DENIED, True),
    ]
    assert [m["text"] for m in slack.messages(RANDOM)] == ["First", "Second"]


async def test_deadline_denies_the_call(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with approved_plan(
        time_env, slack, "Announce the offsite in #random", decision_deadline=timedelta(hours=2)
    ) as (handle, ts):
        await eventually(lambda: pending_tool_calls(slack, ts))
        await handle.result()  # the test server skips the two hours
        state = await handle.query(ApprovalWorkflow.progress)
    assert slack.messages(RANDOM) == []
    [call] = state.tool_calls
    assert call.state is ToolCallState.EXPIRED
    [message] = tool_messages(slack, ts)
    assert buttons(message) == [] and "Timed out" in str(message["blocks"])


@pytest.mark.parametrize(
    ("decision", "reason"),
    [
        (ToolDecisionInput(call_number=1, user_id=REQUESTER, member_of=CHANNEL), "someone else has to decide"),
        (ToolDecisionInput(call_number=1, user_id=OUTSIDER, member_of=CHANNEL), "not one of the approvers"),
        (ToolDecisionInput(call_number=7, user_id=APPROVER_1, member_of=CHANNEL), "no tool call 7"),
        (
            ToolDecisionInput(call_number=1, user_id=APPROVER_1, team_id="T0OTHER", member_of=CHANNEL),
            "another Slack workspace",
        ),
    ],
)
async def test_a_refused_click_changes_nothing(
    time_env: WorkflowEnvironment, slack: SlackSandbox, decision: ToolDecisionInput, reason: str
) -> None:
    async with approved_plan(
        time_env, slack, "Announce the offsite in #random", approvers=[APPROVER_1, APPROVER_2]
    ) as (handle, ts):
        await eventually(lambda: pending_tool_calls(slack, ts))
        before = asdict(await handle.query(ApprovalWorkflow.progress))
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(ApprovalWorkflow.allow_tool_call, decision)
        assert reason in str(refused.value.cause)
        assert asdict(await handle.query(ApprovalWorkflow.progress)) == before
        await handle.cancel()
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    assert slack.messages(RANDOM) == []
    [message] = tool_messages(slack, ts)
    assert buttons(message) == []


async def test_a_decided_call_refuses_another_click(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with approved_plan(time_env, slack, "Announce the offsite in #random and #general") as (handle, ts):
        await eventually(lambda: len(pending_tool_calls(slack, ts)) == 2)
        await handle.execute_update(
            ApprovalWorkflow.allow_tool_call, ToolDecisionInput(call_number=1, user_id=APPROVER_1, member_of=CHANNEL)
        )
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                ApprovalWorkflow.deny_tool_call, ToolDecisionInput(call_number=1, user_id=APPROVER_2, member_of=CHANNEL)
            )
        assert "already decided" in str(refused.value.cause)
        await handle.execute_update(
            ApprovalWorkflow.allow_tool_call, ToolDecisionInput(call_number=2, user_id=APPROVER_2, member_of=CHANNEL)
        )
        await handle.result()
        state = await handle.query(ApprovalWorkflow.progress)
    assert [c.state for c in state.tool_calls] == [ToolCallState.DONE, ToolCallState.DONE]
    assert len(slack.messages(RANDOM)) == 1


async def test_not_in_channel_is_told_to_the_agent_and_the_thread(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    async with approved_plan(time_env, slack, "Announce the offsite in #watercooler") as (handle, ts):
        await eventually(lambda: pending_tool_calls(slack, ts))
        await handle.execute_update(
            ApprovalWorkflow.allow_tool_call, ToolDecisionInput(call_number=1, user_id=APPROVER_1, member_of=CHANNEL)
        )
        report = await handle.result()
        state = await handle.query(ApprovalWorkflow.progress)
    assert slack.messages(WATERCOOLER) == []
    [call] = state.tool_calls
    assert call.state is ToolCallState.FAILED and "not_in_channel" in call.result
    assert "not_in_channel" in report
    assert any("invite" in text.lower() for text in thread_texts(slack, ts))


async def test_a_tool_the_policy_names_runs_without_asking(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with approved_plan(
        time_env, slack, "Announce the offsite in #random", auto_approved_tools=["post_message"]
    ) as (handle, ts):
        await handle.result()
        state = await handle.query(ApprovalWorkflow.progress)
    assert tool_messages(slack, ts) == []
    [call] = state.tool_calls
    assert call.state is ToolCallState.DONE and not call.asked
    assert len(slack.messages(RANDOM)) == 1
    assert any("no one asked" in text for text in thread_texts(slack, ts))


def test_the_default_policy_asks_for_every_tool_with_a_side_effect() -> None:
    assert WorkflowSettings().auto_approved_tools == ["read_channel"]
