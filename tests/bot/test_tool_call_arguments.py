"""Through Slack: a tool call whose text is cut in its message opens, in full, as the exact JSON that runs."""

from __future__ import annotations

import html
import json

from temporalio.testing import WorkflowEnvironment

from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from tests.support.block_checks import assert_valid_everything
from tests.support.bot import bot_settings, worker_and_bot
from tests.support.flows import start_via_slack, waiting_draft
from tests.support.models import ScriptedExecutorProvider
from tests.support.slack import APPROVER_1, CHANNEL, LIVE_BROADCAST, buttons
from tests.support.waiting import eventually

RANDOM = "C0RANDOM0"
AGENDA = "".join(f"Item {n}: see below.\n" for n in range(1, 13))
LINK = " Details: https://evil.example/pay <!channel>"
# 279 characters with 12 line breaks: short, until escaping and line marks make it longer than shown.
TEXT = AGENDA + ("Lunch is at noon. " * 20)[: 279 - len(AGENDA) - len(LINK)] + LINK


async def test_a_cut_text_says_so_and_opens_as_the_json_that_runs(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    arguments = {"channel": "#random", "text": TEXT}
    models = ScriptedExecutorProvider([[("post_message", arguments)]])
    async with worker_and_bot(slack, time_env.client, bot_settings(slack), models=models) as bot:
        handle = await start_via_slack(slack, bot.client, "Announce the offsite agenda in #random", "/plan")
        ts, draft = await waiting_draft(slack, handle)
        await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)
        [call] = await eventually(
            lambda: [m for m in slack.replies(CHANNEL, ts) if action_ids.TOOL_ALLOW in buttons(m)]
        )
        shown = json.dumps(call["blocks"])
        assert "of 279 characters" in shown and not LIVE_BROADCAST.search(shown)
        assert action_ids.TOOL_SHOW_ARGUMENTS in buttons(call)
        await slack.click_button(APPROVER_1, CHANNEL, call["ts"], action_ids.TOOL_SHOW_ARGUMENTS)
        [modal] = await slack.wait_for(lambda: slack.open_views(APPROVER_1))
        assert not LIVE_BROADCAST.search(json.dumps(modal))
        pieces = [b["text"]["text"] for b in modal["blocks"][1:] if b["type"] == "section"]
        assert json.loads(html.unescape("".join(p.removeprefix("```\n").removesuffix("\n```") for p in pieces))) == (
            arguments
        )
        await slack.click_button(APPROVER_1, CHANNEL, call["ts"], action_ids.TOOL_ALLOW)
        await handle.result()
    # What was shown is what was posted.
    [posted] = slack.messages(RANDOM)
    assert posted["text"] == TEXT
    assert_valid_everything(slack)
