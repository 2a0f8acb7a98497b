"""The crash test on the DBOS engine: kill ``signoff bot`` (which runs the workflows itself with
SIGNOFF_ENGINE=dbos) in the middle of the writer's model call; the restarted bot resumes the report
where it was, without calling the research agent again or posting anything twice.

The same figures as the Temporal crash test (tests/system/test_crash_recovery.py), on SQLite and
on a real PostgreSQL.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from signoff.sandbox import SlackSandbox
from tests.doubles.openai_standin import DEFAULT_API_KEY, OpenAIStandIn
from tests.support.crash import assert_resumed_without_repeats, bot_killed_during_the_writer_call
from tests.support.postgres import database_url

pytestmark = [pytest.mark.process, pytest.mark.slow]


@pytest.fixture(params=["sqlite", "postgres"])
def engine_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'dbos.sqlite'}"
    server: str = request.getfixturevalue("postgres_url")
    return database_url(server, f"crash_{uuid.uuid4().hex[:8]}")


async def test_bot_killed_during_the_writer_call(engine_database: str, slack: SlackSandbox, tmp_path: Path) -> None:
    async with OpenAIStandIn(delay_by_role={"writer": 30}) as models:
        env = {
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": slack.signing_secret,
            "SLACK_API_URL": slack.api_url,
            "SIGNOFF_ENGINE": "dbos",
            "SIGNOFF_DATABASE_URL": engine_database,
            "OPENAI_API_KEY": DEFAULT_API_KEY,
            "OPENAI_BASE_URL": models.base_url,
        }
        await bot_killed_during_the_writer_call(slack, models, env, tmp_path / "bot.log")
        assert_resumed_without_repeats(models, slack)
