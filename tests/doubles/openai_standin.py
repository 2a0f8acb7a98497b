"""A local stand-in for the OpenAI HTTP API, answering with signoff's offline model.

It speaks enough of the wire format for the real ``openai`` client and the Agents SDK's
``OpenAIProvider(base_url=..., api_key=..., use_responses=True/False)``:

* ``POST /v1/responses`` (JSON, or SSE when ``"stream": true``)
* ``POST /v1/chat/completions`` (JSON, or SSE chunks when ``"stream": true``)
* ``GET /v1/models``

The agent role comes from the instructions / system message (``You are signoff's <role>
agent.``) and the text from :func:`signoff.models.offline.offline_reply`. Structured
output requests (``text.format`` / ``response_format`` of type ``json_schema``) get the
reviewer's JSON as their output text, as the real API does.

For tests and benchmarks it records every call and can be slowed down or made to fail,
either from Python::

    standin = OpenAIStandIn(delay_by_role={"writer": 0.5})
    await standin.start()            # standin.base_url == "http://127.0.0.1:<port>/v1"
    standin.fail(role="writer", times=1, status=500)
    standin.malformed(role="reviewer")
    standin.hang("research")        # never answers until stop()
    standin.hang(containing="doc-3")  # the next call whose input has "doc-3"
    ...
    standin.calls                   # [StandInCall(role, model, input, status), ...]
    await standin.stop()

or over HTTP, for a worker running in another process (no auth on these)::

    GET  /_control/calls                  -> [{"role", "model", "input", "status"}, ...]
    POST /_control/delay     {"role": "writer", "seconds": 5}   (role null: every role)
    POST /_control/fail      {"role": null, "times": 1, "status": 500}
    POST /_control/malformed {"role": "reviewer", "times": 1}
    POST /_control/hang      {"role": "writer", "times": 1, "containing": null}
    POST /_control/reset     clears calls and faults, restores the starting delays

A call's ``status`` is ``"pending"`` while it is being answered, then ``"ok"``,
``"malformed"``, ``"hung"``, ``"disconnected"`` (the client went away first) or
``"http_<code>"`` (``"http_500"``, ``"http_401"``, ``"http_503"`` when stopped mid-call...).
Faults are consumed in the order they were added, by the first matching request.

``OpenAIStandIn(other_agents=True)`` also serves agents that are not signoff's (instructions not
naming a role; the article's ``ProcessingAgent``): role ``"other"``, the answer ``"[offline] "`` + the input.
Delays apply to answered calls (ok or malformed), not to injected failures.

Standalone::

    python -m tests.doubles.openai_standin --port 8100 --delay writer=5

prints its base URL on the first line of stdout and stops on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import signal
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from aiohttp import web

from signoff.models.offline import (
    OfflineModelError,
    detect_role,
    estimate_tokens,
    extract_user_text,
    offline_reply,
)

__all__ = ["DEFAULT_API_KEY", "MALFORMED_TEXT", "OpenAIStandIn", "StandInCall", "main"]

DEFAULT_API_KEY = "sk-standin"
MALFORMED_TEXT = "Sorry, I cannot answer in JSON today. approved=maybe {"
INPUT_EXCERPT_CHARS = 200
_DELTA_CHARS = 120  # streamed text is sent in pieces of this size
_STOP_ANSWER_STATUS = 503  # what a hung or delayed call gets when the stand-in stops
_UNKNOWN_ROLE = "unknown"
OTHER_ROLE = "other"
OTHER_PREFIX = "[offline] "


class StandInCall(NamedTuple):
    role: str
    model: str
    input: str
    status: str


@dataclass
class _Fault:
    kind: str  # "fail" | "malformed" | "hang"
    role: str | None  # None: any role
    remaining: int
    status: int = 500
    containing: str | None = None  # only calls whose input has this text

    def matches(self, role: str, text: str) -> bool:
        return (
            self.remaining > 0
            and (self.role is None or self.role == role)
            and (self.containing is None or self.containing in text)
        )


def _error_body(message: str, *, type_: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def _error_type(status: int) -> str:
    if status == 401:
        return "invalid_request_error"
    if status == 429:
        return "rate_limit_exceeded"
    if status >= 500:
        return "server_error"
    return "invalid_request_error"


class _BadRequest(Exception):
    pass


@dataclass
class _Request:
    """What both endpoints boil down to."""

    api: str  # "responses" | "chat"
    model: str
    instructions: str | None
    user_text: str
    structured: bool
    stream: bool
    include_usage: bool
    body: dict[str, Any]


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(part.get("text", "") if isinstance(part, Mapping) else str(part) for part in content)
    return str(content)


def _parse_responses(body: dict[str, Any]) -> _Request:
    raw_input = body.get("input")
    instructions = body.get("instructions")
    if not isinstance(instructions, str):
        instructions = None
    if instructions is None and isinstance(raw_input, list):
        for item in raw_input:
            if isinstance(item, Mapping) and item.get("role") in ("system", "developer"):
                instructions = _text_of(item.get("content"))
                break
    if raw_input is not None and not isinstance(raw_input, (str, list)):
        raise _BadRequest("'input' must be a string or a list of input items")
    text_cfg: Mapping[str, Any] = body["text"] if isinstance(body.get("text"), Mapping) else {}
    fmt: Mapping[str, Any] = text_cfg["format"] if isinstance(text_cfg.get("format"), Mapping) else {}
    return _Request(
        api="responses",
        model=str(body.get("model") or ""),
        instructions=instructions,
        user_text=extract_user_text(raw_input),
        structured=fmt.get("type") in ("json_schema", "json_object"),
        stream=bool(body.get("stream")),
        include_usage=True,
        body=body,
    )


def _parse_chat(body: dict[str, Any]) -> _Request:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _BadRequest("'messages' must be a non-empty list")
    instructions = None
    user_text = ""
    for message in messages:
        if not isinstance(message, Mapping):
            raise _BadRequest("each message must be an object")
        if message.get("role") in ("system", "developer") and instructions is None:
            instructions = _text_of(message.get("content"))
        elif message.get("role") == "user":
            user_text = _text_of(message.get("content"))
    response_format = body.get("response_format")
    fmt_type = response_format.get("type") if isinstance(response_format, Mapping) else None
    stream_options = body.get("stream_options")
    return _Request(
        api="chat",
        model=str(body.get("model") or ""),
        instructions=instructions,
        user_text=user_text,
        structured=fmt_type in ("json_schema", "json_object"),
        stream=bool(body.get("stream")),
        include_usage=isinstance(stream_options, Mapping) and bool(stream_options.get("include_usage")),
        body=body,
    )


class OpenAIStandIn:
    """An in-process OpenAI API stand-in; see the module docstring."""

    def __init__(
        self,
        delay_by_role: Mapping[str, float] | None = None,
        api_key: str | None = DEFAULT_API_KEY,
        other_agents: bool = False,
    ) -> None:
        self.other_agents = other_agents
        self._initial_delays = dict(delay_by_role or {})
        self.delay_by_role: dict[str, float] = dict(self._initial_delays)
        self.api_key = api_key
        self.calls: list[StandInCall] = []
        self._faults: list[_Fault] = []
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()
        self.host: str | None = None
        self.port: int | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the OpenAI stand-in is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to pass as the OpenAI client's ``base_url`` (ends in ``/v1``)."""
        return f"{self.url}/v1"

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/responses", self._handle_responses)
        app.router.add_post("/v1/chat/completions", self._handle_chat)
        app.router.add_get("/v1/models", self._handle_models)
        app.router.add_get("/_control/calls", self._control_calls)
        app.router.add_post("/_control/delay", self._control_delay)
        app.router.add_post("/_control/fail", self._control_fail)
        app.router.add_post("/_control/malformed", self._control_malformed)
        app.router.add_post("/_control/hang", self._control_hang)
        app.router.add_post("/_control/reset", self._control_reset)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start listening; returns :attr:`base_url`."""
        if self._runner is not None:
            raise RuntimeError("the OpenAI stand-in is already started")
        self._stopping = asyncio.Event()
        runner = web.AppRunner(
            self.make_app(),
            access_log=None,
            shutdown_timeout=2.0,
            # A client that goes away mid-call (a killed worker) cancels its handler, so
            # the call is recorded as "disconnected" at once instead of staying "pending".
            handler_cancellation=True,
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        sockets = [s for s in (getattr(site._server, "sockets", None) or [])]
        self.host = host
        self.port = sockets[0].getsockname()[1] if sockets else port
        return self.base_url

    async def stop(self) -> None:
        """Answer hung and delayed calls with 503, then stop listening."""
        self._stopping.set()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> OpenAIStandIn:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ control

    def set_delay(self, role: str | None, seconds: float) -> None:
        """Delay answers for ``role`` (``None``/``"*"``: every role without its own delay)."""
        self.delay_by_role[role or "*"] = float(seconds)

    def fail(self, role: str | None = None, times: int = 1, status: int = 500) -> None:
        """Answer the next ``times`` calls (for ``role``, or any) with HTTP ``status``."""
        self._faults.append(_Fault("fail", role, int(times), int(status)))

    def malformed(self, role: str | None = "reviewer", times: int = 1) -> None:
        """Answer the next ``times`` calls for ``role`` with 200 and non-JSON output text."""
        self._faults.append(_Fault("malformed", role, int(times)))

    def hang(self, role: str | None = None, times: int = 1, containing: str | None = None) -> None:
        """Never answer the next ``times`` calls for ``role`` whose input has ``containing`` (until :meth:`stop`)."""
        self._faults.append(_Fault("hang", role, int(times), containing=containing))

    def reset(self) -> None:
        """Forget calls and pending faults; restore the delays given at construction."""
        self.calls.clear()
        self._faults.clear()
        self.delay_by_role = dict(self._initial_delays)

    def count(self, role: str | None = None, status: str | None = None) -> int:
        """How many calls were recorded, optionally for one role and/or status."""
        return sum(
            1
            for call in self.calls
            if (role is None or call.role == role) and (status is None or call.status == status)
        )

    def calls_json(self) -> list[dict[str, str]]:
        return [call._asdict() for call in self.calls]

    def _delay_for(self, role: str) -> float:
        if role in self.delay_by_role:
            return self.delay_by_role[role]
        return self.delay_by_role.get("*", 0.0)

    def _take_fault(self, role: str, text: str) -> _Fault | None:
        for fault in self._faults:
            if fault.matches(role, text):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    async def _control_calls(self, request: web.Request) -> web.Response:
        return web.json_response(self.calls_json())

    @staticmethod
    async def _control_body(request: web.Request) -> dict[str, Any]:
        if not request.can_read_body:
            return {}
        try:
            body = await request.json()
        except ValueError as exc:
            raise web.HTTPBadRequest(text=f"control body is not JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="control body must be a JSON object")
        return body

    async def _control_delay(self, request: web.Request) -> web.Response:
        body = await self._control_body(request)
        try:
            self.set_delay(body.get("role"), float(body.get("seconds", 0)))
        except (TypeError, ValueError) as exc:
            raise web.HTTPBadRequest(text=f"bad delay: {exc}") from exc
        return web.json_response({"ok": True, "delay_by_role": self.delay_by_role})

    async def _control_fault(self, request: web.Request, kind: str) -> web.Response:
        body = await self._control_body(request)
        try:
            times = int(body.get("times", 1))
            if kind == "fail":
                self.fail(body.get("role"), times, int(body.get("status", 500)))
            elif kind == "malformed":
                self.malformed(body.get("role", "reviewer"), times)
            else:
                self.hang(body.get("role"), times, body.get("containing"))
        except (TypeError, ValueError) as exc:
            raise web.HTTPBadRequest(text=f"bad {kind} request: {exc}") from exc
        return web.json_response({"ok": True, "pending_faults": len(self._faults)})

    async def _control_fail(self, request: web.Request) -> web.Response:
        return await self._control_fault(request, "fail")

    async def _control_malformed(self, request: web.Request) -> web.Response:
        return await self._control_fault(request, "malformed")

    async def _control_hang(self, request: web.Request) -> web.Response:
        return await self._control_fault(request, "hang")

    async def _control_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"ok": True})

    # ------------------------------------------------------------------ OpenAI API

    async def _handle_models(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._unauthorized()
        return web.json_response(
            {
                "object": "list",
                "data": [{"id": "signoff-offline", "object": "model", "created": 0, "owned_by": "signoff"}],
            }
        )

    async def _handle_responses(self, request: web.Request) -> web.StreamResponse:
        return await self._handle(request, _parse_responses)

    async def _handle_chat(self, request: web.Request) -> web.StreamResponse:
        return await self._handle(request, _parse_chat)

    def _authorized(self, request: web.Request) -> bool:
        if self.api_key is None:
            return True
        return request.headers.get("Authorization", "") == f"Bearer {self.api_key}"

    @staticmethod
    def _unauthorized() -> web.Response:
        return web.json_response(
            _error_body(
                "Incorrect API key provided (OpenAI stand-in).",
                type_="invalid_request_error",
                code="invalid_api_key",
            ),
            status=401,
        )

    @staticmethod
    def _error(status: int, message: str, code: str | None = None) -> web.Response:
        return web.json_response(_error_body(message, type_=_error_type(status), code=code), status=status)

    def _record(self, role: str, model: str, text: str) -> int:
        self.calls.append(StandInCall(role, model, text[:INPUT_EXCERPT_CHARS], "pending"))
        return len(self.calls) - 1

    def _settle(self, index: int, status: str) -> None:
        # reset() may have cleared the list while the call was in flight.
        if index < len(self.calls) and self.calls[index].status == "pending":
            self.calls[index] = self.calls[index]._replace(status=status)

    async def _wait_or_stop(self, seconds: float | None) -> bool:
        """Sleep ``seconds`` (``None``: forever); False if the stand-in stopped meanwhile."""
        if seconds is not None and seconds <= 0:
            return not self._stopping.is_set()
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            return True
        return False

    async def _handle(self, request: web.Request, parse) -> web.StreamResponse:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise _BadRequest("the request body must be a JSON object")
            parsed = parse(body)
        except (ValueError, _BadRequest) as exc:
            if not self._authorized(request):
                return self._unauthorized()
            return self._error(400, f"Invalid request (OpenAI stand-in): {exc}")
        try:
            role = detect_role(parsed.instructions)
        except OfflineModelError as exc:
            role, role_error = (OTHER_ROLE, None) if self.other_agents else (_UNKNOWN_ROLE, str(exc))
        else:
            role_error = None
        index = self._record(role, parsed.model, parsed.user_text)
        try:
            response, status = await self._answer(request, parsed, role, role_error, index)
        except (ConnectionError, asyncio.CancelledError):
            # The client went away (e.g. its worker process was killed) before the answer.
            self._settle(index, "disconnected")
            raise
        self._settle(index, status)
        return response

    async def _answer(
        self,
        request: web.Request,
        parsed: _Request,
        role: str,
        role_error: str | None,
        index: int,
    ) -> tuple[web.StreamResponse, str]:
        if not self._authorized(request):
            return self._unauthorized(), "http_401"
        if role_error is not None:
            return self._error(400, role_error), "http_400"

        fault = self._take_fault(role, parsed.user_text)
        if fault is not None and fault.kind == "hang":
            self._settle(index, "hung")
            await self._wait_or_stop(None)
            return self._error(_STOP_ANSWER_STATUS, "The OpenAI stand-in stopped."), "hung"
        if fault is not None and fault.kind == "fail":
            message = f"Injected failure {fault.status} from the OpenAI stand-in."
            return self._error(fault.status, message), f"http_{fault.status}"

        if not await self._wait_or_stop(self._delay_for(role)):
            stopped = self._error(_STOP_ANSWER_STATUS, "The OpenAI stand-in stopped.")
            return stopped, f"http_{_STOP_ANSWER_STATUS}"

        if fault is not None and fault.kind == "malformed":
            text, status = MALFORMED_TEXT, "malformed"
        elif role == OTHER_ROLE:
            text, status = OTHER_PREFIX + parsed.user_text, "ok"
        else:
            text, status = offline_reply(role, parsed.user_text), "ok"

        usage_in = estimate_tokens(parsed.instructions or "") + estimate_tokens(parsed.user_text)
        usage_out = estimate_tokens(text)
        request_id = f"req_{uuid.uuid4().hex[:24]}"
        headers = {"x-request-id": request_id}
        if parsed.api == "responses":
            payload = self._response_object(parsed, text, usage_in, usage_out)
            if parsed.stream:
                return await self._stream_responses(request, payload, text, request_id), status
            return web.json_response(payload, headers=headers), status
        payload = self._chat_object(parsed, text, usage_in, usage_out)
        if parsed.stream:
            return await self._stream_chat(request, parsed, payload, text, request_id), status
        return web.json_response(payload, headers=headers), status

    # ------------------------------------------------------------------ payloads

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_standin{next(self._ids):06d}{uuid.uuid4().hex[:12]}"

    def _response_object(self, parsed: _Request, text: str, usage_in: int, usage_out: int) -> dict[str, Any]:
        body = parsed.body
        text_cfg = body.get("text") if isinstance(body.get("text"), Mapping) else None
        return {
            "id": self._new_id("resp"),
            "object": "response",
            "created_at": int(time.time()),
            "status": "completed",
            "completed_at": int(time.time()),
            "model": parsed.model,
            "instructions": parsed.instructions,
            "output": [
                {
                    "id": self._new_id("msg"),
                    "type": "message",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
                }
            ],
            "parallel_tool_calls": bool(body.get("parallel_tool_calls", True)),
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools") or [],
            "temperature": body.get("temperature", 1.0),
            "top_p": body.get("top_p", 1.0),
            "max_output_tokens": body.get("max_output_tokens"),
            "previous_response_id": body.get("previous_response_id"),
            "reasoning": {"effort": None, "summary": None},
            "text": text_cfg or {"format": {"type": "text"}},
            "truncation": body.get("truncation", "disabled"),
            "metadata": body.get("metadata") or {},
            "store": bool(body.get("store", False)),
            "error": None,
            "incomplete_details": None,
            "user": None,
            "usage": {
                "input_tokens": usage_in,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": usage_out,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": usage_in + usage_out,
            },
        }

    def _chat_object(self, parsed: _Request, text: str, usage_in: int, usage_out: int) -> dict[str, Any]:
        return {
            "id": self._new_id("chatcmpl"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": parsed.model,
            "system_fingerprint": "fp_signoff_standin",
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": text,
                        "refusal": None,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": usage_in,
                "completion_tokens": usage_out,
                "total_tokens": usage_in + usage_out,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
            },
        }

    @staticmethod
    async def _sse_start(request: web.Request, request_id: str) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "x-request-id": request_id,
            }
        )
        await response.prepare(request)
        return response

    async def _stream_responses(
        self, request: web.Request, payload: dict[str, Any], text: str, request_id: str
    ) -> web.StreamResponse:
        response = await self._sse_start(request, request_id)
        seq = itertools.count()
        message = payload["output"][0]
        item_id = message["id"]
        in_progress = {**payload, "status": "in_progress", "output": [], "usage": None}

        async def send(event: dict[str, Any]) -> None:
            event = {**event, "sequence_number": next(seq)}
            await response.write(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())

        await send({"type": "response.created", "response": in_progress})
        await send({"type": "response.in_progress", "response": in_progress})
        await send(
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {**message, "status": "in_progress", "content": []},
            }
        )
        empty_part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        await send(
            {
                "type": "response.content_part.added",
                "item_id": item_id,
                "output_index": 0,
                "content_index": 0,
                "part": empty_part,
            }
        )
        for start in range(0, len(text), _DELTA_CHARS):
            await send(
                {
                    "type": "response.output_text.delta",
                    "item_id": item_id,
                    "output_index": 0,
                    "content_index": 0,
                    "delta": text[start : start + _DELTA_CHARS],
                    "logprobs": [],
                }
            )
        await send(
            {
                "type": "response.output_text.done",
                "item_id": item_id,
                "output_index": 0,
                "content_index": 0,
                "text": text,
                "logprobs": [],
            }
        )
        await send(
            {
                "type": "response.content_part.done",
                "item_id": item_id,
                "output_index": 0,
                "content_index": 0,
                "part": message["content"][0],
            }
        )
        await send({"type": "response.output_item.done", "output_index": 0, "item": message})
        await send({"type": "response.completed", "response": payload})
        await response.write_eof()
        return response

    async def _stream_chat(
        self,
        request: web.Request,
        parsed: _Request,
        payload: dict[str, Any],
        text: str,
        request_id: str,
    ) -> web.StreamResponse:
        response = await self._sse_start(request, request_id)
        base = {
            "id": payload["id"],
            "object": "chat.completion.chunk",
            "created": payload["created"],
            "model": payload["model"],
            "system_fingerprint": payload["system_fingerprint"],
        }

        async def send(choices: list[dict[str, Any]], **extra: Any) -> None:
            chunk = {**base, "choices": choices, **extra}
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        await send([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        for start in range(0, len(text), _DELTA_CHARS):
            piece = text[start : start + _DELTA_CHARS]
            await send([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
        await send([{"index": 0, "delta": {}, "finish_reason": "stop"}])
        if parsed.include_usage:
            await send([], usage=payload["usage"])
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


# ---------------------------------------------------------------------- command line


def _parse_delay(value: str) -> tuple[str, float]:
    role, sep, seconds = value.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected ROLE=SECONDS, got {value!r}")
    try:
        return role.strip() or "*", float(seconds)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bad seconds in {value!r}") from exc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.doubles.openai_standin",
        description="Serve signoff's offline model over the OpenAI HTTP API.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--delay",
        action="append",
        type=_parse_delay,
        default=[],
        metavar="ROLE=SECONDS",
        help="delay answers for a role (repeatable; '*=S' for every role)",
    )
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="bearer key to require")
    parser.add_argument("--any-key", action="store_true", help="accept any API key (no 401s)")
    return parser


async def _serve(args: argparse.Namespace) -> None:
    standin = OpenAIStandIn(delay_by_role=dict(args.delay), api_key=None if args.any_key else args.api_key)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - non-Unix
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))
    await standin.start(args.host, args.port)
    print(standin.base_url, flush=True)
    print(
        f"OpenAI stand-in listening on {standin.base_url} (control: {standin.url}/_control/...)",
        file=sys.stderr,
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        await standin.stop()
        print("OpenAI stand-in stopped", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
