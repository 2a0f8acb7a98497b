"""A webhook receiver on 127.0.0.1, and the receiver's check of a delivery as the docs give it."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

from aiohttp import web

from tests.support.web import serving


def verify_signoff_webhook(secret: str, headers: Mapping[str, str], body: bytes, tolerance: int = 300) -> bool:
    """The receiver's check, word for word as the docs give it: the signature over "<timestamp>.<body>",
    and a timestamp within ``tolerance`` seconds (an old one is a replay)."""
    timestamp = headers.get("Signoff-Timestamp", "")
    signature = headers.get("Signoff-Signature", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False  # missing, or too old (or from the future): a replay
    expected = "v1=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def verify(secret: str, timestamp: str, signature: str, body: bytes) -> bool:
    """``verify_signoff_webhook`` with the two headers given apart."""
    return verify_signoff_webhook(secret, {"Signoff-Timestamp": timestamp, "Signoff-Signature": signature}, body)


@dataclass
class Receiver:
    base: str
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)


@contextlib.asynccontextmanager
async def receiver(status: int = 200) -> AsyncIterator[Receiver]:
    """A webhook receiver on 127.0.0.1: ``/hook`` answers ``status`` (a 302 to ``/elsewhere``), any path is recorded."""
    got = Receiver("")

    async def record(request: web.Request) -> web.Response:
        got.received.append((request.path, dict(request.headers), await request.read()))
        if request.path == "/hook" and status == 302:
            return web.Response(status=302, headers={"Location": "/elsewhere"})
        return web.Response(status=status if request.path == "/hook" else 200)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    async with serving(app) as base:
        got.base = base
        yield got
