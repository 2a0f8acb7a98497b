"""Every Web API method the sandbox implements, called through slack_sdk: its success shape and a refusal
real Slack gives, with Slack's error name.

What is already covered in tests/sandbox/test_api.py is not repeated: the success of most methods;
chat.postMessage's refusals; not_authed on auth.test and invalid_auth on chat.postMessage;
user_not_in_channel on chat.postEphemeral; thread_not_found; message_not_found on chat.update;
hash_conflict on views.publish; the trigger refusals of views.open; not_allowed_token_type on
apps.connections.open.

Where the sandbox is kinder than Slack, the test states what Slack does and is a strict xfail: it passes
(and so fails the run) once the sandbox is fixed, and the marker comes off then. Facts are from
shared/reference/slack-behaviour.md and Slack's method reference (arguments and error names).
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

import signoff.sandbox.server
from signoff.sandbox import SlackSandbox
from tests.support.slack import stored

# Where the product calls each method the sandbox implements (the demo page calls none: it uses /ui/api/).
PRODUCT_CALLS = {
    "auth.test": "slack_bolt's single-team authorization, on the bot's first request (bot/app.py builds the AsyncApp)",
    "apps.connections.open": "Socket Mode: bot/server.py socket_mode_handler (`signoff bot`, `signoff dev --slack`)",
    "chat.postMessage": "signoff/activities/slack.py _post and post_ephemeral's DM fallback; bot/replies.py tell()",
    "chat.update": "signoff/activities/slack.py update_thread, update_draft",
    "chat.postEphemeral": "signoff/activities/slack.py post_ephemeral; bot/replies.py tell()",
    "chat.getPermalink": "signoff/activities/slack.py _permalink",
    "conversations.history": "signoff/activities/slack.py _find_posted (top level)",
    "conversations.replies": "signoff/activities/slack.py _find_posted (in a thread)",
    "views.open": "bot/listeners/actions.py open_modal",
    "views.publish": "bot/listeners/home.py refresh_home",
    "conversations.members": "bot/membership.py ChannelMembership: who may see and decide (signoff/contracts/access.py)",
    "conversations.open": "signoff/activities/slack.py _open_dm: a retried DM reminder finds its DM (tests/sandbox/test_conversations_open.py)",
    "functions.completeSuccess": "signoff/activities/workflow_steps.py complete_workflow_step (the step's outputs)",
    "functions.completeError": "signoff/activities/workflow_steps.py complete_workflow_step; Bolt's fail() in bot/listeners/functions.py",
    "chat.startStream": "signoff/activities/progress_stream.py start_progress (tests/sandbox/test_streaming.py)",
    "chat.appendStream": "signoff/activities/progress_stream.py append_progress",
    "chat.stopStream": "signoff/activities/progress_stream.py stop_progress",
}
# Implemented, but nothing in bot/, workflows/, signoff/ or the demo page calls them yet.
UNUSED = {
    "chat.scheduleMessage",  # for the demo's agent
    "chat.scheduledMessages.list",
    "conversations.setTopic",
    "conversations.list",  # a tool will resolve #names with it
    "usergroups.users.list",
    "files.getUploadURLExternal",  # with files.completeUploadExternal: slack_sdk's files_upload_v2
    "files.completeUploadExternal",
}
# Slack methods the sandbox once implemented and dropped because nothing used them: unknown_method now.
REMOVED = (
    "api.test",
    "chat.delete",
    "conversations.info",
    "conversations.join",
    "users.info",
    "users.list",
    "usergroups.list",
    "views.push",
    "views.update",
)
IMPLEMENTED = set(PRODUCT_CALLS) | UNUSED


class NotRefusedAsSlackIs(Exception):
    """A call Slack refuses with a given error that the sandbox answered otherwise."""


def kinder_than_slack(what: str) -> pytest.MarkDecorator:
    """A strict xfail for a refusal Slack gives and the sandbox does not (none today).

    The test calls ``refused_as_slack``; the xfail accepts only its ``NotRefusedAsSlackIs``, so a test
    that breaks in any other way (an assertion, a crash before the call) fails the run.
    """
    return pytest.mark.xfail(strict=True, raises=NotRefusedAsSlackIs, reason=f"sandbox is kinder than Slack: {what}")


# A public channel everyone but the app is in ("invite the app first").
NOT_JOINED = "C0WATERCO"
DAY = 86_400

MODAL = {"type": "modal", "title": {"type": "plain_text", "text": "Reject"}, "blocks": []}
HOME = {"type": "home", "blocks": []}


@pytest.fixture
def client(slack: SlackSandbox) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)


async def refused_raw(call: Awaitable[AsyncSlackResponse]) -> AsyncSlackResponse:
    """The answer to a call refused the way Slack refuses: HTTP 200 and ``ok: false``."""
    with pytest.raises(SlackApiError) as failed:
        await call
    response: AsyncSlackResponse = failed.value.response
    assert response.status_code == 200
    assert response["ok"] is False
    return response


async def refused(call: Awaitable[AsyncSlackResponse]) -> str:
    """The error name of a call refused the way Slack refuses."""
    return str((await refused_raw(call))["error"])


async def refused_as_slack(call: Awaitable[AsyncSlackResponse], error: str) -> None:
    """The call is refused with ``error``, as Slack refuses it; else ``NotRefusedAsSlackIs``."""
    try:
        answer = await call
    except SlackApiError as e:
        answer = e.response
    if (answer.status_code, answer.get("ok"), answer.get("error")) != (200, False, error):
        raise NotRefusedAsSlackIs(f"Slack answers HTTP 200 with error {error!r}; the sandbox: {answer.data!r}")


def by_a_person(slack: SlackSandbox, channel: str, text: str = "from a person") -> str:
    """The ts of a message a workspace member (not the app) posted."""
    return slack.workspace.post_message(channel, text=text, user="U0REQUEST").ts


# -- the inventory, and authentication for every method ------------------------------------


def test_the_sandbox_implements_exactly_the_methods_listed_here(slack: SlackSandbox) -> None:
    assert set(PRODUCT_CALLS).isdisjoint(UNUSED)
    assert set(slack.webapi._methods) == IMPLEMENTED


@pytest.mark.parametrize("method", [*REMOVED, "chat.noSuchMethod"])
async def test_a_method_the_sandbox_does_not_implement_is_unknown_method(
    slack: SlackSandbox, client: AsyncWebClient, method: str
) -> None:
    response = await refused_raw(client.api_call(method, json={"channel": "C0GENERAL"}))
    assert (response["error"], response["req_method"]) == ("unknown_method", method)
    assert [(c.method, c.status) for c in slack.calls] == [(method, 200)]


# chat.postMessage's invalid_auth is in test_api.py.
@pytest.mark.parametrize("method", sorted(IMPLEMENTED - {"chat.postMessage"}))
async def test_a_token_slack_did_not_issue_is_invalid_auth(slack: SlackSandbox, method: str) -> None:
    stranger = AsyncWebClient(token="xoxb-not-issued-by-this-workspace", base_url=slack.api_url)
    assert await refused(stranger.api_call(method, json={})) == "invalid_auth"
    assert [c.method for c in slack.calls] == [method]


# auth.test's not_authed is in test_api.py; apps.connections.open documents missing_args for a missing app token.
@pytest.mark.parametrize("method", sorted(IMPLEMENTED - {"auth.test", "apps.connections.open"}))
async def test_no_token_is_not_authed(slack: SlackSandbox, method: str) -> None:
    anonymous = AsyncWebClient(base_url=slack.api_url)
    assert await refused(anonymous.api_call(method, json={})) == "not_authed"


@pytest.mark.parametrize("method", sorted(set(PRODUCT_CALLS) - {"auth.test", "apps.connections.open"}))
async def test_the_app_level_token_is_not_allowed_for_bot_methods(slack: SlackSandbox, method: str) -> None:
    app_token = AsyncWebClient(token=slack.app_token, base_url=slack.api_url)
    assert await refused(app_token.api_call(method, json={})) == "not_allowed_token_type"


# -- chat.postMessage -------------------------------------------------------------------


async def test_post_message_to_a_user_id_lands_in_the_dm_and_answers_its_id(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="U0REQUEST", text="only for you", unfurl_links=False)
    assert posted["channel"].startswith("D")
    assert posted["message"]["text"] == "only for you"
    assert posted["message"]["bot_id"] == "B0SIGNOFF"
    assert [m["ts"] for m in slack.messages(posted["channel"])] == [posted["ts"]]
    # The answer's channel is what chat.update takes afterwards (a user id it does not).
    await client.chat_update(channel=posted["channel"], ts=posted["ts"], text="edited")
    assert stored(slack, posted["channel"], posted["ts"])["text"] == "edited"


# With chat:write and no chat:write.public (manifest.yml), the app posts only where it is a member.
@pytest.mark.parametrize(
    ("channel", "error"),
    [(NOT_JOINED, "not_in_channel"), ("#watercooler", "not_in_channel"), ("G0PRIVATE", "channel_not_found")],
)
async def test_post_message_where_the_app_is_not_a_member_is_refused(
    slack: SlackSandbox, client: AsyncWebClient, channel: str, error: str
) -> None:
    assert await refused(client.chat_postMessage(channel=channel, text="hello")) == error
    assert slack.messages(channel) == []


# -- chat.update ------------------------------------------------------------------------


async def test_update_answers_channel_ts_and_text_and_keeps_the_metadata(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    metadata = {"event_type": "signoff_post", "event_payload": {"key": "k1"}}
    posted = await client.chat_postMessage(channel="C0GENERAL", text="pending", metadata=metadata)
    updated = await client.chat_update(channel="C0GENERAL", ts=posted["ts"], text="approved")
    assert (updated["channel"], updated["ts"], updated["text"]) == ("C0GENERAL", posted["ts"], "approved")
    assert updated["message"]["text"] == "approved"
    history = await client.conversations_history(channel="C0GENERAL", include_all_metadata=True)
    assert [(m["text"], m.get("metadata")) for m in history["messages"]] == [("approved", metadata)]


async def test_update_of_someone_elses_message_is_cant_update_message(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    ts = by_a_person(slack, "C0GENERAL")
    assert await refused(client.chat_update(channel="C0GENERAL", ts=ts, text="mine now")) == "cant_update_message"
    assert stored(slack, "C0GENERAL", ts)["text"] == "from a person"


async def test_update_with_nothing_to_show_is_no_text(client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C0GENERAL", text="x")
    assert await refused(client.api_call("chat.update", json={"channel": "C0GENERAL", "ts": posted["ts"]})) == "no_text"


# chat.update takes a conversation id (for a DM its D… id), not a channel name or a user id.
@pytest.mark.parametrize("channel", ["general", "U0REQUEST"])
async def test_update_by_a_name_or_a_user_id_is_channel_not_found(client: AsyncWebClient, channel: str) -> None:
    posted = await client.chat_postMessage(channel="C0GENERAL" if channel == "general" else channel, text="x")
    assert await refused(client.chat_update(channel=channel, ts=posted["ts"], text="y")) == "channel_not_found"


# -- chat.postEphemeral -------------------------------------------------------------------


async def test_ephemeral_with_nothing_to_show_is_no_text(slack: SlackSandbox, client: AsyncWebClient) -> None:
    call = client.api_call("chat.postEphemeral", json={"channel": "C0GENERAL", "user": "U0REQUEST"})
    assert await refused(call) == "no_text"
    assert slack.ephemerals() == []


async def test_ephemeral_in_a_public_channel_the_app_is_not_in_is_not_in_channel(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    call = client.chat_postEphemeral(channel=NOT_JOINED, user="U0REQUEST", text="psst")
    assert await refused(call) == "not_in_channel"
    assert slack.ephemerals() == []


# A private channel the app is not in is one it cannot see.
async def test_ephemeral_in_a_private_channel_the_app_is_not_in_is_channel_not_found(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    call = client.chat_postEphemeral(channel="G0PRIVATE", user="U0APPROV1", text="psst")
    assert await refused(call) == "channel_not_found"
    assert slack.ephemerals() == []


# -- chat.getPermalink --------------------------------------------------------------------


async def test_permalink_of_a_reply_names_the_channel_and_the_thread(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    parent = await client.chat_postMessage(channel="C0GENERAL", text="parent")
    reply = await client.chat_postMessage(channel="C0GENERAL", text="reply", thread_ts=parent["ts"])
    link = await client.chat_getPermalink(channel="C0GENERAL", message_ts=reply["ts"])
    assert link["channel"] == "C0GENERAL"
    assert link["permalink"].startswith(f"{slack.url}/archives/C0GENERAL/p{reply['ts'].replace('.', '')}")
    assert f"thread_ts={parent['ts']}" in link["permalink"]


async def test_permalink_refuses_an_unknown_channel_and_an_unknown_message(client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C0GENERAL", text="x")
    assert await refused(client.chat_getPermalink(channel="C0NOPE", message_ts=posted["ts"])) == "channel_not_found"
    call = client.chat_getPermalink(channel="C0GENERAL", message_ts="1000000000.000001")
    assert await refused(call) == "message_not_found"


# chat.getPermalink takes the conversation's id, not its name.
async def test_permalink_by_channel_name_is_channel_not_found(client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C0GENERAL", text="x")
    assert await refused(client.chat_getPermalink(channel="general", message_ts=posted["ts"])) == "channel_not_found"


# -- chat.scheduleMessage and chat.scheduledMessages.list (unused) ---------------------------


def in_a_while(seconds: int = 600) -> int:
    return int(time.time()) + seconds


async def test_schedule_message_answers_slacks_shape_and_posts_when_due(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    post_at = in_a_while()
    scheduled = await client.chat_scheduleMessage(channel="C0GENERAL", post_at=post_at, text="Later *today*")
    assert (scheduled["channel"], scheduled["post_at"]) == ("C0GENERAL", post_at)
    assert re.fullmatch(r"Q[A-Z0-9]{8,}", scheduled["scheduled_message_id"])
    message = scheduled["message"]
    assert (message["type"], message["text"], message["user"]) == ("delayed_message", "Later *today*", "U0SIGNOFF")
    assert (message["bot_id"], message["team"]) == ("B0SIGNOFF", "T0SANDBOX")
    assert slack.messages("C0GENERAL") == []

    assert slack.workspace.deliver_scheduled(now=post_at - 1) == []
    assert slack.messages("C0GENERAL") == []
    [posted] = slack.workspace.deliver_scheduled(now=post_at)
    history = await client.conversations_history(channel="C0GENERAL", include_all_metadata=True)
    [shown] = history["messages"]
    assert (shown["ts"], shown["text"], shown["bot_id"]) == (posted.ts, "Later *today*", "B0SIGNOFF")
    assert "metadata" not in shown
    assert (await client.chat_scheduledMessages_list())["scheduled_messages"] == []
    assert slack.workspace.deliver_scheduled(now=post_at + 60) == [], "posted once"


async def test_a_scheduled_reply_with_blocks_lands_in_its_thread(slack: SlackSandbox, client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel="C0APPROVE", text="parent")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Reminder"}}]
    post_at = in_a_while()
    scheduled = await client.chat_scheduleMessage(
        channel="C0APPROVE", post_at=str(post_at), blocks=blocks, thread_ts=parent["ts"], text="Reminder"
    )
    assert scheduled["post_at"] == post_at
    assert scheduled["message"]["blocks"][0]["text"]["text"] == "Reminder"
    slack.workspace.deliver_scheduled(now=post_at)
    [reply] = slack.replies("C0APPROVE", parent["ts"])
    assert reply["blocks"][0]["text"]["text"] == "Reminder" and reply["thread_ts"] == parent["ts"]


async def test_the_running_sandbox_posts_a_scheduled_message_when_its_time_comes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(signoff.sandbox.server, "SCHEDULED_POLL_SECONDS", 0.01)
    now = [1_800_000_000.0]
    async with SlackSandbox(wall_clock=lambda: now[0]) as sb:
        client = AsyncWebClient(token=sb.bot_token, base_url=sb.api_url)
        await client.chat_scheduleMessage(channel="C0GENERAL", post_at=int(now[0]) + 3600, text="On the hour")
        now[0] += 3600
        [posted] = await sb.wait_for(lambda: sb.messages("C0GENERAL"), timeout=5)
        assert posted["text"] == "On the hour"
        assert sb.scheduled() == []


async def test_a_message_scheduled_with_metadata_is_never_posted_as_in_slack(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    """Slack's documented bug: "Messages scheduled with chat.scheduleMessage will not post if the metadata
    parameter is used." The call succeeds and the message is listed, but it never appears."""
    post_at = in_a_while()
    metadata = {"event_type": "signoff_post", "event_payload": {"key": "k1"}}
    await client.chat_scheduleMessage(channel="C0GENERAL", post_at=post_at, text="with metadata", metadata=metadata)
    [listed] = (await client.chat_scheduledMessages_list(channel="C0GENERAL"))["scheduled_messages"]
    assert listed["text"] == "with metadata"
    assert slack.workspace.deliver_scheduled(now=post_at) == []
    assert slack.messages("C0GENERAL") == []
    assert slack.scheduled() == []


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"post_at": -60}, "time_in_past"),
        ({"post_at": 120 * DAY + 60}, "time_too_far"),
        ({"post_at": "tomorrow"}, "invalid_time"),
        ({"post_at": "1.5"}, "invalid_time"),
        ({"channel": NOT_JOINED}, "not_in_channel"),
        ({"channel": "G0PRIVATE"}, "channel_not_found"),
        ({"channel": "C0NOPE"}, "channel_not_found"),
        ({"text": None}, "no_text"),
        ({"text": "x" * 40_001}, "msg_too_long"),
    ],
    ids=[
        "in-the-past",
        "over-120-days",
        "no-number",
        "fraction",
        "public-not-joined",
        "private-not-in",
        "unknown",
        "nothing",
        "too-long",
    ],
)
async def test_schedule_message_refusals(
    slack: SlackSandbox, client: AsyncWebClient, arguments: dict[str, object], error: str
) -> None:
    call = {"channel": "C0GENERAL", "text": "later", "post_at": 600, **arguments}
    if isinstance(call["post_at"], int):  # seconds from now
        call["post_at"] = int(time.time()) + call["post_at"]
    assert await refused(client.api_call("chat.scheduleMessage", json={k: v for k, v in call.items() if v})) == error
    assert slack.scheduled() == []


async def test_schedule_message_up_to_120_days_ahead_is_accepted(client: AsyncWebClient) -> None:
    scheduled = await client.chat_scheduleMessage(channel="C0GENERAL", post_at=in_a_while(120 * DAY - 60), text="x")
    assert scheduled["ok"] is True


async def test_a_31st_message_within_five_minutes_to_one_channel_is_restricted_too_many(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    start = in_a_while(DAY)
    for i in range(30):
        await client.chat_scheduleMessage(channel="C0GENERAL", post_at=start + i * 9, text=f"m{i}")
    call = client.chat_scheduleMessage(channel="C0GENERAL", post_at=start + 299, text="one too many")
    assert await refused(call) == "restricted_too_many"
    # Five minutes after the first, or in another channel, there is room again.
    await client.chat_scheduleMessage(channel="C0GENERAL", post_at=start + 300 + 30 * 9, text="later")
    await client.chat_scheduleMessage(channel="C0APPROVE", post_at=start + 299, text="elsewhere")
    assert len(slack.scheduled()) == 32


async def test_scheduled_messages_list_filters_by_channel_and_pages(client: AsyncWebClient) -> None:
    soon, later = in_a_while(600), in_a_while(1200)
    first = await client.chat_scheduleMessage(channel="C0GENERAL", post_at=later, text="later")
    second = await client.chat_scheduleMessage(channel="C0GENERAL", post_at=soon, text="soon")
    await client.chat_scheduleMessage(channel="C0APPROVE", post_at=soon, text="elsewhere")

    listed = await client.chat_scheduledMessages_list(channel="C0GENERAL")
    assert listed["response_metadata"] == {"next_cursor": ""}
    assert [(m["id"], m["channel_id"], m["post_at"], m["text"]) for m in listed["scheduled_messages"]] == [
        (second["scheduled_message_id"], "C0GENERAL", soon, "soon"),
        (first["scheduled_message_id"], "C0GENERAL", later, "later"),
    ]
    assert set(listed["scheduled_messages"][0]) == {"id", "channel_id", "post_at", "date_created", "text"}
    assert abs(listed["scheduled_messages"][0]["date_created"] - time.time()) < 60

    everything = (await client.chat_scheduledMessages_list())["scheduled_messages"]
    assert [m["text"] for m in everything] == ["soon", "elsewhere", "later"]
    page = await client.chat_scheduledMessages_list(limit=2)
    assert len(page["scheduled_messages"]) == 2 and page["response_metadata"]["next_cursor"]
    rest = await client.chat_scheduledMessages_list(limit=2, cursor=page["response_metadata"]["next_cursor"])
    assert [m["text"] for m in rest["scheduled_messages"]] == ["later"]
    assert rest["response_metadata"]["next_cursor"] == ""
    window = await client.chat_scheduledMessages_list(oldest=str(soon + 1), latest=str(later))
    assert [m["text"] for m in window["scheduled_messages"]] == ["later"]


@pytest.mark.parametrize("channel", ["C0NOPE", "general"])
async def test_scheduled_messages_list_of_an_unknown_channel_is_invalid_channel(
    client: AsyncWebClient, channel: str
) -> None:
    assert await refused(client.chat_scheduledMessages_list(channel=channel)) == "invalid_channel"


# -- conversations.history ----------------------------------------------------------------


async def test_history_refuses_a_missing_or_unknown_channel_and_a_bad_cursor(client: AsyncWebClient) -> None:
    assert await refused(client.api_call("conversations.history", http_verb="GET", params={})) == "channel_not_found"
    assert await refused(client.conversations_history(channel="C0NOPE")) == "channel_not_found"
    assert await refused(client.conversations_history(channel="C0GENERAL", cursor="not-a-cursor")) == "invalid_cursor"


# conversations.history takes a conversation id, not a name or a user id.
@pytest.mark.parametrize("channel", ["general", "#general", "U0REQUEST"])
async def test_history_by_a_name_or_a_user_id_is_channel_not_found(client: AsyncWebClient, channel: str) -> None:
    assert await refused(client.conversations_history(channel=channel)) == "channel_not_found"


@pytest.mark.parametrize("method", ["conversations.history", "conversations.replies"])
@pytest.mark.parametrize(("bound", "error"), [("oldest", "invalid_ts_oldest"), ("latest", "invalid_ts_latest")])
async def test_a_bound_that_is_no_timestamp_is_invalid_ts(
    client: AsyncWebClient, method: str, bound: str, error: str
) -> None:
    posted = await client.chat_postMessage(channel="C0GENERAL", text="x")
    params = {"channel": "C0GENERAL", "ts": posted["ts"], bound: "yesterday"}
    assert await refused(client.api_call(method, http_verb="GET", params=params)) == error


# -- conversations.replies ----------------------------------------------------------------


async def test_replies_carry_metadata_only_when_asked_and_page_oldest_first(client: AsyncWebClient) -> None:
    def key(name: str) -> dict[str, object]:
        return {"event_type": "signoff_post", "event_payload": {"key": name}}

    parent = await client.chat_postMessage(channel="C0GENERAL", text="parent", metadata=key("parent"))
    for name in ("r1", "r2", "r3"):
        await client.chat_postMessage(channel="C0GENERAL", text=name, thread_ts=parent["ts"], metadata=key(name))

    plain = await client.conversations_replies(channel="C0GENERAL", ts=parent["ts"])
    assert [m["text"] for m in plain["messages"]] == ["parent", "r1", "r2", "r3"]
    assert not any("metadata" in m for m in plain["messages"])

    pages, cursor = [], None
    while True:
        page = await client.conversations_replies(
            channel="C0GENERAL", ts=parent["ts"], include_all_metadata=True, limit=2, cursor=cursor
        )
        pages.append(page["messages"])
        cursor = page["response_metadata"]["next_cursor"]
        assert page["has_more"] is bool(cursor)
        if not cursor:
            break
    assert len(pages) > 1
    assert pages[0][0]["ts"] == parent["ts"]
    replies = [m for page in pages for m in page if m["ts"] != parent["ts"]]
    assert [m["metadata"]["event_payload"]["key"] for m in replies] == ["r1", "r2", "r3"]
    assert all(m["thread_ts"] == parent["ts"] for m in replies)


async def test_replies_keep_to_oldest_and_latest_exclusively_unless_inclusive_and_always_start_with_the_parent(
    client: AsyncWebClient,
) -> None:
    parent = await client.chat_postMessage(channel="C0GENERAL", text="parent")
    ts = [
        (await client.chat_postMessage(channel="C0GENERAL", text=f"r{i}", thread_ts=parent["ts"]))["ts"]
        for i in range(4)
    ]

    async def texts(**window: Any) -> list[str]:
        answer = await client.conversations_replies(channel="C0GENERAL", ts=parent["ts"], **window)
        return [m["text"] for m in answer["messages"]]

    # Slack lists the parent first whatever the window (readers of a window drop it by position).
    assert await texts(oldest=ts[1]) == ["parent", "r2", "r3"]
    assert await texts(oldest=ts[1], inclusive=True) == ["parent", "r1", "r2", "r3"]
    assert await texts(oldest=ts[0], latest=ts[3]) == ["parent", "r1", "r2"]
    assert await texts(oldest=ts[0], latest=ts[3], inclusive=True) == ["parent", "r0", "r1", "r2", "r3"]
    assert await texts(oldest=ts[3]) == ["parent"]
    # A page after the first holds replies only, still within the window.
    first = await client.conversations_replies(channel="C0GENERAL", ts=parent["ts"], oldest=ts[0], limit=2)
    assert [m["text"] for m in first["messages"]] == ["parent", "r1"]
    cursor = first["response_metadata"]["next_cursor"]
    assert await texts(oldest=ts[0], latest=ts[3], limit=2, cursor=cursor) == ["r2"]


async def test_replies_in_an_unknown_channel_is_channel_not_found(client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C0GENERAL", text="x")
    assert await refused(client.conversations_replies(channel="C0NOPE", ts=posted["ts"])) == "channel_not_found"


# A bot token reads only the history and threads of conversations the app is in; a private one it is
# not in it cannot even see.
@pytest.mark.parametrize("method", ["conversations.history", "conversations.replies"])
@pytest.mark.parametrize(("channel", "error"), [(NOT_JOINED, "not_in_channel"), ("G0PRIVATE", "channel_not_found")])
async def test_reading_a_channel_the_app_is_not_in_is_refused(
    slack: SlackSandbox, client: AsyncWebClient, method: str, channel: str, error: str
) -> None:
    ts = slack.workspace.post_message(channel, text="from a member", user="U0APPROV1").ts
    call = client.api_call(method, http_verb="GET", params={"channel": channel, "ts": ts})
    assert await refused(call) == error


# conversations.replies takes a conversation id, not a name.
async def test_replies_by_channel_name_is_channel_not_found(client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C0GENERAL", text="x")
    assert await refused(client.conversations_replies(channel="general", ts=posted["ts"])) == "channel_not_found"


# Slack: thread_not_found, "Value for ts was missing or invalid".
async def test_replies_without_a_ts_is_thread_not_found(client: AsyncWebClient) -> None:
    call = client.api_call("conversations.replies", http_verb="GET", params={"channel": "C0GENERAL"})
    assert await refused(call) == "thread_not_found"


# -- conversations.setTopic (unused) ------------------------------------------------------


async def test_set_topic_answers_the_channel_updates_it_everywhere_and_says_so_in_the_channel(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    answer = await client.conversations_setTopic(channel="C0APPROVE", topic="Reports waiting for sign-off")
    channel = answer["channel"]
    assert (channel["id"], channel["name"], channel["is_member"]) == ("C0APPROVE", "approvals", True)
    topic = channel["topic"]
    assert (topic["value"], topic["creator"]) == ("Reports waiting for sign-off", "U0SIGNOFF")
    assert abs(topic["last_set"] - time.time()) < 60

    listed = {c["id"]: c for c in (await client.conversations_list())["channels"]}
    assert listed["C0APPROVE"]["topic"] == topic
    async with aiohttp.ClientSession() as http, http.get(slack.url + "/ui/api/workspace") as response:
        page = {c["id"]: c for c in (await response.json())["channels"]}
    assert page["C0APPROVE"]["topic"] == "Reports waiting for sign-off"

    [said] = (await client.conversations_history(channel="C0APPROVE"))["messages"]
    assert (said["type"], said["subtype"], said["user"]) == ("message", "channel_topic", "U0SIGNOFF")
    assert said["text"] == "set the channel topic: Reports waiting for sign-off"
    assert said["topic"] == "Reports waiting for sign-off"


async def test_a_topic_of_250_characters_is_fine_and_251_too_long(slack: SlackSandbox, client: AsyncWebClient) -> None:
    await client.conversations_setTopic(channel="C0GENERAL", topic="x" * 250)
    assert await refused(client.conversations_setTopic(channel="C0GENERAL", topic="y" * 251)) == "too_long"
    assert slack.directory.channels["C0GENERAL"].topic == "x" * 250
    assert len(slack.messages("C0GENERAL")) == 1


@pytest.mark.parametrize(
    ("channel", "error"),
    [
        (NOT_JOINED, "not_in_channel"),
        ("G0PRIVATE", "channel_not_found"),
        ("C0NOPE", "channel_not_found"),
        ("general", "channel_not_found"),
        ("D0REQUEST", "method_not_supported_for_channel_type"),
    ],
)
async def test_set_topic_refusals(slack: SlackSandbox, client: AsyncWebClient, channel: str, error: str) -> None:
    before = {c.id: c.topic for c in slack.directory.channels.values()}
    assert await refused(client.conversations_setTopic(channel=channel, topic="New")) == error
    assert {c.id: c.topic for c in slack.directory.channels.values() if c.id in before} == before


@pytest.fixture
async def on_disk(tmp_path: Path) -> AsyncIterator[str]:
    yield str(tmp_path / "sandbox.sqlite3")


async def test_a_topic_and_a_schedule_outlive_a_restart(on_disk: str) -> None:
    post_at = in_a_while()
    async with SlackSandbox(on_disk) as first:
        client = AsyncWebClient(token=first.bot_token, base_url=first.api_url)
        await client.conversations_setTopic(channel="C0GENERAL", topic="Kept")
        await client.chat_scheduleMessage(channel="C0GENERAL", post_at=post_at, text="Still due")
    async with SlackSandbox(on_disk) as second:
        client = AsyncWebClient(token=second.bot_token, base_url=second.api_url)
        listed = {c["id"]: c for c in (await client.conversations_list())["channels"]}
        assert listed["C0GENERAL"]["topic"]["value"] == "Kept"
        [scheduled] = (await client.chat_scheduledMessages_list())["scheduled_messages"]
        assert (scheduled["text"], scheduled["post_at"]) == ("Still due", post_at)


# -- usergroups.users.list (unused) ----------------------------------------------------------------


async def test_usergroups_users_list_of_an_unknown_group_is_no_such_subteam(client: AsyncWebClient) -> None:
    assert await refused(client.usergroups_users_list(usergroup="S0NOPE")) == "no_such_subteam"


# -- views.* ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "view",
    [
        {**MODAL, "title": None},
        {**MODAL, "title": {"type": "plain_text", "text": "x" * 25}},
        HOME,
    ],
    ids=["no-title", "title-over-24", "home-type"],
)
async def test_views_open_refuses_a_view_slack_would_refuse(
    slack: SlackSandbox, client: AsyncWebClient, view: dict[str, object]
) -> None:
    trigger = slack.workspace.issue_trigger("U0APPROV1")
    assert await refused(client.views_open(trigger_id=trigger, view=view)) == "invalid_arguments"
    assert slack.open_views("U0APPROV1") == []


async def test_views_publish_of_a_modal_is_invalid_arguments(slack: SlackSandbox, client: AsyncWebClient) -> None:
    assert await refused(client.views_publish(user_id="U0APPROV1", view=MODAL)) == "invalid_arguments"
    assert slack.home_view("U0APPROV1") is None


# -- files.* (unused) ---------------------------------------------------------------------


async def test_complete_upload_of_an_unknown_file_is_file_not_found(
    slack: SlackSandbox, client: AsyncWebClient
) -> None:
    call = client.files_completeUploadExternal(files=[{"id": "F0NOPE"}], channel_id="C0GENERAL")
    assert await refused(call) == "file_not_found"
    assert slack.messages("C0GENERAL") == []


# Sharing a file is posting: only where the app is a member, and channel_id is a conversation id.
@pytest.mark.parametrize(
    ("channel", "error"),
    [(NOT_JOINED, "not_in_channel"), ("G0PRIVATE", "channel_not_found"), ("U0REQUEST", "invalid_arguments")],
)
async def test_sharing_a_file_where_the_app_is_not_a_member_is_refused(
    slack: SlackSandbox, client: AsyncWebClient, channel: str, error: str
) -> None:
    with pytest.raises(SlackApiError) as failed:
        await client.files_upload_v2(channel=channel, content="body", filename="report.md")
    assert failed.value.response["error"] == error
    assert slack.messages(channel) == []


async def test_upload_url_for_an_empty_length_is_missing_argument(client: AsyncWebClient) -> None:
    assert await refused(client.files_getUploadURLExternal(filename="empty.txt", length=0)) == "missing_argument"
