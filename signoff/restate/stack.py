"""``SIGNOFF_ENGINE=restate``: signoff's Restate endpoint, registered, and the bot's gateway to it.

The workflows run where Restate calls them: the engine's services on an HTTP/2 endpoint
(``signoff.restate.endpoint``) that this process registers with the admin API at start. ``signoff
bot`` serves the endpoint itself, so one process is a deployment beside the Restate server;
``signoff worker`` serves it alone (more of them behind one ``SIGNOFF_RESTATE_SERVICE_URL``: the same
URL registered again is the same deployment). ``signoff audit`` reads through the ingress and the
admin API alone (``reader_gateway``). Restate pins every run to its deployment and replays it there
(so the endpoint's URL must stay the same while runs it started are unfinished); a run keeps the
branches of the code that started it (``signoff.restate.engine``: its first step records the
patches that code knew).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from datetime import timedelta

from restate.server import install_shutdown_hook

from bot.restate_gateway import RestateGateway
from signoff.activities.table import activity_table
from signoff.config.settings import Settings
from signoff.restate.admin import RestateAdmin, check_ingress, register_at_start
from signoff.restate.endpoint import ServiceEndpoint
from signoff.restate.engine import RestateEngine
from signoff.slack.client import slack_session
from signoff.slack.pacing import ChannelPacer
from signoff.worker import model_provider, worker_slack_client

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def engine_endpoint(
    settings: Settings, *, port: int | None = None, replace_changed: bool = False
) -> AsyncIterator[ServiceEndpoint]:
    """The engine, with its Slack client and models, served and registered with Restate
    (``replace_changed``: a changed endpoint replaces the deployment at its URL, for a dev server;
    see ``RestateAdmin.register``)."""
    async with slack_session() as session:
        slack = worker_slack_client(settings, session)
        engine = RestateEngine(activity_table(settings, slack, ChannelPacer()), model_provider(settings))
        endpoint = ServiceEndpoint(
            engine.services,
            port=settings.restate_service_port if port is None else port,
            host=settings.restate_service_host,
        )
        # The SDK's app puts its own SIGTERM handler on the loop at its first request (the endpoint's
        # health check), in place of any other; a SIGTERM from then until ``stop_signal`` listens (the
        # registration below) went to it alone and was lost: the process never stopped. Its one
        # dispatcher per loop runs every hook given to it, so the stop is asked for there first.
        from bot.server import request_stop

        install_shutdown_hook(asyncio.get_running_loop(), request_stop, signal.SIGTERM)
        async with endpoint:
            await register_at_start(settings, replace_changed=replace_changed)
            log.info("Restate engine serving on %s", endpoint.url)
            yield endpoint


@contextlib.asynccontextmanager
async def engine_with_gateway(settings: Settings, *, replace_changed: bool = False) -> AsyncIterator[RestateGateway]:
    """The engine in this process and the bot's gateway to Restate (``signoff bot``, ``signoff dev``)."""
    async with engine_endpoint(settings, replace_changed=replace_changed), _gateway(settings) as gateway:
        yield gateway


@contextlib.asynccontextmanager
async def reader_gateway(settings: Settings, call_timeout: timedelta) -> AsyncIterator[RestateGateway]:
    """A gateway to Restate alone, no engine in this process (``signoff audit``), once both URLs
    are checked to be Restate's (``SettingsError``, one line, when not). What a run recorded is read
    through its ``status`` handler, so an endpoint must be registered and serving."""
    await check_ingress(settings.restate_url, settings.restate_auth_token)
    await RestateAdmin(settings.restate_admin_url, settings.restate_auth_token).version()
    async with _gateway(settings) as gateway:
        gateway.call_timeout = call_timeout
        yield gateway


@contextlib.asynccontextmanager
async def _gateway(settings: Settings) -> AsyncIterator[RestateGateway]:
    gateway = RestateGateway(
        settings.restate_url,
        settings.restate_admin_url,
        auth_token=settings.restate_auth_token,
        workflow_settings=settings.workflow,
    )
    try:
        yield gateway
    finally:
        await gateway.close()


async def run_worker(settings: Settings) -> None:
    """The endpoint alone until SIGTERM or Ctrl-C; the invocations under way get hypercorn's grace
    period, and any cut short Restate retries from its journal."""
    from bot.server import stop_signal

    async with engine_endpoint(settings):
        await stop_signal()


async def run_bot(settings: Settings, port: int) -> None:
    from bot.server import run_bot as serve_bot

    async with engine_with_gateway(settings) as gateway:
        await serve_bot(settings, port, gateway=gateway)
