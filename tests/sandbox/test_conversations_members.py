"""conversations.members in the sandbox, as strict as Slack: pages with a cursor, channel_not_found for a
conversation the app cannot see, missing_scope (with needed and provided) when the token lacks the scope."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from signoff.sandbox import SlackSandbox
from signoff.sandbox.directory import BOT_USER_ID, DEFAULT_BOT_SCOPES, DEFAULT_CHANNELS, DEFAULT_USERS
from tests.support.slack import web_client

PROJECT = "G0PROJECT"
OSCAR = "U0OUTSIDE"


async def members(client: AsyncWebClient, channel: str, limit: int) -> tuple[list[str], int]:
    """Every member, page by page (slack_sdk follows next_cursor); and how many pages it took."""
    found: list[str] = []
    pages = 0
    async for page in await client.conversations_members(channel=channel, limit=limit):
        found += page["members"]
        pages += 1
    return found, pages


async def test_members_of_a_public_and_a_private_channel_in_cursor_pages(client: AsyncWebClient) -> None:
    everyone, pages = await members(client, "C0GENERAL", limit=2)
    assert sorted(everyone) == sorted([u.id for u in DEFAULT_USERS] + [BOT_USER_ID]) and pages == 3
    project, _ = await members(client, PROJECT, limit=100)
    assert OSCAR not in project and {"U0REQUEST", "U0APPROV1", BOT_USER_ID} <= set(project)


async def test_a_public_channel_the_app_is_not_in_still_answers(client: AsyncWebClient) -> None:
    found, _ = await members(client, "C0WATERCO", limit=100)
    assert BOT_USER_ID not in found and OSCAR in found


@pytest.mark.parametrize("channel", ["G0PRIVATE", "C0NOSUCH00", "#general", ""])
async def test_a_conversation_the_app_cannot_see_or_a_name_is_channel_not_found(
    client: AsyncWebClient, channel: str
) -> None:
    with pytest.raises(SlackApiError) as refused:
        await client.conversations_members(channel=channel)
    assert refused.value.response["error"] == "channel_not_found"


async def test_a_forged_cursor_is_invalid_cursor(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as refused:
        await client.conversations_members(channel="C0GENERAL", cursor="not-a-cursor!")
    assert refused.value.response["error"] == "invalid_cursor"


@pytest.mark.parametrize(("channel", "needed"), [(PROJECT, "groups:read"), ("C0GENERAL", "channels:read")])
async def test_a_token_without_the_scope_is_missing_scope_naming_it(channel: str, needed: str) -> None:
    scopes = DEFAULT_BOT_SCOPES - {needed}
    async with SlackSandbox(bot_scopes=scopes) as slack:
        with pytest.raises(SlackApiError) as refused:
            await web_client(slack).conversations_members(channel=channel)
    response = refused.value.response
    assert (response["error"], response["needed"]) == ("missing_scope", needed)
    assert set(response["provided"].split(",")) == scopes


async def test_a_dm_needs_im_read_which_the_app_does_not_ask_for(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as refused:
        await client.conversations_members(channel="D0REQUEST")
    assert (refused.value.response["error"], refused.value.response["needed"]) == ("missing_scope", "im:read")


def test_the_project_channel_is_private_with_the_app_and_without_oscar() -> None:
    project = next(c for c in DEFAULT_CHANNELS if c.id == PROJECT)
    assert project.is_private
    assert BOT_USER_ID in project.members and OSCAR not in project.members
