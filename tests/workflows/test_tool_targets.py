"""A tool call's target conversation decides what runs without asking (time-skipping server).

``read_channel`` runs without asking only on the plan's own conversation and never shows what it
read in the thread; "Always allow" covers the tool on the one conversation it was given for.
"""

from __future__ import annotations

import json

from temporalio.testing import WorkflowEnvironment

from signoff.contracts.tool_calls import ToolCallState, ToolDecisionInput
from signoff.sandbox import SlackSandbox
from tests.support.models import ScriptedExecutorProvider
from tests.support.slack import APPROVALS_CHANNEL, APPROVER_1, APPROVER_2, CHANNEL, everything_in, thread_texts
from tests.support.waiting import eventually
from tests.workflows.test_plan_tools import RANDOM, approved_plan, pending_tool_calls, tool_messages
from workflows import ApprovalWorkflow

SECRET = "Merger codename BLUEBIRD closes on the 14th"


async def test_reading_another_conversation_asks_and_its_text_stays_out_of_the_thread(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    await slack.post_as_user(APPROVER_1, APPROVALS_CHANNEL, SECRET)
    models = ScriptedExecutorProvider([[("read_channel", {"channel": "#approvals", "limit": 5})]])
    async with approved_plan(time_env, slack, "Summarise #approvals", models) as (handle, ts):
        [message] = await eventually(lambda: pending_tool_calls(slack, ts))
        assert "read_channel" in str(message["blocks"]) and "#approvals" in str(message["blocks"])
        await handle.execute_update(
            ApprovalWorkflow.allow_tool_call, ToolDecisionInput(1, APPROVER_2, member_of=CHANNEL)
        )
        report = await handle.result()
        state = await handle.query(ApprovalWorkflow.progress)
    # The agent got what it read; the thread (a channel other people read) says only what was read.
    assert SECRET in report
    [call] = state.tool_calls
    assert call.state is ToolCallState.DONE and call.asked and SECRET not in call.result
    assert SECRET not in json.dumps(everything_in(slack, CHANNEL))
    assert any("Read the last" in text and "#approvals" in text for text in thread_texts(slack, ts))


async def test_reading_the_plans_own_conversation_runs_without_asking(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    # #general is where the plan's thread is: by name, by id and by link it is the same conversation.
    models = ScriptedExecutorProvider(
        [
            [("read_channel", {"channel": "#general", "limit": 3})],
            [("read_channel", {"channel": CHANNEL, "limit": 3})],
            [("read_channel", {"channel": f"<#{CHANNEL}|general>", "limit": 3})],
        ]
    )
    async with approved_plan(time_env, slack, "Summarise this channel", models) as (handle, ts):
        await handle.result()
        state = await handle.query(ApprovalWorkflow.progress)
    assert tool_messages(slack, ts) == []
    assert [(c.state, c.asked) for c in state.tool_calls] == [(ToolCallState.DONE, False)] * 3


async def test_always_allow_covers_the_tool_on_that_channel_only(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    models = ScriptedExecutorProvider(
        [
            [("post_message", {"channel": "#random", "text": "First"})],
            [("post_message", {"channel": "#general", "text": "Elsewhere"})],
            [("post_message", {"channel": RANDOM, "text": "By id"})],
            [("post_message", {"channel": "Random", "text": "By name"})],
        ]
    )
    async with approved_plan(time_env, slack, "Announce the offsite", models) as (handle, ts):
        [first] = await eventually(lambda: pending_tool_calls(slack, ts))
        await handle.execute_update(
            ApprovalWorkflow.allow_tool_call,
            ToolDecisionInput(call_number=1, user_id=APPROVER_1, always=True, member_of=CHANNEL),
        )
        # #general is another conversation: it asks.
        await eventually(lambda: [m for m in pending_tool_calls(slack, ts) if "Elsewhere" in json.dumps(m["blocks"])])
        await handle.execute_update(
            ApprovalWorkflow.deny_tool_call, ToolDecisionInput(2, APPROVER_1, member_of=CHANNEL)
        )
        await handle.result()
        state = await handle.query(ApprovalWorkflow.progress)
    assert [(c.state, c.asked) for c in state.tool_calls] == [
        (ToolCallState.DONE, True),
        (ToolCallState.DENIED, True),
        (ToolCallState.DONE, False),
        (ToolCallState.DONE, False),
    ]
    assert [m["text"] for m in slack.messages(RANDOM)] == ["First", "By id", "By name"]
    # The message and the thread say what Always allow covers.
    assert "`post_message` in #random for this run" in json.dumps(first["blocks"])
    assert any("every later `post_message` call in #random" in text for text in thread_texts(slack, ts))
