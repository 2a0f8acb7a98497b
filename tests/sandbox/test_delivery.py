"""The sandbox delivering to a real slack_bolt AsyncApp, over signed HTTP and over Socket Mode."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import InteractionError, SlackSandbox
from sandbox.delivery import sign

MODAL = {
    "type": "modal",
    "callback_id": "reject",
    "private_metadata": "r1",
    "title": {"type": "plain_text", "text": "Reject"},
    "submit": {"type": "plain_text", "text": "Send"},
    "blocks": [
        {
            "type": "input",
            "block_id": "reason",
            "label": {"type": "plain_text", "text": "Why?"},
            "element": {"type": "plain_text_input", "action_id": "text"},
        }
    ],
}
APPROVAL_BLOCKS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "Report r1 needs approval"}},
    {
        "type": "actions",
        "block_id": "decision",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "value": "r1",
                "text": {"type": "plain_text", "text": "Approve"},
            },
            {"type": "button", "action_id": "reject", "value": "r1", "text": {"type": "plain_text", "text": "Reject"}},
        ],
    },
]


def build_app(sb: SlackSandbox) -> AsyncApp:
    """A small bolt app touching every delivery kind the signoff bot uses."""
    app = AsyncApp(client=AsyncWebClient(base_url=sb.api_url, token=sb.bot_token), signing_secret=sb.signing_secret)

    @app.command("/signoff")
    async def on_command(ack, command, say, respond):
        await ack(f"Working on {command['text']!r}")
        await say(text="Report r1 needs approval", blocks=APPROVAL_BLOCKS)
        await respond("Posted your request")

    @app.action("approve")
    async def on_approve(ack, body, respond):
        await ack()
        await respond(replace_original=True, text=f"Approved by <@{body['user']['id']}>")

    @app.action("reject")
    async def on_reject(ack, body, client):
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=MODAL)

    @app.view("reject")
    async def on_reject_submitted(ack, view, client):
        reason = view["state"]["values"]["reason"]["text"]["value"]
        if not reason:
            await ack(response_action="errors", errors={"reason": "Say why"})
            return
        await ack()
        await client.chat_postMessage(channel="C0GENERAL", text=f"Rejected {view['private_metadata']}: {reason}")

    @app.event("app_home_opened")
    async def on_home(event, client):
        await client.views_publish(
            user_id=event["user"],
            view={"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Welcome"}}]},
        )

    return app


async def serve_over_http(app: AsyncApp) -> tuple[web.AppRunner, str]:
    async def endpoint(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    server = web.Application()
    server.router.add_post("/slack/events", endpoint)
    runner = web.AppRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}/slack/events"


@pytest.fixture(params=["http", "socket_mode"])
async def sb(request) -> AsyncIterator[SlackSandbox]:
    sandbox = SlackSandbox()
    await sandbox.start()
    app = build_app(sandbox)
    if request.param == "http":
        runner, sandbox.request_url = await serve_over_http(app)
        yield sandbox
        await runner.cleanup()
    else:
        handler = AsyncSocketModeHandler(app, app_token=sandbox.app_token)
        await handler.connect_async()
        await sandbox.wait_for(lambda: sandbox.socket_mode.connected, timeout=5)
        yield sandbox
        await handler.close_async()
    await sandbox.stop()


async def post_request(sb: SlackSandbox) -> str:
    """Run /signoff and return the ts of the approval message the app posts."""
    await sb.send_slash_command("U0REQUEST", "/signoff", "report r1")
    [message] = await sb.wait_for(lambda: sb.messages("C0GENERAL"))
    return message["ts"]


async def test_slash_command_ack_say_and_respond_land_in_the_sandbox(sb: SlackSandbox):
    result = await sb.send_slash_command("U0REQUEST", "/signoff", "report r1")
    assert result.acked, result
    assert result.transport == sb.deliveries[-1].transport
    assert result.payload == {"text": "Working on 'report r1'"}

    [message] = await sb.wait_for(lambda: sb.messages("C0GENERAL"))
    assert message["text"] == "Report r1 needs approval"
    assert message["blocks"][1]["elements"][0]["action_id"] == "approve"
    ephemerals = await sb.wait_for(lambda: len(sb.ephemerals("U0REQUEST")) == 2 and sb.ephemerals("U0REQUEST"))
    # The ack's text and the respond() race, as they do in Slack.
    assert sorted(e["text"] for e in ephemerals) == ["Posted your request", "Working on 'report r1'"]
    assert sb.calls_to("response_url")[0].status == 200


async def test_button_click_replaces_the_original_through_response_url(sb: SlackSandbox):
    ts = await post_request(sb)
    result = await sb.click_button("U0APPROV1", "C0GENERAL", ts, "approve")
    assert result.acked, result
    await sb.wait_for(lambda: sb.message("C0GENERAL", ts)["text"].startswith("Approved"))
    assert sb.message("C0GENERAL", ts)["text"] == "Approved by <@U0APPROV1>"
    assert sb.message("C0GENERAL", ts)["blocks"] == []


async def test_clicking_a_button_the_message_lacks_is_refused_unless_forged(sb: SlackSandbox):
    ts = await post_request(sb)
    with pytest.raises(InteractionError):
        await sb.click_button("U0APPROV1", "C0GENERAL", ts, "escalate")
    with pytest.raises(InteractionError):
        await sb.click_button("U0APPROV1", "C0GENERAL", ts, "approve", value="r2")
    forged = await sb.click_button_raw("U0APPROV1", "C0GENERAL", ts, "approve", value="r2")
    assert forged.acked


async def test_modal_opened_from_a_click_validates_then_submits(sb: SlackSandbox):
    ts = await post_request(sb)
    await sb.click_button("U0APPROV2", "C0GENERAL", ts, "reject")
    [view] = await sb.wait_for(lambda: sb.open_views("U0APPROV2"))
    assert view["callback_id"] == "reject"

    refused = await sb.submit_view("U0APPROV2", view["id"], {"reason": {"text": ""}})
    assert refused.payload == {"response_action": "errors", "errors": {"reason": "Say why"}}
    assert [v["id"] for v in sb.open_views("U0APPROV2")] == [view["id"]]

    accepted = await sb.submit_view("U0APPROV2", view["id"], {"reason": {"text": "numbers are off"}})
    assert accepted.acked
    assert sb.open_views("U0APPROV2") == []
    await sb.wait_for(lambda: len(sb.messages("C0GENERAL")) == 2)
    assert sb.messages("C0GENERAL")[-1]["text"] == "Rejected r1: numbers are off"


async def test_app_home_opened_publishes_home(sb: SlackSandbox):
    result = await sb.open_home("U0APPROV1")
    assert result.acked
    home = await sb.wait_for(lambda: sb.home_view("U0APPROV1"))
    assert home["blocks"][0]["text"]["text"] == "Welcome"


async def test_http_delivery_is_signed_like_slack():
    """The request the bot receives verifies with Slack's v0 scheme and carries Slack's fields."""
    received: list[tuple[dict, str]] = []

    async def endpoint(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.text()))
        return web.Response(status=200)

    server = web.Application()
    server.router.add_post("/slack/events", endpoint)
    runner = web.AppRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sb = SlackSandbox(request_url=f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/slack/events")
    await sb.start()
    try:
        result = await sb.send_slash_command("U0APPROV1", "/signoff", "status", channel_id="C0APPROVE")
        [(headers, body)] = received
        timestamp = headers["X-Slack-Request-Timestamp"]
        assert abs(int(timestamp) - time.time()) < 5
        assert headers["X-Slack-Signature"] == sign(sb.signing_secret, timestamp, body)
        form = dict(parse_qsl(body))
        assert form["command"] == "/signoff" and form["text"] == "status"
        assert form["channel_id"] == "C0APPROVE" and form["channel_name"] == "approvals"
        assert form["trigger_id"] == result.trigger_id and form["response_url"] == result.response_url
        assert result.acked and result.payload is None
    finally:
        await sb.stop()
        await runner.cleanup()


async def test_unacknowledged_socket_delivery_times_out():
    sb = SlackSandbox(ack_timeout=0.2)
    await sb.start()
    app = AsyncApp(client=AsyncWebClient(base_url=sb.api_url, token=sb.bot_token), signing_secret=sb.signing_secret)
    handler = AsyncSocketModeHandler(app, app_token=sb.app_token)
    await handler.connect_async()
    try:
        await sb.wait_for(lambda: sb.socket_mode.connected, timeout=5)
        # No listener for this command: bolt answers 404 and sends no ack, so Slack would time out.
        result = await sb.send_slash_command("U0REQUEST", "/unknown")
        assert result.transport == "socket_mode"
        assert result.status is None and not result.acked
    finally:
        await handler.close_async()
        await sb.stop()


async def test_socket_mode_hello_and_ack_shapes():
    """A bare WebSocket client sees Slack's hello and envelope shapes."""
    sb = SlackSandbox()
    await sb.start()
    try:
        async with aiohttp.ClientSession() as session:
            url = (await AsyncWebClient(base_url=sb.api_url).apps_connections_open(app_token=sb.app_token))["url"]
            async with session.ws_connect(url) as ws:
                hello = await ws.receive_json()
                assert hello["type"] == "hello"
                delivery = asyncio.ensure_future(sb.open_home("U0OUTSIDE"))
                envelope = await ws.receive_json()
                assert envelope["type"] == "events_api"
                assert envelope["payload"]["event"]["type"] == "app_home_opened"
                assert envelope["payload"]["event"]["tab"] == "home"
                await ws.send_str(json.dumps({"envelope_id": envelope["envelope_id"]}))
                result = await delivery
                assert result.acked and result.transport == "socket_mode"
            # The ticket in the URL is single-use.
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await session.ws_connect(url)
    finally:
        await sb.stop()
