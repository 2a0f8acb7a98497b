"""Rate limits, injected faults (slow answers too), outages and restarts of the Slack sandbox."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import SlackSandbox


@pytest.fixture
async def sb():
    sandbox = SlackSandbox(post_rate_per_channel=1, burst=2)
    await sandbox.start()
    yield sandbox
    await sandbox.stop()


@pytest.fixture
def client(sb: SlackSandbox) -> AsyncWebClient:
    return AsyncWebClient(base_url=sb.api_url, token=sb.bot_token)


async def test_post_rate_beyond_the_burst_is_429_with_retry_after(sb: SlackSandbox, client: AsyncWebClient):
    await client.chat_postMessage(channel="C0GENERAL", text="1")
    await client.chat_postMessage(channel="C0GENERAL", text="2")
    with pytest.raises(SlackApiError) as limited:
        await client.chat_postMessage(channel="C0GENERAL", text="3")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "1"
    assert limited.value.response["error"] == "ratelimited"
    # The bucket is per channel.
    await client.chat_postMessage(channel="C0APPROVE", text="elsewhere")
    assert [m["text"] for m in sb.messages("C0GENERAL")] == ["1", "2"]
    assert [c.status for c in sb.calls_to("chat.postMessage")] == [200, 200, 429, 200]


async def test_fail_with_http_status_then_recover(sb: SlackSandbox, client: AsyncWebClient):
    sb.faults.fail("chat.update", times=2, status=503)
    sb.faults.fail("chat.postMessage", status=500)
    with pytest.raises(SlackApiError) as failed:
        await client.chat_postMessage(channel="C0APPROVE", text="lost")
    assert failed.value.response.status_code == 500
    posted = await client.chat_postMessage(channel="C0APPROVE", text="kept")
    for _ in range(2):
        with pytest.raises(SlackApiError) as unavailable:
            await client.chat_update(channel="C0APPROVE", ts=posted["ts"], text="x")
        assert unavailable.value.response.status_code == 503
    await client.chat_update(channel="C0APPROVE", ts=posted["ts"], text="edited")
    assert [m["text"] for m in sb.messages("C0APPROVE")] == ["edited"]


async def test_fail_with_slack_error_and_clear(sb: SlackSandbox, client: AsyncWebClient):
    sb.faults.fail("users.info", error="invalid_auth")
    with pytest.raises(SlackApiError) as failed:
        await client.users_info(user="U0APPROV1")
    assert failed.value.response.status_code == 200
    assert failed.value.response["error"] == "invalid_auth"
    sb.faults.fail("users.info", times=5, error="fatal_error")
    sb.faults.clear()
    assert (await client.users_info(user="U0APPROV1"))["ok"] is True


async def test_injected_rate_limit(sb: SlackSandbox, client: AsyncWebClient):
    sb.faults.rate_limit("conversations.history", retry_after=7)
    with pytest.raises(SlackApiError) as limited:
        await client.conversations_history(channel="C0GENERAL")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "7"
    assert (await client.conversations_history(channel="C0GENERAL"))["ok"] is True


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
    client = AsyncWebClient(base_url=first.api_url, token=first.bot_token)
    posted = await client.chat_postMessage(
        channel="C0GENERAL", text="durable", metadata={"event_type": "e", "event_payload": {"k": 1}}
    )
    await client.chat_postMessage(channel="C0GENERAL", text="reply", thread_ts=posted["ts"])
    await client.chat_postEphemeral(channel="C0GENERAL", user="U0APPROV1", text="psst")
    await client.views_publish(user_id="U0APPROV1", view={"type": "home", "blocks": []})
    await first.stop()

    second = SlackSandbox(db)
    await second.start()
    try:
        client = AsyncWebClient(base_url=second.api_url, token=second.bot_token)
        [message] = second.messages("C0GENERAL")
        assert message["text"] == "durable" and message["metadata"]["event_payload"] == {"k": 1}
        assert [r["text"] for r in second.replies("C0GENERAL", posted["ts"])] == ["reply"]
        assert [e["text"] for e in second.ephemerals("U0APPROV1")] == ["psst"]
        assert second.home_view("U0APPROV1") is not None
        later = await client.chat_postMessage(channel="C0GENERAL", text="later")
        assert float(later["ts"]) > float(posted["ts"])
    finally:
        await second.stop()


async def test_wait_for_returns_the_value_or_times_out_helpfully(sb: SlackSandbox, client: AsyncWebClient):
    await client.chat_postMessage(channel="C0GENERAL", text="here")
    assert (await sb.wait_for(lambda: sb.messages("C0GENERAL")))[0]["text"] == "here"
    with pytest.raises(TimeoutError, match="chat.postMessage->200"):
        await sb.wait_for(lambda: sb.messages("C0APPROVE"), timeout=0.05)


# -- slow answers (the worker-crash test relies on them) ------------------------


async def test_slow_answer_takes_effect_at_once_and_answers_late(slack: SlackSandbox) -> None:
    client = AsyncWebClient(base_url=slack.api_url, token=slack.bot_token)
    slack.faults.slow("chat.postMessage", 0.5, match=lambda params: params.get("text") == "slow")
    await client.chat_postMessage(channel="C0GENERAL", text="quick")

    started = time.monotonic()
    call = asyncio.ensure_future(client.chat_postMessage(channel="C0GENERAL", text="slow"))
    # Stored and recorded before the answer is sent.
    await slack.wait_for(lambda: [m for m in slack.messages("C0GENERAL") if m["text"] == "slow"], timeout=0.4)
    assert not call.done()
    response = await call
    assert response["ok"] and time.monotonic() - started >= 0.5
    assert [c.ok for c in slack.calls_to("chat.postMessage")] == [True, True]

    # Consumed: the next matching call is answered at once.
    started = time.monotonic()
    await client.chat_postMessage(channel="C0GENERAL", text="slow")
    assert time.monotonic() - started < 0.4


async def test_slow_answer_counts_down_and_clears(slack: SlackSandbox) -> None:
    client = AsyncWebClient(base_url=slack.api_url, token=slack.bot_token)
    slack.faults.slow("auth.test", 0.3, times=2)
    for _ in range(2):
        started = time.monotonic()
        await client.auth_test()
        assert time.monotonic() - started >= 0.3
    slack.faults.slow("auth.test", 30)
    slack.faults.clear()
    started = time.monotonic()
    await client.auth_test()
    assert time.monotonic() - started < 1
    with pytest.raises(ValueError):
        slack.faults.slow("auth.test", 0)
