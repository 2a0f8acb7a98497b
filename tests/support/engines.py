"""The bot in front of either engine, for tests that must hold on both (issue 14's shared tests).

``running_stack(engine, …)`` yields the running bot whose gateway is the engine's: a Temporal
worker on the time-skipping server, or the DBOS engine on SQLite or PostgreSQL in this process.
Tests then speak only through Slack (the sandbox) and the bot's gateway, never to an engine.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from agents.models.interface import ModelProvider
from dbos import DBOS, DBOSClient

from bot.dbos_gateway import DbosGateway
from core.contracts import Phase, Progress
from core.engine_messages import QUEUE
from infra.settings import Settings
from infra.slack import slack_session
from sandbox import SlackSandbox
from tests.support.bot import RunningBot, bot_client, running_bot, worker_and_bot
from tests.support.waiting import eventually
from worker.dbos_engine import DbosEngine
from worker.offline_model import OfflineModelProvider
from worker.worker import worker_activities, worker_slack_client

# How often DBOS looks for new messages, events and queued workflows in these tests.
POLLING_SECONDS = 0.02


def dbos_config(database_url: str) -> dict[str, object]:
    return {
        "name": "signoff-tests",
        "system_database_url": database_url,
        "notification_listener_polling_interval_sec": POLLING_SECONDS,
        "log_level": "WARNING",
    }


@contextlib.asynccontextmanager
async def dbos_engine(
    database_url: str, settings: Settings, models: ModelProvider | None = None
) -> AsyncIterator[DbosGateway]:
    """The DBOS engine in this process on ``database_url``, and a gateway to it."""
    async with slack_session() as session:
        DBOS(config=dbos_config(database_url))  # type: ignore[arg-type]
        DbosEngine(
            worker_activities(settings, worker_slack_client(settings, session)), models or OfflineModelProvider()
        )
        DBOS.launch()
        try:
            await DBOS.register_queue_async(QUEUE, polling_interval_sec=POLLING_SECONDS)
            client = DBOSClient(system_database_url=database_url)
            try:
                yield DbosGateway(client, workflow_settings=settings.workflow)
            finally:
                client.destroy()
        finally:
            DBOS.destroy(destroy_registry=False)


@contextlib.asynccontextmanager
async def running_stack(
    engine: str, slack: SlackSandbox, settings: Settings, *, temporal_client: object, tmp_path: Path
) -> AsyncIterator[RunningBot]:
    """The bot and its engine: ``temporal``, ``dbos-sqlite`` or ``dbos-postgres:<url>``."""
    if engine == "temporal":
        async with worker_and_bot(slack, temporal_client, settings) as bot:  # type: ignore[arg-type]
            yield bot
        return
    url = engine.split(":", 1)[1] if engine.startswith("dbos-postgres:") else f"sqlite:///{tmp_path / 'dbos.sqlite'}"
    # The bot's Temporal client is never used on DBOS; the Temporal test server stands by.
    async with (
        dbos_engine(url, settings) as gateway,
        running_bot(slack, settings, bot_client(temporal_client), gateway=gateway) as bot,  # type: ignore[arg-type]
    ):
        yield bot


async def phase_of(bot: RunningBot, workflow_id: str, phase: Phase, timeout: float = 30) -> Progress:
    """The workflow's progress once it reaches ``phase`` (read through the bot's gateway)."""

    async def reached() -> Progress | None:
        try:
            progress = await bot.deps.gateway.progress(workflow_id)
        except Exception:  # not started yet
            return None
        return progress if progress.phase is phase else None

    return await eventually(reached, timeout=timeout)
