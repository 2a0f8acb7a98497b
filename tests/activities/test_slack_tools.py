"""The executor's tools as activities, against the sandbox: each acts, acts once, and reports Slack's refusals."""

from __future__ import annotations

import dataclasses
import time

import pytest
from temporalio.exceptions import ApplicationError

from signoff.activities.slack import SlackActivities
from signoff.activities.slack_tools import SlackToolActivities, document_file_name
from signoff.contracts.tool_calls import (
    PostMessageInput,
    ReadChannelInput,
    ScheduleMessageInput,
    SetTopicInput,
    ShareDocumentInput,
)
from signoff.sandbox import SlackSandbox
from signoff.slack.client import slack_client
from tests.support.steps import Attempt

TOKEN = "xoxb-sandbox"
RANDOM = "C0RANDOM0"  # the app is a member
WATERCOOLER = "C0WATERCO"  # the app is not


@pytest.fixture
def tools(sb: SlackSandbox) -> SlackToolActivities:
    return SlackToolActivities(SlackActivities(slack_client(TOKEN, sb.api_url)))


def env(attempt: int = 1) -> Attempt:
    return Attempt(attempt)


@pytest.mark.parametrize("channel", ["#random", "random", RANDOM, f"<#{RANDOM}|random>", "#Random"])
async def test_post_message_takes_an_id_a_name_or_a_link(
    sb: SlackSandbox, tools: SlackToolActivities, channel: str
) -> None:
    result = await env().run(tools.post_message, PostMessageInput(channel, "Offsite on Friday", "wf:tool:call_1"))
    assert result.ok and result.permalink and f"/archives/{RANDOM}/" in result.permalink
    [post] = sb.messages(RANDOM)
    assert post["text"] == "Offsite on Friday"


async def test_a_retried_post_finds_its_first_attempt(sb: SlackSandbox, tools: SlackToolActivities) -> None:
    post = PostMessageInput("#random", "Offsite on Friday", "wf:tool:call_1")
    await env(attempt=1).run(tools.post_message, post)
    again = await env(attempt=2).run(tools.post_message, post)
    assert again.ok and len(sb.messages(RANDOM)) == 1
    # Another call (another key) does post.
    await env(attempt=2).run(tools.post_message, dataclasses.replace(post, idempotency_key="wf:tool:call_2"))
    assert len(sb.messages(RANDOM)) == 2


@pytest.mark.parametrize(
    ("channel", "error"),
    [("#watercooler", "not_in_channel"), (WATERCOOLER, "not_in_channel"), ("#nowhere", "channel_not_found")],
)
async def test_slack_refusals_are_results_for_the_agent(
    sb: SlackSandbox, tools: SlackToolActivities, channel: str, error: str
) -> None:
    result = await env().run(tools.post_message, PostMessageInput(channel, "Hello", "wf:tool:call_1"))
    assert not result.ok and result.error == error
    if error == "not_in_channel":
        assert "invite" in result.summary.lower()
    assert sb.messages(WATERCOOLER) == []


async def test_schedule_message_once(sb: SlackSandbox, tools: SlackToolActivities) -> None:
    post_at = int(time.time()) + 3600
    schedule = ScheduleMessageInput("#random", "Reminder: offsite tomorrow", post_at, "wf:tool:call_1")
    first = await env(attempt=1).run(tools.schedule_message, schedule)
    again = await env(attempt=2).run(tools.schedule_message, schedule)
    assert first.ok and again.ok and "UTC" in first.summary
    assert len(sb.calls_to("chat.scheduleMessage")) == 1
    past = await env().run(tools.schedule_message, dataclasses.replace(schedule, post_at=int(time.time()) - 60))
    assert not past.ok and past.error == "time_in_past"


async def test_share_document_once(sb: SlackSandbox, tools: SlackToolActivities) -> None:
    share = ShareDocumentInput("#random", "Offsite agenda", "# Agenda\n\n- Arrive\n- Plan", "wf:tool:call_1")
    first = await env(attempt=1).run(tools.share_document, share)
    again = await env(attempt=2).run(tools.share_document, share)
    assert first.ok and again.ok
    [message] = sb.messages(RANDOM)
    [shared] = message["files"]
    assert shared["name"] == document_file_name("Offsite agenda", "wf:tool:call_1")
    refused = await env().run(tools.share_document, dataclasses.replace(share, channel="#watercooler"))
    assert not refused.ok and refused.error == "not_in_channel"


async def test_set_topic_and_read_channel(sb: SlackSandbox, tools: SlackToolActivities) -> None:
    topic = await env().run(tools.set_channel_topic, SetTopicInput("#random", "Offsite: Friday"))
    assert topic.ok
    sb.workspace.post_message(RANDOM, text="Who is coming <!channel>?", user="U0APPROV1")
    read = await env().run(tools.read_channel, ReadChannelInput("#random", 5))
    assert read.ok and "Who is coming" in read.summary
    refused = await env().run(tools.read_channel, ReadChannelInput("#watercooler", 5))
    assert not refused.ok and refused.error == "not_in_channel"


async def test_a_transient_failure_is_raised_for_temporal_to_retry(
    sb: SlackSandbox, tools: SlackToolActivities
) -> None:
    sb.faults.fail("chat.postMessage", status=503)
    with pytest.raises(ApplicationError) as failure:
        await env().run(tools.post_message, PostMessageInput("#random", "Hello", "wf:tool:call_1"))
    assert not failure.value.non_retryable
    assert sb.messages(RANDOM) == []


async def test_a_channel_name_is_looked_up_once(sb: SlackSandbox, tools: SlackToolActivities) -> None:
    for n in range(3):
        await env().run(tools.post_message, PostMessageInput("#random", f"Post {n}", f"wf:tool:call_{n}"))
    assert len(sb.calls_to("conversations.list")) == 1 and len(sb.messages(RANDOM)) == 3
