"""Rate limits, injected faults (slow answers too), outages and restarts of the Slack sandbox."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from signoff.sandbox import SlackSandbox
from tests.support.slack import APPROVALS_CHANNEL, APPROVER_1, CHANNEL, LEADS, web_client


@pytest.fixture
async def sb() -> AsyncIterator[SlackSandbox]:
    """Slack's per-channel post rate, tightened to 1 a second with a burst of 2."""
    async with SlackSandbox(post_rate_per_channel=1, burst=2) as sandbox:
        yield sandbox


async def test_post_rate_beyond_the_burst_is_429_with_retry_after(sb: SlackSandbox, client: AsyncWebClient):
    await client.chat_postMessage(channel=CHANNEL, text="1")
    await client.chat_postMessage(channel=CHANNEL, text="2")
    with pytest.raises(SlackApiError) as limited:
        await client.chat_postMessage(channel=CHANNEL, text="3")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "1"
    assert limited.value.response["error"] == "ratelimited"
    # The bucket is per channel.
    await client.chat_postMessage(channel=APPROVALS_CHANNEL, text="elsewhere")
    assert [m["text"] for m in sb.messages(CHANNEL)] == ["1", "2"]
    assert [c.status for c in sb.calls_to("chat.postMessage")] == [200, 200, 429, 200]


async def test_fail_with_http_status_then_recover(sb: SlackSandbox, client: AsyncWebClient):
    sb.faults.fail("chat.update", times=2, status=503)
    sb.faults.fail("chat.postMessage", status=500)
    with pytest.raises(SlackApiError) as failed:
        await client.chat_postMessage(channel=APPROVALS_CHANNEL, text="lost")
    assert failed.value.response.status_code == 500
    posted = await client.chat_postMessage(channel=APPROVALS_CHANNEL, text="kept")
    for _ in range(2):
        with pytest.raises(SlackApiError) as unavailable:
            await client.chat_update(channel=APPROVALS_CHANNEL, ts=posted["ts"], text="x")
        assert unavailable.value.response.status_code == 503
    await client.chat_update(channel=APPROVALS_CHANNEL, ts=posted["ts"], text="edited")
    assert [m["text"] for m in sb.messages(APPROVALS_CHANNEL)] == ["edited"]


async def test_fail_with_slack_error_and_clear(sb: SlackSandbox, client: AsyncWebClient):
    sb.faults.fail("usergroups.users.list", error="invalid_auth")
    with pytest.raises(SlackApiError) as failed:
        await client.usergroups_users_list(usergroup=LEADS)
    assert failed.value.response.status_code == 200
    assert failed.value.response["error"] == "invalid_auth"
    sb.faults.fail("usergroups.users.list", times=5, error="fatal_error")
    sb.faults.clear()
    assert (await client.usergroups_users_list(usergroup=LEADS))["ok"] is True


async def test_injected_rate_limit(sb: SlackSandbox, client: AsyncWebClient):
    sb.faults.rate_limit("conversations.history", retry_after=7)
    with pytest.raises(SlackApiError) as limited:
        await client.conversations_history(channel=CHANNEL)
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "7"
    assert (await client.conversations_history(channel=CHANNEL))["ok"] is True


async def test_pause_refuses_connections_until_resume(sb: SlackSandbox, client: AsyncWebClient):
    url = sb.url
    await sb.pause()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.post(sb.api_url + "auth.test", data={"token": sb.bot_token})
    await sb.resume()
    assert sb.url == url
    assert (await client.auth_test())["ok"] is True


async def test_state_survives_a_restart_with_a_db_file(tmp_path):
    db = str(tmp_path / "sandbox.sqlite3")
    first = SlackSandbox(db)
    await first.start()
    client = web_client(first)
    posted = await client.chat_postMessage(
        channel=CHANNEL, text="durable", metadata={"event_type": "e", "event_payload": {"k": 1}}
    )
    await client.chat_postMessage(channel=CHANNEL, text="reply", thread_ts=posted["ts"])
    await client.chat_postEphemeral(channel=CHANNEL, user=APPROVER_1, text="psst")
    await client.views_publish(user_id=APPROVER_1, view={"type": "home", "blocks": []})
    await first.stop()

    second = SlackSandbox(db)
    await second.start()
    try:
        client = web_client(second)
        [message] = second.messages(CHANNEL)
        assert message["text"] == "durable" and message["metadata"]["event_payload"] == {"k": 1}
        assert [r["text"] for r in second.replies(CHANNEL, posted["ts"])] == ["reply"]
        assert [e["text"] for e in second.ephemerals(APPROVER_1)] == ["psst"]
        assert second.home_view(APPROVER_1) is not None
        later = await client.chat_postMessage(channel=CHANNEL, text="later")
        assert float(later["ts"]) > float(posted["ts"])
    finally:
        await second.stop()


async def test_wait_for_returns_the_value_or_times_out_helpfully(sb: SlackSandbox, client: AsyncWebClient):
    await client.chat_postMessage(channel=CHANNEL, text="here")
    assert (await sb.wait_for(lambda: sb.messages(CHANNEL)))[0]["text"] == "here"
    with pytest.raises(TimeoutError, match=r"chat\.postMessage->200"):
        await sb.wait_for(lambda: sb.messages(APPROVALS_CHANNEL), timeout=0.05)


# -- slow answers (the worker-crash test relies on them) ------------------------


async def test_slow_answer_takes_effect_at_once_and_answers_late(slack: SlackSandbox) -> None:
    client = web_client(slack)
    slack.faults.slow("chat.postMessage", 0.5, match=lambda params: params.get("text") == "slow")
    await client.chat_postMessage(channel=CHANNEL, text="quick")

    started = time.monotonic()
    call = asyncio.ensure_future(client.chat_postMessage(channel=CHANNEL, text="slow"))
    # Stored and recorded before the answer is sent.
    await slack.wait_for(lambda: [m for m in slack.messages(CHANNEL) if m["text"] == "slow"])
    assert not call.done()
    response = await call
    assert response["ok"] and time.monotonic() - started >= 0.5
    assert [c.ok for c in slack.calls_to("chat.postMessage")] == [True, True]

    # Consumed: no slow answer is left for the next matching call.
    assert slack.faults.take_slow("chat.postMessage", {"text": "slow"}) is None


async def test_slow_answer_counts_down_and_clears(slack: SlackSandbox) -> None:
    client = web_client(slack)
    slack.faults.slow("auth.test", 0.3, times=2)
    for _ in range(2):
        started = time.monotonic()
        await client.auth_test()
        assert time.monotonic() - started >= 0.3
    slack.faults.slow("auth.test", 30)
    slack.faults.clear()
    # Cleared: answered long before the 30 s the fault would have held it (the bound only catches that).
    await asyncio.wait_for(client.auth_test(), timeout=15)
    with pytest.raises(ValueError):
        slack.faults.slow("auth.test", 0)
