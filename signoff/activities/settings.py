"""The activities that hand a workflow the worker's settings, and what people set for themselves.

A workflow started with only a topic (Temporal CLI, UI, the article's client)
reads the worker's configuration once, through this activity, so the
workflow code itself stays deterministic and never touches the environment.

What each person sets from Slack (``/signoff``) is kept in a ``PreferenceStore``
(``signoff.activities.preference_store``): by default ``Preferences``, one small SQLite file
(``SIGNOFF_PREFERENCES``; WAL, ``synchronous=FULL``) that the bot writes and the worker's activities
read, so the bot and the worker must see the same file (one host); with a PostgreSQL URL,
``PostgresPreferences``, which hosts apart share. Either way it is the one place every engine reaches
the same way, since the bot and the activities are the same code on Temporal, DBOS and Restate.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

from signoff.activities.context import Activity
from signoff.activities.preference_store import Away as Away  # where the bot and the tests have imported it from
from signoff.activities.preference_store import PreferenceStore, PreferencesUnavailable, still_away
from signoff.config.setting_types import is_postgres_url
from signoff.config.settings import SettingsError
from signoff.contracts.activity_io import LOAD_AWAY, LOAD_WORKER_SETTINGS, AwayNotice, AwayQuery
from signoff.contracts.workflow_io import WorkflowSettings
from signoff.temporal.search_attributes import SearchAttributeCheck


class WorkerSettingsActivities:
    def __init__(self, settings: WorkflowSettings, search_attributes: SearchAttributeCheck | None = None):
        self._settings = settings
        self._search_attributes = search_attributes

    def by_name(self) -> dict[str, Activity]:
        return {LOAD_WORKER_SETTINGS: self.load_worker_settings}

    async def load_worker_settings(self) -> WorkflowSettings:
        if self._search_attributes is None:
            return self._settings
        # The workflow upserts its search attributes only where the namespace has them.
        return replace(self._settings, search_attributes=await self._search_attributes.registered())


# Under the working directory, beside the bot's journal: put it on a persistent volume with SIGNOFF_PREFERENCES.
DEFAULT_PREFERENCES_PATH = Path(".data") / "signoff-preferences.sqlite"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS away (user_id TEXT PRIMARY KEY, until TEXT NOT NULL, delegate TEXT)",
    "CREATE TABLE IF NOT EXISTS dm_reminders_off (user_id TEXT PRIMARY KEY)",
)


class Preferences:
    """The SQLite file, opened per call (the bot's event loop and the worker's activity threads share none)."""

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path is not None else DEFAULT_PREFERENCES_PATH

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """The file, open, in one transaction (committed when the block ends, rolled back when it
        raises), then closed. A file that cannot be used: ``PreferencesUnavailable``."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=5.0)
        except (OSError, sqlite3.Error) as err:
            raise PreferencesUnavailable(f"cannot use the preferences file {str(self.path)!r}: {err}") from None
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            for statement in _SCHEMA:
                connection.execute(statement)
            with connection:
                yield connection
        except sqlite3.Error as err:
            raise PreferencesUnavailable(f"cannot use the preferences file {str(self.path)!r}: {err}") from None
        finally:
            connection.close()

    def set_away(self, away: Away) -> None:
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO away (user_id, until, delegate) VALUES (?, ?, ?) "
                "ON CONFLICT(user_id) DO UPDATE SET until = excluded.until, delegate = excluded.delegate",
                (away.user_id, away.until.isoformat(), away.delegate),
            )

    def back(self, user_id: str) -> None:
        with self._transaction() as connection:
            connection.execute("DELETE FROM away WHERE user_id = ?", (user_id,))

    def away(self, user_ids: Iterable[str], today: date) -> list[Away]:
        """Those of ``user_ids`` away on ``today`` (an absence that ended is not one)."""
        wanted = list(dict.fromkeys(user_ids))
        if not wanted:
            return []
        with self._transaction() as connection:
            rows = connection.execute(
                f"SELECT user_id, until, delegate FROM away WHERE user_id IN ({', '.join('?' * len(wanted))})",
                wanted,
            ).fetchall()
        return still_away({row[0]: Away(row[0], date.fromisoformat(row[1]), row[2]) for row in rows}, wanted, today)

    def set_dm_reminders(self, user_id: str, on: bool) -> None:
        with self._transaction() as connection:
            if on:
                connection.execute("DELETE FROM dm_reminders_off WHERE user_id = ?", (user_id,))
            else:
                connection.execute("INSERT OR IGNORE INTO dm_reminders_off (user_id) VALUES (?)", (user_id,))

    def dm_reminders(self, user_id: str) -> bool:
        with self._transaction() as connection:
            row = connection.execute("SELECT 1 FROM dm_reminders_off WHERE user_id = ?", (user_id,)).fetchone()
        return row is None


def preference_store(location: str | None) -> PreferenceStore:
    """The store ``SIGNOFF_PREFERENCES`` names: a PostgreSQL URL's database, else the SQLite file (None:
    the default). psycopg is imported only for a URL (``require_extras`` checked it is installed)."""
    if location is not None and is_postgres_url(location):
        from signoff.activities.postgres_preferences import PostgresPreferences

        return PostgresPreferences(location)
    return Preferences(location)


def check_preferences(location: str | None) -> None:
    """At a process's start: a PostgreSQL store that cannot be reached (or refuses signoff) is a
    ``SettingsError`` of one line, never showing the password, instead of the first command or
    request failing on it; its tables are created now. A SQLite file is left to its first use."""
    if location is None or not is_postgres_url(location):
        return
    from signoff.activities.postgres_preferences import PostgresPreferences

    try:
        PostgresPreferences(location).check()
    except PreferencesUnavailable as err:
        raise SettingsError(f"SIGNOFF_PREFERENCES: {err}") from None


class PreferenceActivities:
    def __init__(self, preferences: PreferenceStore):
        self._preferences = preferences

    def by_name(self) -> dict[str, Activity]:
        return {LOAD_AWAY: self.load_away}

    async def load_away(self, query: AwayQuery) -> list[AwayNotice]:
        away = await asyncio.to_thread(self._preferences.away, query.user_ids, date.fromisoformat(query.today))
        return [AwayNotice(each.user_id, each.until.isoformat(), each.delegate) for each in away]
