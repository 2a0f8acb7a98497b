"""Slack's Socket Mode server side: the WebSocket the app connects to.

apps.connections.open hands out a single-use ``ws://.../socket?ticket=...``
URL. On connect the hub says ``hello``; deliveries go out as envelopes
(``envelope_id``, ``type``, ``payload``, ``accepts_response_payload``) and the
app acknowledges each with ``{"envelope_id": ..., "payload"?: ...}``. Pings are
answered by aiohttp (autoping), as slack_sdk's client expects.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from signoff.sandbox.directory import APP_ID

log = logging.getLogger(__name__)


class NotConnected(RuntimeError):
    """No Socket Mode client is connected."""


class SocketModeHub:
    def __init__(self, ws_base_url: Callable[[], str]) -> None:
        self._ws_base_url = ws_base_url
        self._tickets: set[str] = set()
        self._connections: list[web.WebSocketResponse] = []
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}

    @property
    def connected(self) -> bool:
        return any(not ws.closed for ws in self._connections)

    @property
    def connection_count(self) -> int:
        return sum(1 for ws in self._connections if not ws.closed)

    def issue_url(self) -> str:
        ticket = secrets.token_hex(16)
        self._tickets.add(ticket)
        return f"{self._ws_base_url()}/socket?ticket={ticket}&app_id={APP_ID}"

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/socket", self.handle)]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.Response(status=401, text="invalid_ticket")
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._connections.append(ws)
        try:
            await ws.send_json(
                {
                    "type": "hello",
                    "num_connections": self.connection_count,
                    "debug_info": {"host": "sandbox", "build_number": 1, "approximate_connection_time": 18060},
                    "connection_info": {"app_id": APP_ID},
                }
            )
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._on_text(message.data)
        finally:
            self._connections.remove(ws)
        return ws

    def _on_text(self, data: str) -> None:
        try:
            message = json.loads(data)
        except json.JSONDecodeError:
            log.warning("ignoring a non-JSON Socket Mode message: %.200s", data)
            return
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        future = self._pending.get(envelope_id) if isinstance(envelope_id, str) else None
        if future is None:
            log.warning("ignoring an ack for an unknown envelope: %.200s", data)
            return
        if not future.done():
            future.set_result(message)

    async def deliver(
        self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool, timeout: float
    ) -> tuple[str, dict[str, Any] | None]:
        """Send one envelope; (envelope_id, the app's ack or None if none came within ``timeout``)."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if kind == "events_api":
            envelope.update(retry_attempt=0, retry_reason="")
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[envelope_id] = future
        try:
            await self._send(json.dumps(envelope))
            try:
                return envelope_id, await asyncio.wait_for(future, timeout)
            except TimeoutError:
                return envelope_id, None
        finally:
            self._pending.pop(envelope_id, None)

    async def _send(self, text: str) -> None:
        # Slack picks one of the app's open connections; the newest is as good as any.
        for ws in reversed(self._connections):
            if ws.closed:
                continue
            try:
                await ws.send_str(text)
                return
            except ConnectionResetError:
                log.info("a Socket Mode connection went away while sending; trying another")
        raise NotConnected("no Socket Mode client is connected")

    async def request_reconnect(self) -> None:
        """Send Slack's ``disconnect`` (refresh_requested) on every connection; clients reconnect."""
        message = {"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "sandbox"}}
        for ws in list(self._connections):
            if not ws.closed:
                await ws.send_json(message)

    async def close_all(self) -> None:
        for ws in list(self._connections):
            await ws.close(code=1001, message=b"sandbox going away")
