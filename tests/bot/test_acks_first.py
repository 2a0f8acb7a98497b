"""Acks first: a journaled start takes its slot once no request is waiting for its ack.

At 50 concurrent requests the starts' own work in between made the burst's acks wait (the ack is
what Slack times; a journaled start is safe on disk and can wait a moment). The wait is bounded,
so a steady stream of requests delays a start by at most ``ACKS_FIRST_SECONDS``.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from slack_bolt.async_app import AsyncApp
from temporalio.testing import WorkflowEnvironment

from bot import follow_ups as follow_ups_module
from bot.app import build_app
from bot.follow_ups import FollowUps
from signoff.sandbox import SlackSandbox
from tests.bot.test_http import signed_headers, slash_body
from tests.support.bot import bot_client, bot_settings, serve
from tests.support.waiting import eventually


async def _spins(times: int = 20) -> None:
    """Let every ready task run, several rounds over."""
    for _ in range(times):
        await asyncio.sleep(0)


async def test_a_start_waits_while_a_request_is_being_acked_then_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(follow_ups_module, "ACKS_FIRST_SECONDS", 30.0)
    follow_ups = FollowUps()
    began = asyncio.Event()

    async def start() -> None:
        async with follow_ups.slot_after_acks():
            began.set()

    with follow_ups.acking.tracked():
        task = asyncio.create_task(start())
        await _spins()
        assert not began.is_set(), "a start took its slot while a request was still waiting for its ack"
    await eventually(began.is_set)
    await task


async def test_a_steady_stream_of_acks_delays_a_start_only_so_long(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(follow_ups_module, "ACKS_FIRST_SECONDS", 0.01)
    follow_ups = FollowUps()
    began = asyncio.Event()

    async def start() -> None:
        async with follow_ups.slot_after_acks():
            began.set()

    with follow_ups.acking.tracked():  # never idle while the start waits
        task = asyncio.create_task(start())
        await eventually(began.is_set)
        await task


async def test_the_bot_counts_a_request_as_being_acked_until_its_ack(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    app = build_app(bot_settings(slack), bot_client(time_env.client))
    seen: list[int] = []
    follow_ups = app.follow_ups
    assert follow_ups is not None

    @app.middleware
    async def count_while_dispatching(next: object) -> None:  # Bolt's signature: a middleware calls next()
        seen.append(follow_ups.acking.count)
        await next()  # type: ignore[operator]

    assert isinstance(app, AsyncApp)
    async with serve(app) as url, aiohttp.ClientSession() as http:
        body = slash_body("Counted while acked", response_url=slack.api_url + "response/none")
        async with http.post(url, data=body, headers=signed_headers(body, secret=slack.signing_secret)) as response:
            assert response.status == 200
    assert seen == [1], "the request was not counted as being acked while Bolt dispatched it"
    assert follow_ups.acking.count == 0
