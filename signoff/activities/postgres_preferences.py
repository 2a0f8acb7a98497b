"""The preferences in PostgreSQL (``SIGNOFF_PREFERENCES=postgresql://…``): what bot replicas and workers
on separate hosts share (``signoff.activities.preference_store``). The driver is psycopg, from the
``dbos`` extra; only this module imports it, and only when the setting names PostgreSQL.

A connection per call, not a pool: the store is used once per ``/signoff`` command, once as a request
opens and once per DM reminder, so a connection's setup (a few milliseconds) costs nothing a pool
would be worth; a pool would be opened and closed with every process and keep connections that a
server's restart or failover leaves broken (and psycopg_pool is another dependency). Nor an async
connection: the callers already run the store in a thread, off the event loop.

The tables are created by the first call of each store, under a transaction-scoped advisory lock:
``CREATE TABLE IF NOT EXISTS`` alone races on PostgreSQL (two sessions both find no table and the
second fails on the catalog's unique index), which bot replicas and workers starting together would
meet. Their names carry ``signoff_`` since the database may be shared (with DBOS's, or an app's).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

import psycopg

from signoff.activities.preference_store import Away, PreferencesUnavailable, still_away
from signoff.config.setting_types import driver_error_line, shown_url

# Long enough for a server across a network, short enough that a command or an activity is not held long.
CONNECT_TIMEOUT_SECONDS = 5
# Any number every signoff process agrees on ("signoff" in ASCII): one creator of the tables at a time.
TABLES_LOCK = 0x7369676E6F6666
_TABLES = (
    "CREATE TABLE IF NOT EXISTS signoff_away (user_id TEXT PRIMARY KEY, until DATE NOT NULL, delegate TEXT)",
    "CREATE TABLE IF NOT EXISTS signoff_dm_reminders_off (user_id TEXT PRIMARY KEY)",
)


class PostgresPreferences:
    """The tables in the database at ``url``, through a connection per call."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._tables_ready = False

    def __repr__(self) -> str:
        return f"PostgresPreferences({shown_url(self._url)!r})"

    @property
    def shown_url(self) -> str:
        """Where the store is, fit for a message (no password)."""
        return shown_url(self._url)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """A connection to the database with the tables in place, in one transaction: committed when
        the block ends, rolled back when it raises. A database error: ``PreferencesUnavailable``."""
        try:
            with psycopg.connect(self._url, connect_timeout=CONNECT_TIMEOUT_SECONDS) as connection:
                self._create_tables(connection)
                yield connection
        except psycopg.Error as err:
            # From None: the driver's own exception is not chained into a log line or an activity's failure.
            raise PreferencesUnavailable(
                f"cannot use the preferences database {self.shown_url!r}: {driver_error_line(err, self._url)}"
            ) from None

    def _create_tables(self, connection: psycopg.Connection[tuple[Any, ...]]) -> None:
        if self._tables_ready:
            return
        # Held until the commit: another process creating them at the same moment waits, then finds them.
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (TABLES_LOCK,))
        for statement in _TABLES:
            connection.execute(statement)
        connection.commit()
        self._tables_ready = True

    def check(self) -> None:
        """Connect once and create the tables (a process's start): ``PreferencesUnavailable`` when it cannot."""
        with self._transaction() as connection:
            connection.execute("SELECT 1")

    def set_away(self, away: Away) -> None:
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO signoff_away (user_id, until, delegate) VALUES (%s, %s, %s) "
                "ON CONFLICT (user_id) DO UPDATE SET until = EXCLUDED.until, delegate = EXCLUDED.delegate",
                (away.user_id, away.until, away.delegate),
            )

    def back(self, user_id: str) -> None:
        with self._transaction() as connection:
            connection.execute("DELETE FROM signoff_away WHERE user_id = %s", (user_id,))

    def away(self, user_ids: Iterable[str], today: date) -> list[Away]:
        wanted = list(dict.fromkeys(user_ids))
        if not wanted:
            return []
        with self._transaction() as connection:
            rows = connection.execute(
                "SELECT user_id, until, delegate FROM signoff_away WHERE user_id = ANY(%s)", (wanted,)
            ).fetchall()
        return still_away({row[0]: Away(row[0], row[1], row[2]) for row in rows}, wanted, today)

    def set_dm_reminders(self, user_id: str, on: bool) -> None:
        with self._transaction() as connection:
            if on:
                connection.execute("DELETE FROM signoff_dm_reminders_off WHERE user_id = %s", (user_id,))
            else:
                connection.execute(
                    "INSERT INTO signoff_dm_reminders_off (user_id) VALUES (%s) ON CONFLICT DO NOTHING", (user_id,)
                )

    def dm_reminders(self, user_id: str) -> bool:
        with self._transaction() as connection:
            row = connection.execute("SELECT 1 FROM signoff_dm_reminders_off WHERE user_id = %s", (user_id,)).fetchone()
        return row is None
