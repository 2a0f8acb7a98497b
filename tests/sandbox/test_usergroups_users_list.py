"""usergroups.users.list in the sandbox, as strict as Slack: the bot token needs usergroups:read (else
missing_scope naming it), an unknown group is no_such_subteam, the group argument is required."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError

from signoff.sandbox import SlackSandbox
from signoff.sandbox.directory import DEFAULT_BOT_SCOPES
from tests.support.slack import LEADS, web_client


async def test_a_group_s_members_and_slack_s_refusals(slack: SlackSandbox) -> None:
    client = web_client(slack)
    assert (await client.usergroups_users_list(usergroup=LEADS))["users"] == ["U0APPROV1"]
    with pytest.raises(SlackApiError) as unknown:
        await client.usergroups_users_list(usergroup="S0NOSUCH0")
    assert unknown.value.response["error"] == "no_such_subteam"
    with pytest.raises(SlackApiError) as missing:
        await client.api_call("usergroups.users.list", params={})
    assert missing.value.response["error"] == "invalid_arguments"


async def test_a_token_without_usergroups_read_is_missing_scope() -> None:
    scopes = DEFAULT_BOT_SCOPES - {"usergroups:read"}
    async with SlackSandbox(bot_scopes=scopes) as slack:
        with pytest.raises(SlackApiError) as refused:
            await web_client(slack).usergroups_users_list(usergroup=LEADS)
    assert (refused.value.response["error"], refused.value.response["needed"]) == ("missing_scope", "usergroups:read")
