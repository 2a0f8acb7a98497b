"""An app for the sandbox to deliver to: served over real HTTP on 127.0.0.1 (a free port), or connected
over Socket Mode."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from signoff.sandbox import SlackSandbox
from tests.support.slack import web_client

EVENTS_PATH = "/slack/events"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RecordingApp:
    """An app endpoint that records what Slack sent (payloads decoded) and answers with ``answer``
    (JSON), or an empty 200 when it is None."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.answer: dict[str, Any] | None = None

    async def handle(self, request: web.Request) -> web.Response:
        if request.content_type == "application/json":
            body = await request.json()
        else:
            form = await request.post()
            body = json.loads(str(form["payload"])) if "payload" in form else dict(form)
        self.received.append(body)
        return web.json_response(self.answer) if self.answer is not None else web.Response(text="")


def events_app(handler: Handler) -> web.Application:
    """An aiohttp app that hands every POST to /slack/events to ``handler``."""
    app = web.Application()
    app.router.add_post(EVENTS_PATH, handler)
    return app


def bolt_app(slack: SlackSandbox) -> AsyncApp:
    """A bare bolt app wired to the sandbox (its Web API, its signing secret), for listeners to be added."""
    return AsyncApp(client=web_client(slack), signing_secret=slack.signing_secret)


def bolt_handler(app: AsyncApp) -> Handler:
    """A handler that dispatches each request to a bolt app, as its aiohttp adapter does."""

    async def handle(request: web.Request) -> web.StreamResponse:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    return handle


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` until the block ends; yields its base URL, ``http://127.0.0.1:<port>``."""
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def serving_events(handler: Handler) -> AsyncIterator[str]:
    """Serve ``handler`` at /slack/events; yields that URL (a request URL for the sandbox)."""
    async with serving(events_app(handler)) as base:
        yield base + EVENTS_PATH


@contextlib.asynccontextmanager
async def over_socket_mode(slack: SlackSandbox, app: AsyncApp) -> AsyncIterator[AsyncSocketModeHandler]:
    """``app`` connected to the sandbox over Socket Mode until the block ends."""
    handler = AsyncSocketModeHandler(app, app_token=slack.app_token)
    await handler.connect_async()
    try:
        await slack.wait_for(lambda: slack.socket_mode.connected)
        yield handler
    finally:
        await handler.close_async()


@contextlib.asynccontextmanager
async def recording_server() -> AsyncIterator[tuple[str, list[web.Request]]]:
    """A server that answers 200 to any request and records it: where a URL must never lead.
    Yields its base URL and the requests it got."""
    received: list[web.Request] = []

    async def record(request: web.Request) -> web.Response:
        await request.read()
        received.append(request)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    async with serving(app) as base:
        yield base, received
