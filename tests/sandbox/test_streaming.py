"""The sandbox's streamed messages (chat.startStream / appendStream / stopStream) as strict as Slack's.

Arguments, error names and tiers from the methods' reference pages (docs.slack.dev); a stream's lifetime
from what apps that stream report (signoff/sandbox/streams.py says which is which).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.models.messages.chunk import MarkdownTextChunk, PlanUpdateChunk, TaskUpdateChunk
from slack_sdk.web.async_client import AsyncWebClient

from signoff.sandbox import SlackSandbox

CHANNEL = "C0APPROVE"
RECIPIENT: dict[str, Any] = {"recipient_user_id": "U0REQUEST", "recipient_team_id": "T0SANDBOX"}


async def refused(call: Any) -> str:
    with pytest.raises(SlackApiError) as failed:
        await call
    assert failed.value.response.status_code == 200
    return str(failed.value.response["error"])


@pytest.fixture
async def thread(sb: SlackSandbox) -> str:
    return sb.workspace.post_message(CHANNEL, text="the report").ts


async def start(client: AsyncWebClient, thread: str, **kwargs: Any) -> str:
    response = await client.chat_startStream(channel=CHANNEL, thread_ts=thread, **{**RECIPIENT, **kwargs})
    return str(response["ts"])


def task(id: str, title: str, status: str) -> TaskUpdateChunk:
    return TaskUpdateChunk(id=id, title=title, status=status)


async def test_a_stream_is_one_reply_whose_tasks_update_in_place_until_it_stops(
    sb: SlackSandbox, client: AsyncWebClient, thread: str
) -> None:
    ts = await start(
        client,
        thread,
        task_display_mode="plan",
        chunks=[
            PlanUpdateChunk(title="Preparing"),
            task("a", "Researching", "in_progress"),
            task("b", "Writing", "pending"),
        ],
    )
    assert sb.streams.is_streaming(CHANNEL, ts)
    await client.chat_appendStream(
        channel=CHANNEL, ts=ts, chunks=[task("a", "Researched · 3 s", "complete"), task("b", "Writing", "in_progress")]
    )
    # Sent twice (a retried call): titles and statuses replace, nothing is added.
    await client.chat_appendStream(
        channel=CHANNEL, ts=ts, chunks=[task("a", "Researched · 3 s", "complete"), task("b", "Writing", "in_progress")]
    )
    (streamed,) = sb.replies(CHANNEL, thread)
    (plan,) = streamed["blocks"]
    assert plan["type"] == "plan" and plan["title"] == "Preparing"
    assert [(t["task_id"], t["title"], t["status"]) for t in plan["tasks"]] == [
        ("a", "Researched · 3 s", "complete"),
        ("b", "Writing", "in_progress"),
    ]
    stopped = await client.chat_stopStream(
        channel=CHANNEL,
        ts=ts,
        chunks=[PlanUpdateChunk(title="Ready"), task("b", "Wrote · 2 s", "complete"), MarkdownTextChunk(text="Done.")],
        metadata={"event_type": "signoff_post", "event_payload": {"key": "k"}},
    )
    assert stopped["message"]["metadata"]["event_payload"] == {"key": "k"}
    assert not sb.streams.is_streaming(CHANNEL, ts)
    (streamed,) = sb.replies(CHANNEL, thread)
    assert streamed["ts"] == ts and streamed["bot_id"] and streamed["text"] == "Done."
    assert [b["type"] for b in streamed["blocks"]] == ["plan", "markdown"]
    assert streamed["blocks"][0]["title"] == "Ready"
    assert await refused(client.chat_appendStream(channel=CHANNEL, ts=ts, markdown_text="more")) == (
        "message_not_in_streaming_state"
    )
    assert await refused(client.chat_stopStream(channel=CHANNEL, ts=ts)) == "message_not_in_streaming_state"


async def test_slack_sdks_chat_stream_helper_runs_against_the_sandbox(
    sb: SlackSandbox, client: AsyncWebClient, thread: str
) -> None:
    streamer = await client.chat_stream(channel=CHANNEL, thread_ts=thread, buffer_size=5, **RECIPIENT)
    await streamer.append(markdown_text="Hello ")
    await streamer.append(markdown_text="world")
    await streamer.stop(markdown_text="!")
    (streamed,) = sb.replies(CHANNEL, thread)
    assert streamed["text"] == "Hello world!"


async def test_the_page_shows_an_open_stream_as_typing(sb: SlackSandbox, client: AsyncWebClient, thread: str) -> None:
    ts = await start(client, thread, markdown_text="Working")

    async def shown() -> dict[str, Any]:
        async with aiohttp.ClientSession() as session:
            url = f"{sb.url}/ui/api/channels/{CHANNEL}/threads/{thread}?user=U0REQUEST"
            async with session.get(url) as response:
                body = await response.json()
        return next(m for m in body["messages"] if m["ts"] == ts)

    assert (await shown())["streaming"] is True
    await client.chat_stopStream(channel=CHANNEL, ts=ts)
    assert "streaming" not in await shown()


async def test_start_refuses_what_slack_refuses(sb: SlackSandbox, client: AsyncWebClient, thread: str) -> None:
    no_thread = client.chat_startStream(channel=CHANNEL, thread_ts="", **RECIPIENT)
    assert await refused(no_thread) == "invalid_arguments"
    # Outside a DM the stream's recipient is required.
    assert await refused(client.chat_startStream(channel=CHANNEL, thread_ts=thread)) == "missing_recipient_team_id"
    assert (
        await refused(client.chat_startStream(channel=CHANNEL, thread_ts=thread, recipient_team_id="T0SANDBOX"))
        == "missing_recipient_user_id"
    )
    unknown_user = client.chat_startStream(
        channel=CHANNEL, thread_ts=thread, recipient_team_id="T0SANDBOX", recipient_user_id="U0NOBODY0"
    )
    assert await refused(unknown_user) == "user_not_found"
    assert await refused(client.chat_startStream(channel="C0WATERCO", thread_ts=thread, **RECIPIENT)) == (
        "not_in_channel"
    )
    assert await refused(start(client, thread, task_display_mode="carousel")) == "invalid_arguments"
    assert await refused(start(client, thread, markdown_text="x" * 12_001)) == "msg_too_long"
    bad_status = start(client, thread, chunks=[{"type": "task_update", "id": "a", "title": "A", "status": "done"}])
    assert await refused(bad_status) == "invalid_chunks"
    assert await refused(start(client, thread, chunks=[{"type": "sparkles"}])) == "invalid_chunks"
    assert sb.replies(CHANNEL, thread) == []
    # In the app's DM no recipient is needed.
    dm = sb.workspace.post_message("D0REQUEST", text="hi", user="U0REQUEST").ts
    assert (await client.chat_startStream(channel="D0REQUEST", thread_ts=dm))["ok"]


async def test_append_and_stop_refuse_what_slack_refuses(sb: SlackSandbox, client: AsyncWebClient, thread: str) -> None:
    ts = await start(client, thread, chunks=[task("a", "A", "in_progress")])
    both = client.chat_appendStream(channel=CHANNEL, ts=ts, markdown_text="x", chunks=[task("a", "A", "complete")])
    assert await refused(both) == "cannot_provide_both_markdown_text_and_chunks"
    assert await refused(client.chat_appendStream(channel=CHANNEL, ts=ts)) == "markdown_text_or_chunks_required"
    # Begun with chunks, it goes on with chunks.
    assert (
        await refused(client.chat_appendStream(channel=CHANNEL, ts=ts, markdown_text="x")) == "streaming_mode_mismatch"
    )
    assert await refused(client.chat_stopStream(channel=CHANNEL, ts=ts, markdown_text="x")) == "streaming_mode_mismatch"
    assert await refused(
        client.chat_appendStream(channel=CHANNEL, ts="1.000001", chunks=[task("a", "A", "complete")])
    ) == ("message_not_found")
    persons = sb.workspace.post_message(CHANNEL, text="mine", user="U0REQUEST", thread_ts=thread).ts
    assert await refused(client.chat_appendStream(channel=CHANNEL, ts=persons, markdown_text="x")) == (
        "message_not_owned_by_app"
    )
    posted = sb.workspace.post_message(CHANNEL, text="a plain post", thread_ts=thread).ts
    assert await refused(client.chat_stopStream(channel=CHANNEL, ts=posted)) == "message_not_in_streaming_state"
    bad_metadata = client.chat_stopStream(channel=CHANNEL, ts=ts, metadata={"event_payload": {}})
    assert await refused(bad_metadata) == "invalid_metadata_format"
    assert sb.streams.is_streaming(CHANNEL, ts)  # a refused call changes nothing


async def test_slack_ends_a_stream_past_its_lifetime() -> None:
    now = [0.0]
    async with SlackSandbox(stream_lifetime=300, stream_clock=lambda: now[0]) as sb:
        client = AsyncWebClient(token=sb.bot_token, base_url=sb.api_url)
        thread = sb.workspace.post_message(CHANNEL, text="the report").ts
        ts = await start(client, thread, markdown_text="Working")
        now[0] = 299.0
        await client.chat_appendStream(channel=CHANNEL, ts=ts, markdown_text="…")
        now[0] = 300.0
        assert await refused(client.chat_appendStream(channel=CHANNEL, ts=ts, markdown_text="…")) == (
            "message_not_in_streaming_state"
        )
        assert not sb.streams.is_streaming(CHANNEL, ts)
        assert sb.replies(CHANNEL, thread)[0]["text"] == "Working…"


@pytest.fixture
async def tiered() -> AsyncIterator[SlackSandbox]:
    now = [0.0]
    async with SlackSandbox(slack_tiers="internal", tier_clock=lambda: now[0]) as sandbox:
        yield sandbox


async def test_start_and_stop_are_tier_2_and_append_tier_4(tiered: SlackSandbox) -> None:
    from signoff.sandbox.tiers import TIER_BY_METHOD

    assert (
        TIER_BY_METHOD["chat.startStream"],
        TIER_BY_METHOD["chat.appendStream"],
        TIER_BY_METHOD["chat.stopStream"],
    ) == (
        2,
        4,
        2,
    )
    client = AsyncWebClient(token=tiered.bot_token, base_url=tiered.api_url)
    thread = tiered.workspace.post_message(CHANNEL, text="the report").ts
    for _ in range(20):
        await start(client, thread, markdown_text="go")
    with pytest.raises(SlackApiError) as limited:
        await start(client, thread, markdown_text="go")
    assert limited.value.response.status_code == 429 and limited.value.response["error"] == "ratelimited"
