"""``SIGNOFF_ENGINE=dbos signoff bot`` in an empty directory creates ``.data/`` for its SQLite
database and serves; it used to stop with "'…/.data' is not a directory" (the database check ran
before ``.data/`` was created)."""

from __future__ import annotations

from pathlib import Path

import pytest

from signoff.sandbox import SlackSandbox
from tests.support.processes import BotProcess
from tests.support.slack import CHANNEL, REQUESTER, told

pytestmark = [pytest.mark.process, pytest.mark.slow]


# A `signoff bot` process that imports DBOS and the Agents SDK and creates its database: ~14 s alone.
@pytest.mark.timeout(180)
async def test_signoff_bot_on_dbos_starts_in_an_empty_directory(slack: SlackSandbox, tmp_path: Path) -> None:
    workdir = tmp_path / "fresh"
    workdir.mkdir()
    env = {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": slack.signing_secret,
        "SLACK_API_URL": slack.api_url,
        "SIGNOFF_ENGINE": "dbos",
    }
    bot = BotProcess(env, tmp_path / "bot.log", cwd=workdir)
    await bot.start()  # until /healthz answers 200
    try:
        assert (workdir / ".data" / "signoff-dbos.sqlite").is_file()
        # It runs workflows too: a /report starts on the new database and says so.
        slack.request_url = bot.events_url
        result = await slack.send_slash_command(REQUESTER, "/report", "Heat pumps", channel_id=CHANNEL)
        assert result.acked, result
        await told(slack, REQUESTER, "Started your report", timeout=60)
    finally:
        bot.stop()
