"""The Slack app under test: served over real HTTP on port 0, wired to the sandbox (and a worker)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from agents.models.interface import ModelProvider
from slack_bolt.async_app import AsyncApp
from temporalio.client import Client

from bot.app import build_app, build_gateway
from bot.deps import Deps
from bot.gateway import Gateway
from bot.server import EVENTS_PATH, build_web_app, socket_mode_handler
from signoff.config.settings import Settings
from signoff.contracts.workflow_io import ApprovalPolicy, WorkflowSettings
from signoff.sandbox import SlackSandbox
from signoff.slack.client import slack_session
from signoff.temporal.connection import data_converter
from tests.support.temporal import running_worker
from tests.support.web import serving


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
    client: Client  # the bot's Temporal client (the converter every client of these workflows uses)


@contextlib.asynccontextmanager
async def serve(app: AsyncApp) -> AsyncIterator[str]:
    """The bot's web app (as ``signoff bot`` serves it) on a free port; yields its events URL."""
    async with serving(build_web_app(app)) as base:
        yield base + EVENTS_PATH


@contextlib.asynccontextmanager
async def running_bot(
    slack: SlackSandbox,
    settings: Settings,
    temporal: Client,
    *,
    gateway: Gateway | None = None,
) -> AsyncIterator[RunningBot]:
    deps = Deps(settings=settings, gateway=gateway or build_gateway(settings, temporal))
    async with slack_session() as session:
        app = build_app(settings, temporal, deps=deps, session=session)
        async with serve(app) as url:
            slack.request_url = url
            yield RunningBot(app, url, deps, temporal)


@contextlib.asynccontextmanager
async def worker_and_bot(
    slack: SlackSandbox,
    temporal: Client,
    settings: Settings,
    *,
    gateway: Gateway | None = None,
    models: ModelProvider | None = None,
) -> AsyncIterator[RunningBot]:
    """A worker on ``settings``' task queue and the bot in front of it, both on ``temporal``'s server."""
    async with (
        running_worker(temporal, settings, models),
        running_bot(slack, settings, bot_client(temporal), gateway=gateway) as bot,
    ):
        yield bot


@contextlib.asynccontextmanager
async def worker_and_socket_mode_bot(
    slack: SlackSandbox, temporal: Client, settings: Settings
) -> AsyncIterator[Client]:
    """A worker and the bot connected to the sandbox over Socket Mode (``settings`` with an app token);
    yields the bot's Temporal client."""
    client = bot_client(temporal)
    handler = socket_mode_handler(build_app(settings, client), settings)
    async with running_worker(temporal, settings):
        await handler.connect_async()
        try:
            await slack.wait_for(lambda: slack.socket_mode.connected)
            yield client
        finally:
            await handler.close_async()
