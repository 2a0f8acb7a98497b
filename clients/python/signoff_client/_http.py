"""``SignoffHTTP`` and ``AsyncSignoffHTTP``: signoff's HTTP API from any Python program, no Temporal.

Both share one sans-I/O core (``_Calls``): each call is a generator that yields what to do next (send
a request, or sleep before a retry) and is sent back what came of it, so the sync and the async
client differ only in how they send and sleep. The HTTP library is ``httpx2`` (httpx's successor),
the ``http`` extra of this package: the base install stays ``temporalio`` and ``pydantic`` for
workflows, which never make HTTP calls of their own.
"""

from __future__ import annotations

import asyncio
import email.utils
import importlib
import math
import random
import re
import time
import uuid
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote

from pydantic import ValidationError

from signoff_client._api import (
    IDEMPOTENCY_HEADER,
    IDEMPOTENCY_KEY_PATTERN,
    Problem,
    RequestView,
    api_error,
)
from signoff_client._models import SignoffRequestInput

if TYPE_CHECKING:
    import httpx2

# The longest the server holds one long-poll (seconds): a longer wait is several polls.
SERVER_MAX_WAIT_SECONDS = 60.0
# Answers retried (with the same idempotency key, so never a second request): rate-limited, and the
# server or its engine briefly unavailable. Every other 4xx is the caller's to fix.
RETRIED_STATUSES = frozenset({429, 502, 503, 504})
PROBLEM_JSON = "application/problem+json"
# A long-poll answered early though still pending (the server held too many): the next one after this.
_EARLY_POLL_PAUSE_SECONDS = 1.0
_USER_AGENT = "signoff-client"


class SignoffUnreachable(Exception):
    """The server could not be reached (or the connection broke) on every attempt."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry: ``attempts`` tries in all, waiting ``initial`` seconds after
    the first failure, doubling up to ``maximum`` (with jitter), or what ``Retry-After`` says."""

    attempts: int = 5
    initial: float = 0.5
    maximum: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.initial < 0 or self.maximum < self.initial:
            raise ValueError("attempts must be 1 or more and 0 <= initial <= maximum")

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before try ``attempt + 1``, or None when ``attempt`` was the last."""
        if attempt >= self.attempts:
            return None
        if retry_after is not None:
            return min(retry_after, self.maximum)
        backoff = min(self.initial * 2 ** (attempt - 1), self.maximum)
        return backoff * random.uniform(0.5, 1.0)


@dataclass(frozen=True)
class _Send:
    method: str
    path: str
    json: Any = None
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    # Extra seconds the server may take to answer (a long-poll's wait).
    held: float = 0.0

    def options(self, httpx: ModuleType, timeout: float) -> dict[str, Any]:
        """This request as ``httpx2.Client.request`` (and ``AsyncClient.request``) take it."""
        return {
            "method": self.method,
            "url": self.path,
            "json": self.json,
            "params": self.params,
            "headers": self.headers,
            "timeout": httpx.Timeout(timeout, read=timeout + self.held),
        }


@dataclass(frozen=True)
class _Sleep:
    seconds: float


_Step = _Send | _Sleep
# What a step came to: the answer, or the transport's error (None after a sleep).
_Outcome = Any
_Call = Generator[_Step, _Outcome, RequestView]


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date), or None."""
    raw = headers.get("Retry-After")
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def _problem_of(status: int, reason: str, content_type: str, text: str) -> Problem:
    if content_type.split(";")[0].strip() == PROBLEM_JSON:
        try:
            return Problem.model_validate_json(text)
        except ValidationError:
            pass
    return Problem(type="about:blank", title=reason or str(status), status=status, detail=text[:500] or reason)


class _Calls:
    """What each call sends, retries and returns, with no I/O of its own."""

    def __init__(self, retry: RetryPolicy) -> None:
        self.retry = retry

    def create(
        self,
        request: SignoffRequestInput | Mapping[str, Any],
        idempotency_key: str | None,
        callback_url: str | None,
    ) -> _Call:
        # Checked here first: a request signoff would refuse is never sent.
        body = SignoffRequestInput.model_validate(request).model_dump(mode="json", exclude_none=True)
        if callback_url is not None:
            body["callback_url"] = callback_url
        key = idempotency_key if idempotency_key is not None else uuid.uuid4().hex
        if not re.match(IDEMPOTENCY_KEY_PATTERN, key):
            raise ValueError(f"idempotency_key {key!r}: 1-255 letters, digits or . _ : ~ -")
        # The same key on every retry: a retry is the same request, never a second thread.
        return self._exchange(_Send("POST", "/requests", json=body, headers={IDEMPOTENCY_HEADER: key}))

    def get(self, request_id: str, wait: float | None, clock: Any = time.monotonic) -> _Call:
        path = f"/requests/{quote(request_id, safe='')}"
        if wait is None or wait <= 0:
            return self._exchange(_Send("GET", path))
        return self._long_poll(path, wait, clock)

    def cancel(self, request_id: str) -> _Call:
        return self._exchange(_Send("POST", f"/requests/{quote(request_id, safe='')}/cancel"))

    def _long_poll(self, path: str, wait: float, clock: Any) -> _Call:
        """Polls of at most the server's cap until decided or ``wait`` seconds have passed in all."""
        deadline = clock() + wait
        while True:
            remaining = deadline - clock()
            poll = min(max(remaining, 0.0), SERVER_MAX_WAIT_SECONDS)
            started = clock()
            view = yield from self._exchange(_Send("GET", path, params={"wait": f"{poll:.3f}"}, held=poll))
            if view.status != "pending" or clock() >= deadline:
                return view
            if clock() - started < min(poll, _EARLY_POLL_PAUSE_SECONDS):
                yield _Sleep(min(_EARLY_POLL_PAUSE_SECONDS, max(deadline - clock(), 0.0)))

    def _exchange(self, send: _Send) -> _Call:
        """One call, retried on a connection error, 429 and 502-504; its view, or its problem raised."""
        attempt = 0
        while True:
            attempt += 1
            outcome = yield send
            if isinstance(outcome, Exception):
                delay = self.retry.delay(attempt, None)
                if delay is None:
                    raise SignoffUnreachable(f"{send.method} {send.path}: {outcome!r}") from outcome
                yield _Sleep(delay)
                continue
            status: int = outcome.status_code
            retry_after = _retry_after(outcome.headers)
            if status in RETRIED_STATUSES and (delay := self.retry.delay(attempt, retry_after)) is not None:
                yield _Sleep(delay)
                continue
            if status >= 400:
                problem = _problem_of(
                    status, outcome.reason_phrase, outcome.headers.get("Content-Type", ""), outcome.text
                )
                raise api_error(problem, retry_after)
            return RequestView.model_validate_json(outcome.content)


def _httpx2() -> ModuleType:
    try:
        return importlib.import_module("httpx2")
    except ImportError:
        raise ImportError(
            "SignoffHTTP needs an HTTP library: pip install 'signoff-client[http]' (it brings httpx2)"
        ) from None


class _Client:
    """What both clients hold: httpx2, the calls' core, and the options of their httpx2 client."""

    def __init__(self, base_url: str, api_key: str, timeout: float, retry: RetryPolicy) -> None:
        if not api_key:
            raise ValueError("api_key is empty: give the secret of a key from SIGNOFF_API_KEYS")
        self._httpx = _httpx2()
        self._timeout = timeout
        self._calls = _Calls(retry)
        self._options: dict[str, Any] = {
            "base_url": base_url.rstrip("/") + "/v1",
            "headers": {"Authorization": f"Bearer {api_key}", "User-Agent": _USER_AGENT},
            "timeout": timeout,
            "follow_redirects": False,
        }


class SignoffHTTP(_Client):
    """signoff's HTTP API, blocking. ``base_url``: the bot's root (``https://signoff.example.com``);
    ``api_key``: a secret of ``SIGNOFF_API_KEYS``; ``timeout``: seconds for one call (a long-poll
    gets its wait on top); ``transport``: an ``httpx2`` transport (proxies, tests)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy = RetryPolicy(),
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, api_key, timeout, retry)
        self._http: httpx2.Client = self._httpx.Client(**self._options, transport=transport)

    def create(
        self,
        request: SignoffRequestInput | Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
        callback_url: str | None = None,
    ) -> RequestView:
        """Asks for sign-off (``POST /v1/requests``): the request, pending, with its thread. Give
        ``idempotency_key`` to make a later call (another process's too) the same request; without
        one, a key is made for this call and reused by its retries."""
        return self._run(self._calls.create(request, idempotency_key, callback_url))

    def get(self, request_id: str, *, wait: float | None = None) -> RequestView:
        """The request (``GET /v1/requests/{id}``); with ``wait``, once decided or after ``wait``
        seconds in all (then still ``pending``), polling as often as the server's 60 s cap needs."""
        return self._run(self._calls.get(request_id, wait))

    def cancel(self, request_id: str) -> RequestView:
        """Cancels a pending request: the buttons go, the thread says so."""
        return self._run(self._calls.cancel(request_id))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, call: _Call) -> RequestView:
        outcome: _Outcome = None
        try:
            while True:
                step = call.send(outcome)
                if isinstance(step, _Sleep):
                    time.sleep(step.seconds)
                    outcome = None
                    continue
                try:
                    outcome = self._http.request(**step.options(self._httpx, self._timeout))
                except self._httpx.TransportError as err:
                    outcome = err
        except StopIteration as done:
            view: RequestView = done.value
            return view


class AsyncSignoffHTTP(_Client):
    """``SignoffHTTP`` for asyncio: the same calls, awaited (``async with AsyncSignoffHTTP(...)``)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy = RetryPolicy(),
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, api_key, timeout, retry)
        self._http: httpx2.AsyncClient = self._httpx.AsyncClient(**self._options, transport=transport)

    async def create(
        self,
        request: SignoffRequestInput | Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
        callback_url: str | None = None,
    ) -> RequestView:
        """As ``SignoffHTTP.create``."""
        return await self._run(self._calls.create(request, idempotency_key, callback_url))

    async def get(self, request_id: str, *, wait: float | None = None) -> RequestView:
        """As ``SignoffHTTP.get``."""
        return await self._run(self._calls.get(request_id, wait))

    async def cancel(self, request_id: str) -> RequestView:
        """As ``SignoffHTTP.cancel``."""
        return await self._run(self._calls.cancel(request_id))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _run(self, call: _Call) -> RequestView:
        outcome: _Outcome = None
        try:
            while True:
                step = call.send(outcome)
                if isinstance(step, _Sleep):
                    await asyncio.sleep(step.seconds)
                    outcome = None
                    continue
                try:
                    outcome = await self._http.request(**step.options(self._httpx, self._timeout))
                except self._httpx.TransportError as err:
                    outcome = err
        except StopIteration as done:
            view: RequestView = done.value
            return view
