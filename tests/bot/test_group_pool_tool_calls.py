"""A plan whose pool is a user group (SIGNOFF_APPROVER_GROUP): its tool calls' buttons name the group as
its draft's do (and Deny's form), so a member allows or denies a call (the validator checks the group), and a channel
member outside the group is refused (time-skipping server)."""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment

from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from signoff.slack.action_ids import ButtonValue
from tests.support.bot import bot_settings, worker_and_bot
from tests.support.flows import start_via_slack, waiting_draft
from tests.support.slack import APPROVER_1, APPROVER_2, CHANNEL, LEADS, button_pairs, buttons, told
from tests.support.waiting import eventually


async def test_a_group_member_decides_a_tool_call_and_a_non_member_is_refused(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    settings = bot_settings(slack, approver_group=LEADS)  # @leads: Avery
    async with worker_and_bot(slack, time_env.client, settings) as bot:
        handle = await start_via_slack(slack, bot.client, "Announce the offsite in #random and #general", "/plan")
        ts, draft = await waiting_draft(slack, handle)
        await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)
        calls = await eventually(
            lambda: (lambda c: c if len(c) == 2 else None)(
                [m for m in slack.replies(CHANNEL, ts) if action_ids.TOOL_ALLOW in buttons(m)]
            )
        )
        # Posted side by side: their order in the thread may vary.
        first, second = sorted(calls, key=lambda m: "(call 2)" in str(m["blocks"]))
        assert {ButtonValue.decode(value).pool for call in calls for _, value in button_pairs(call)} == {LEADS}

        await slack.click_button(APPROVER_2, CHANNEL, first["ts"], action_ids.TOOL_ALLOW)
        await told(slack, APPROVER_2, "Only members of <!subteam^S0LEADS> may decide")
        await slack.click_button(APPROVER_1, CHANNEL, first["ts"], action_ids.TOOL_ALLOW)
        await told(slack, APPROVER_1, "Allowed tool call 1")
        # Deny's form keeps the pool for its submission.
        await slack.click_button(APPROVER_1, CHANNEL, second["ts"], action_ids.TOOL_DENY)
        [modal] = await slack.wait_for(lambda: slack.open_views(APPROVER_1))
        reason = {action_ids.REASON_BLOCK: {action_ids.REASON_INPUT: "Not in #general"}}
        assert (await slack.submit_view(APPROVER_1, modal["id"], reason)).acked
        await told(slack, APPROVER_1, "Denied tool call 2")
