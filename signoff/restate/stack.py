"""``SIGNOFF_ENGINE=restate``: signoff's Restate endpoint, registered, and the bot's gateway to it.

The workflows run where Restate calls them: an HTTP endpoint (the engine's ASGI app, served here by
Hypercorn over HTTP/2) that this process registers with the admin API. ``signoff bot`` serves the
endpoint itself, so one process is a deployment beside the Restate server; ``signoff worker`` serves
it alone. Restate pins every run to a deployment and replays it there: a new release registers the
same endpoint again, and the runs in flight keep the branches of the code that started them
(``signoff.restate.engine``: the run's first step records the patches it knew).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from hypercorn.asyncio import serve
from hypercorn.config import Config

from bot.restate_gateway import RestateGateway
from signoff.config.settings import Settings
from signoff.restate.engine import RestateEngine
from signoff.slack.client import slack_session
from signoff.slack.pacing import ChannelPacer
from signoff.worker import model_provider, worker_activities, worker_slack_client

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def serving_endpoint(engine: RestateEngine, host: str, port: int) -> AsyncIterator[str]:
    """The engine's endpoint on ``host:port`` until the block ends; yields its URL."""
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.accesslog = None
    config.graceful_timeout = 1.0
    stop = asyncio.Event()
    server = asyncio.ensure_future(serve(engine.app(), config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    try:
        yield f"http://{host}:{port}"
    finally:
        stop.set()
        await server


@contextlib.asynccontextmanager
async def engine_endpoint(settings: Settings, host: str, port: int) -> AsyncIterator[str]:
    """The engine with its Slack client and models, served on ``host:port``."""
    async with slack_session() as session:
        slack = worker_slack_client(settings, session)
        engine = RestateEngine(
            worker_activities(settings, slack, ChannelPacer()),
            model_provider(settings),
        )
        async with serving_endpoint(engine, host, port) as url:
            yield url


__all__ = ["RestateGateway", "engine_endpoint", "serving_endpoint"]
