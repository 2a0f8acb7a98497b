"""What Slack does with response URLs, ephemeral buttons, closing modals and reconnects."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_sdk.web.async_client import AsyncWebClient

from signoff.sandbox import SlackSandbox
from tests.support.slack import APPROVER_1, APPROVER_2, CHANNEL, REQUESTER, web_client
from tests.support.web import RecordingApp, bolt_app, serving_events

BUTTON_BLOCKS = [
    {
        "type": "actions",
        "block_id": "b",
        "elements": [{"type": "button", "action_id": "go", "value": "v", "text": {"type": "plain_text", "text": "Go"}}],
    }
]


@pytest.fixture
async def env() -> AsyncIterator[tuple[SlackSandbox, RecordingApp, AsyncWebClient]]:
    recorder = RecordingApp()
    async with serving_events(recorder.handle) as url, SlackSandbox(request_url=url) as sb:
        yield sb, recorder, web_client(sb)


async def respond(url: str, body: dict) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
        return response.status, await response.text()


async def test_response_url_posts_in_channel_or_ephemeral_and_deletes_the_original(env):
    sb, recorder, client = env
    posted = await client.chat_postMessage(channel=CHANNEL, text="ask", blocks=BUTTON_BLOCKS)
    click = await sb.click_button(APPROVER_1, CHANNEL, posted["ts"], "go")
    payload = recorder.received[-1]
    assert payload["type"] == "block_actions"
    assert payload["actions"][0] == {**payload["actions"][0], "action_id": "go", "block_id": "b", "value": "v"}
    assert payload["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": CHANNEL,
        "is_ephemeral": False,
    }
    assert payload["message"]["ts"] == posted["ts"]
    assert payload["trigger_id"] == click.trigger_id

    assert await respond(click.response_url, {"text": "just you"}) == (200, '{"ok": true}')
    assert [e["text"] for e in sb.ephemerals(APPROVER_1)] == ["just you"]
    await respond(click.response_url, {"text": "everyone", "response_type": "in_channel"})
    assert [m["text"] for m in sb.messages(CHANNEL)] == ["ask", "everyone"]
    await respond(click.response_url, {"delete_original": True})
    assert [m["text"] for m in sb.messages(CHANNEL)] == ["everyone"]


async def test_response_url_works_five_times(env):
    sb, _, _ = env
    result = await sb.send_slash_command(REQUESTER, "/signoff")
    for i in range(5):
        assert (await respond(result.response_url, {"text": str(i)}))[0] == 200
    assert await respond(result.response_url, {"text": "again"}) == (404, "used_url")
    assert len(sb.ephemerals(REQUESTER)) == 5


async def test_button_in_an_ephemeral_is_clickable_only_by_its_recipient(env):
    sb, recorder, client = env
    shown = await client.chat_postEphemeral(channel=CHANNEL, user=APPROVER_1, text="x", blocks=BUTTON_BLOCKS)
    with pytest.raises(LookupError):
        await sb.click_button(APPROVER_2, CHANNEL, shown["message_ts"], "go")
    click = await sb.click_button(APPROVER_1, CHANNEL, shown["message_ts"], "go")
    assert recorder.received[-1]["container"]["is_ephemeral"] is True
    await respond(click.response_url, {"replace_original": True, "text": "done"})
    assert [e["text"] for e in sb.ephemerals(APPROVER_1)] == ["done"]


async def test_closing_a_modal_notifies_only_when_asked(env):
    sb, recorder, client = env
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "M"}, "blocks": []}
    quiet = await client.views_open(trigger_id=sb.workspace.issue_trigger(APPROVER_1), view=modal)
    assert await sb.close_view(APPROVER_1, quiet["view"]["id"]) is None
    assert sb.open_views(APPROVER_1) == [] and recorder.received == []

    loud = await client.views_open(
        trigger_id=sb.workspace.issue_trigger(APPROVER_1), view={**modal, "notify_on_close": True}
    )
    result = await sb.close_view(APPROVER_1, loud["view"]["id"])
    assert result.acked
    assert recorder.received[-1]["type"] == "view_closed"
    assert recorder.received[-1]["view"]["id"] == loud["view"]["id"]


async def test_submit_view_rejects_inputs_the_view_lacks(env):
    sb, _, client = env
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "M"}, "blocks": []}
    opened = await client.views_open(trigger_id=sb.workspace.issue_trigger(APPROVER_1), view=modal)
    with pytest.raises(LookupError):
        await sb.submit_view(APPROVER_1, opened["view"]["id"], {"nope": {"x": "y"}})
    with pytest.raises(LookupError):
        await sb.submit_view(APPROVER_2, opened["view"]["id"], {})


async def test_socket_mode_client_reconnects_after_disconnect_and_outage():
    sb = SlackSandbox()
    await sb.start()
    app = bolt_app(sb)
    homes: list[str] = []

    @app.event("app_home_opened")
    async def on_home(event):
        homes.append(event["user"])

    handler = AsyncSocketModeHandler(app, app_token=sb.app_token, ping_interval=0.2)
    await handler.connect_async()
    try:
        await sb.wait_for(lambda: sb.socket_mode.connected)
        await sb.request_socket_reconnect()
        await sb.wait_for(lambda: len(sb.calls_to("apps.connections.open")) == 2 and sb.socket_mode.connected)
        assert (await sb.open_home(APPROVER_1)).acked

        await sb.pause()
        assert not sb.socket_mode.connected
        await sb.resume()
        await sb.wait_for(lambda: sb.socket_mode.connected)
        assert (await sb.open_home(APPROVER_2)).transport == "socket_mode"
        await sb.wait_for(lambda: homes == [APPROVER_1, APPROVER_2])
    finally:
        await handler.close_async()
        await sb.stop()
