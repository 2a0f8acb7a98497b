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

from bot.restate_gateway import RestateGateway
from signoff.config.ports import free_port
from signoff.config.settings import Engine, Settings
from signoff.contracts.workflow_io import Phase, Progress
from signoff.dbos.stack import engine_with_gateway
from signoff.restate.server import RestateServer
from signoff.restate.stack import engine_with_gateway as restate_engine_with_gateway
from signoff.sandbox import SlackSandbox
from tests.support.bot import RunningBot, bot_client, bot_settings, running_bot, worker_and_bot
from tests.support.postgres import database_url
from tests.support.waiting import eventually

# On DBOS a test launches the engine and walks a whole flow: up to ~14 s alone.
DBOS_FLOW = pytest.mark.timeout(180)
# The ``engine`` a both-engines test is run on (``running_stack`` takes ``dbos-postgres:<url>`` for the last).
ENGINES = [
    "temporal",
    pytest.param("dbos-sqlite", marks=DBOS_FLOW),
    pytest.param("dbos-postgres", marks=[pytest.mark.process, DBOS_FLOW]),
    pytest.param("restate", marks=[pytest.mark.process, DBOS_FLOW]),
]
# The engines the HTTP API, the MCP server and the Workflow Builder step are tested on. SignoffRequest
# runs on all four, but these surfaces reach it through the gateway, which is one class for both DBOS
# databases: PostgreSQL's gateway and system database are walked by the flow, audit and decision
# tests, and by the API's ask-and-approve test (``ENGINES``). Running every API detail there too
# cost ~50 s of CI's 10 minutes and covered nothing new.
REQUEST_ENGINES = [engine for engine in ENGINES if getattr(engine, "values", (engine,))[0] != "dbos-postgres"]


def seen_from_outside(
    request: pytest.FixtureRequest, engine: str, settings: Settings, temporal_address: str, tmp_path: Path, prefix: str
) -> tuple[str, Settings]:
    """For a command run as a process of its own (``signoff audit``, ``signoff mcp``) in front of
    ``running_stack(engine, …)``: the engine name to start the stack with (``dbos-postgres:<url>``,
    a fresh database named ``prefix_…``) and the settings that command reads to reach it."""
    if engine == "temporal":
        return engine, replace(settings, temporal_address=temporal_address)
    if engine == "dbos-sqlite":
        return engine, replace(settings, engine=Engine.DBOS, database_url=f"sqlite:///{tmp_path / 'dbos.sqlite'}")
    if engine == "restate":
        # Its URLs once the stack's own Restate server runs (``on_the_stacks_restate``).
        return engine, replace(settings, engine=Engine.RESTATE)
    server: str = request.getfixturevalue("postgres_url")
    url = database_url(server, f"{prefix}_{uuid.uuid4().hex[:8]}")
    return f"dbos-postgres:{url}", replace(settings, engine=Engine.DBOS, database_url=url)


def on_the_stacks_restate(bot: RunningBot, settings: Settings) -> Settings:
    """``settings`` (from ``seen_from_outside``) with the URLs of the Restate server ``running_stack``
    started for this test, when it runs on Restate; else as they are."""
    gateway = bot.deps.gateway
    if not isinstance(gateway, RestateGateway):
        return settings
    return replace(settings, restate_url=gateway.ingress_url, restate_admin_url=gateway.admin_url)


@contextlib.asynccontextmanager
async def running_stack(
    engine: str, slack: SlackSandbox, settings: Settings, *, temporal_client: object, tmp_path: Path
) -> AsyncIterator[RunningBot]:
    """The bot and its engine: ``temporal``, ``dbos-sqlite``, ``dbos-postgres:<url>`` or ``restate``
    (a Restate server of its own in ``tmp_path``; the engine's endpoint served in this process)."""
    if engine == "restate":
        async with restate_stack(slack, settings, temporal_client=temporal_client, tmp_path=tmp_path) as bot:
            yield bot
        return
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


@contextlib.asynccontextmanager
async def api_stack(engine: str, slack: SlackSandbox, time_env: Any, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """``running_stack(engine, …)`` with the API's test keys, Temporal's clock running as the wall's."""
    from tests.support.api import KEYS  # here: tests.support.api imports this module

    settings = replace(bot_settings(slack), api_keys=KEYS)
    with time_env.auto_time_skipping_disabled():
        async with running_stack(engine, slack, settings, temporal_client=time_env.client, tmp_path=tmp_path) as bot:
            yield bot


@pytest.fixture(name="bot", params=["temporal", pytest.param("dbos-sqlite", marks=pytest.mark.timeout(180))])
async def api_bot_on_temporal_and_dbos(
    request: pytest.FixtureRequest, time_env: Any, slack: SlackSandbox, tmp_path: Path
) -> AsyncIterator[RunningBot]:
    """``bot`` for a test module that imports it: ``api_stack`` on Temporal and on DBOS (SQLite)."""
    async with api_stack(str(request.param), slack, time_env, tmp_path) as running:
        yield running


@contextlib.asynccontextmanager
async def restate_stack(
    slack: SlackSandbox, settings: Settings, *, temporal_client: object, tmp_path: Path
) -> AsyncIterator[RunningBot]:
    """A Restate server of its own, the engine's endpoint in this process, and the bot."""
    async with RestateServer(tmp_path / "restate") as server:
        settings = replace(
            settings.on_local_restate(server.ingress_url, server.admin_url),
            engine=Engine.RESTATE,
            restate_service_port=free_port(),
        )
        async with (
            restate_engine_with_gateway(settings) as gateway,
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
