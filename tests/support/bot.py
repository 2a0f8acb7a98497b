"""The Slack app under test: served over real HTTP on port 0, wired to the sandbox."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from temporalio.client import Client

from bot.app import build_app, build_gateway
from bot.deps import Deps
from bot.gateway import TemporalGateway
from bot.server import build_web_app
from core.contracts import ApprovalPolicy, WorkflowSettings
from infra.settings import Settings
from infra.slack import slack_session
from infra.temporal import data_converter
from sandbox import SlackSandbox


def bot_settings(slack: SlackSandbox, *, socket_mode: bool = False, **policy: object) -> Settings:
    return Settings(
        task_queue=f"bot-{uuid.uuid4()}",
        slack_bot_token=slack.bot_token,
        slack_signing_secret=slack.signing_secret,
        slack_app_token=slack.app_token if socket_mode else None,
        slack_api_url=slack.api_url,
        temporal_ui_url="http://temporal-ui.test",
        workflow=WorkflowSettings(policy=ApprovalPolicy(**policy)),  # type: ignore[arg-type]
    )


def bot_client(client: Client) -> Client:
    """A client on the same connection with the converter every client of these workflows uses."""
    config = client.config()
    config["data_converter"] = data_converter()
    return Client(**config)


@dataclass
class RunningBot:
    app: AsyncApp
    url: str
    deps: Deps


@contextlib.asynccontextmanager
async def serve(app: AsyncApp) -> AsyncIterator[str]:
    runner = web.AppRunner(build_web_app(app), handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None and server.sockets
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/slack/events"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def running_bot(
    slack: SlackSandbox,
    settings: Settings,
    temporal: Client,
    *,
    gateway: TemporalGateway | None = None,
) -> AsyncIterator[RunningBot]:
    deps = Deps(settings=settings, gateway=gateway or build_gateway(settings, temporal))
    async with slack_session() as session:
        app = build_app(settings, temporal, deps=deps, session=session)
        async with serve(app) as url:
            slack.request_url = url
            yield RunningBot(app, url, deps)
