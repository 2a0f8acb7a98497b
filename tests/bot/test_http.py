"""The HTTP endpoint: Slack's request signing is enforced, and acks never wait for Temporal."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier
from temporalio.client import Client

from bot.app import build_app
from bot.deps import Deps
from bot.gateway import Started, TemporalGateway
from core.contracts import SlackOrigin
from infra.settings import Settings
from infra.temporal import data_converter
from sandbox import SlackSandbox
from tests.support.bot import bot_settings, serve

SECRET = "sandbox-signing-secret"


def signed_headers(body: str, *, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
    }
    # The same scheme slack_sdk verifies with.
    assert SignatureVerifier(secret).generate_signature(timestamp=ts, body=body) == headers["X-Slack-Signature"]
    return headers


def slash_body(
    text: str, *, trigger_id: str = "111.222.abc", response_url: str = "http://127.0.0.1:9/response/x"
) -> str:
    return urlencode(
        {
            "team_id": "T0SANDBOX",
            "channel_id": "C0GENERAL",
            "user_id": "U0REQUEST",
            "command": "/report",
            "text": text,
            "trigger_id": trigger_id,
            "response_url": response_url,
        }
    )


class RecordingGateway(TemporalGateway):
    """A gateway whose start takes ``delay`` seconds and records what it was asked to start."""

    def __init__(self, client: Client, delay: float = 0.0) -> None:
        super().__init__(client, task_queue="unused")
        self.started: list[str] = []
        self.delay = delay

    async def start_report(self, topic: str, origin: SlackOrigin, request_key: str) -> Started:
        self.started.append(topic)
        await asyncio.sleep(self.delay)
        return Started(workflow_id="report-test", run_id=None)


@contextlib.asynccontextmanager
async def silent_tcp_server() -> AsyncIterator[str]:
    """Accepts connections and never answers: a Temporal that hangs."""
    connections: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        for writer in connections:
            writer.close()
        server.close()


async def lazy_client(address: str) -> Client:
    return await Client.connect(address, data_converter=data_converter(), lazy=True)


async def post(url: str, body: str, headers: dict[str, str]) -> tuple[int, str, float]:
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=body.encode(), headers=headers) as response:
            return response.status, await response.text(), time.monotonic() - started


def settings_for(slack: SlackSandbox) -> Settings:
    settings = bot_settings(slack)
    assert settings.slack_signing_secret == SECRET
    return settings


async def test_bad_signatures_are_refused_and_start_nothing(slack: SlackSandbox) -> None:
    settings = settings_for(slack)
    async with silent_tcp_server() as address:
        gateway = RecordingGateway(await lazy_client(address))
        app = build_app(settings, gateway.client, deps=Deps(settings=settings, gateway=gateway))
        async with serve(app) as url:
            body = slash_body("Solar panels")
            forged = signed_headers(body, secret="not-the-secret")
            assert (await post(url, body, forged))[0] == 401

            stale = signed_headers(body, timestamp=int(time.time()) - 6 * 60)
            assert (await post(url, body, stale))[0] == 401

            altered = signed_headers(body)
            assert (await post(url, body.replace("Solar", "Lunar"), altered))[0] == 401

            unsigned = {"Content-Type": "application/x-www-form-urlencoded"}
            assert (await post(url, body, unsigned))[0] == 401
            assert gateway.started == []

            # The same request, signed properly, is accepted.
            status, _, _ = await post(url, body, signed_headers(body))
            assert status == 200
            await slack.wait_for(lambda: gateway.started == ["Solar panels"], timeout=5)


async def test_report_acks_fast_while_temporal_hangs(slack: SlackSandbox) -> None:
    settings = settings_for(slack)
    async with silent_tcp_server() as address:
        client = await lazy_client(address)
        gateway = TemporalGateway(client, task_queue="unused", rpc_timeout=timedelta(seconds=1))
        app = build_app(settings, client, deps=Deps(settings=settings, gateway=gateway))
        async with serve(app) as url:
            slack.request_url = url
            result_started = time.monotonic()
            result = await slack.send_slash_command("U0REQUEST", "/report", "Solar panels")
            ack_seconds = time.monotonic() - result_started
            assert result.acked and ack_seconds < 1.0, (result, ack_seconds)

            def told() -> list[str]:
                return [e["text"] for e in slack.ephemerals("U0REQUEST") if "not started" in (e.get("text") or "")]

            [message] = await slack.wait_for(told, timeout=10)
            assert "Temporal did not answer" in message and "nothing was changed" in message


async def test_report_acks_fast_while_the_start_is_slow(slack: SlackSandbox) -> None:
    settings = settings_for(slack)
    async with silent_tcp_server() as address:
        gateway = RecordingGateway(await lazy_client(address), delay=10)
        app = build_app(settings, gateway.client, deps=Deps(settings=settings, gateway=gateway))
        async with serve(app) as url:
            body = slash_body("Solar panels", response_url=slack.url + "/response/unused")
            status, _, seconds = await post(url, body, signed_headers(body))
            assert status == 200 and seconds < 1.0
            assert gateway.started == ["Solar panels"]
