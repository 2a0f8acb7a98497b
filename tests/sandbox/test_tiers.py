"""Slack's rate-limit tiers in the sandbox (off by default): chat.update and conversations.* answer 429
with Retry-After past their budget a minute, as Slack does, and slack_sdk's retry handler waits it out."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from signoff.sandbox import SlackSandbox, SlackTiers
from signoff.sandbox.__main__ import parse_args
from tests.support.slack import APPROVALS_CHANNEL, CHANNEL, web_client


class Clock:
    """The sandbox's tier clock: real time plus what a test skips."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.skipped


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def sb(clock: Clock) -> AsyncIterator[SlackSandbox]:
    async with SlackSandbox(slack_tiers=SlackTiers.INTERNAL, tier_clock=clock) as sandbox:
        yield sandbox


async def test_chat_update_past_tier_3_is_429_with_retry_after(sb: SlackSandbox, client: AsyncWebClient, clock: Clock):
    posted = await client.chat_postMessage(channel=APPROVALS_CHANNEL, text="draft")
    for n in range(50):
        await client.chat_update(channel=APPROVALS_CHANNEL, ts=posted["ts"], text=f"edit {n}")
    clock.skipped += 20
    with pytest.raises(SlackApiError) as limited:
        await client.chat_update(channel=APPROVALS_CHANNEL, ts=posted["ts"], text="one too many")
    response = limited.value.response
    assert response.status_code == 429 and response["error"] == "ratelimited" and response["ok"] is False
    # The first of the 50 leaves the minute ≈ 40 s from now.
    assert 39 <= int(response.headers["Retry-After"]) <= 40
    # The budget is per method: posts and reads go on; the refused call changed nothing.
    await client.chat_postMessage(channel=APPROVALS_CHANNEL, text="still posting")
    await client.conversations_history(channel=APPROVALS_CHANNEL)
    assert [m["text"] for m in sb.messages(APPROVALS_CHANNEL)] == ["edit 49", "still posting"]
    clock.skipped += 40
    await client.chat_update(channel=APPROVALS_CHANNEL, ts=posted["ts"], text="a minute later")
    assert [c.status for c in sb.calls_to("chat.update")] == [200] * 50 + [429, 200]


async def test_tier_2_methods_allow_20_a_minute(sb: SlackSandbox, client: AsyncWebClient):
    for _ in range(20):
        await client.conversations_list()
    with pytest.raises(SlackApiError) as limited:
        await client.conversations_list()
    assert limited.value.response.status_code == 429


async def test_slack_sdks_retry_handler_waits_the_retry_after(
    sb: SlackSandbox, client: AsyncWebClient, clock: Clock
) -> None:
    thread = (await client.chat_postMessage(channel=CHANNEL, text="a thread"))["ts"]
    for _ in range(50):
        await client.conversations_replies(channel=CHANNEL, ts=thread)
    # The oldest call leaves the minute in half a second: Retry-After says 1.
    clock.skipped += 59.5
    retrying = web_client(sb)
    retrying.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    started = time.monotonic()
    answer = await retrying.conversations_replies(channel=CHANNEL, ts=thread)
    assert answer["ok"] is True
    limited = [c for c in sb.calls_to("conversations.replies") if c.status == 429]
    assert len(limited) == 1 and len(sb.calls_to("conversations.replies")) == 52
    # It slept the Retry-After before trying again (a floor, never a ceiling).
    assert time.monotonic() - started >= 1


async def test_a_distributed_non_marketplace_app_reads_history_once_a_minute_15_at_most(clock: Clock) -> None:
    async with SlackSandbox(slack_tiers="distributed", tier_clock=clock) as sandbox:
        client = web_client(sandbox)
        for n in range(20):
            await client.chat_postMessage(channel=CHANNEL, text=f"message {n}")
        page = await client.conversations_history(channel=CHANNEL, limit=100)
        assert len(page["messages"]) == 15 and page["has_more"] is True
        # Each method has its own minute.
        await client.conversations_replies(channel=CHANNEL, ts=page["messages"][0]["ts"])
        with pytest.raises(SlackApiError) as limited:
            await client.conversations_replies(channel=CHANNEL, ts=page["messages"][0]["ts"])
        clock.skipped += 30
        with pytest.raises(SlackApiError) as again:
            await client.conversations_history(channel=CHANNEL)
    assert limited.value.response.status_code == 429
    assert again.value.response.headers["Retry-After"] == "30"


async def test_off_by_default() -> None:
    async with SlackSandbox() as sandbox:
        client = web_client(sandbox)
        posted = await client.chat_postMessage(channel=CHANNEL, text="draft")
        for n in range(60):
            await client.chat_update(channel=CHANNEL, ts=posted["ts"], text=f"edit {n}")
        page = await client.conversations_history(channel=CHANNEL, limit=100)
    assert {c.status for c in sandbox.calls_to("chat.update")} == {200} and len(page["messages"]) == 1


def test_the_switch_on_the_command_line() -> None:
    assert parse_args([]).slack_tiers == "off"
    assert parse_args(["--slack-tiers"]).slack_tiers == "internal"
    assert parse_args(["--slack-tiers", "distributed"]).slack_tiers == "distributed"
    with pytest.raises(SystemExit):
        parse_args(["--slack-tiers", "tier3"])
