"""Transports for the one app: HTTP (``POST /slack/events``) and Socket Mode, each served until
SIGTERM or Ctrl-C, then drained: no new request is taken, and every acknowledged start and
decision is finished (``bot.follow_ups``) before the process exits, within ``DRAIN_DEADLINE``.
Before serving, the starts a killed bot acknowledged and did not make are made (``bot.replay``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from temporalio.client import Client

from bot.api import API_PREFIX, REQUESTS_API
from bot.api.mcp import McpEndpoint
from bot.app import build_app, build_gateway, build_web_client
from bot.deps import Deps
from bot.follow_ups import FollowUps, InFlight
from bot.gateway import Gateway
from bot.journal import open_journal
from bot.metrics import InstrumentedApp, Readiness, build_metrics_app, health_routes
from bot.replay import replaying
from signoff.config.ports import bind_port
from signoff.config.settings import Settings, SettingsError
from signoff.heap import freeze_startup_heap
from signoff.slack.client import slack_session
from signoff.temporal.connection import connect_client

if TYPE_CHECKING:
    # Annotations only: the otel extra is imported by a process that traces (signoff/temporal/tracing.py).
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# How long a shutdown waits for acknowledged work. Kubernetes sends SIGKILL 30 s after SIGTERM by
# default (terminationGracePeriodSeconds): the drain gives up before that, and says so.
DRAIN_DEADLINE = timedelta(seconds=25)
# Socket Mode: how long acks under way get to reach Slack before the socket closes (Slack's 3 s).
ACKS_UNDER_WAY_SECONDS = 3.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def build_web_app(app: AsyncApp) -> web.Application:
    """An aiohttp application serving the Bolt app at ``POST /slack/events`` (signatures verified by Bolt),
    ``GET /healthz`` (the process serves) and, for an app of ``build_app``, ``GET /readyz`` (a bare status:
    the reason is on the metrics port) and the HTTP API under ``/v1/`` and the MCP server at ``/mcp`` when it is on."""

    async def events(request: web.Request) -> web.Response:
        bolt_request = await to_bolt_request(request)
        bolt_response = await app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    readiness = app.readiness if isinstance(app, InstrumentedApp) else None
    web_app = web.Application()
    web_app.add_routes([web.post(EVENTS_PATH, events), *health_routes(readiness, public=True)])
    if isinstance(app, InstrumentedApp) and app.http_api is not None:
        # The HTTP API (bot.api) on the same port, under /v1/: only when an API key is configured.
        web_app.add_subapp(API_PREFIX, app.http_api)
        # The MCP server (Streamable HTTP at /mcp) on the same keys, through the same handlers.
        follow_ups = app.follow_ups
        mcp = McpEndpoint(app.http_api[REQUESTS_API], draining=lambda: follow_ups is not None and follow_ups.draining)
        web_app.add_routes(mcp.routes())
        web_app.cleanup_ctx.append(mcp.running)
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


async def _serving_app(
    stack: contextlib.AsyncExitStack, settings: Settings, gateway: Gateway | None, session: aiohttp.ClientSession
) -> InstrumentedApp:
    """The app on the engine (``gateway``, or Temporal's) with the bot's journal (``SIGNOFF_BOT_JOURNAL``),
    its owed starts made before it serves (``bot.replay``)."""
    client = await _engine_client(settings, gateway)
    journal = open_journal(settings.bot_journal)
    stack.callback(journal.close)
    if gateway is None:
        assert client is not None
        gateway = build_gateway(settings, client)
    deps = Deps(settings=settings, gateway=gateway, journal=journal)
    app = build_app(settings, client, deps=deps, session=session)
    await stack.enter_async_context(replaying(deps))
    return app


async def run_http(settings: Settings, port: int, host: str = "0.0.0.0", *, gateway: Gateway | None = None) -> None:
    """Serve Slack over HTTP; ``gateway``: the engine's (default: Temporal, connected here)."""
    settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    sock = metrics_socket(settings)
    async with contextlib.AsyncExitStack() as stack:
        if sock is not None:
            stack.callback(sock.close)  # also when the start fails before it serves
        session = await stack.enter_async_context(slack_session())
        app = await _serving_app(stack, settings, gateway, session)
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
            await stop_signal()
            await drain_http(app, site)
        finally:
            await runner.cleanup()


class DrainingSocketModeHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler, counting each request from its arrival until its ack is sent, so
    a shutdown closes the socket only once the acks under way are out."""

    def __init__(self, app: AsyncApp, **kwargs: object) -> None:
        self.acking = InFlight()
        super().__init__(app, **kwargs)  # type: ignore[arg-type]

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        with self.acking.tracked():
            await super().handle(client, req)

    # Bolt's own, typed.
    async def connect_async(self) -> None:
        await super().connect_async()  # type: ignore[no-untyped-call]

    async def close_async(self) -> None:
        await super().close_async()  # type: ignore[no-untyped-call]


def socket_mode_handler(
    app: AsyncApp, settings: Settings, session: aiohttp.ClientSession | None = None
) -> DrainingSocketModeHandler:
    # apps.connections.open goes through a client on the same API URL as the bot's.
    return DrainingSocketModeHandler(
        app, app_token=settings.slack_app_token, web_client=build_web_client(settings, session)
    )


class _StopRequests:
    """A SIGTERM or Ctrl-C this process was sent, for ``stop_signal``: also one that came before it
    listened, caught by a library's handler that passes it on (``request_stop``), so it is not lost."""

    def __init__(self) -> None:
        self.requested = False
        self.waiting: set[asyncio.Event] = set()

    def request(self) -> None:
        self.requested = True
        for stop in self.waiting:
            stop.set()


_STOP_REQUESTS = _StopRequests()


def request_stop() -> None:
    """Stop as SIGTERM does: for a handler that catches the signal before ``stop_signal`` listens (the
    Restate SDK's, installed at its endpoint's first request). A stop asked for by then is kept."""
    _STOP_REQUESTS.request()


async def stop_signal() -> None:
    """Until SIGTERM or SIGINT (Ctrl-C), or a stop asked for already (``request_stop``). Only the
    first is caught: a second one stops the process at once."""
    stop = asyncio.Event()
    if _STOP_REQUESTS.requested:
        return
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    _STOP_REQUESTS.waiting.add(stop)
    try:
        await stop.wait()
    finally:
        _STOP_REQUESTS.waiting.discard(stop)
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)


async def drain_http(app: InstrumentedApp, site: web.BaseSite, deadline: timedelta = DRAIN_DEADLINE) -> int:
    """Stop taking requests (503 on open connections, the port closed), then finish the owed work;
    returns how much was left at ``deadline``."""
    follow_ups = _follow_ups(app)
    follow_ups.draining = True
    await site.stop()
    return await finish_owed(follow_ups, deadline.total_seconds())


async def drain_socket_mode(
    app: InstrumentedApp, handler: DrainingSocketModeHandler, deadline: timedelta = DRAIN_DEADLINE
) -> int:
    """Stop taking requests, let the acks under way reach Slack, close the socket (Slack sends the
    app's requests to its other connections), then finish the owed work; returns how much was left."""
    started = time.monotonic()
    follow_ups = _follow_ups(app)
    follow_ups.draining = True
    await handler.acking.wait(min(ACKS_UNDER_WAY_SECONDS, deadline.total_seconds()))
    await handler.close_async()
    return await finish_owed(follow_ups, deadline.total_seconds() - (time.monotonic() - started))


async def finish_owed(follow_ups: FollowUps, seconds: float) -> int:
    """Wait for the acknowledged work, at most ``seconds``, saying so in the log; returns how much is left.

    Nothing acknowledged is missed by the count: each listener counts itself in its first step, and
    a listener dispatched before the stop signal has run that step before this runs (the event loop
    runs tasks in the order they were scheduled, and the signal's wake-up came later)."""
    started = time.monotonic()
    log.info("Shutting down: draining %d acknowledged start(s) and decision(s)…", follow_ups.owed)
    left = await follow_ups.drain(seconds)
    if left:
        log.warning("Gave up on %d acknowledged start(s) and decision(s) after %.1f s", left, seconds)
    else:
        log.info("Drained in %.1f s", time.monotonic() - started)
    return left


def _follow_ups(app: InstrumentedApp) -> FollowUps:
    assert app.follow_ups is not None, "an app of build_app"
    return app.follow_ups


async def run_bot(settings: Settings, port: int, *, gateway: Gateway | None = None) -> None:
    """The bot on its transport: Socket Mode with ``SLACK_APP_TOKEN``, else HTTP on ``port``; on
    ``gateway``'s engine (Temporal's when None)."""
    if settings.socket_mode:
        await run_socket_mode(settings, gateway=gateway)
    else:
        await run_http(settings, port, gateway=gateway)


async def run_socket_mode(settings: Settings, *, gateway: Gateway | None = None) -> None:
    settings.require("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
    sock = metrics_socket(settings)
    async with contextlib.AsyncExitStack() as stack:
        if sock is not None:
            stack.callback(sock.close)  # also when the start fails before it serves
        session = await stack.enter_async_context(slack_session())
        app = await _serving_app(stack, settings, gateway, session)
        # In Socket Mode the metrics port is the only one: /healthz and /readyz are there.
        await stack.enter_async_context(serving_metrics(sock, app.readiness))
        handler = socket_mode_handler(app, settings, session)
        freeze_startup_heap()
        log.info("Slack app connecting over Socket Mode")
        await handler.connect_async()
        try:
            await stop_signal()
            await drain_socket_mode(app, handler)
        finally:
            await handler.close_async()
