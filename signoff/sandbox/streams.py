"""Streamed messages: ``chat.startStream``, ``chat.appendStream`` and ``chat.stopStream``, as Slack has them.

From the methods' reference pages (docs.slack.dev, checked 2026-12-07): ``startStream`` needs ``channel``
and ``thread_ts`` (a streamed message is always a reply) and, outside a DM, ``recipient_user_id`` and
``recipient_team_id`` (``missing_recipient_user_id`` / ``missing_recipient_team_id``); ``appendStream`` and
``stopStream`` need ``channel`` and ``ts``. Content is ``markdown_text`` (at most 12,000 characters) or
``chunks`` (``markdown_text``, ``task_update``, ``plan_update``, ``blocks``), never both in one call
(``cannot_provide_both_markdown_text_and_chunks``), and a stream keeps the mode it began with
(``streaming_mode_mismatch``). An append needs one of them (``markdown_text_or_chunks_required``). A stream
that was stopped, or that Slack ended, answers ``message_not_in_streaming_state``; another app's message
``message_not_owned_by_app``. ``stopStream`` also takes ``blocks`` (shown after the streamed content) and
``metadata``. Tiers: start and stop Tier 2, append Tier 4 (``signoff/sandbox/tiers.py``).

A task_update's ``title`` and ``status`` replace the task's, its ``details`` add to them (as apps that
stream report of Slack); a plan_update replaces the plan's title. Slack ends a stream on its own about five
minutes after it began (reported by apps that stream, not in the reference pages): ``lifetime``.

The streamed message is an ordinary message of the app's in the thread (conversations.replies shows it
with what has streamed so far: ``markdown`` blocks, ``task_card`` blocks, or one ``plan`` block in
``plan`` display mode); the sandbox's page shows it as typing while it is open.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from signoff.sandbox.directory import BOT_ID, BOT_USER_ID
from signoff.sandbox.store import Message
from signoff.sandbox.workspace import SlackError, Workspace, metadata_of

MAX_MARKDOWN = 12_000
TASK_STATUSES = frozenset({"pending", "in_progress", "complete", "error"})
DISPLAY_MODES = frozenset({"timeline", "plan"})
CHUNK_TYPES = frozenset({"markdown_text", "task_update", "plan_update", "blocks"})
# Seconds a stream stays open after it began; past it Slack has ended it (None: never).
STREAM_LIFETIME = 300.0


@dataclass
class _Task:
    id: str
    title: str
    status: str
    details: str = ""
    output: str | None = None


@dataclass
class Stream:
    channel: str
    ts: str
    display: str
    started: float
    # "markdown" or "chunks": the first content decides, and every later call must match.
    mode: str | None = None
    open: bool = True
    # In order: ("text", str), ("task", task id) at its first update, ("blocks", [...]).
    parts: list[tuple[str, Any]] = field(default_factory=list)
    tasks: dict[str, _Task] = field(default_factory=dict)
    plan_title: str | None = None
    final_blocks: list[dict[str, Any]] = field(default_factory=list)


class Streams:
    """The workspace's streamed messages (open ones in memory: a restarted sandbox has ended them)."""

    def __init__(
        self,
        workspace: Workspace,
        *,
        lifetime: float | None = STREAM_LIFETIME,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.workspace = workspace
        self.lifetime = lifetime
        self._clock = clock
        self._streams: dict[tuple[str, str], Stream] = {}

    def is_streaming(self, channel: str, ts: str) -> bool:
        stream = self._streams.get((channel, ts))
        return stream is not None and self._still_open(stream)

    # -- the methods ------------------------------------------------------------------

    def start(self, p: Mapping[str, Any]) -> dict[str, Any]:
        workspace = self.workspace
        channel = workspace.conversation(p.get("channel"))
        thread_ts = _text_arg(p, "thread_ts")
        if thread_ts is None:
            raise _missing("thread_ts")
        user_id, team_id = _text_arg(p, "recipient_user_id"), _text_arg(p, "recipient_team_id")
        if not channel.is_im:
            if team_id is None:
                raise SlackError("missing_recipient_team_id")
            if user_id is None:
                raise SlackError("missing_recipient_user_id")
        if user_id is not None:
            workspace.user(user_id)
        if team_id is not None and team_id != workspace.team_id:
            raise SlackError("team_not_found")
        display = _text_arg(p, "task_display_mode") or "timeline"
        if display not in DISPLAY_MODES:
            raise SlackError(
                "invalid_arguments",
                response_metadata={
                    "messages": ["[ERROR] must be one of timeline, plan [json-pointer:/task_display_mode]"]
                },
            )
        mode, parts = self._content(p, required=False)
        message = Message(
            channel=channel.id,
            ts=workspace.store.next_ts(),
            thread_ts=workspace.thread_root(channel.id, thread_ts),
            user=BOT_USER_ID,
            bot_id=BOT_ID,
            text="",
            blocks=[],
            metadata=None,
            files=None,
            edited_ts=None,
        )
        stream = Stream(channel.id, message.ts, display, self._clock(), mode=mode)
        self._apply(stream, parts)
        self._streams[(channel.id, message.ts)] = stream
        self._render(stream, message)
        workspace.store.insert_message(message)
        return {"channel": channel.id, "ts": message.ts}

    def append(self, p: Mapping[str, Any]) -> dict[str, Any]:
        stream, message = self._open_stream(p)
        mode, parts = self._content(p, required=True)
        self._check_mode(stream, mode)
        self._apply(stream, parts)
        self._render(stream, message)
        self.workspace.store.update_message(message)
        return {"channel": stream.channel, "ts": stream.ts}

    def stop(self, p: Mapping[str, Any]) -> dict[str, Any]:
        stream, message = self._open_stream(p)
        mode, parts = self._content(p, required=False)
        self._check_mode(stream, mode)
        blocks = p.get("blocks")
        final_blocks = self.workspace.validated_blocks(blocks) if blocks not in (None, "", []) else []
        metadata = metadata_of(p.get("metadata"))
        self._apply(stream, parts)
        stream.final_blocks = final_blocks
        stream.open = False
        self._render(stream, message)
        if metadata is not None:
            message.metadata = metadata
        self.workspace.store.update_message(message)
        return {"channel": stream.channel, "ts": stream.ts, "message": self.workspace.render_message(message)}

    # -- checks ------------------------------------------------------------------

    def _open_stream(self, p: Mapping[str, Any]) -> tuple[Stream, Message]:
        channel = self.workspace.conversation(p.get("channel"))
        ts = _text_arg(p, "ts")
        if ts is None:
            raise _missing("ts")
        message = self.workspace.message(channel.id, ts)
        if message.user != BOT_USER_ID:
            raise SlackError("message_not_owned_by_app")
        stream = self._streams.get((channel.id, ts))
        if stream is None or not self._still_open(stream):
            raise SlackError("message_not_in_streaming_state")
        return stream, message

    def _still_open(self, stream: Stream) -> bool:
        if stream.open and self.lifetime is not None and self._clock() - stream.started >= self.lifetime:
            stream.open = False  # Slack ended it: what streamed so far stays, as it was
        return stream.open

    @staticmethod
    def _check_mode(stream: Stream, mode: str | None) -> None:
        if mode is None:
            return
        if stream.mode is not None and stream.mode != mode:
            raise SlackError("streaming_mode_mismatch")
        stream.mode = mode

    def _content(self, p: Mapping[str, Any], *, required: bool) -> tuple[str | None, list[dict[str, Any]]]:
        """(mode, chunks) of a call: ``markdown_text`` as one markdown chunk, or the validated ``chunks``."""
        markdown, chunks = p.get("markdown_text"), p.get("chunks")
        has_markdown, has_chunks = markdown not in (None, ""), chunks not in (None, "", [])
        if has_markdown and has_chunks:
            raise SlackError("cannot_provide_both_markdown_text_and_chunks")
        if has_markdown:
            return "markdown", [{"type": "markdown_text", "text": _markdown(markdown)}]
        if has_chunks:
            return "chunks", [self._chunk(chunk, i) for i, chunk in enumerate(_chunk_list(chunks))]
        if required:
            raise SlackError("markdown_text_or_chunks_required")
        return None, []

    def _chunk(self, chunk: object, index: int) -> dict[str, Any]:
        where = f"[json-pointer:/chunks/{index}]"
        if not isinstance(chunk, dict) or chunk.get("type") not in CHUNK_TYPES:
            raise _invalid_chunks(f"unknown chunk type {where}")
        kind = chunk["type"]
        if kind == "markdown_text":
            if not isinstance(chunk.get("text"), str):
                raise _invalid_chunks(f"missing required field: text {where}")
            return {"type": kind, "text": _markdown(chunk["text"])}
        if kind == "plan_update":
            if not _nonempty(chunk.get("title")):
                raise _invalid_chunks(f"missing required field: title {where}")
            return {"type": kind, "title": chunk["title"]}
        if kind == "blocks":
            return {"type": kind, "blocks": self.workspace.validated_blocks(chunk.get("blocks"))}
        for name in ("id", "title"):
            if not _nonempty(chunk.get(name)):
                raise _invalid_chunks(f"missing required field: {name} {where}")
        if chunk.get("status") not in TASK_STATUSES:
            raise _invalid_chunks(f"status must be one of pending, in_progress, complete, error {where}")
        for name in ("details", "output"):
            if chunk.get(name) is not None and not isinstance(chunk[name], str):
                raise _invalid_chunks(f"{name} must be a string {where}")
        return {key: chunk[key] for key in ("type", "id", "title", "status", "details", "output") if key in chunk}

    # -- content ------------------------------------------------------------------

    @staticmethod
    def _apply(stream: Stream, chunks: list[dict[str, Any]]) -> None:
        for chunk in chunks:
            kind = chunk["type"]
            if kind == "markdown_text":
                stream.parts.append(("text", chunk["text"]))
            elif kind == "plan_update":
                stream.plan_title = chunk["title"]
            elif kind == "blocks":
                stream.parts.append(("blocks", chunk["blocks"]))
            else:
                task = stream.tasks.get(chunk["id"])
                if task is None:
                    task = stream.tasks[chunk["id"]] = _Task(chunk["id"], chunk["title"], chunk["status"])
                    stream.parts.append(("task", task.id))
                task.title, task.status = chunk["title"], chunk["status"]
                task.details += chunk.get("details") or ""
                if chunk.get("output") is not None:
                    task.output = chunk["output"]

    @staticmethod
    def _render(stream: Stream, message: Message) -> None:
        """The message as Slack shows it: markdown, task cards (or one plan block), then stopStream's blocks."""
        blocks: list[dict[str, Any]] = []
        texts: list[str] = []
        plan: dict[str, Any] | None = None
        for kind, value in stream.parts:
            if kind == "text":
                texts.append(value)
                if blocks and blocks[-1]["type"] == "markdown":
                    blocks[-1]["text"] += value
                else:
                    blocks.append({"type": "markdown", "text": value})
            elif kind == "blocks":
                blocks.extend(value)
            elif stream.display == "plan":
                if plan is None:
                    plan = {"type": "plan", "title": stream.plan_title or "", "tasks": []}
                    blocks.append(plan)
                plan["tasks"].append(_task_card(stream.tasks[value]))
            else:
                blocks.append(_task_card(stream.tasks[value]))
        message.text = "".join(texts)
        message.blocks = blocks + stream.final_blocks


def _task_card(task: _Task) -> dict[str, Any]:
    card: dict[str, Any] = {"type": "task_card", "task_id": task.id, "title": task.title, "status": task.status}
    if task.details:
        card["details"] = _rich_text(task.details)
    if task.output:
        card["output"] = _rich_text(task.output)
    return card


def _rich_text(text: str) -> dict[str, Any]:
    return {
        "type": "rich_text",
        "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
    }


def _text_arg(p: Mapping[str, Any], name: str) -> str | None:
    value = p.get(name)
    return None if value in (None, "") else str(value)


def _nonempty(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _markdown(text: object) -> str:
    text = str(text)
    if len(text) > MAX_MARKDOWN:
        raise SlackError("msg_too_long")
    return text


def _chunk_list(chunks: object) -> list[object]:
    if not isinstance(chunks, list):
        raise _invalid_chunks("chunks must be an array")
    return chunks


def _invalid_chunks(why: str) -> SlackError:
    return SlackError("invalid_chunks", response_metadata={"messages": [f"[ERROR] {why}"]})


def _missing(name: str) -> SlackError:
    return SlackError("invalid_arguments", response_metadata={"messages": [f"[ERROR] missing required field: {name}"]})
