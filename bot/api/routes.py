"""The HTTP API's handlers under ``/v1/``: create, read (long-poll) and cancel a sign-off request.

Every handler authenticates first (``KeyRing``: 401), then spends one of the key's tokens
(``RateLimiter``: 429), then holds one of the API's engine slots while it talks to the engine
through the bot's one gateway, so a flood from the API can never take every start slot or
connection the Slack handlers need. A key sees only its own requests: anyone else's is the same
404 as none at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.abc import AbstractResolver
from pydantic import ValidationError
from signoff_client import CHANNEL_NOT_FOUND, IDEMPOTENCY_HEADER, INVALID_REQUEST, NOT_IN_CHANNEL, ThreadLink

from bot.api.auth import KeyRing
from bot.api.models import IDEMPOTENCY_KEY_PATTERN, CreateRequest, RequestError, RequestView
from bot.api.problems import ProblemError, invalid_body
from bot.api.ratelimit import RateLimiter
from bot.gateway import (
    MEMO_POOL_GROUP,
    AlreadyRunning,
    Gateway,
    GatewayError,
    MaybeStarted,
    NotFound,
    RequestRecord,
    RunStatus,
    Unreachable,
)
from signoff.activities.webhooks import vet_target
from signoff.config.api_keys import ApiKey
from signoff.contracts.api import ApiSignoffRequest, ProxiedToolCall, RequestStatus
from signoff.contracts.workflow_io import WorkflowKind

log = logging.getLogger(__name__)

T = TypeVar("T")

# The largest body taken: a request's longest body (100,000 characters, up to 4 bytes each) with room.
MAX_BODY_BYTES = 512 * 1024
# ?wait=N is clamped to this (seconds).
MAX_WAIT_SECONDS = 60.0
# Long-polls held at once; beyond, a GET answers at once (as with ?wait=0).
MAX_LONG_POLLS = 256
# Engine calls the API makes at once (of the gateway's own bounds): the Slack handlers keep the rest.
MAX_API_ENGINE_CALLS = 8
# How long a call waits for one of those before it is told to come back (503).
ENGINE_SLOT_WAIT_SECONDS = 5.0
# How long POST waits for the thread to be posted (or for Slack to refuse it) before answering.
THREAD_WAIT_SECONDS = 10.0
# How long a cancel waits for the request to end before answering with it as it stands.
CANCEL_WAIT_SECONDS = 5.0
# The ids ``request_id`` gives.
REQUEST_ID = re.compile(r"^api-[0-9a-f]{40}$")
# A request's memo: the key that asked, and the hash of what it asked (a retry must ask the same).
MEMO_KEY = "api_key"
MEMO_HASH = "body_sha256"
# Failures of the request itself, told to the caller as the field at fault.
_FIELD_OF_FAILURE = {NOT_IN_CHANNEL: "channel", CHANNEL_NOT_FOUND: "channel"}
_ENDED: dict[RunStatus, RequestStatus] = {
    RunStatus.CANCELED: "cancelled",
    RunStatus.FAILED: "failed",
    RunStatus.TERMINATED: "failed",
    RunStatus.TIMED_OUT: "failed",
}


def request_id(key_name: str, idempotency_key: str) -> str:
    """The workflow id of key ``key_name``'s request under ``idempotency_key``: the same pair, the same
    request; two keys never share one."""
    digest = hashlib.sha256(f"{key_name}\0{idempotency_key}".encode()).hexdigest()[:40]
    return f"api-{digest}"


def body_hash(request: CreateRequest) -> str:
    """What was asked, canonically (the id aside): a retry under the same key must ask the same."""
    canonical = json.dumps(request.model_dump(mode="json", exclude={"id"}), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def view_of(record: RequestRecord) -> RequestView:
    """The API's view of a request from what its engine says."""
    thread = ThreadLink(channel=record.thread.channel_id, ts=record.thread.ts) if record.thread else None
    error = RequestError(type=record.error[0], message=record.error[1]) if record.error else None
    status: RequestStatus
    if record.result is not None:
        status = record.result["outcome"]
    elif record.status is RunStatus.RUNNING:
        status = "pending"
    else:
        status = _ENDED.get(record.status, "failed")
    return RequestView.model_validate(
        {"id": record.workflow_id, "status": status, "thread": thread, "result": record.result, "error": error}
    )


def parse_wait(raw: str | None) -> float:
    """``?wait=N`` in seconds, clamped to ``MAX_WAIT_SECONDS``; 400 naming ``wait`` if not a number."""
    if raw is None or raw == "":
        return 0.0
    try:
        seconds = float(raw)
    except ValueError:
        raise ProblemError.for_field(400, "invalid-parameter", "wait", "must be a number of seconds") from None
    if math.isnan(seconds) or seconds < 0:
        raise ProblemError.for_field(400, "invalid-parameter", "wait", "must be a number of seconds, 0 or more")
    return min(seconds, MAX_WAIT_SECONDS)


@dataclass
class RequestsApi:
    """The handlers, with what they need; ``routes()`` is what ``bot.api.build_api`` serves."""

    keys: KeyRing
    gateway: Gateway
    limiter: RateLimiter
    default_channel: str | None
    webhook_allow_private: bool
    # The DNS under the callback_url check (tests: a stand-in); default: the system's.
    resolver: Callable[[], AbstractResolver] | None = None

    def __post_init__(self) -> None:
        self._engine_slots = asyncio.Semaphore(MAX_API_ENGINE_CALLS)
        self._long_polls = 0

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/requests", self.create),
            web.get("/requests/{id}", self.read),
            web.post("/requests/{id}/cancel", self.cancel),
        ]

    # ------------------------------------------------------------------ handlers

    async def create(self, request: web.Request) -> web.Response:
        key = self._admit(request)
        body = await self._body(request)
        view, replayed = await self.submit(key, body, self._idempotency_key(request, body))
        headers = {"Location": f"/v1/requests/{view.id}"}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return _json(201, view, headers)

    async def read(self, request: web.Request) -> web.Response:
        key = self._admit(request)
        wait = parse_wait(request.query.get("wait"))
        return _json(200, await self.view(key, request.match_info["id"], wait))

    async def cancel(self, request: web.Request) -> web.Response:
        key = self._admit(request)
        return _json(200, await self.cancel_request(key, request.match_info["id"]))

    # ------------------------------------------------------------------ the operations (also the MCP server's)

    async def submit(
        self, key: ApiKey, body: CreateRequest, idempotency_key: str, tool_call: ProxiedToolCall | None = None
    ) -> tuple[RequestView, bool]:
        """Ask for sign-off as ``key``: the request once its thread is posted, and whether it is a
        retry of one already made under ``idempotency_key``. ``tool_call``: the request is about that
        one call (``bot.api.tool_gate``), its message the tool-call message."""
        channel = self._channel_for(key, body)
        await self._check_callback(body)
        workflow_id = request_id(key.name, idempotency_key)
        digest = body_hash(body)
        extra: dict[str, Any] = {"channel": channel, "api_key": key.name, "callback_url": body.callback_url}
        if tool_call is not None:
            extra["tool_call"] = tool_call.model_dump(mode="json")
        started = ApiSignoffRequest.model_validate(
            body.signoff_request().model_dump(mode="json", exclude_none=True) | extra
        )
        memo = {
            "kind": WorkflowKind.REQUEST.value,
            "subject": body.title[:200],
            "channel_id": channel,
            "requester_id": body.requester,
            MEMO_KEY: key.name,
            MEMO_HASH: digest,
        }
        if body.approver_group:
            memo[MEMO_POOL_GROUP] = body.approver_group
        replayed = False
        request_json = started.model_dump(mode="json", exclude_none=True)
        try:
            await self._call(lambda: self.gateway.start_request(workflow_id, request_json, memo))
            log.info("API key %s asked for sign-off: %s", key.name, workflow_id)
        except AlreadyRunning:
            replayed = True
        record = await self._until_thread(workflow_id)
        if record.memo.get(MEMO_KEY) != key.name or record.memo.get(MEMO_HASH) != digest:
            raise ProblemError(
                409,
                "idempotency-conflict",
                "this idempotency key was used for a different request; use a new key for a new request",
            )
        self._refuse_failed_start(record)
        return view_of(record), replayed

    async def view(self, key: ApiKey, workflow_id: str, wait: float) -> RequestView:
        """Key ``key``'s request, once decided or after ``wait`` seconds (clamped by the caller)."""
        record = await self._own(key, workflow_id)
        if wait > 0 and record.status is RunStatus.RUNNING and record.result is None:
            record = await self._long_poll(key, workflow_id, wait)
        return view_of(record)

    async def record(self, key: ApiKey, workflow_id: str) -> RequestRecord:
        """Key ``key``'s request as its engine has it (running or ended); 404 as ``view``."""
        return await self._own(key, workflow_id)

    async def cancel_request(self, key: ApiKey, workflow_id: str) -> RequestView:
        """Cancel key ``key``'s request (409 if it has already ended); it as it stands after."""
        record = await self._own(key, workflow_id)
        if record.status is not RunStatus.RUNNING or record.result is not None:
            raise ProblemError(
                409, "already-ended", f"the request has already ended ({view_of(record).status}); nothing changed"
            )
        await self._call(lambda: self.gateway.cancel(workflow_id))
        log.info("API key %s cancelled %s", key.name, workflow_id)
        record = await self._call(lambda: self.gateway.request_record(workflow_id, CANCEL_WAIT_SECONDS), slot=False)
        return view_of(record)

    # ------------------------------------------------------------------ steps

    def _admit(self, request: web.Request) -> ApiKey:
        key = self.keys.caller(request)
        self.limiter.take(key.name)
        return key

    async def _body(self, request: web.Request) -> CreateRequest:
        if request.content_type != "application/json":
            raise ProblemError(415, "unsupported-media-type", "send the request as application/json")
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            raise _too_large()
        raw = await request.content.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            raise _too_large()
        try:
            parsed = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ProblemError.for_field(400, "malformed-json", "body", f"not JSON: {err}") from None
        except RecursionError:
            # Nested deeper than the parser goes (within the size limit): refused like any bad JSON.
            raise ProblemError.for_field(400, "malformed-json", "body", "nested too deeply") from None
        if not isinstance(parsed, dict):
            raise ProblemError.for_field(422, "invalid-request", "body", "must be a JSON object")
        try:
            return CreateRequest.model_validate(parsed)
        except ValidationError as err:
            raise invalid_body(err) from None

    def _idempotency_key(self, request: web.Request, body: CreateRequest) -> str:
        header = request.headers.get(IDEMPOTENCY_HEADER)
        if header is not None:
            if not re.match(IDEMPOTENCY_KEY_PATTERN, header):
                raise ProblemError.for_field(
                    400, "invalid-parameter", IDEMPOTENCY_HEADER, "1-255 letters, digits or . _ : ~ -"
                )
            if body.id is not None and body.id != header:
                raise ProblemError.for_field(
                    422, "invalid-request", "id", f"differs from the {IDEMPOTENCY_HEADER} header; give one or the same"
                )
            return header
        return body.id or str(uuid.uuid4())

    def _channel_for(self, key: ApiKey, body: CreateRequest) -> str | None:
        """The channel the request goes to (the default one named, for a key limited to channels);
        403 outside the key's channels."""
        channel = body.channel or (self.default_channel if key.channels is not None else None)
        if key.channels is not None and not key.allows(channel):
            shown = channel or "the default channel (none is set)"
            raise ProblemError.for_field(403, "forbidden-channel", "channel", f"this API key may not ask in {shown}")
        return channel

    async def _check_callback(self, body: CreateRequest) -> None:
        if body.callback_url is None:
            return
        problem = await vet_target(
            body.callback_url,
            allow_private=self.webhook_allow_private,
            inner=self.resolver() if self.resolver else None,
        )
        if problem:
            raise ProblemError.for_field(422, "invalid-request", "callback_url", problem)

    async def _own(self, key: ApiKey, workflow_id: str) -> RequestRecord:
        """Key ``key``'s request ``workflow_id``; anyone else's is a 404 as if none existed."""
        if not REQUEST_ID.match(workflow_id):
            # Not an id this API gives: never looked up (no other workflow of the engine is read).
            raise ProblemError(404, "not-found", "no such request")
        try:
            record = await self._call(lambda: self.gateway.request_record(workflow_id))
        except NotFound:
            record = None
        if record is None or record.memo.get(MEMO_KEY) != key.name:
            raise ProblemError(404, "not-found", "no such request")
        return record

    async def _long_poll(self, key: ApiKey, workflow_id: str, wait: float) -> RequestRecord:
        if self._long_polls >= MAX_LONG_POLLS:
            # Held at the bound: answered as it stands (the caller polls again).
            return await self._own(key, workflow_id)
        self._long_polls += 1
        try:
            # No engine slot: a long-poll holds one of MAX_LONG_POLLS instead, idle while it waits.
            return await self._call(lambda: self.gateway.request_record(workflow_id, wait), slot=False)
        finally:
            self._long_polls -= 1

    async def _until_thread(self, workflow_id: str) -> RequestRecord:
        """The request once its thread is posted, it ended, or ``THREAD_WAIT_SECONDS`` passed."""
        return await self.record_until(
            workflow_id,
            lambda record: record.thread is not None or record.status is not RunStatus.RUNNING,
            THREAD_WAIT_SECONDS,
        )

    async def record_until(
        self,
        workflow_id: str,
        done: Callable[[RequestRecord], bool],
        within: float,
        *,
        longest_pause: float = 0.5,
    ) -> RequestRecord:
        """Request ``workflow_id`` once ``done`` says so of it or ``within`` seconds passed: read again
        and again, from 50 ms apart to ``longest_pause``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        pause = 0.05
        while True:
            record = await self._call(lambda: self.gateway.request_record(workflow_id))
            if done(record) or loop.time() >= deadline:
                return record
            await asyncio.sleep(pause)
            pause = min(pause * 2, longest_pause)

    def _refuse_failed_start(self, record: RequestRecord) -> None:
        """A request the worker refused before posting anything: told as the field at fault."""
        if record.status is not RunStatus.FAILED or record.error is None or record.thread is not None:
            return
        kind, message = record.error
        if kind in _FIELD_OF_FAILURE:
            raise ProblemError.for_field(422, "invalid-request", _FIELD_OF_FAILURE[kind], message)
        if kind == INVALID_REQUEST:
            field, _, detail = message.removeprefix("Invalid SignoffRequest: ").partition(": ")
            raise ProblemError.for_field(422, "invalid-request", field or "body", detail or message)

    @contextlib.asynccontextmanager
    async def _engine_slot(self) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(ENGINE_SLOT_WAIT_SECONDS):
                await self._engine_slots.acquire()
        except TimeoutError:
            raise ProblemError(
                503, "busy", "the API is busy; try again in a moment", headers={"Retry-After": "1"}
            ) from None
        try:
            yield
        finally:
            self._engine_slots.release()

    async def _call(self, call: Callable[[], Awaitable[T]], *, slot: bool = True) -> T:
        """One gateway call, holding one of the API's engine slots unless ``slot`` is False (a wait)."""
        try:
            async with self._engine_slot() if slot else contextlib.nullcontext():
                return await call()
        except (NotFound, AlreadyRunning):
            # The handler's to answer: a request of another key, or a retry.
            raise
        except Unreachable as err:
            raise ProblemError(503, "engine-unavailable", str(err), headers={"Retry-After": "5"}) from None
        except MaybeStarted:
            # A retry under the same idempotency key is safe: it is this request or nothing.
            raise ProblemError(
                503,
                "start-unconfirmed",
                f"the engine did not confirm the start in time; retry with the same {IDEMPOTENCY_HEADER}",
                headers={"Retry-After": "5"},
            ) from None
        except GatewayError as err:
            raise ProblemError(502, "engine-error", str(err)) from None


def _too_large() -> ProblemError:
    return ProblemError.for_field(413, "too-large", "body", f"larger than {MAX_BODY_BYTES} bytes")


def _json(status: int, view: RequestView, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        text=view.model_dump_json(),
        content_type="application/json",
        headers=headers,
    )
