"""The sandbox's Web API, exercised through the real slack_sdk AsyncWebClient."""

from __future__ import annotations

import json

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from signoff.sandbox import SlackSandbox
from tests.support.slack import (
    APPROVALS_CHANNEL,
    APPROVER_1,
    APPROVER_2,
    CHANNEL,
    LEADS,
    OUTSIDER,
    TEAM,
    home_of,
    stored,
    web_client,
)


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


async def test_auth_test_identifies_the_bot(client: AsyncWebClient):
    response = await client.auth_test()
    assert response["user_id"] == "U0SIGNOFF"
    assert response["bot_id"] == "B0SIGNOFF"
    assert response["team_id"] == TEAM


async def test_wrong_token_is_invalid_auth_and_missing_token_not_authed(sb: SlackSandbox):
    with pytest.raises(SlackApiError) as wrong:
        await AsyncWebClient(base_url=sb.api_url, token="xoxb-wrong").chat_postMessage(channel=CHANNEL, text="hi")
    assert wrong.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as missing:
        await AsyncWebClient(base_url=sb.api_url).auth_test()
    assert missing.value.response["error"] == "not_authed"
    assert sb.messages(CHANNEL) == []


async def test_post_message_stores_blocks_and_metadata_and_reads_back(sb: SlackSandbox, client: AsyncWebClient):
    blocks = [
        section("*Report ready*"),
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "approve",
                    "value": "r1",
                    "text": {"type": "plain_text", "text": "Approve"},
                },
            ],
        },
    ]
    metadata = {"event_type": "signoff_request", "event_payload": {"request_id": "r1"}}
    posted = await client.chat_postMessage(channel=CHANNEL, text="Report ready", blocks=blocks, metadata=metadata)

    assert posted["channel"] == CHANNEL
    assert posted["message"]["text"] == "Report ready"
    assert posted["message"]["blocks"][1]["elements"][0]["action_id"] == "approve"
    assert all("block_id" in b for b in posted["message"]["blocks"])

    plain = await client.conversations_history(channel=CHANNEL)
    assert [m["ts"] for m in plain["messages"]] == [posted["ts"]]
    assert "metadata" not in plain["messages"][0]
    with_metadata = await client.conversations_history(channel=CHANNEL, include_all_metadata=True)
    assert with_metadata["messages"][0]["metadata"] == metadata
    assert sb.messages(CHANNEL)[0]["metadata"] == metadata
    assert sb.calls_to("chat.postMessage")[0].params["blocks"] == blocks


async def test_ts_is_slack_shaped_and_strictly_increasing(client: AsyncWebClient):
    stamps = [(await client.chat_postMessage(channel=CHANNEL, text=str(i)))["ts"] for i in range(5)]
    for ts in stamps:
        seconds, micros = ts.split(".")
        assert len(seconds) == 10 and len(micros) == 6
    assert stamps == sorted(stamps, key=float) and len(set(stamps)) == 5


async def test_thread_replies_and_parent_summary(sb: SlackSandbox, client: AsyncWebClient):
    parent = await client.chat_postMessage(channel=CHANNEL, text="parent")
    first = await client.chat_postMessage(channel=CHANNEL, text="one", thread_ts=parent["ts"])
    # Replying to a reply threads under the original parent, as in Slack.
    await client.chat_postMessage(channel=CHANNEL, text="two", thread_ts=first["ts"])

    replies = await client.conversations_replies(channel=CHANNEL, ts=parent["ts"])
    assert [m["text"] for m in replies["messages"]] == ["parent", "one", "two"]
    assert replies["messages"][0]["reply_count"] == 2
    assert [m["text"] for m in sb.replies(CHANNEL, parent["ts"])] == ["one", "two"]
    history = await client.conversations_history(channel=CHANNEL)
    assert [m["text"] for m in history["messages"]] == ["parent"]
    with pytest.raises(SlackApiError) as missing:
        await client.conversations_replies(channel=CHANNEL, ts="1000000000.000001")
    assert missing.value.response["error"] == "thread_not_found"


async def test_history_paginates_newest_first(client: AsyncWebClient):
    for i in range(5):
        await client.chat_postMessage(channel=CHANNEL, text=f"m{i}")
    first = await client.conversations_history(channel=CHANNEL, limit=2)
    assert [m["text"] for m in first["messages"]] == ["m4", "m3"]
    assert first["has_more"] is True
    second = await client.conversations_history(
        channel=CHANNEL, limit=2, cursor=first["response_metadata"]["next_cursor"]
    )
    assert [m["text"] for m in second["messages"]] == ["m2", "m1"]
    oldest = await client.conversations_history(channel=CHANNEL, oldest=second["messages"][0]["ts"])
    assert [m["text"] for m in oldest["messages"]] == ["m4", "m3"]


async def test_update(sb: SlackSandbox, client: AsyncWebClient):
    posted = await client.chat_postMessage(channel=CHANNEL, text="pending", blocks=[section("pending")])
    updated = await client.chat_update(channel=CHANNEL, ts=posted["ts"], text="approved", blocks=[section("done")])
    assert updated["message"]["edited"]["user"] == "U0SIGNOFF"
    message = stored(sb, CHANNEL, posted["ts"])
    assert message["text"] == "approved" and message["blocks"][0]["text"]["text"] == "done"

    sb.workspace.delete_message(CHANNEL, posted["ts"])  # as a response_url's delete_original does
    assert sb.messages(CHANNEL) == []
    with pytest.raises(SlackApiError) as gone:
        await client.chat_update(channel=CHANNEL, ts=posted["ts"], text="again")
    assert gone.value.response["error"] == "message_not_found"


async def test_ephemeral_is_visible_to_one_user(sb: SlackSandbox, client: AsyncWebClient):
    response = await client.chat_postEphemeral(channel=CHANNEL, user=APPROVER_1, text="only you")
    assert response["message_ts"]
    assert [e["text"] for e in sb.ephemerals(APPROVER_1)] == ["only you"]
    assert sb.ephemerals(APPROVER_2) == []
    assert sb.messages(CHANNEL) == []
    with pytest.raises(SlackApiError) as outside:
        await client.chat_postEphemeral(channel=APPROVALS_CHANNEL, user=OUTSIDER, text="nope")
    assert outside.value.response["error"] == "user_not_in_channel"


async def test_permalink(sb: SlackSandbox, client: AsyncWebClient):
    posted = await client.chat_postMessage(channel=CHANNEL, text="x")
    link = await client.chat_getPermalink(channel=CHANNEL, message_ts=posted["ts"])
    assert link["permalink"] == f"{sb.url}/archives/C0GENERAL/p{posted['ts'].replace('.', '')}"


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"channel": "C0NOPE", "text": "x"}, "channel_not_found"),
        ({"channel": CHANNEL}, "no_text"),
        ({"channel": CHANNEL, "text": "x" * 40_001}, "msg_too_long"),
        ({"channel": CHANNEL, "blocks": [section("x")] * 51}, "invalid_blocks"),
        ({"channel": CHANNEL, "blocks": [section("x" * 3001)]}, "invalid_blocks"),
        ({"channel": CHANNEL, "blocks": [{"text": "no type"}]}, "invalid_blocks"),
        ({"channel": "G0PRIVATE", "text": "x"}, "channel_not_found"),  # a private channel the app is not in
    ],
)
async def test_post_message_errors(client: AsyncWebClient, kwargs: dict, error: str):
    with pytest.raises(SlackApiError) as failure:
        await client.chat_postMessage(**kwargs)
    assert failure.value.response.status_code == 200
    assert failure.value.response["error"] == error


async def test_unknown_thread_ts_is_accepted_like_slack(client: AsyncWebClient):
    response = await client.chat_postMessage(channel=CHANNEL, text="orphan", thread_ts="1000000000.000001")
    assert response["message"]["thread_ts"] == "1000000000.000001"


async def test_channels_and_usergroups(client: AsyncWebClient):
    group = await client.usergroups_users_list(usergroup=LEADS)
    assert group["users"] == [APPROVER_1]

    listed = {c["id"]: c for c in (await client.conversations_list())["channels"]}
    assert listed[CHANNEL]["name"] == "general" and listed[CHANNEL]["is_member"] is True
    assert "G0PRIVATE" not in listed, "a private channel the app is not in is invisible to it"


async def test_views_publish_home(sb: SlackSandbox, client: AsyncWebClient):
    view = {"type": "home", "blocks": [section("Your pending approvals")]}
    first = await client.views_publish(user_id=APPROVER_1, view=view)
    assert first["view"]["id"].startswith("V")
    second = await client.views_publish(user_id=APPROVER_1, view=view, hash=first["view"]["hash"])
    assert second["view"]["id"] == first["view"]["id"]
    assert home_of(sb, APPROVER_1)["blocks"][0]["text"]["text"] == "Your pending approvals"
    with pytest.raises(SlackApiError) as stale:
        await client.views_publish(user_id=APPROVER_1, view=view, hash=first["view"]["hash"])
    assert stale.value.response["error"] == "hash_conflict"


async def test_views_open_needs_a_trigger_issued_by_the_sandbox(sb: SlackSandbox, client: AsyncWebClient):
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Reject"}, "blocks": []}
    with pytest.raises(SlackApiError) as invalid:
        await client.views_open(trigger_id="123.456.forged", view=modal)
    assert invalid.value.response["error"] == "invalid_trigger_id"

    trigger = sb.workspace.issue_trigger(APPROVER_1)
    opened = await client.views_open(trigger_id=trigger, view=modal)
    assert [v["id"] for v in sb.open_views(APPROVER_1)] == [opened["view"]["id"]]
    with pytest.raises(SlackApiError) as reused:
        await client.views_open(trigger_id=trigger, view=modal)
    assert reused.value.response["error"] == "exchanged_trigger_id"

    assert opened["view"]["root_view_id"] == opened["view"]["id"]
    assert opened["view"]["previous_view_id"] is None


async def test_expired_trigger(client: AsyncWebClient):
    sandbox = SlackSandbox(trigger_ttl=0)
    await sandbox.start()
    try:
        trigger = sandbox.workspace.issue_trigger(APPROVER_1)
        modal = {"type": "modal", "title": {"type": "plain_text", "text": "Late"}, "blocks": []}
        with pytest.raises(SlackApiError) as expired:
            await web_client(sandbox).views_open(trigger_id=trigger, view=modal)
        assert expired.value.response["error"] == "expired_trigger_id"
    finally:
        await sandbox.stop()


async def test_files_upload_v2_posts_the_file(sb: SlackSandbox, client: AsyncWebClient):
    response = await client.files_upload_v2(
        channel=CHANNEL, content="report body", filename="report.md", title="Report", initial_comment="attached"
    )
    assert response["file"]["name"] == "report.md"
    assert response["file"]["title"] == "Report"
    file = sb.store.get_file(response["file"]["id"])
    assert file is not None and file.content == b"report body"
    [message] = sb.messages(CHANNEL)
    assert message["text"] == "attached"
    assert message["files"][0]["id"] == response["file"]["id"]


async def test_form_encoded_body_with_json_fields_and_token_param(sb: SlackSandbox):
    blocks = [section("from a form")]
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            sb.api_url + "chat.postMessage",
            data={"token": sb.bot_token, "channel": "#general", "blocks": json.dumps(blocks)},
        ) as response,
    ):
        body = await response.json()
    assert body["ok"] is True, body
    assert sb.messages(CHANNEL)[0]["blocks"][0]["text"]["text"] == "from a form"
    assert "token" not in sb.calls_to("chat.postMessage")[0].params


async def test_apps_connections_open_needs_the_app_token(sb: SlackSandbox, client: AsyncWebClient):
    with pytest.raises(SlackApiError) as wrong_type:
        await client.apps_connections_open(app_token=sb.bot_token)
    assert wrong_type.value.response["error"] == "not_allowed_token_type"
    response = await client.apps_connections_open(app_token=sb.app_token)
    assert response["url"].startswith(sb.url.replace("http://", "ws://") + "/socket?ticket=")
