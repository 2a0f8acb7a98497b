"""The bot in front of either engine, for tests that must hold on both (issue 14's shared tests).

``running_stack(engine, …)`` yields the running bot whose gateway is the engine's: a Temporal
worker on the time-skipping server, or the DBOS engine on SQLite or PostgreSQL in this process.
Tests then speak only through Slack (the sandbox) and the bot's gateway, never to an engine.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from signoff.config.settings import Engine, Settings
from signoff.contracts.workflow_io import Phase, Progress
from signoff.dbos.stack import engine_with_gateway
from signoff.sandbox import SlackSandbox
from tests.support.bot import RunningBot, bot_client, running_bot, worker_and_bot
from tests.support.postgres import database_url
from tests.support.waiting import eventually

# On DBOS a test launches the engine and walks a whole flow: up to ~14 s alone.
DBOS_FLOW = pytest.mark.timeout(180)
# The ``engine`` a both-engines test is run on (``running_stack`` takes ``dbos-postgres:<url>`` for the last).
ENGINES = [
    "temporal",
    pytest.param("dbos-sqlite", marks=DBOS_FLOW),
    pytest.param("dbos-postgres", marks=[pytest.mark.process, DBOS_FLOW]),
]


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
    settings = replace(settings, engine=Engine.DBOS, database_url=url)
    # The bot's Temporal client is never used on DBOS; the Temporal test server stands by.
    async with (
        engine_with_gateway(settings) as gateway,
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


@contextlib.asynccontextmanager
async def stack_on(
    engine: str, slack: SlackSandbox, settings: Settings, *, temporal_client: object, tmp_path: Path, request: Any
) -> AsyncIterator[RunningBot]:
    """``running_stack`` for an ``ENGINES`` parameter: ``dbos-postgres`` gets a database of its own."""
    if engine == "dbos-postgres":
        server: str = request.getfixturevalue("postgres_url")
        engine = "dbos-postgres:" + database_url(server, f"stack_{uuid.uuid4().hex[:8]}")
    async with running_stack(engine, slack, settings, temporal_client=temporal_client, tmp_path=tmp_path) as bot:
        yield bot
