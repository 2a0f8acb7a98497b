"""The HTTP API on the bot's port (real HTTP, a real worker on the time-skipping server, the Slack
sandbox): create, read with a long-poll, cancel; idempotency; keys and who sees what; every refusal
a problem document naming the field, with nothing posted. Every answer is checked against the
server's own OpenAPI document (tests/support/api.py)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from temporalio.testing import WorkflowEnvironment

from bot.server import EVENTS_PATH
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from tests.support.api import CI_KEY, LIMITED_KEY, OTHER_KEY, ApiStack
from tests.support.bot import bot_settings, running_bot
from tests.support.engines import ENGINES
from tests.support.slack import APPROVER_1, CHANNEL, REQUESTER, buttons, draft_messages, thread_texts
from tests.support.waiting import eventually

DEPLOY: dict[str, Any] = {
    "title": "Deploy payments-api v2.3.1",
    "body": "Rollback: `deploy v2.3.0`",
    "channel": CHANNEL,
    "requester": REQUESTER,
    "metadata": {"change": "CHG-1042"},
}


def _draft(slack: SlackSandbox, thread_ts: str) -> dict:
    [draft] = draft_messages(slack, thread_ts)
    return draft


# The one API test on every engine, DBOS on PostgreSQL included (``REQUEST_ENGINES`` says why the rest skip it).
@pytest.mark.parametrize("api_engine", ENGINES)
async def test_ask_approve_in_slack_and_read_the_result(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    with time_env.auto_time_skipping_disabled():
        async with api() as (caller, _):
            created = await caller.create(DEPLOY)
            assert created.status == 201, created.body
            assert created.body["status"] == "pending" and created.body["thread"]["channel"] == CHANNEL
            request_id = created.body["id"]
            assert created.headers["Location"] == f"/v1/requests/{request_id}"
            thread_ts = created.body["thread"]["ts"]
            draft = await slack.wait_for(lambda: draft_messages(slack, thread_ts) or None)
            assert action_ids.APPROVE in buttons(draft[0])
            pending = await caller.read(request_id)
            assert pending.status == 200 and pending.body["status"] == "pending" and pending.body["result"] is None
            await slack.click_button(APPROVER_1, CHANNEL, draft[0]["ts"], action_ids.APPROVE)
            decided = await caller.read(request_id, wait=30)
    assert decided.status == 200 and decided.body["status"] == "approved", decided.body
    result = decided.body["result"]
    assert result["outcome"] == "approved" and result["decided_by"] == [APPROVER_1]
    assert result["metadata"] == DEPLOY["metadata"] and result["text"] == DEPLOY["body"]


async def test_a_retry_with_the_same_key_is_the_same_request(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    async with api() as (caller, _):
        first = await caller.create(DEPLOY, headers={"Idempotency-Key": "deploy-2.3.1"})
        again = await caller.create(DEPLOY, headers={"Idempotency-Key": "deploy-2.3.1"})
        by_body_id = await caller.create({**DEPLOY, "id": "deploy-2.3.1"})
        different = await caller.create({**DEPLOY, "title": "Deploy v9"}, headers={"Idempotency-Key": "deploy-2.3.1"})
        other_key = await caller.as_key(OTHER_KEY).create(DEPLOY, headers={"Idempotency-Key": "deploy-2.3.1"})
    assert first.status == again.status == by_body_id.status == 201
    assert first.body == again.body == by_body_id.body
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert different.status == 409 and different.body["type"].endswith("idempotency-conflict")
    # The same idempotency key under another API key is another request.
    assert other_key.status == 201 and other_key.body["id"] != first.body["id"]
    # One thread for the three of the first key, one for the other key's.
    parents = [message for message in slack.messages(CHANNEL) if "Deploy" in (message.get("text") or "")]
    assert len({message["ts"] for message in parents}) == 2


async def test_without_a_valid_key_nothing_starts(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    async with api() as (caller, _):
        missing = await caller.as_key(None).create(DEPLOY)
        forged = await caller.create(DEPLOY, authorization=f"Bearer {CI_KEY.secret}x")
        not_bearer = await caller.create(DEPLOY, authorization=f"Basic {CI_KEY.secret}")
        empty = await caller.create(DEPLOY, authorization="Bearer ")
    for answer in (missing, forged, not_bearer, empty):
        assert answer.status == 401, answer.body
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert answer.headers["Content-Type"].startswith("application/problem+json")
        assert CI_KEY.secret not in str(answer.body)
    assert slack.messages(CHANNEL) == []


async def test_a_key_sees_only_its_own_requests(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    async with api() as (caller, _):
        created = await caller.create(DEPLOY)
        request_id = created.body["id"]
        other = caller.as_key(OTHER_KEY)
        read = await other.read(request_id)
        cancelled = await other.cancel(request_id)
        unknown = await other.read("api-0000")
        still = await caller.read(request_id)
    # The other key's answer is the same as for an id that does not exist: nothing leaks.
    assert read.status == cancelled.status == unknown.status == 404
    assert read.body == unknown.body | {} and read.body["detail"] == unknown.body["detail"]
    assert still.body["status"] == "pending"


async def test_a_key_limited_to_channels_is_refused_elsewhere(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    async with api() as (caller, _):
        limited = caller.as_key(LIMITED_KEY)
        elsewhere = await limited.create(DEPLOY)
        nowhere = await limited.create({key: value for key, value in DEPLOY.items() if key != "channel"})
    for answer in (elsewhere, nowhere):
        assert answer.status == 403 and answer.body["field"] == "channel", answer.body
    assert slack.messages(CHANNEL) == []


async def test_bad_input_is_a_problem_naming_the_field(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    async with api() as (caller, _):
        unknown = await caller.create({**DEPLOY, "titel": "typo"})
        too_long = await caller.create({**DEPLOY, "title": "x" * 151})
        approver = await caller.create({**DEPLOY, "approvers": ["not-a-user"]})
        malformed = await caller.call(
            "POST", "/v1/requests", data=b'{"title": ', headers={"Content-Type": "application/json"}
        )
        not_json = await caller.call("POST", "/v1/requests", data=b"title=x", headers={"Content-Type": "text/plain"})
        huge = await caller.call(
            "POST",
            "/v1/requests",
            data=b'{"title": "t", "body": "' + b"x" * (600 * 1024) + b'"}',
            headers={"Content-Type": "application/json"},
        )
        deep = await caller.call(
            "POST", "/v1/requests", data=b"[" * 200_000 + b"]" * 200_000, headers={"Content-Type": "application/json"}
        )
        callback = await caller.create({**DEPLOY, "callback_url": "http://hooks.example.com/signoff"})
        bad_wait = await caller.read("api-0000", wait="nan")
        not_in_channel = await caller.create({**DEPLOY, "channel": "C0WATERCO"})
        header = await caller.create(DEPLOY, headers={"Idempotency-Key": "has spaces"})
    assert unknown.status == 422 and unknown.body["field"] == "titel" and "unknown field" in unknown.body["detail"]
    assert too_long.status == 422 and too_long.body["field"] == "title"
    assert approver.status == 422 and approver.body["field"] == "approvers"
    assert malformed.status == 400 and malformed.body["field"] == "body"
    assert not_json.status == 415
    assert huge.status == 413 and huge.body["field"] == "body"
    assert deep.status == 400 and deep.body["field"] == "body"
    assert callback.status == 422 and callback.body["field"] == "callback_url" and "https" in callback.body["detail"]
    assert bad_wait.status == 400 and bad_wait.body["field"] == "wait"
    assert not_in_channel.status == 422 and not_in_channel.body["field"] == "channel"
    assert "invite" in not_in_channel.body["detail"]
    assert header.status == 400 and header.body["field"] == "Idempotency-Key"
    # Nothing was posted anywhere but the refusals' answers.
    assert slack.messages(CHANNEL) == []


async def test_cancel_removes_the_buttons_and_says_so(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    async with api() as (caller, _):
        created = await caller.create(DEPLOY)
        thread_ts = created.body["thread"]["ts"]
        await slack.wait_for(lambda: draft_messages(slack, thread_ts) or None)
        cancelled = await caller.cancel(created.body["id"])
        again = await caller.cancel(created.body["id"])
        read = await caller.read(created.body["id"])
    assert cancelled.status == 200 and cancelled.body["status"] == "cancelled", cancelled.body
    assert read.body["status"] == "cancelled"
    assert again.status == 409 and again.body["type"].endswith("already-ended")
    assert buttons(_draft(slack, thread_ts)) == []
    assert any("cancelled" in text for text in thread_texts(slack, thread_ts))


async def test_a_flood_from_one_key_is_refused_and_slack_is_still_served(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    async with api(api_rate_per_minute=2) as (caller, _):
        answers = [await caller.read("api-0000") for _ in range(3)]
        other = await caller.as_key(OTHER_KEY).read("api-0000")
        # The Slack handlers answer as ever while the key is held back.
        command = await slack.send_slash_command(REQUESTER, "/report", "help", channel_id=CHANNEL)
    assert [answer.status for answer in answers] == [404, 404, 429]
    assert int(answers[2].headers["Retry-After"]) >= 1
    assert other.status == 404
    assert command.acked


async def test_the_api_is_off_without_keys(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with (
        running_bot(slack, bot_settings(slack), time_env.client) as bot,
        aiohttp.ClientSession() as session,
        session.post(bot.url.removesuffix(EVENTS_PATH) + "/v1/requests", json=DEPLOY) as response,
    ):
        assert response.status == 404


async def test_the_thread_shows_up_for_the_api_like_any_other(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    async with api() as (caller, _):
        created = await caller.create(DEPLOY)
        thread_ts = created.body["thread"]["ts"]
        await eventually(lambda: bool(draft_messages(slack, thread_ts)))
    assert created.body["thread"] == {"channel": CHANNEL, "ts": thread_ts}


async def test_while_the_bot_drains_nothing_starts(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    async with api() as (caller, bot):
        bot.deps.follow_ups.draining = True
        try:
            refused = await caller.create(DEPLOY)
        finally:
            bot.deps.follow_ups.draining = False
    assert refused.status == 503 and refused.headers["Retry-After"] == "1"
    assert slack.messages(CHANNEL) == []
