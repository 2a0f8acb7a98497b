"""The workflow scopes a tool call by the conversation its tool would act on: the lookup agrees
with the tools, and a read's thread note names what was read without its text."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from signoff.activities.slack import SlackActivities
from signoff.activities.slack_tools import SlackToolActivities
from signoff.contracts.tool_calls import PostMessageInput, ReadChannelInput, ResolveChannelInput
from signoff.sandbox import SlackSandbox
from signoff.slack.client import slack_client
from tests.support.steps import Attempt

TOKEN = "xoxb-sandbox"
RANDOM = "C0RANDOM0"


@pytest.fixture
async def tools() -> AsyncIterator[tuple[SlackSandbox, SlackToolActivities]]:
    async with SlackSandbox(bot_token=TOKEN) as sandbox:
        yield sandbox, SlackToolActivities(SlackActivities(slack_client(TOKEN, sandbox.api_url)))


@pytest.mark.parametrize("name", ["#random", "random", "#Random", " #RANDOM "])
async def test_a_name_resolves_to_the_conversation_the_tool_posts_in(
    tools: tuple[SlackSandbox, SlackToolActivities], name: str
) -> None:
    sb, activities = tools
    resolved = await Attempt().run(activities.resolve_channel, ResolveChannelInput(name))
    assert resolved.channel_id == RANDOM
    await Attempt().run(activities.post_message, PostMessageInput(name, "Hi", f"wf:tool:{name}"))
    assert len(sb.messages(resolved.channel_id)) == 1


async def test_a_name_no_channel_has_resolves_to_nothing(tools: tuple[SlackSandbox, SlackToolActivities]) -> None:
    _, activities = tools
    resolved = await Attempt().run(activities.resolve_channel, ResolveChannelInput("#no-such-channel"))
    assert resolved.channel_id is None


async def test_a_read_tells_the_agent_the_text_and_people_only_what_was_read(
    tools: tuple[SlackSandbox, SlackToolActivities],
) -> None:
    sb, activities = tools
    sb.workspace.post_message(RANDOM, text="The launch code is 0000", user="U0APPROV1")
    read = await Attempt().run(activities.read_channel, ReadChannelInput("#random", 5))
    assert "The launch code is 0000" in read.summary
    assert "0000" not in read.shown and "#random" in read.shown and "the last 1 message of #random" in read.shown
