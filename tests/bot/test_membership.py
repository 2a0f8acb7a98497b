"""The bot's channel-membership cache (bot/membership.py) against the sandbox's conversations.members:
cursor pages, a short TTL for yes and no alike, refusal when Slack cannot say, one call for a burst."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from bot import membership
from bot.membership import ChannelMembership
from signoff.sandbox import SlackSandbox
from tests.support.slack import APPROVER_1, OUTSIDER, REQUESTER, web_client

PROJECT = "G0PROJECT"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def asked(slack: SlackSandbox) -> int:
    return len(slack.calls_to("conversations.members"))


async def test_members_come_in_cursor_pages(slack: SlackSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(membership, "PAGE_SIZE", 2)
    members = await ChannelMembership().members(web_client(slack), "C0GENERAL")
    assert {REQUESTER, APPROVER_1, OUTSIDER} <= (members.users or set()) and asked(slack) == 3


async def test_an_answer_is_kept_for_the_ttl_then_asked_again(slack: SlackSandbox) -> None:
    clock, client = Clock(), web_client(slack)
    cache = ChannelMembership(ttl=60, clock=clock)
    assert not await cache.is_member(client, PROJECT, OUTSIDER)
    # Oscar is added to the channel: the "no" stands until it expires, then Slack is asked again.
    project = slack.directory.channels[PROJECT]
    slack.directory.channels[PROJECT] = replace(project, members=project.members | {OUTSIDER})
    clock.now += 59
    assert not await cache.is_member(client, PROJECT, OUTSIDER) and asked(slack) == 1
    clock.now += 2
    assert await cache.is_member(client, PROJECT, OUTSIDER) and asked(slack) == 2
    # And removed again: the "yes" expires the same way.
    slack.directory.channels[PROJECT] = project
    clock.now += 30
    assert await cache.is_member(client, PROJECT, OUTSIDER)
    clock.now += 31
    assert not await cache.is_member(client, PROJECT, OUTSIDER) and asked(slack) == 3


async def test_a_channel_the_app_cannot_see_is_nobodys_and_that_answer_expires_too(slack: SlackSandbox) -> None:
    clock, client = Clock(), web_client(slack)
    cache = ChannelMembership(ttl=60, clock=clock)
    answer = await cache.members(client, "G0PRIVATE")
    assert APPROVER_1 not in answer and answer.problem is not None
    await cache.members(client, "G0PRIVATE")
    assert asked(slack) == 1
    clock.now += 61
    await cache.members(client, "G0PRIVATE")
    assert asked(slack) == 2


async def test_when_slack_fails_nobody_is_a_member_and_the_next_lookup_asks_again(slack: SlackSandbox) -> None:
    client, cache = web_client(slack), ChannelMembership()
    slack.faults.fail("conversations.members", error="fatal_error")
    answer = await cache.members(client, "C0GENERAL")
    assert APPROVER_1 not in answer and "fatal_error" in (answer.problem or "")
    assert APPROVER_1 in await cache.members(client, "C0GENERAL")
    assert asked(slack) == 2


async def test_lookups_at_the_same_moment_share_one_call(slack: SlackSandbox) -> None:
    client, cache = web_client(slack), ChannelMembership()
    answers = await asyncio.gather(*(cache.is_member(client, PROJECT, APPROVER_1) for _ in range(20)))
    assert all(answers) and asked(slack) == 1
    assert await cache.channels_with(client, [PROJECT, "C0GENERAL", None, PROJECT], OUTSIDER) == {"C0GENERAL"}


async def test_a_lookup_whose_asker_is_cancelled_is_asked_again_for_those_waiting(slack: SlackSandbox) -> None:
    client, cache = web_client(slack), ChannelMembership()
    slack.faults.slow("conversations.members", 0.5)
    first = asyncio.create_task(cache.is_member(client, PROJECT, APPROVER_1))
    await slack.wait_for(lambda: asked(slack) == 1)
    second = asyncio.create_task(cache.is_member(client, PROJECT, APPROVER_1))
    await asyncio.sleep(0)  # the second now waits on the first's call
    first.cancel()
    assert await second is True and first.cancelled()
    assert asked(slack) == 2
