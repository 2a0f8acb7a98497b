"""Tool-call buttons through the bot: /plan, approve, then Allow / Deny (with a reason) / refusals."""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment

from signoff.contracts.tool_calls import ToolCallState
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from signoff.slack.action_ids import ButtonValue
from tests.support.block_checks import assert_valid_everything
from tests.support.bot import bot_settings, worker_and_bot
from tests.support.flows import start_via_slack, waiting_draft
from tests.support.models import ScriptedExecutorProvider
from tests.support.slack import APPROVER_1, APPROVER_2, CHANNEL, REQUESTER, button_pairs, buttons, told
from tests.support.waiting import eventually
from workflows import ApprovalWorkflow

RANDOM = "C0RANDOM0"


def pending_tool_calls(slack: SlackSandbox, thread_ts: str) -> list[dict]:
    return [m for m in slack.replies(CHANNEL, thread_ts) if action_ids.TOOL_ALLOW in buttons(m)]


async def test_allow_then_deny_with_a_reason(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    settings = bot_settings(slack, approvers=[APPROVER_1, APPROVER_2])
    async with worker_and_bot(slack, time_env.client, settings) as bot:
        handle = await start_via_slack(slack, bot.client, "Announce the offsite in #random and #general", "/plan")
        ts, draft = await waiting_draft(slack, handle)
        await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)
        await eventually(lambda: len(pending_tool_calls(slack, ts)) == 2)
        # Posted side by side: their order in the thread may vary.
        first, second = sorted(pending_tool_calls(slack, ts), key=lambda m: "(call 2)" in str(m["blocks"]))
        assert buttons(first) == [action_ids.TOOL_ALLOW, action_ids.TOOL_ALWAYS_ALLOW, action_ids.TOOL_DENY]

        # The requester may not allow what they asked for: told why, nothing runs.
        result = await slack.click_button(REQUESTER, CHANNEL, first["ts"], action_ids.TOOL_ALLOW)
        assert result.acked
        await told(slack, REQUESTER, "someone else has to decide")

        await slack.click_button(APPROVER_2, CHANNEL, first["ts"], action_ids.TOOL_ALLOW)
        await told(slack, APPROVER_2, "Allowed tool call 1")

        # Deny opens a modal; the reason goes back to the agent.
        await slack.click_button(APPROVER_2, CHANNEL, second["ts"], action_ids.TOOL_DENY)
        [modal] = await slack.wait_for(lambda: slack.open_views(APPROVER_2))
        assert modal["callback_id"] == action_ids.TOOL_DENY_MODAL
        sent = await slack.submit_view(
            APPROVER_2, modal["id"], {action_ids.REASON_BLOCK: {action_ids.REASON_INPUT: "Not in #general, please"}}
        )
        assert sent.acked
        await told(slack, APPROVER_2, "Denied tool call 2")

        report = await handle.result()
        state = await handle.query(ApprovalWorkflow.progress)
        # A stale copy of a decided call's message (buttons still showing): told, nothing changes.
        value = dict(button_pairs(first))[action_ids.TOOL_ALLOW]
        await slack.click_button_raw(APPROVER_1, CHANNEL, first["ts"], action_ids.TOOL_ALLOW, value, message=first)
        await told(slack, APPROVER_1, "already finished; nothing was changed")
    assert [c.state for c in state.tool_calls] == [ToolCallState.DONE, ToolCallState.DENIED]
    assert state.tool_calls[1].result == "Not in #general, please"
    assert "Not in #general, please" in report
    assert len(slack.messages(RANDOM)) == 1
    assert_valid_everything(slack)


async def test_show_full_arguments_and_a_damaged_button(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    settings = bot_settings(slack)
    long_text = "agenda item, " * 60
    models = ScriptedExecutorProvider([[("post_message", {"channel": "#random", "text": long_text})]])
    async with worker_and_bot(slack, time_env.client, settings, models=models) as bot:
        handle = await start_via_slack(slack, bot.client, "Announce the offsite agenda in #random", "/plan")
        ts, draft = await waiting_draft(slack, handle)
        await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)
        [call] = await eventually(lambda: pending_tool_calls(slack, ts))
        # A long argument is cut in the message; the whole is one click away.
        assert action_ids.TOOL_SHOW_ARGUMENTS in buttons(call)
        await slack.click_button(APPROVER_1, CHANNEL, call["ts"], action_ids.TOOL_SHOW_ARGUMENTS)
        [modal] = await slack.wait_for(lambda: slack.open_views(APPROVER_1))
        assert "agenda item, " * 20 in str(modal["blocks"])
        # A forged value: told, nothing changes.
        await slack.click_button_raw(APPROVER_2, CHANNEL, call["ts"], action_ids.TOOL_ALLOW, "not json")
        await told(slack, APPROVER_2, "damaged or out of date")
        forged = ButtonValue(workflow_id=handle.id, revision=9).encode()
        await slack.click_button_raw(APPROVER_2, CHANNEL, call["ts"], action_ids.TOOL_ALLOW, forged)
        await told(slack, APPROVER_2, "no tool call 9")
        assert slack.messages(RANDOM) == []
        await handle.cancel()
        await eventually(lambda: not pending_tool_calls(slack, ts))
    assert_valid_everything(slack)
