"""The sandbox's durable state in SQLite: messages, ephemerals, views, files, scheduled messages, topics.

Every write is one small autocommitted statement, so a sandbox given a file
path picks up where it left off after a restart. Rows come back as plain
dataclasses; rendering them in Slack's shapes is the caller's job.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# A change listener gets (kind, details): kind is "message", "ephemeral", "view" or "channel" (its topic);
# details say where ({"channel", "ts", "thread_ts"}, {"channel", "recipient", ...}, {"user", "view_id"}, {"channel"}).
Listener = Callable[[str, dict[str, Any]], None]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    channel TEXT NOT NULL,
    ts TEXT NOT NULL,
    thread_ts TEXT,
    user TEXT NOT NULL,
    bot_id TEXT,
    text TEXT NOT NULL,
    blocks TEXT,
    metadata TEXT,
    files TEXT,
    edited_ts TEXT,
    subtype TEXT,
    topic TEXT,
    PRIMARY KEY (channel, ts)
);
CREATE INDEX IF NOT EXISTS messages_thread ON messages (channel, thread_ts, ts);
CREATE TABLE IF NOT EXISTS ephemerals (
    channel TEXT NOT NULL,
    ts TEXT NOT NULL,
    recipient TEXT NOT NULL,
    thread_ts TEXT,
    user TEXT NOT NULL,
    bot_id TEXT,
    text TEXT NOT NULL,
    blocks TEXT,
    PRIMARY KEY (channel, ts)
);
CREATE TABLE IF NOT EXISTS views (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    kind TEXT NOT NULL,
    open INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    external_id TEXT,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS views_user ON views (user, kind, open, seq);
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    title TEXT,
    length INTEGER NOT NULL,
    content BLOB,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS scheduled_messages (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    post_at INTEGER NOT NULL,
    date_created INTEGER NOT NULL,
    thread_ts TEXT,
    text TEXT NOT NULL,
    blocks TEXT,
    metadata TEXT
);
CREATE INDEX IF NOT EXISTS scheduled_due ON scheduled_messages (post_at);
CREATE TABLE IF NOT EXISTS topics (
    channel TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    creator TEXT NOT NULL,
    last_set INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS response_urls (
    token TEXT PRIMARY KEY,
    context TEXT NOT NULL,
    uses INTEGER NOT NULL,
    created REAL NOT NULL
);
"""

# Columns added to a table after its first release: a database file from an older sandbox gets them on open.
_ADDED_COLUMNS = {"messages": ("subtype TEXT", "topic TEXT")}


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def _loads(raw: str | None) -> Any:
    return None if raw is None else json.loads(raw)


@dataclass
class Message:
    channel: str
    ts: str
    thread_ts: str | None
    user: str
    bot_id: str | None
    text: str
    blocks: list[dict[str, Any]] | None
    metadata: dict[str, Any] | None
    files: list[str] | None
    edited_ts: str | None
    subtype: str | None = None  # a system message, e.g. "channel_topic"
    topic: str | None = None  # a channel_topic message's new topic


@dataclass
class Ephemeral:
    channel: str
    ts: str
    recipient: str
    thread_ts: str | None
    user: str
    bot_id: str | None
    text: str
    blocks: list[dict[str, Any]] | None


@dataclass
class ThreadSummary:
    reply_count: int
    reply_users: list[str]
    latest_reply: str | None


@dataclass
class StoredFile:
    id: str
    name: str
    title: str | None
    length: int
    content: bytes | None
    created: int


@dataclass
class ScheduledMessage:
    id: str
    channel: str
    post_at: int
    date_created: int
    thread_ts: str | None
    text: str
    blocks: list[dict[str, Any]] | None
    metadata: dict[str, Any] | None


@dataclass
class Topic:
    channel: str
    value: str
    creator: str
    last_set: int


@dataclass
class ResponseUrl:
    token: str
    context: dict[str, Any]
    uses: int
    created: float


class Store:
    def __init__(self, path: str | None) -> None:
        self._db = sqlite3.connect(path or ":memory:", isolation_level=None)
        if path:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        for table, columns in _ADDED_COLUMNS.items():
            present = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            for column in columns:
                if column.split()[0] not in present:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
        self.listeners: list[Listener] = []

    def _changed(self, kind: str, **details: Any) -> None:
        """Tell listeners (the web page's live updates) about a committed write; they must not raise."""
        for listener in list(self.listeners):
            try:
                listener(kind, details)
            except Exception:  # a broken listener must not break a write
                log.exception("store change listener failed")

    def close(self) -> None:
        self._db.close()

    # -- ids and timestamps ------------------------------------------------

    def next_ts(self) -> str:
        """A message ts like Slack's ("1732680000.000100"), strictly increasing, even across restarts."""
        now_us = int(time.time() * 1_000_000)
        row = self._db.execute("SELECT value FROM counters WHERE name = 'ts'").fetchone()
        value = max(now_us, row[0] + 1) if row else now_us
        self._db.execute(
            "INSERT INTO counters (name, value) VALUES ('ts', ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (value,),
        )
        return f"{value // 1_000_000}.{value % 1_000_000:06d}"

    def next_seq(self, name: str) -> int:
        row = self._db.execute(
            "INSERT INTO counters (name, value) VALUES (?, 1) "
            "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
            (name,),
        ).fetchone()
        return row[0]

    # -- messages ------------------------------------------------------------

    def insert_message(self, m: Message) -> None:
        self._db.execute(
            "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                m.channel,
                m.ts,
                m.thread_ts,
                m.user,
                m.bot_id,
                m.text,
                _dumps(m.blocks),
                _dumps(m.metadata),
                _dumps(m.files),
                m.edited_ts,
                m.subtype,
                m.topic,
            ),
        )
        self._changed("message", channel=m.channel, ts=m.ts, thread_ts=m.thread_ts)

    def update_message(self, m: Message) -> None:
        self._db.execute(
            "UPDATE messages SET text = ?, blocks = ?, metadata = ?, files = ?, edited_ts = ? "
            "WHERE channel = ? AND ts = ?",
            (m.text, _dumps(m.blocks), _dumps(m.metadata), _dumps(m.files), m.edited_ts, m.channel, m.ts),
        )
        self._changed("message", channel=m.channel, ts=m.ts, thread_ts=m.thread_ts)

    def delete_message(self, channel: str, ts: str) -> bool:
        cur = self._db.execute("DELETE FROM messages WHERE channel = ? AND ts = ?", (channel, ts))
        if cur.rowcount:
            self._changed("message", channel=channel, ts=ts, thread_ts=None, deleted=True)
        return cur.rowcount > 0

    def get_message(self, channel: str, ts: str) -> Message | None:
        row = self._db.execute("SELECT * FROM messages WHERE channel = ? AND ts = ?", (channel, ts)).fetchone()
        return _message(row) if row else None

    def top_level(
        self, channel: str, *, oldest: str | None = None, latest: str | None = None, inclusive: bool = False
    ) -> list[Message]:
        """Messages that are not thread replies, oldest first, within (oldest, latest)."""
        lower, upper = (">=", "<=") if inclusive else (">", "<")
        sql = "SELECT * FROM messages WHERE channel = ? AND (thread_ts IS NULL OR thread_ts = ts)"
        args: list[Any] = [channel]
        if oldest is not None:
            sql += f" AND CAST(ts AS REAL) {lower} CAST(? AS REAL)"
            args.append(oldest)
        if latest is not None:
            sql += f" AND CAST(ts AS REAL) {upper} CAST(? AS REAL)"
            args.append(latest)
        sql += " ORDER BY ts"
        return [_message(r) for r in self._db.execute(sql, args)]

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        """The parent (if it still exists) then its replies, oldest first."""
        rows = self._db.execute(
            "SELECT * FROM messages WHERE channel = ? AND (ts = ? OR thread_ts = ?) ORDER BY ts",
            (channel, thread_ts, thread_ts),
        )
        return [_message(r) for r in rows]

    def thread_summary(self, channel: str, thread_ts: str) -> ThreadSummary:
        rows = self._db.execute(
            "SELECT user, ts FROM messages WHERE channel = ? AND thread_ts = ? AND ts != ? ORDER BY ts",
            (channel, thread_ts, thread_ts),
        ).fetchall()
        users = list(dict.fromkeys(user for user, _ in rows))
        return ThreadSummary(len(rows), users, rows[-1][1] if rows else None)

    # -- ephemerals ------------------------------------------------------------

    def insert_ephemeral(self, e: Ephemeral) -> None:
        self._db.execute(
            "INSERT INTO ephemerals VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (e.channel, e.ts, e.recipient, e.thread_ts, e.user, e.bot_id, e.text, _dumps(e.blocks)),
        )
        self._changed("ephemeral", channel=e.channel, ts=e.ts, recipient=e.recipient, thread_ts=e.thread_ts)

    def replace_ephemeral(self, e: Ephemeral) -> None:
        self._db.execute(
            "UPDATE ephemerals SET text = ?, blocks = ? WHERE channel = ? AND ts = ?",
            (e.text, _dumps(e.blocks), e.channel, e.ts),
        )
        self._changed("ephemeral", channel=e.channel, ts=e.ts, recipient=e.recipient, thread_ts=e.thread_ts)

    def delete_ephemeral(self, channel: str, ts: str) -> bool:
        row = self._db.execute(
            "DELETE FROM ephemerals WHERE channel = ? AND ts = ? RETURNING recipient, thread_ts", (channel, ts)
        ).fetchone()
        if row:
            self._changed("ephemeral", channel=channel, ts=ts, recipient=row[0], thread_ts=row[1], deleted=True)
        return row is not None

    def get_ephemeral(self, channel: str, ts: str) -> Ephemeral | None:
        row = self._db.execute("SELECT * FROM ephemerals WHERE channel = ? AND ts = ?", (channel, ts)).fetchone()
        return _ephemeral(row) if row else None

    def ephemerals(self, recipient: str | None = None) -> list[Ephemeral]:
        if recipient is None:
            rows = self._db.execute("SELECT * FROM ephemerals ORDER BY ts")
        else:
            rows = self._db.execute("SELECT * FROM ephemerals WHERE recipient = ? ORDER BY ts", (recipient,))
        return [_ephemeral(r) for r in rows]

    # -- views ------------------------------------------------------------------

    def save_view(self, view_id: str, user: str, kind: str, is_open: bool, body: dict[str, Any]) -> None:
        """Insert or replace a view; a new view goes on top of the user's stack."""
        seq = self.next_seq("view")
        self._db.execute(
            "INSERT INTO views VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
            "open = excluded.open, external_id = excluded.external_id, body = excluded.body",
            (view_id, user, kind, int(is_open), seq, body.get("external_id") or None, _dumps(body)),
        )
        self._changed("view", user=user, view_id=view_id, view_kind=kind)

    def set_view_open(self, view_id: str, is_open: bool) -> None:
        row = self._db.execute(
            "UPDATE views SET open = ? WHERE id = ? RETURNING user, kind", (int(is_open), view_id)
        ).fetchone()
        if row:
            self._changed("view", user=row[0], view_id=view_id, view_kind=row[1])

    def get_view(self, view_id: str) -> tuple[str, str, bool, dict[str, Any]] | None:
        """(user, kind, open, body) of a view."""
        row = self._db.execute("SELECT user, kind, open, body FROM views WHERE id = ?", (view_id,)).fetchone()
        return (row[0], row[1], bool(row[2]), _loads(row[3])) if row else None

    def open_views(self, user: str) -> list[dict[str, Any]]:
        """The user's open modal stack, bottom first."""
        rows = self._db.execute(
            "SELECT body FROM views WHERE user = ? AND kind = 'modal' AND open = 1 ORDER BY seq", (user,)
        )
        return [_loads(r[0]) for r in rows]

    def home_view(self, user: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT body FROM views WHERE user = ? AND kind = 'home' ORDER BY seq DESC LIMIT 1", (user,)
        ).fetchone()
        return _loads(row[0]) if row else None

    # -- files ------------------------------------------------------------------

    def insert_file(self, f: StoredFile) -> None:
        self._db.execute(
            "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?)", (f.id, f.name, f.title, f.length, f.content, f.created)
        )

    def set_file_content(self, file_id: str, content: bytes) -> bool:
        cur = self._db.execute("UPDATE files SET content = ? WHERE id = ?", (content, file_id))
        return cur.rowcount > 0

    def set_file_title(self, file_id: str, title: str) -> None:
        self._db.execute("UPDATE files SET title = ? WHERE id = ?", (title, file_id))

    def get_file(self, file_id: str) -> StoredFile | None:
        row = self._db.execute("SELECT * FROM files WHERE id = ?", (file_id,)).fetchone()
        return StoredFile(*row) if row else None

    # -- scheduled messages ------------------------------------------------------

    def insert_scheduled(self, s: ScheduledMessage) -> None:
        self._db.execute(
            "INSERT INTO scheduled_messages VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                s.id,
                s.channel,
                s.post_at,
                s.date_created,
                s.thread_ts,
                s.text,
                _dumps(s.blocks),
                _dumps(s.metadata),
            ),
        )

    def scheduled(self, channel: str | None = None) -> list[ScheduledMessage]:
        """Pending scheduled messages (of one channel, or all), soonest first."""
        where, args = (" WHERE channel = ?", [channel]) if channel is not None else ("", [])
        sql = f"SELECT * FROM scheduled_messages{where} ORDER BY post_at, rowid"
        return [_scheduled(r) for r in self._db.execute(sql, args)]

    def take_due(self, now: float) -> list[ScheduledMessage]:
        """Remove and return the scheduled messages whose time has come, soonest (then first scheduled) first."""
        rows = self._db.execute(
            "DELETE FROM scheduled_messages WHERE post_at <= ? RETURNING post_at, rowid, *", (now,)
        ).fetchall()
        return [_scheduled(r[2:]) for r in sorted(rows, key=lambda r: (r[0], r[1]))]

    # -- topics ------------------------------------------------------------------

    def set_topic(self, topic: Topic) -> None:
        self._db.execute(
            "INSERT INTO topics VALUES (?, ?, ?, ?) ON CONFLICT (channel) DO UPDATE SET "
            "value = excluded.value, creator = excluded.creator, last_set = excluded.last_set",
            (topic.channel, topic.value, topic.creator, topic.last_set),
        )
        self._changed("channel", channel=topic.channel)

    def topics(self) -> list[Topic]:
        return [Topic(*row) for row in self._db.execute("SELECT * FROM topics")]

    # -- response URLs ------------------------------------------------------------

    def insert_response_url(self, token: str, context: dict[str, Any]) -> None:
        self._db.execute("INSERT INTO response_urls VALUES (?, ?, 0, ?)", (token, _dumps(context), time.time()))

    def use_response_url(self, token: str) -> ResponseUrl | None:
        """Count one use of a response URL and return it (with the new count)."""
        row = self._db.execute(
            "UPDATE response_urls SET uses = uses + 1 WHERE token = ? RETURNING token, context, uses, created",
            (token,),
        ).fetchone()
        return ResponseUrl(row[0], _loads(row[1]), row[2], row[3]) if row else None


def _message(row: tuple[Any, ...]) -> Message:
    channel, ts, thread_ts, user, bot_id, text, blocks, metadata, files, edited_ts, subtype, topic = row
    return Message(
        channel,
        ts,
        thread_ts,
        user,
        bot_id,
        text,
        _loads(blocks),
        _loads(metadata),
        _loads(files),
        edited_ts,
        subtype,
        topic,
    )


def _scheduled(row: tuple[Any, ...]) -> ScheduledMessage:
    id_, channel, post_at, date_created, thread_ts, text, blocks, metadata = row
    return ScheduledMessage(id_, channel, post_at, date_created, thread_ts, text, _loads(blocks), _loads(metadata))


def _ephemeral(row: tuple[Any, ...]) -> Ephemeral:
    channel, ts, recipient, thread_ts, user, bot_id, text, blocks = row
    return Ephemeral(channel, ts, recipient, thread_ts, user, bot_id, text, _loads(blocks))
