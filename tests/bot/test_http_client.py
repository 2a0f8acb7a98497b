"""``signoff_client.SignoffHTTP`` and ``AsyncSignoffHTTP`` against the real bot (the ``api`` fixture: real
HTTP, a real worker on the time-skipping server, the Slack sandbox): ask, approve in Slack, wait for
the answer; a 503 after the start retried under the same idempotency key (one thread); a connection
error and a 429 retried; a problem raised as its typed exception, naming the field, never retried.

The sync client blocks, so it runs on a thread here while the bot serves on the test's loop."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from signoff_client import (
    AsyncSignoffHTTP,
    InvalidSignoffAPIRequest,
    RequestView,
    RetryPolicy,
    SignoffAuthError,
    SignoffConflict,
    SignoffHTTP,
    SignoffRequestInput,
    SignoffRequestNotFound,
)
from signoff_client import _http as signoff_http
from temporalio.testing import WorkflowEnvironment

from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from tests.support.api import CI_KEY, LIMITED_KEY, ApiCaller, ApiStack
from tests.support.slack import APPROVER_1, CHANNEL, REQUESTER, buttons, draft_messages
from tests.support.waiting import eventually


@pytest.fixture
def api_engine() -> str:
    """The client against Temporal (the API's own tests cover every engine)."""
    return "temporal"


DEPLOY = SignoffRequestInput(
    title="Deploy payments-api v2.3.1",
    body="Rollback: `deploy v2.3.0`",
    channel=CHANNEL,
    requester=REQUESTER,
    metadata={"change": "CHG-1042"},
)
# Retries without the waits a production caller wants.
QUICK = RetryPolicy(attempts=4, initial=0.01, maximum=2.0)


def _threads(slack: SlackSandbox) -> set[str]:
    return {message["ts"] for message in slack.messages(CHANNEL) if "Deploy" in (message.get("text") or "")}


async def _approve(slack: SlackSandbox, view: RequestView) -> None:
    assert view.thread is not None
    thread_ts = view.thread.ts
    [draft] = await slack.wait_for(lambda: draft_messages(slack, thread_ts) or None)
    assert action_ids.APPROVE in buttons(draft)
    await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)


class _Seen:
    """What a transport wrapper saw: each request's method, path and Idempotency-Key."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str | None]] = []

    def note(self, request: httpx2.Request) -> None:
        self.requests.append((request.method, request.url.path, request.headers.get("Idempotency-Key")))


def _unconfirmed(request: httpx2.Request) -> httpx2.Response:
    """What the bot answers when the engine did not confirm a start in time (``MaybeStarted``)."""
    problem = {
        "type": "https://signoff.dev/problems/start-unconfirmed",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "the engine did not confirm the start in time; retry with the same Idempotency-Key",
    }
    headers = {"Content-Type": "application/problem+json", "Retry-After": "0"}
    return httpx2.Response(503, json=problem, headers=headers, request=request)


class Counting(httpx2.AsyncBaseTransport):
    """The real server behind it; every request noted."""

    def __init__(self, seen: _Seen) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.seen = seen

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.seen.note(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class LosesFirstAnswer(Counting):
    """The real server behind it; the first POST reaches it, but its answer is replaced by a 503."""

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await super().handle_async_request(request)
        if request.method == "POST" and len(self.seen.requests) == 1:
            await response.aread()
            return _unconfirmed(request)
        return response


class ConnectionFailsFirst(httpx2.BaseTransport):
    """The real server behind it; the first attempt cannot connect."""

    def __init__(self, seen: _Seen) -> None:
        self.inner = httpx2.HTTPTransport()
        self.seen = seen

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self.seen.note(request)
        if len(self.seen.requests) == 1:
            raise httpx2.ConnectError("connection refused", request=request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


async def in_thread(call: Callable[[], Any]) -> Any:
    return await asyncio.to_thread(call)


async def test_async_ask_approve_in_slack_and_wait_for_the_answer(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    with time_env.auto_time_skipping_disabled():
        async with api() as (caller, _), AsyncSignoffHTTP(caller.base, CI_KEY.secret) as signoff:
            created = await signoff.create(DEPLOY)
            assert created.status == "pending" and created.thread is not None and created.result is None
            assert (await signoff.get(created.id)).status == "pending"
            await _approve(slack, created)
            decided = await signoff.get(created.id, wait=30)
    assert decided.status == "approved" and decided.result is not None
    assert decided.result.decided_by == [APPROVER_1] and decided.result.text == DEPLOY.body
    assert decided.result.metadata == DEPLOY.metadata


async def test_sync_ask_approve_in_slack_and_wait_for_the_answer(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    with time_env.auto_time_skipping_disabled():
        async with api() as (caller, _):
            with SignoffHTTP(caller.base, CI_KEY.secret) as signoff:
                # A plain dict is taken too (checked against the same model first).
                created = await in_thread(lambda: signoff.create(DEPLOY.model_dump(exclude_none=True)))
                waiting = asyncio.ensure_future(in_thread(lambda: signoff.get(created.id, wait=30)))
                await _approve(slack, created)
                decided = await waiting
                # A decided request cannot be cancelled: 409, as the typed conflict.
                with pytest.raises(SignoffConflict) as conflict:
                    await in_thread(lambda: signoff.cancel(created.id))
    assert decided.status == "approved" and decided.result is not None
    assert decided.result.decided_by == [APPROVER_1]
    assert conflict.value.status == 409


async def test_a_503_after_the_start_is_retried_with_the_same_key_and_makes_one_thread(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    seen = _Seen()
    async with (
        api() as (caller, _),
        AsyncSignoffHTTP(caller.base, CI_KEY.secret, retry=QUICK, transport=LosesFirstAnswer(seen)) as signoff,
    ):
        created = await signoff.create(DEPLOY)
        cancelled = await signoff.cancel(created.id)
    [(_, _, first_key), (_, _, second_key), _] = seen.requests
    assert first_key is not None and first_key == second_key
    assert created.status == "pending" and cancelled.status == "cancelled"
    assert len(_threads(slack)) == 1


async def test_a_connection_error_is_retried_by_the_sync_client(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    seen = _Seen()
    async with api() as (caller, _):
        with SignoffHTTP(caller.base, CI_KEY.secret, retry=QUICK, transport=ConnectionFailsFirst(seen)) as signoff:
            created = await in_thread(lambda: signoff.create(DEPLOY, idempotency_key="deploy-2.3.1"))
    assert [key for _, _, key in seen.requests] == ["deploy-2.3.1", "deploy-2.3.1"]
    assert created.status == "pending" and len(_threads(slack)) == 1


async def test_a_429_is_retried_after_retry_after(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    seen = _Seen()
    with time_env.auto_time_skipping_disabled():
        async with (
            api(api_rate_per_minute=60) as (caller, _),
            AsyncSignoffHTTP(caller.base, CI_KEY.secret, transport=Counting(seen)) as signoff,
        ):
            created = await signoff.create(DEPLOY)
            # The key's burst spent (60 a minute): the next call is told to come back in a second.
            while (await _raw_read(caller, created.id)) != 429:
                pass
            read = await signoff.get(created.id)
    assert read.status == "pending"
    assert [method for method, _, _ in seen.requests] == ["POST", "GET", "GET"]


async def _raw_read(caller: ApiCaller, request_id: str) -> int:
    return (await caller.read(request_id)).status


async def test_a_problem_is_raised_typed_naming_the_field_and_never_retried(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    seen = _Seen()
    async with api() as (caller, _):
        async with AsyncSignoffHTTP(caller.base, CI_KEY.secret, retry=QUICK, transport=Counting(seen)) as signoff:
            with pytest.raises(InvalidSignoffAPIRequest) as invalid:
                await signoff.create(DEPLOY, callback_url="http://hooks.example.com/signoff")
            with pytest.raises(SignoffRequestNotFound) as missing:
                await signoff.get("api-" + "0" * 40)
        async with AsyncSignoffHTTP(caller.base, LIMITED_KEY.secret, retry=QUICK) as limited:
            with pytest.raises(SignoffAuthError) as forbidden:
                await limited.create(DEPLOY)
        with (
            SignoffHTTP(caller.base, CI_KEY.secret + "x", retry=QUICK) as forged,
            pytest.raises(SignoffAuthError) as unauthorized,
        ):
            await in_thread(lambda: forged.create(DEPLOY))
    assert invalid.value.status == 422 and invalid.value.field == "callback_url"
    assert invalid.value.title == "Unprocessable Entity" and "https" in invalid.value.detail
    assert missing.value.status == 404
    assert forbidden.value.status == 403 and forbidden.value.field == "channel"
    assert unauthorized.value.status == 401 and CI_KEY.secret not in str(unauthorized.value)
    # One call each: a 4xx is the caller's to fix, never retried.
    assert [method for method, _, _ in seen.requests] == ["POST", "GET"]
    assert slack.messages(CHANNEL) == []


def test_bad_input_is_refused_before_anything_is_sent() -> None:
    with SignoffHTTP("http://127.0.0.1:9", CI_KEY.secret) as signoff:
        with pytest.raises(ValueError, match="idempotency_key"):
            signoff.create(DEPLOY, idempotency_key="two words")
        with pytest.raises(ValueError, match="channel"):
            signoff.create({**DEPLOY.model_dump(), "channel": "#general"})
    with pytest.raises(ValueError, match="api_key"):
        SignoffHTTP("http://127.0.0.1:9", "")


async def test_a_wait_longer_than_the_servers_cap_polls_again_until_decided(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server's cap made one second here, so the wait spans several polls without a minute's wait.
    monkeypatch.setattr(signoff_http, "SERVER_MAX_WAIT_SECONDS", 1.0)
    seen = _Seen()
    with time_env.auto_time_skipping_disabled():
        async with (
            api() as (caller, _),
            AsyncSignoffHTTP(caller.base, CI_KEY.secret, transport=Counting(seen)) as signoff,
        ):
            created = await signoff.create(DEPLOY)
            waiting = asyncio.ensure_future(signoff.get(created.id, wait=60))
            # The create, a poll answered pending at the cap, and the next poll.
            await eventually(lambda: len(seen.requests) >= 3)
            await _approve(slack, created)
            decided = await waiting
    assert decided.status == "approved"
    polls = [path for method, path, _ in seen.requests if method == "GET"]
    assert len(polls) >= 2 and set(polls) == {f"/v1/requests/{created.id}"}


def test_without_the_http_extra_the_client_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # As if httpx2 were not installed (the base install): importing the package still works.
    monkeypatch.setitem(sys.modules, "httpx2", None)
    with pytest.raises(ImportError, match=re.escape("pip install 'signoff-client[http]'")):
        SignoffHTTP("http://127.0.0.1:9", CI_KEY.secret)
