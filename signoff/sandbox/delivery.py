"""Getting a request to the app: Socket Mode if connected, else signed HTTP.

Over HTTP, bodies are encoded as Slack does (slash commands as a form,
interactions as a form field ``payload=<json>``, events as JSON) and signed
with ``v0=HMAC-SHA256(signing_secret, "v0:{timestamp}:{body}")``. Either way
the caller gets a ``DeliveryResult`` with the app's acknowledgement.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

import aiohttp

from signoff.sandbox.socket_mode import NotConnected, SocketModeHub

Kind = Literal["slash_commands", "interactive", "events_api"]
Via = Literal["auto", "socket_mode", "http"]


class NoRoute(RuntimeError):
    """Neither a Socket Mode client is connected nor a request URL configured."""


@dataclass
class DeliveryResult:
    """What the app answered. ``status`` is None when it did not acknowledge in time (or at all)."""

    kind: Kind
    transport: Literal["socket_mode", "http"]
    status: int | None
    body: str | None = None
    payload: dict[str, Any] | None = None
    trigger_id: str | None = None
    response_url: str | None = None
    error: str | None = None

    @property
    def acked(self) -> bool:
        return self.status == 200


def sign(signing_secret: str, timestamp: str, body: str) -> str:
    digest = hmac.new(signing_secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return f"v0={digest}"


class Delivery:
    def __init__(self, hub: SocketModeHub, *, signing_secret: str, request_url: str | None, ack_timeout: float) -> None:
        self.hub = hub
        self.signing_secret = signing_secret
        self.request_url = request_url
        self.ack_timeout = ack_timeout
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(
        self, kind: Kind, payload: dict[str, Any], *, accepts_response_payload: bool = False, via: Via = "auto"
    ) -> DeliveryResult:
        if via == "socket_mode" or (via == "auto" and self.hub.connected):
            return await self._over_socket(kind, payload, accepts_response_payload)
        if self.request_url is None:
            raise NoRoute("no Socket Mode client is connected and no request_url is configured")
        return await self._over_http(kind, payload)

    async def _over_socket(self, kind: Kind, payload: dict[str, Any], accepts_response_payload: bool) -> DeliveryResult:
        try:
            _, ack = await self.hub.deliver(
                kind, payload, accepts_response_payload=accepts_response_payload, timeout=self.ack_timeout
            )
        except NotConnected as e:
            raise NoRoute(str(e)) from None
        if ack is None:
            return DeliveryResult(kind, "socket_mode", None, error="no ack within the timeout")
        ack_payload = ack.get("payload")
        return DeliveryResult(
            kind,
            "socket_mode",
            200,
            body=json.dumps(ack_payload) if ack_payload is not None else "",
            payload=ack_payload if isinstance(ack_payload, dict) else None,
        )

    async def _over_http(self, kind: Kind, payload: dict[str, Any]) -> DeliveryResult:
        if kind == "slash_commands":
            body, content_type = urlencode(payload), "application/x-www-form-urlencoded"
        elif kind == "interactive":
            body, content_type = urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        else:
            body, content_type = json.dumps(payload), "application/json"
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": sign(self.signing_secret, timestamp, body),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        if self._session is None:
            self._session = aiohttp.ClientSession()
        assert self.request_url is not None
        try:
            async with self._session.post(
                self.request_url,
                data=body.encode(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.ack_timeout),
            ) as response:
                text = await response.text()
                return DeliveryResult(kind, "http", response.status, body=text, payload=_ack_payload(text))
        except TimeoutError:
            return DeliveryResult(kind, "http", None, error="no response within the timeout")
        except aiohttp.ClientError as e:
            return DeliveryResult(kind, "http", None, error=f"{type(e).__name__}: {e}")


def _ack_payload(text: str) -> dict[str, Any] | None:
    """An HTTP ack body as Slack reads it: JSON if it is JSON, else plain text."""
    if not text:
        return None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return {"text": text}
    return parsed if isinstance(parsed, dict) else {"text": text}
