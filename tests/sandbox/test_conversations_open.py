"""conversations.open in the sandbox, as strict as Slack: a 1:1 DM needs im:write (else missing_scope naming
it), an unknown user is user_not_found, no users nor channel is users_list_not_supplied, a channel that is
not a DM is method_not_supported_for_channel_type; the DM it opens is the one a post to the user id lands in."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError

from signoff.sandbox import SlackSandbox
from signoff.sandbox.directory import DEFAULT_BOT_SCOPES
from tests.support.slack import APPROVER_1, APPROVER_2, CHANNEL, web_client


async def test_opens_the_app_s_dm_with_a_user_and_refuses_as_slack_does(slack: SlackSandbox) -> None:
    client = web_client(slack)
    posted = await client.chat_postMessage(channel=APPROVER_1, text="hello")
    opened = await client.conversations_open(users=[APPROVER_1])
    assert opened["channel"] == {"id": posted["channel"]} and posted["channel"].startswith("D")
    assert opened["already_open"] is True
    resumed = await client.conversations_open(channel=posted["channel"], return_im=True)
    assert resumed["channel"]["id"] == posted["channel"] and resumed["channel"]["is_im"] is True
    for arguments, error in (
        ({"users": "U0NOSUCH0"}, "user_not_found"),
        ({}, "users_list_not_supplied"),
        ({"channel": CHANNEL}, "method_not_supported_for_channel_type"),
        ({"channel": "D0NOSUCH0"}, "channel_not_found"),
        # Several users are a group DM: mpim:write, which the app does not ask for.
        ({"users": f"{APPROVER_1},{APPROVER_2}"}, "missing_scope"),
    ):
        with pytest.raises(SlackApiError) as refused:
            await client.api_call("conversations.open", json=arguments)
        assert refused.value.response["error"] == error, arguments


async def test_a_token_without_im_write_is_missing_scope() -> None:
    async with SlackSandbox(bot_scopes=DEFAULT_BOT_SCOPES - {"im:write"}) as slack:
        with pytest.raises(SlackApiError) as refused:
            await web_client(slack).conversations_open(users=[APPROVER_1])
    assert (refused.value.response["error"], refused.value.response["needed"]) == ("missing_scope", "im:write")
