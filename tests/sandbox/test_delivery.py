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
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from signoff.sandbox import InteractionError, SlackSandbox
from signoff.sandbox.delivery import sign
from tests.support.slack import (
    APPROVALS_CHANNEL,
    APPROVER_1,
    APPROVER_2,
    CHANNEL,
    OUTSIDER,
    REQUESTER,
    stored,
    text_input_modal,
)
from tests.support.web import bolt_app, bolt_handler, over_socket_mode, serving_events

MODAL = text_input_modal("Reject", "Why?", block_id="reason", callback_id="reject", private_metadata="r1")
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
    app = bolt_app(sb)

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
        await client.chat_postMessage(channel=CHANNEL, text=f"Rejected {view['private_metadata']}: {reason}")

    @app.event("app_home_opened")
    async def on_home(event, client):
        await client.views_publish(
            user_id=event["user"],
            view={"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Welcome"}}]},
        )

    return app


@pytest.fixture(params=["http", "socket_mode"])
async def sb(request: pytest.FixtureRequest) -> AsyncIterator[SlackSandbox]:
    async with SlackSandbox() as sandbox:
        app = build_app(sandbox)
        if request.param == "http":
            async with serving_events(bolt_handler(app)) as url:
                sandbox.request_url = url
                yield sandbox
        else:
            async with over_socket_mode(sandbox, app):
                yield sandbox


async def post_request(sb: SlackSandbox) -> str:
    """Run /signoff and return the ts of the approval message the app posts."""
    await sb.send_slash_command(REQUESTER, "/signoff", "report r1")
    [message] = await sb.wait_for(lambda: sb.messages(CHANNEL))
    return message["ts"]


async def test_slash_command_ack_say_and_respond_land_in_the_sandbox(sb: SlackSandbox):
    result = await sb.send_slash_command(REQUESTER, "/signoff", "report r1")
    assert result.acked, result
    assert result.transport == sb.deliveries[-1].transport
    assert result.payload == {"text": "Working on 'report r1'"}

    [message] = await sb.wait_for(lambda: sb.messages(CHANNEL))
    assert message["text"] == "Report r1 needs approval"
    assert message["blocks"][1]["elements"][0]["action_id"] == "approve"
    ephemerals = await sb.wait_for(lambda: len(sb.ephemerals(REQUESTER)) == 2 and sb.ephemerals(REQUESTER))
    # The ack's text and the respond() race, as they do in Slack.
    assert sorted(e["text"] for e in ephemerals) == ["Posted your request", "Working on 'report r1'"]
    assert sb.calls_to("response_url")[0].status == 200


async def test_button_click_replaces_the_original_through_response_url(sb: SlackSandbox):
    ts = await post_request(sb)
    result = await sb.click_button(APPROVER_1, CHANNEL, ts, "approve")
    assert result.acked, result
    await sb.wait_for(lambda: stored(sb, CHANNEL, ts)["text"].startswith("Approved"))
    assert stored(sb, CHANNEL, ts)["text"] == "Approved by <@U0APPROV1>"
    assert stored(sb, CHANNEL, ts)["blocks"] == []


async def test_clicking_a_button_the_message_lacks_is_refused_unless_forged(sb: SlackSandbox):
    ts = await post_request(sb)
    with pytest.raises(InteractionError):
        await sb.click_button(APPROVER_1, CHANNEL, ts, "escalate")
    with pytest.raises(InteractionError):
        await sb.click_button(APPROVER_1, CHANNEL, ts, "approve", value="r2")
    forged = await sb.click_button_raw(APPROVER_1, CHANNEL, ts, "approve", value="r2")
    assert forged.acked


async def test_modal_opened_from_a_click_validates_then_submits(sb: SlackSandbox):
    ts = await post_request(sb)
    await sb.click_button(APPROVER_2, CHANNEL, ts, "reject")
    [view] = await sb.wait_for(lambda: sb.open_views(APPROVER_2))
    assert view["callback_id"] == "reject"

    refused = await sb.submit_view(APPROVER_2, view["id"], {"reason": {"text": ""}})
    assert refused.payload == {"response_action": "errors", "errors": {"reason": "Say why"}}
    assert [v["id"] for v in sb.open_views(APPROVER_2)] == [view["id"]]

    accepted = await sb.submit_view(APPROVER_2, view["id"], {"reason": {"text": "numbers are off"}})
    assert accepted.acked
    assert sb.open_views(APPROVER_2) == []
    await sb.wait_for(lambda: len(sb.messages(CHANNEL)) == 2)
    assert sb.messages(CHANNEL)[-1]["text"] == "Rejected r1: numbers are off"


async def test_app_home_opened_publishes_home(sb: SlackSandbox):
    result = await sb.open_home(APPROVER_1)
    assert result.acked
    home = await sb.wait_for(lambda: sb.home_view(APPROVER_1))
    assert home["blocks"][0]["text"]["text"] == "Welcome"


async def test_http_delivery_is_signed_like_slack():
    """The request the bot receives verifies with Slack's v0 scheme and carries Slack's fields."""
    received: list[tuple[dict, str]] = []

    async def endpoint(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.text()))
        return web.Response(status=200)

    async with serving_events(endpoint) as url, SlackSandbox(request_url=url) as sb:
        before = int(time.time())
        result = await sb.send_slash_command(APPROVER_1, "/signoff", "status", channel_id=APPROVALS_CHANNEL)
        after = time.time()
        [(headers, body)] = received
        timestamp = headers["X-Slack-Request-Timestamp"]
        assert before <= int(timestamp) <= after, "signed with the time it was sent"
        assert headers["X-Slack-Signature"] == sign(sb.signing_secret, timestamp, body)
        form = dict(parse_qsl(body))
        assert form["command"] == "/signoff" and form["text"] == "status"
        assert form["channel_id"] == APPROVALS_CHANNEL and form["channel_name"] == "approvals"
        assert form["trigger_id"] == result.trigger_id and form["response_url"] == result.response_url
        assert result.acked and result.payload is None


async def test_unacknowledged_socket_delivery_times_out():
    async with SlackSandbox(ack_timeout=0.2) as sb, over_socket_mode(sb, bolt_app(sb)):
        # No listener for this command: bolt answers 404 and sends no ack, so Slack would time out.
        result = await sb.send_slash_command(REQUESTER, "/unknown")
        assert result.transport == "socket_mode"
        assert result.status is None and not result.acked


async def test_socket_mode_hello_and_ack_shapes():
    """A bare WebSocket client sees Slack's hello and envelope shapes."""
    async with SlackSandbox() as sb, aiohttp.ClientSession() as session:
        url = (await AsyncWebClient(base_url=sb.api_url).apps_connections_open(app_token=sb.app_token))["url"]
        async with session.ws_connect(url) as ws:
            hello = await ws.receive_json()
            assert hello["type"] == "hello"
            delivery = asyncio.ensure_future(sb.open_home(OUTSIDER))
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
