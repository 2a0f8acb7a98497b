"""The bot's journal of acknowledged starts: written to disk before the ack, removed once settled.

Slack never resends a request the bot acknowledged, so a ``/report`` or ``/plan`` acked "Starting…"
and then lost with the process (SIGKILL, an out-of-memory kill, a power cut) would be lost for good.
The bot therefore appends each start it owes here before it acks (SQLite in WAL mode with
``synchronous=FULL``: the append is on disk when ``add`` returns), starts the workflow after the ack,
and removes the entry once the start has an outcome. Entries a killed bot left are started again
when the next one starts (``bot.replay``); a start is made by the workflow's deterministic id with a
reject-duplicate policy, so an entry whose workflow had already started starts nothing.

Appends from concurrent requests share one transaction and one fsync (group commit), in a thread:
the event loop that acks never waits on the disk itself. The file is locked by one bot at a time
(SQLite's exclusive locking mode): two bots replaying each other's entries would each tell a
requester "already running".
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from bot.gateway import Gateway, Started, workflow_id_for
from signoff.config.settings import SettingsError
from signoff.contracts.workflow_io import SlackOrigin, WorkflowKind

log = logging.getLogger(__name__)

# Under the working directory, as DBOS's SQLite default: put it on a persistent volume with SIGNOFF_BOT_JOURNAL.
DEFAULT_JOURNAL_PATH = Path(".data") / "signoff-bot-journal.sqlite"
SETTING = "SIGNOFF_BOT_JOURNAL"
# SQLite waits this long for a lock it does not get (another bot holding the file) before it says so.
_LOCK_WAIT_SECONDS = 1.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS owed_starts (
    entry INTEGER PRIMARY KEY AUTOINCREMENT,
    written_at REAL NOT NULL,
    start TEXT NOT NULL
)
"""


class JournalError(Exception):
    """The journal could not be written or read (a full disk, a file gone bad)."""


@dataclass(frozen=True)
class OwedStart:
    """A ``/report`` or ``/plan`` the bot acknowledged: everything needed to start it again."""

    kind: WorkflowKind
    subject: str
    origin: SlackOrigin
    # What the workflow id is derived from (``bot.gateway.workflow_id_for``): the same on every attempt.
    request_key: str

    @property
    def noun(self) -> str:
        """What the requester asked for, in their words: a report or a plan."""
        return "report" if self.kind is WorkflowKind.REPORT else "plan"

    @property
    def workflow_id(self) -> str:
        return workflow_id_for(self.kind, self.origin.team_id, self.origin.channel_id, self.request_key)

    async def start(self, gateway: Gateway) -> Started:
        """Start its workflow (``AlreadyRunning`` if it has been started before, by anyone)."""
        if self.kind is WorkflowKind.REPORT:
            return await gateway.start_report(self.subject, self.origin, self.request_key)
        return await gateway.start_plan(self.subject, self.origin, self.request_key)


@dataclass(frozen=True)
class Entry:
    number: int
    written_at: float
    start: OwedStart


_START = TypeAdapter(OwedStart)
# One write the writer thread makes: an append (its start, as JSON) or a removal (its entry number).
_Write = tuple[str, bytes | int]


class Journal:
    """The owed starts of one bot, on disk (``open_journal``) or, for tests, in memory."""

    def __init__(self, connection: sqlite3.Connection, where: str) -> None:
        self._connection = connection
        # The connection is used from worker threads: one at a time.
        self._lock = threading.Lock()
        self.where = where
        self._queued: list[tuple[_Write, asyncio.Future[int]]] = []
        self._writer: asyncio.Task[None] | None = None

    @classmethod
    def in_memory(cls) -> Journal:
        """A journal that dies with the process: for an app built without one (tests)."""
        return cls(_connect(":memory:"), "memory")

    async def add(self, start: OwedStart) -> int:
        """Append ``start``; returns its entry number once it is on disk (``JournalError`` if it cannot be)."""
        return await self._write(("add", _START.dump_json(start)))

    async def remove(self, number: int) -> None:
        """Forget an entry whose start has an outcome."""
        await self._write(("remove", number))

    async def owed(self) -> list[Entry]:
        """Every entry, oldest first (a corrupt one is logged and dropped: it cannot be started)."""
        try:
            rows = await asyncio.to_thread(self._read)
        except sqlite3.Error as err:
            raise JournalError(f"cannot read the bot's journal {self.where}: {err}") from None
        entries = []
        for number, written_at, text in rows:
            try:
                entries.append(Entry(number, written_at, _START.validate_json(text)))
            except ValidationError as err:
                log.error("journal entry %d is unreadable and is dropped: %s", number, err.errors()[0]["msg"])
                await self.remove(number)
        return entries

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def _read(self) -> list[tuple[int, float, str]]:
        with self._lock:
            return self._connection.execute(
                "SELECT entry, written_at, start FROM owed_starts ORDER BY entry"
            ).fetchall()

    async def _write(self, write: _Write) -> int:
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queued.append((write, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_queued())
        return await done

    async def _write_queued(self) -> None:
        """Write what is queued, in one transaction per batch, until nothing is (one fsync for a burst)."""
        while self._queued:
            batch, self._queued = self._queued, []
            try:
                results = await asyncio.to_thread(self._commit, [write for write, _ in batch])
            except (sqlite3.Error, OSError) as err:
                failure = JournalError(f"cannot write the bot's journal {self.where}: {err}")
                for _, done in batch:
                    if not done.done():
                        done.set_exception(failure)
                continue
            for (_, done), result in zip(batch, results, strict=True):
                if not done.done():  # its request may have been cancelled meanwhile
                    done.set_result(result)

    def _commit(self, writes: list[_Write]) -> list[int]:
        with self._lock:
            return self._commit_locked(writes)

    def _commit_locked(self, writes: list[_Write]) -> list[int]:
        connection = self._connection
        results = []
        connection.execute("BEGIN IMMEDIATE")
        try:
            for action, value in writes:
                if action == "add":
                    cursor = connection.execute(
                        "INSERT INTO owed_starts (written_at, start) VALUES (?, ?)", (time.time(), value)
                    )
                    results.append(cursor.lastrowid or 0)
                else:
                    connection.execute("DELETE FROM owed_starts WHERE entry = ?", (value,))
                    results.append(0)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return results


def _connect(path: str) -> sqlite3.Connection:
    # Autocommit mode: transactions are begun and committed explicitly (``Journal._commit``). Used by
    # one thread at a time (the writer, or the reader before any write), never by two at once.
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=_LOCK_WAIT_SECONDS)
    try:
        connection.execute("PRAGMA locking_mode=EXCLUSIVE")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute(_SCHEMA)
        # Takes the exclusive lock now, so a second bot on the same file is refused at its start.
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("COMMIT")
    except BaseException:
        connection.close()
        raise
    return connection


def open_journal(setting: str | None) -> Journal:
    """The journal at ``setting`` (``SIGNOFF_BOT_JOURNAL``), or ``.data/signoff-bot-journal.sqlite``
    under the working directory (created). A path that cannot be used is a ``SettingsError`` of one line:
    a given path's directory must exist, so a mistyped volume path is not quietly made on the container."""
    if setting:
        path = Path(setting).expanduser()
        if not path.parent.is_dir():
            raise SettingsError(f"{SETTING}={setting!r}: {str(path.parent)!r} is not a directory")
    else:
        path = Path.cwd() / DEFAULT_JOURNAL_PATH
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise SettingsError(
                f"cannot create {str(path.parent)!r} for the bot's journal ({SETTING}): {err}"
            ) from None
    named = f"{SETTING}={setting!r}" if setting else f"the bot's journal {str(path)!r} ({SETTING})"
    if path.is_dir():
        raise SettingsError(f"{named} is a directory: name the journal's file, e.g. /data/signoff-bot-journal.sqlite")
    try:
        connection = _connect(str(path))
    except sqlite3.OperationalError as err:
        if "locked" in str(err):
            raise SettingsError(f"{named} is in use by another bot: give each bot a journal of its own") from None
        raise SettingsError(f"{named} cannot be used: {err}") from None
    except sqlite3.Error as err:
        raise SettingsError(f"{named} cannot be used: {err}") from None
    return Journal(connection, str(path))
