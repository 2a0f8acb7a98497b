"""``SIGNOFF_ENGINE=dbos``: the DBOS engine and the bot's gateway to it, put together.

With DBOS, ``signoff bot`` alone is a deployment: the engine runs the workflows in the bot's
process (``engine_with_gateway``). ``signoff worker`` adds processes that run workflows too
(``engine_only``); they share work through the queue in PostgreSQL, so a worker needs PostgreSQL
(SQLite is one process's file). ``signoff audit`` reads the database alone (``reader_gateway``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

from dbos import DBOS, DBOSClient

from bot.dbos_gateway import DbosGateway
from signoff.activities.table import activity_table
from signoff.config.settings import Settings, SettingsError, shown_url
from signoff.contracts.engine_messages import QUEUE
from signoff.dbos.config import check_database, dbos_config, system_database_url
from signoff.dbos.engine import APPLICATION_VERSION, DbosEngine
from signoff.slack.client import slack_session
from signoff.slack.pacing import ChannelPacer
from signoff.worker import model_provider, worker_slack_client

log = logging.getLogger(__name__)

# How often DBOS looks for new queued workflows, messages and events (its default is a second:
# a click would wait that long for its answer).
POLLING_SECONDS = 0.1


@contextlib.asynccontextmanager
async def engine_only(settings: Settings) -> AsyncIterator[None]:
    """The DBOS engine in this process: runs queued workflows and recovers interrupted ones."""
    url = system_database_url(settings)
    # First: it creates .data/ for the SQLite default, which the check would find missing in a new directory.
    config = dbos_config(settings)
    # An unreachable or unusable database: one clear line and exit 2, before DBOS retries it.
    await asyncio.to_thread(check_database, url)
    async with slack_session() as session:
        slack = worker_slack_client(settings, session)
        config["notification_listener_polling_interval_sec"] = POLLING_SECONDS
        config["application_version"] = APPLICATION_VERSION
        DBOS(config=config)
        engine = DbosEngine(activity_table(settings, slack, ChannelPacer()), model_provider(settings))
        DBOS.launch()
        try:
            await DBOS.register_queue_async(QUEUE, polling_interval_sec=POLLING_SECONDS)
            log.info("DBOS engine running on %s", "PostgreSQL" if url.startswith("postgres") else "SQLite")
            yield
        finally:
            # The runs stop first, recording nothing (they resume at the next launch), while DBOS is
            # there. DBOS's lines about it (a warning per run it saw cancelled, its queue stopping)
            # describe this deliberate stop: only its errors are shown while it lasts.
            dbos_log = logging.getLogger("dbos")
            level = dbos_log.level
            dbos_log.setLevel(logging.ERROR)
            try:
                await engine.stop()
                DBOS.destroy(destroy_registry=False)
            finally:
                dbos_log.setLevel(level)
            # DBOS made its thread pool the loop's default executor and has just shut it down:
            # the loop gets a fresh one (getaddrinfo and to_thread need it).
            asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor())


@contextlib.asynccontextmanager
async def engine_with_gateway(settings: Settings) -> AsyncIterator[DbosGateway]:
    """The engine in this process and the bot's gateway to it (``signoff bot`` and ``signoff dev``)."""
    async with engine_only(settings):
        client = DBOSClient(system_database_url=system_database_url(settings))
        try:
            yield DbosGateway(client, events=_InProcessEvents(), workflow_settings=settings.workflow)
        finally:
            client.destroy()


@contextlib.asynccontextmanager
async def reader_gateway(settings: Settings, call_timeout: timedelta) -> AsyncIterator[DbosGateway]:
    """A gateway through ``DBOSClient`` alone, no engine in this process (``signoff audit``): it reads
    the system database and never creates one (a SQLite file that is not there is an error)."""
    url = system_database_url(settings)
    await asyncio.to_thread(_check_existing_database, url)
    # DBOS's lines about opening its database are not the command's output: only its warnings are.
    dbos_log = logging.getLogger("dbos")
    level = dbos_log.level
    dbos_log.setLevel(logging.WARNING)
    try:
        # Errors rather than waits for a lost connection: a command tells, it does not hang.
        client = await asyncio.to_thread(DBOSClient, system_database_url=url, retry_connection_errors=False)
    finally:
        dbos_log.setLevel(level)
    try:
        yield DbosGateway(client, call_timeout=call_timeout)
    finally:
        client.destroy()


def _check_existing_database(url: str) -> None:
    """``check_database``, without making a SQLite file where there is none (connecting would)."""
    if url.startswith("sqlite") and not Path(url[len("sqlite:///") :].split("?")[0]).is_file():
        raise SettingsError(
            f"there is no DBOS database at {shown_url(url)!r} (SIGNOFF_DATABASE_URL): "
            "nothing has run with SIGNOFF_ENGINE=dbos there"
        )
    check_database(url)


class _InProcessEvents:
    """Events read through the DBOS engine of this process, which hears of them at once."""

    async def get_event_async(self, workflow_id: str, key: str, timeout_seconds: float = 60) -> Any:
        return await DBOS.get_event_async(workflow_id, key, timeout_seconds)


def require_shared_database(settings: Settings) -> None:
    """A ``signoff worker`` beside the bot shares its work through PostgreSQL only."""
    if not system_database_url(settings).startswith("postgres"):
        raise SettingsError(
            "signoff worker with SIGNOFF_ENGINE=dbos needs PostgreSQL (SIGNOFF_DATABASE_URL=postgresql://…): "
            "with SQLite, `signoff bot` runs the workflows itself and no other process can share them"
        )


async def run_worker(settings: Settings) -> None:
    require_shared_database(settings)
    async with engine_only(settings):
        log.info("DBOS worker running workflows from the %r queue", QUEUE)
        await asyncio.Event().wait()


async def run_bot(settings: Settings, port: int) -> None:
    from bot.server import run_bot as serve_bot

    async with engine_with_gateway(settings) as gateway:
        await serve_bot(settings, port, gateway=gateway)
