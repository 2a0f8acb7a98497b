"""People's posts reach the app as Slack's ``message`` events: the shape Slack sends, and only where
the app subscribes (message.channels, message.groups, message.im) and is a member."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from signoff.sandbox import Channel, SlackSandbox
from signoff.sandbox.directory import BOT_USER_ID, DEFAULT_CHANNELS
from signoff.sandbox.interactions import DEFAULT_BOT_EVENTS
from tests.support.slack import APPROVER_1, CHANNEL, REQUESTER, web_client
from tests.support.web import RecordingApp, bolt_app, over_socket_mode, serving_events

WATERCOOLER = "C0WATERCO"  # everyone but the app
PRIVATE_WITH_APP = Channel("G0WITHAPP", "private-with-app", frozenset({APPROVER_1, BOT_USER_ID}), is_private=True)
ENVELOPE = {
    "token",
    "team_id",
    "context_team_id",
    "api_app_id",
    "event",
    "type",
    "event_id",
    "event_time",
    "authorizations",
    "is_ext_shared_channel",
}


@pytest.fixture
async def env() -> AsyncIterator[tuple[SlackSandbox, RecordingApp, AsyncWebClient]]:
    recorder = RecordingApp()
    async with (
        serving_events(recorder.handle) as url,
        SlackSandbox(request_url=url, channels=[*DEFAULT_CHANNELS, PRIVATE_WITH_APP]) as sb,
    ):
        yield sb, recorder, web_client(sb)


def events(recorder: RecordingApp) -> list[dict[str, Any]]:
    return [body["event"] for body in recorder.received if body.get("type") == "event_callback"]


async def test_a_reply_in_a_thread_arrives_as_slacks_message_event(env) -> None:
    sb, recorder, bot = env
    parent = await bot.chat_postMessage(channel=CHANNEL, text="Draft")
    message, delivered = await sb.post_as_user(APPROVER_1, CHANNEL, "approve: R&D <ok>", thread_ts=parent["ts"])
    assert delivered is not None and delivered.acked and delivered.transport == "http"
    assert delivered in sb.deliveries
    [body] = recorder.received
    assert set(body) == ENVELOPE and body["type"] == "event_callback" and body["team_id"] == sb.workspace.team_id
    event = body["event"]
    uuid.UUID(event.pop("client_msg_id"))
    assert event == {
        "type": "message",
        "user": APPROVER_1,
        "text": "approve: R&amp;D &lt;ok&gt;",  # escaped as Slack's client escapes typed text
        "ts": message["ts"],
        "team": sb.workspace.team_id,
        "thread_ts": parent["ts"],
        "parent_user_id": BOT_USER_ID,
        "channel": CHANNEL,
        "event_ts": message["ts"],
        "channel_type": "channel",
    }
    assert message == sb.replies(CHANNEL, parent["ts"])[-1]

    # A top-level post: no thread fields.
    await sb.post_as_user(REQUESTER, CHANNEL, "Lunch?")
    top = events(recorder)[-1]
    assert "thread_ts" not in top and "parent_user_id" not in top and top["user"] == REQUESTER


async def test_private_channels_come_as_message_groups(env) -> None:
    sb, recorder, _ = env
    _, delivered = await sb.post_as_user(APPROVER_1, PRIVATE_WITH_APP.id, "hi")
    assert delivered is not None and delivered.acked
    assert events(recorder)[-1]["channel_type"] == "group"
    # Without the message.groups subscription, private channels say nothing; public ones still do.
    sb.bot_events = sb.bot_events - {"message.groups"}
    assert (await sb.post_as_user(APPROVER_1, PRIVATE_WITH_APP.id, "hi again"))[1] is None
    assert (await sb.post_as_user(APPROVER_1, CHANNEL, "hi"))[1] is not None
    assert [e["text"] for e in events(recorder)] == ["hi", "hi"]


async def test_no_event_where_the_app_is_not_a_member_or_not_subscribed(env) -> None:
    sb, recorder, _ = env
    message, delivered = await sb.post_as_user(APPROVER_1, WATERCOOLER, "approve")
    assert delivered is None and sb.messages(WATERCOOLER) == [message], "posted, but the app hears nothing"
    sb.bot_events = {"app_home_opened"}
    assert (await sb.post_as_user(APPROVER_1, CHANNEL, "approve"))[1] is None
    # A DM with the app needs message.im, which the app does not subscribe to by default.
    sb.bot_events = DEFAULT_BOT_EVENTS
    assert "message.im" not in sb.bot_events
    assert (await sb.post_as_user(APPROVER_1, "D0APPROV1", "approve"))[1] is None
    assert recorder.received == []


async def test_the_page_composer_delivers_the_event_and_posts_without_an_app(env) -> None:
    sb, recorder, bot = env
    parent = await bot.chat_postMessage(channel=CHANNEL, text="Draft")
    async with aiohttp.ClientSession() as http:
        body = {"user": APPROVER_1, "channel": CHANNEL, "text": "LGTM!", "thread_ts": parent["ts"]}
        async with http.post(sb.url + "/ui/api/post", json=body) as response:
            answer = await response.json()
        assert response.status == 200 and answer["ok"] and answer["delivered"] is True
        [event] = events(recorder)
        assert (event["text"], event["thread_ts"], event["ts"]) == ("LGTM!", parent["ts"], answer["ts"])

        # Nobody to deliver to: the message is still posted, as in Slack.
        sb.request_url = None
        async with http.post(sb.url + "/ui/api/post", json=body) as response:
            answer = await response.json()
        assert response.status == 200 and answer["ok"] and answer["delivered"] is False
        assert [r["text"] for r in sb.replies(CHANNEL, parent["ts"])] == ["LGTM!", "LGTM!"]


async def test_the_event_reaches_a_bolt_app_over_socket_mode() -> None:
    heard: list[dict[str, Any]] = []
    async with SlackSandbox() as sb:
        app: AsyncApp = bolt_app(sb)

        @app.event("message")
        async def on_message(event: dict[str, Any]) -> None:
            heard.append(event)

        async with over_socket_mode(sb, app):
            parent = await web_client(sb).chat_postMessage(channel=CHANNEL, text="Draft")
            _, delivered = await sb.post_as_user(APPROVER_1, CHANNEL, "lgtm", thread_ts=parent["ts"])
            assert delivered is not None and delivered.acked and delivered.transport == "socket_mode"
            [event] = await sb.wait_for(lambda: heard)
    assert (event["text"], event["thread_ts"], event["channel_type"]) == ("lgtm", parent["ts"], "channel")
