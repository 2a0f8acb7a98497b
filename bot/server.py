"""Transports for the one app: HTTP (``POST /slack/events``) and Socket Mode."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from opentelemetry.sdk.trace.export import SpanExporter
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from temporalio.client import Client

from bot.app import build_app, build_web_client
from bot.gateway import Gateway
from bot.metrics import InstrumentedApp, Readiness, build_metrics_app, health_routes
from infra.heap import freeze_startup_heap
from infra.ports import bind_port
from infra.settings import Settings, SettingsError
from infra.slack import slack_session
from infra.temporal import connect_client

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


def build_web_app(app: AsyncApp) -> web.Application:
    """An aiohttp application serving the Bolt app at ``POST /slack/events`` (signatures verified by Bolt),
    ``GET /healthz`` (the process serves) and, for an app of ``build_app``, ``GET /readyz`` (a bare status:
    the reason is on the metrics port)."""

    async def events(request: web.Request) -> web.Response:
        bolt_request = await to_bolt_request(request)
        bolt_response = await app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    readiness = app.readiness if isinstance(app, InstrumentedApp) else None
    web_app = web.Application()
    web_app.add_routes([web.post(EVENTS_PATH, events), *health_routes(readiness, public=True)])
    return web_app


def metrics_socket(settings: Settings, host: str = "0.0.0.0") -> socket.socket | None:
    """The metrics port, bound before anything else starts (a port in use: ``SettingsError``, exit 2)."""
    if settings.metrics_port is None:
        return None
    return bind_port(settings.metrics_port, "--metrics-port, SIGNOFF_METRICS_PORT", host)


@contextlib.asynccontextmanager
async def serving_metrics(sock: socket.socket | None, readiness: Readiness | None) -> AsyncIterator[None]:
    """``GET /metrics``, ``/healthz`` and ``/readyz`` on ``sock`` (``metrics_socket``) while inside."""
    if sock is None:
        yield
        return
    runner = web.AppRunner(build_metrics_app(readiness), access_log=None)
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
        host, port = sock.getsockname()[:2]
        log.info("Metrics at http://%s:%d/metrics (and /healthz, /readyz)", host, port)
        yield
    finally:
        await runner.cleanup()
        sock.close()


async def connect_temporal(settings: Settings, span_exporter: SpanExporter | None = None) -> Client:
    # Lazy: the bot starts (and answers "Temporal is unreachable") even while Temporal is down; a
    # Temporal that refuses its TLS or credentials stops it here (SettingsError), before it listens.
    # With SIGNOFF_TRACING on, each start, update and query is a span (to span_exporter if given).
    return await connect_client(settings, lazy=True, service="signoff-bot", span_exporter=span_exporter)


async def _engine_client(settings: Settings, gateway: Gateway | None) -> Client | None:
    """The Temporal client, unless another engine's gateway is given."""
    return None if gateway is not None else await connect_temporal(settings)


async def run_http(settings: Settings, port: int, host: str = "0.0.0.0", *, gateway: Gateway | None = None) -> None:
    """Serve Slack over HTTP; ``gateway``: the engine's (default: Temporal, connected here)."""
    settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    sock = metrics_socket(settings)
    async with contextlib.AsyncExitStack() as stack:
        if sock is not None:
            stack.callback(sock.close)  # also when the start fails before it serves
        session = await stack.enter_async_context(slack_session())
        app = build_app(settings, await _engine_client(settings, gateway), gateway=gateway, session=session)
        await stack.enter_async_context(serving_metrics(sock, app.readiness))
        freeze_startup_heap()
        # No access log: a line per Slack request costs the event loop that must ack within 3 s.
        runner = web.AppRunner(build_web_app(app), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as err:
            await runner.cleanup()
            raise SettingsError(f"cannot listen on port {port} (--port): {err.strerror or err}") from None
        log.info("Slack app listening on http://%s:%d%s", host, port, EVENTS_PATH)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()


def socket_mode_handler(
    app: AsyncApp, settings: Settings, session: aiohttp.ClientSession | None = None
) -> AsyncSocketModeHandler:
    # apps.connections.open goes through a client on the same API URL as the bot's.
    return AsyncSocketModeHandler(
        app, app_token=settings.slack_app_token, web_client=build_web_client(settings, session)
    )


async def run_socket_mode(settings: Settings, *, gateway: Gateway | None = None) -> None:
    settings.require("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
    sock = metrics_socket(settings)
    async with contextlib.AsyncExitStack() as stack:
        if sock is not None:
            stack.callback(sock.close)  # also when the start fails before it serves
        session = await stack.enter_async_context(slack_session())
        app = build_app(settings, await _engine_client(settings, gateway), gateway=gateway, session=session)
        # In Socket Mode the metrics port is the only one: /healthz and /readyz are there.
        await stack.enter_async_context(serving_metrics(sock, app.readiness))
        handler = socket_mode_handler(app, settings, session)
        freeze_startup_heap()
        log.info("Slack app connecting over Socket Mode")
        await handler.start_async()
