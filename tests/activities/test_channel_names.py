"""A #name the executor's tools resolve to a channel id is looked up again after CHANNEL_NAME_TTL_SECONDS:
a channel renamed, or archived and its name reused, is found anew (time is a fake clock here)."""

from __future__ import annotations

import dataclasses

from signoff.activities.slack import SlackActivities
from signoff.activities.slack_tools import CHANNEL_NAME_TTL_SECONDS, SlackToolActivities
from signoff.contracts.tool_calls import PostMessageInput
from signoff.sandbox import SlackSandbox
from signoff.slack.client import slack_client
from tests.support.steps import Attempt

RANDOM = "C0RANDOM0"  # #random
APPROVALS = "C0APPROVE"  # #approvals; the app is a member of both


def rename(slack: SlackSandbox, channel_id: str, name: str) -> None:
    """As Slack's channel rename does: the same id under a new name."""
    channels = slack.directory.channels
    channels[channel_id] = dataclasses.replace(channels[channel_id], name=name)


async def test_a_channel_name_resolves_anew_once_its_lookup_is_older_than_the_ttl(slack: SlackSandbox) -> None:
    now = [1000.0]
    tools = SlackToolActivities(SlackActivities(slack_client(slack.bot_token, slack.api_url)), clock=lambda: now[0])

    async def post(n: int) -> None:
        result = await Attempt().run(tools.post_message, PostMessageInput("#random", f"Post {n}", f"wf:tool:call_{n}"))
        assert result.ok, result

    await post(1)
    # #random is renamed and #approvals takes its name.
    rename(slack, RANDOM, "random-old")
    rename(slack, APPROVALS, "random")
    now[0] += CHANNEL_NAME_TTL_SECONDS - 1
    await post(2)  # still the name looked up a moment ago: Tier 2 is not asked again
    assert len(slack.calls_to("conversations.list")) == 1
    now[0] += 1
    await post(3)
    assert len(slack.calls_to("conversations.list")) == 2
    assert [m["text"] for m in slack.messages(RANDOM)] == ["Post 1", "Post 2"]
    assert [m["text"] for m in slack.messages(APPROVALS)] == ["Post 3"]
