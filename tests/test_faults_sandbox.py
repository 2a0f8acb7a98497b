"""The sandbox's slow-answer fault, which the worker-crash test relies on."""

from __future__ import annotations

import asyncio
import time

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import SlackSandbox


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
