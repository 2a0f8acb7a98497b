"""The Slack app: one ``AsyncApp`` built from injected settings and a Temporal client.

Both transports (HTTP in ``bot.server`` and Socket Mode) serve the app this
factory builds, and so do the tests.
"""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.client import Client

from bot.api import build_api
from bot.deps import Deps
from bot.gateway import Gateway, TemporalGateway
from bot.listeners import register_listeners
from bot.metrics import InstrumentedApp, Readiness, SlackCallCounter
from bot.response_urls import refuse_foreign_response_urls
from signoff.config.settings import Settings, SettingsError
from signoff.slack.client import slack_client

log = logging.getLogger(__name__)


# A person is waiting for the answer: two waits for Slack's Retry-After, then give up.
BOT_RATE_LIMIT_RETRIES = 2


def build_web_client(settings: Settings, session: aiohttp.ClientSession | None = None) -> AsyncWebClient:
    """The bot's Web API client: the Slack sandbox when SLACK_API_URL is set.

    Unlike the worker's, it retries by itself (slack_sdk's own handlers): a 429 after its
    Retry-After, a dropped connection once. The bot's calls are ephemerals, modals and the
    Home, where a rare repeat is harmless and a dropped answer is not.

    Pass a ``slack_session()``: Bolt gives the app client's session to the client it makes
    for each request, so every listener's calls share its connections.
    """
    client = slack_client(settings.slack_bot_token or "", settings.slack_api_url, session)
    client.retry_handlers = [
        # Only counts (signoff_bot_slack_api_errors, …_rate_limited); never retries by itself.
        SlackCallCounter(),
        AsyncRateLimitErrorRetryHandler(max_retry_count=BOT_RATE_LIMIT_RETRIES),
        AsyncConnectionErrorRetryHandler(max_retry_count=1),
    ]
    return client


def build_gateway(settings: Settings, temporal_client: Client) -> TemporalGateway:
    return TemporalGateway(
        temporal_client,
        task_queue=settings.task_queue,
        namespace=settings.temporal_namespace,
        temporal_ui_url=settings.temporal_ui_url,
        workflow_settings=settings.workflow,
    )


def build_app(
    settings: Settings,
    temporal_client: Client | None,
    *,
    web_client: AsyncWebClient | None = None,
    gateway: Gateway | None = None,
    deps: Deps | None = None,
    session: aiohttp.ClientSession | None = None,
) -> InstrumentedApp:
    if not settings.slack_bot_token:
        raise SettingsError("missing settings: SLACK_BOT_TOKEN")
    if not settings.slack_signing_secret and not settings.socket_mode:
        raise SettingsError("missing settings: SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode)")
    client = web_client or build_web_client(settings, session)
    if deps is None:
        if gateway is None:
            assert temporal_client is not None, "a Temporal client, or another engine's gateway"
            gateway = build_gateway(settings, temporal_client)
        deps = Deps(settings=settings, gateway=gateway)
    app = InstrumentedApp(
        client=client,
        # Passed explicitly (even when empty, in Socket Mode) so Bolt never reads the environment.
        signing_secret=settings.slack_signing_secret or "",
        # Ack first, then run the listener's slow part after the response is sent.
        process_before_response=False,
    )
    app.middleware(refuse_foreign_response_urls(settings.slack_api_url))
    register_listeners(app, deps)
    app.readiness = Readiness(deps.gateway.health_problem, client)
    app.follow_ups = deps.follow_ups
    follow_ups = deps.follow_ups
    app.http_api = build_api(settings, deps.gateway, draining=lambda: follow_ups.draining)
    return app
