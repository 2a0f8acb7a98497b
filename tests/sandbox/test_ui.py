"""The sandbox page's server side, without a browser: static files, JSON views, actions, live events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from signoff.sandbox import SlackSandbox
from signoff.sandbox.web import STATIC
from tests.support.slack import (
    APPROVALS_CHANNEL,
    APPROVER_1,
    CHANNEL,
    LEADS,
    OUTSIDER,
    REQUESTER,
    home_of,
    text_input_modal,
    web_client,
)
from tests.support.web import RecordingApp


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def bot(slack: SlackSandbox) -> AsyncWebClient:
    return web_client(slack)


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, dict]:
    async with http.get(url) as response:
        return response.status, await response.json()


async def post(http: aiohttp.ClientSession, url: str, body: object) -> tuple[int, dict]:
    async with http.post(url, json=body) as response:
        return response.status, await response.json()


# -- the page ------------------------------------------------------------------


async def test_page_and_its_static_files_are_served_locally(slack: SlackSandbox, http: aiohttp.ClientSession) -> None:
    async with http.get(slack.url + "/") as response:
        assert response.status == 200 and response.content_type == "text/html"
        html = await response.text()
    assert 'data-testid="user-switch"' in html and 'data-testid="composer"' in html
    assert "http://" not in html and "https://" not in html, "no CDN: everything comes from the sandbox"
    # Every script is an ES module, which a browser runs only when served as JavaScript.
    scripts = sorted(path.name for path in STATIC.glob("*.js"))
    assert {"app.js", "mrkdwn.js"} <= set(scripts)
    for name, kind in [*((script, "text/javascript") for script in scripts), ("app.css", "text/css")]:
        async with http.get(f"{slack.url}/static/{name}") as response:
            assert response.status == 200 and response.content_type == kind, name
            assert "innerHTML" not in await response.text(), f"{name} builds the DOM with textContent only"
    for bad in ("/static/nope.js", "/static/..%2Fweb.py", "/static/.hidden"):
        async with http.get(slack.url + bad) as response:
            assert response.status == 404, bad


async def test_workspace_lists_people_channels_groups_and_dms(slack: SlackSandbox, http: aiohttp.ClientSession) -> None:
    status, info = await get(http, slack.url + "/ui/api/workspace")
    assert status == 200
    assert [u["real_name"] for u in info["users"]] == [
        "Riley Requester",
        "Avery Approver",
        "Blake Approver",
        "Oscar Outsider",
    ]
    assert {c["name"] for c in info["channels"]} == {
        "general",
        "approvals",
        "random",
        "watercooler",
        "leads-private",
        "project-private",
    }
    assert info["usergroups"][LEADS]["handle"] == "leads"
    assert info["all_users"]["U0SIGNOFF"]["is_bot"] is True
    assert info["ims"][REQUESTER] == "D0REQUEST"


# -- reading, per person ------------------------------------------------------------------


async def test_channel_view_shows_each_person_only_their_ephemerals(
    slack: SlackSandbox, http: aiohttp.ClientSession, bot: AsyncWebClient
) -> None:
    parent = await bot.chat_postMessage(channel=CHANNEL, text="Parent")
    await bot.chat_postMessage(channel=CHANNEL, thread_ts=parent["ts"], text="Reply")
    await bot.chat_postEphemeral(channel=CHANNEL, user=REQUESTER, text="For Riley")
    await bot.chat_postEphemeral(
        channel=CHANNEL, user=REQUESTER, text="For Riley in the thread", thread_ts=parent["ts"]
    )
    await bot.chat_postEphemeral(channel=CHANNEL, user=APPROVER_1, text="For Avery")

    _, riley = await get(http, f"{slack.url}/ui/api/channels/C0GENERAL?user={REQUESTER}")
    assert [m["text"] for m in riley["messages"]] == ["Parent"] and riley["messages"][0]["reply_count"] == 1
    assert [e["text"] for e in riley["ephemerals"]] == ["For Riley"]
    _, avery = await get(http, f"{slack.url}/ui/api/channels/C0GENERAL?user={APPROVER_1}")
    assert [e["text"] for e in avery["ephemerals"]] == ["For Avery"]

    _, thread = await get(http, f"{slack.url}/ui/api/channels/C0GENERAL/threads/{parent['ts']}?user={REQUESTER}")
    assert [m["text"] for m in thread["messages"]] == ["Parent", "Reply"]
    assert [e["text"] for e in thread["ephemerals"]] == ["For Riley in the thread"]


async def test_private_channels_and_others_dms_are_refused(slack: SlackSandbox, http: aiohttp.ClientSession) -> None:
    status, _ = await get(http, f"{slack.url}/ui/api/channels/G0PRIVATE?user={OUTSIDER}")
    assert status == 403
    status, _ = await get(http, f"{slack.url}/ui/api/channels/D0REQUEST?user={OUTSIDER}")
    assert status == 403
    status, _ = await get(http, f"{slack.url}/ui/api/channels/G0PRIVATE?user={APPROVER_1}")
    assert status == 200
    status, body = await get(http, f"{slack.url}/ui/api/channels/C0NOPE?user={APPROVER_1}")
    assert status == 404 and body["error"] == "channel_not_found"
    status, _ = await get(http, f"{slack.url}/ui/api/channels/C0GENERAL?user=U0SIGNOFF")
    assert status == 404, "the page acts as people, not as the bot"


async def test_views_are_per_person(slack: SlackSandbox, http: aiohttp.ClientSession, bot: AsyncWebClient) -> None:
    await bot.views_publish(user_id=APPROVER_1, view={"type": "home", "blocks": []})
    trigger = slack.workspace.issue_trigger(APPROVER_1)
    await bot.views_open(
        trigger_id=trigger, view={"type": "modal", "title": {"type": "plain_text", "text": "M"}, "blocks": []}
    )
    _, avery = await get(http, f"{slack.url}/ui/api/views?user={APPROVER_1}")
    assert avery["home"]["type"] == "home" and [v["type"] for v in avery["modals"]] == ["modal"]
    _, riley = await get(http, f"{slack.url}/ui/api/views?user={REQUESTER}")
    assert riley == {"modals": [], "home": None}


# -- acting ------------------------------------------------------------------


async def test_composer_posts_text_escaped_as_the_person(slack: SlackSandbox, http: aiohttp.ClientSession) -> None:
    status, body = await post(
        http, slack.url + "/ui/api/post", {"user": REQUESTER, "channel": CHANNEL, "text": "Hi <@U0APPROV1> & <b>"}
    )
    assert status == 200 and body["ok"]
    [message] = slack.messages(CHANNEL)
    assert message["user"] == REQUESTER and "bot_id" not in message
    assert message["text"] == "Hi &lt;@U0APPROV1&gt; &amp; &lt;b&gt;", "typed text is never markup"
    await post(
        http,
        slack.url + "/ui/api/post",
        {"user": APPROVER_1, "channel": CHANNEL, "text": "Reply", "thread_ts": body["ts"]},
    )
    assert [r["text"] for r in slack.replies(CHANNEL, body["ts"])] == ["Reply"]
    status, _ = await post(http, slack.url + "/ui/api/post", {"user": OUTSIDER, "channel": "G0PRIVATE", "text": "x"})
    assert status == 403
    status, _ = await post(http, slack.url + "/ui/api/post", {"user": OUTSIDER, "channel": CHANNEL, "text": "  "})
    assert status == 400


async def test_composer_sends_slash_commands_to_the_app(
    slack: SlackSandbox, http: aiohttp.ClientSession, app: RecordingApp
) -> None:
    app.answer = {"text": "On it"}
    status, body = await post(
        http,
        slack.url + "/ui/api/post",
        {"user": APPROVER_1, "channel": APPROVALS_CHANNEL, "text": "/report  Solar <farms>"},
    )
    assert status == 200 and body["acked"] and body["payload"] == {"text": "On it"}
    [sent] = app.received
    assert (sent["command"], sent["text"], sent["user_id"], sent["channel_id"]) == (
        "/report",
        "Solar <farms>",
        APPROVER_1,
        APPROVALS_CHANNEL,
    )
    assert [e["text"] for e in slack.ephemerals(APPROVER_1)] == ["On it"]
    assert slack.messages(APPROVALS_CHANNEL) == []


async def test_slash_command_without_an_app_says_so(slack: SlackSandbox, http: aiohttp.ClientSession) -> None:
    status, body = await post(
        http, slack.url + "/ui/api/post", {"user": REQUESTER, "channel": CHANNEL, "text": "/plan x"}
    )
    assert status == 503 and "not connected" in body["error"]


async def test_clicks_reach_the_app_from_messages_and_views(
    slack: SlackSandbox, http: aiohttp.ClientSession, app: RecordingApp, bot: AsyncWebClient
) -> None:
    button = {
        "type": "button",
        "action_id": "approve",
        "value": "v1",
        "text": {"type": "plain_text", "text": "Approve"},
    }
    posted = await bot.chat_postMessage(
        channel=CHANNEL, text="Draft", blocks=[{"type": "actions", "elements": [button]}]
    )
    status, body = await post(
        http,
        slack.url + "/ui/api/click",
        {"user": APPROVER_1, "channel": CHANNEL, "ts": posted["ts"], "action_id": "approve"},
    )
    assert status == 200 and body["acked"]
    assert app.received[-1]["container"]["message_ts"] == posted["ts"]
    assert app.received[-1]["actions"][0]["value"] == "v1"

    status, body = await post(
        http,
        slack.url + "/ui/api/click",
        {"user": APPROVER_1, "channel": CHANNEL, "ts": posted["ts"], "action_id": "nope"},
    )
    assert status == 409 and "no button" in body["error"]

    # Two buttons with the same action_id on the App Home: the one clicked (by value) is sent.
    home_buttons = [{**button, "value": "wf-1"}, {**button, "value": "wf-2"}]
    await bot.views_publish(
        user_id=APPROVER_1,
        view={
            "type": "home",
            "blocks": [
                {"type": "actions", "block_id": "a", "elements": [home_buttons[0]]},
                {"type": "actions", "block_id": "b", "elements": [home_buttons[1]]},
            ],
        },
    )
    home = home_of(slack, APPROVER_1)
    status, body = await post(
        http,
        slack.url + "/ui/api/click",
        {
            "user": APPROVER_1,
            "view_id": home["id"],
            "block_id": "b",
            "action_id": "approve",
            "value": "wf-2",
        },
    )
    assert status == 200 and body["acked"]
    sent = app.received[-1]
    assert sent["container"] == {"type": "view", "view_id": home["id"]}
    assert sent["actions"][0]["value"] == "wf-2" and sent["view"]["id"] == home["id"]
    assert slack.deliveries[-1].kind == "interactive"
    status, _ = await post(
        http,
        slack.url + "/ui/api/click",
        {
            "user": REQUESTER,
            "view_id": home["id"],
            "action_id": "approve",
        },
    )
    assert status == 409, "nobody clicks in someone else's Home"


async def test_modal_submit_errors_then_close(
    slack: SlackSandbox, http: aiohttp.ClientSession, app: RecordingApp, bot: AsyncWebClient
) -> None:
    trigger = slack.workspace.issue_trigger(APPROVER_1)
    opened = await bot.views_open(
        trigger_id=trigger,
        view=text_input_modal("Notes", "Notes", block_id="notes"),
    )
    view_id = opened["view"]["id"]
    app.answer = {"response_action": "errors", "errors": {"notes": "Too short"}}
    status, body = await post(
        http, slack.url + "/ui/api/submit", {"user": APPROVER_1, "view_id": view_id, "values": {"notes": {"text": "x"}}}
    )
    assert status == 200 and body["payload"]["errors"] == {"notes": "Too short"}
    assert app.received[-1]["view"]["state"]["values"]["notes"]["text"]["value"] == "x"
    assert slack.open_views(APPROVER_1)
    status, body = await post(http, slack.url + "/ui/api/submit", {"user": REQUESTER, "view_id": view_id, "values": {}})
    assert status == 409
    status, body = await post(http, slack.url + "/ui/api/close", {"user": APPROVER_1, "view_id": view_id})
    assert status == 200 and body == {"ok": True, "acked": None}
    assert not slack.open_views(APPROVER_1)


async def test_opening_home_sends_app_home_opened(
    slack: SlackSandbox, http: aiohttp.ClientSession, app: RecordingApp
) -> None:
    status, body = await post(http, slack.url + "/ui/api/home", {"user": OUTSIDER})
    assert status == 200 and body["acked"]
    assert app.received[-1]["event"]["type"] == "app_home_opened" and app.received[-1]["event"]["user"] == OUTSIDER


async def test_bad_requests(slack: SlackSandbox, http: aiohttp.ClientSession) -> None:
    not_json = {"Content-Type": "application/json"}
    async with http.post(slack.url + "/ui/api/post", data=b"not json", headers=not_json) as response:
        assert response.status == 400
    status, _ = await post(http, slack.url + "/ui/api/post", ["a list"])
    assert status == 400
    status, _ = await post(http, slack.url + "/ui/api/home", {"user": "U0NOBODY"})
    assert status == 404


# -- live events ------------------------------------------------------------------


async def read_events(response: aiohttp.ClientResponse, count: int, timeout: float = 5) -> list[tuple[str, dict]]:
    events: list[tuple[str, dict]] = []
    name, data = None, None

    async def read() -> None:
        nonlocal name, data
        while len(events) < count:
            line = (await response.content.readline()).decode()
            if not line:
                raise AssertionError(f"the stream ended after {events}")
            line = line.rstrip("\n")
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data = json.loads(line[len("data: ") :])
            elif line == "" and name:
                events.append((name, data or {}))
                name, data = None, None

    await asyncio.wait_for(read(), timeout)
    return events


async def test_every_change_is_pushed_live(
    slack: SlackSandbox, http: aiohttp.ClientSession, bot: AsyncWebClient
) -> None:
    async with http.get(slack.url + "/ui/events") as response:
        assert response.content_type == "text/event-stream"
        [(name, _)] = await read_events(response, 1)
        assert name == "hello"
        posted = await bot.chat_postMessage(channel=CHANNEL, text="New")
        await bot.chat_update(channel=CHANNEL, ts=posted["ts"], text="Edited")
        await bot.chat_postMessage(channel=CHANNEL, text="Reply", thread_ts=posted["ts"])
        await bot.chat_postEphemeral(channel=CHANNEL, user=OUTSIDER, text="Psst")
        await bot.views_publish(user_id=APPROVER_1, view={"type": "home", "blocks": []})
        trigger = slack.workspace.issue_trigger(REQUESTER)
        opened = await bot.views_open(
            trigger_id=trigger, view={"type": "modal", "title": {"type": "plain_text", "text": "M"}, "blocks": []}
        )
        slack.workspace.close_views(REQUESTER, all_views=True)
        slack.workspace.delete_message(CHANNEL, posted["ts"])
        events = [data for _, data in await read_events(response, 8)]
    assert [e["kind"] for e in events] == [
        "message",
        "message",
        "message",
        "ephemeral",
        "view",
        "view",
        "view",
        "message",
    ]
    assert events[0] == {"kind": "message", "channel": CHANNEL, "ts": posted["ts"], "thread_ts": None}
    assert events[2]["thread_ts"] == posted["ts"]
    assert events[3]["recipient"] == OUTSIDER
    assert events[4] == {"kind": "view", "user": APPROVER_1, "view_id": events[4]["view_id"], "view_kind": "home"}
    assert events[5]["view_id"] == events[6]["view_id"] == opened["view"]["id"] and events[6]["user"] == REQUESTER
    assert events[7].get("deleted") is True


async def test_stop_ends_open_event_streams(http: aiohttp.ClientSession) -> None:
    sandbox = SlackSandbox()
    await sandbox.start()
    async with http.get(sandbox.url + "/ui/events") as response:
        await read_events(response, 1)
        await asyncio.wait_for(sandbox.stop(), 3)
        assert await asyncio.wait_for(response.content.read(), 3) == b""


async def test_a_broken_listener_does_not_break_writes(slack: SlackSandbox, bot: AsyncWebClient) -> None:
    def broken(kind: str, details: dict) -> None:
        raise RuntimeError("boom")

    slack.store.listeners.insert(0, broken)
    assert (await bot.chat_postMessage(channel=CHANNEL, text="Still posted"))["ok"]
    assert [m["text"] for m in slack.messages(CHANNEL)] == ["Still posted"]


async def test_the_page_shows_the_same_state_after_a_restart(tmp_path, http: aiohttp.ClientSession) -> None:
    db = str(tmp_path / "sandbox.sqlite3")
    first = SlackSandbox(db)
    await first.start()
    client = web_client(first)
    await client.chat_postMessage(channel=CHANNEL, text="Before the restart")
    await client.chat_postEphemeral(channel=CHANNEL, user=REQUESTER, text="Only Riley")
    await first.stop()
    second = SlackSandbox(db)
    await second.start()
    try:
        _, view = await get(http, f"{second.url}/ui/api/channels/C0GENERAL?user={REQUESTER}")
    finally:
        await second.stop()
    assert [m["text"] for m in view["messages"]] == ["Before the restart"]
    assert [e["text"] for e in view["ephemerals"]] == ["Only Riley"]
