"""Slack's behaviour, independent of transport: what posting, editing, viewing does.

Its one job is owning the workspace's state changes, which every transport shares:
its invariants hold because this one class makes every change.

The Web API handlers, the response_url endpoint and event delivery all act on
the workspace through this class. Failures are ``SlackError`` carrying Slack's
error code; rendering follows the shapes Slack's Web API returns.
"""

from __future__ import annotations

import base64
import logging
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from signoff.sandbox import blocks as block_kit
from signoff.sandbox.directory import APP_ID, BOT_ID, BOT_USER_ID, TEAM_DOMAIN, Channel, Directory, User
from signoff.sandbox.store import Ephemeral, Message, ScheduledMessage, Store, StoredFile, Topic

log = logging.getLogger(__name__)

MAX_TEXT = 40_000
MAX_MODAL_STACK = 3
MAX_VIEW_TITLE = 24
MAX_TOPIC = 250
MAX_SCHEDULE_AHEAD = 120 * 86_400  # chat.scheduleMessage: up to 120 days ahead
SCHEDULE_WINDOW = 300  # ... and at most 30 messages to one channel within 5 minutes
MAX_SCHEDULED_IN_WINDOW = 30
_ID_ALPHABET = string.ascii_uppercase + string.digits


class SlackError(Exception):
    """A Slack API error: ``{"ok": false, "error": code, **extra}``."""

    def __init__(self, code: str, **extra: object) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


def new_id(prefix: str, length: int = 10) -> str:
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def _block_id() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(5))


@dataclass
class _Trigger:
    user: str
    issued: float
    used: bool = False


class Workspace:
    def __init__(
        self,
        store: Store,
        directory: Directory,
        base_url: Callable[[], str],
        trigger_ttl: float | None = 3.0,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.directory = directory
        self._base_url = base_url
        self._trigger_ttl = trigger_ttl
        self._clock = clock
        self._now = now  # wall-clock seconds: scheduled messages, topics
        self._triggers: dict[str, _Trigger] = {}
        for topic in store.topics():
            if topic.channel in directory.channels:
                directory.set_topic(topic.channel, topic.value, topic.creator, topic.last_set)

    @property
    def team_id(self) -> str:
        return self.directory.team_id

    # -- lookups ------------------------------------------------------------------

    def channel(self, id_or_name: object) -> Channel:
        channel = self.directory.conversation(id_or_name) if isinstance(id_or_name, str) and id_or_name else None
        if channel is None:
            raise SlackError("channel_not_found")
        return channel

    def conversation(self, ref: object, *, names: bool = False, member: bool = True) -> Channel:
        """A conversation as a bot token's Web API call names it, and the app's right to act in it.

        By id only (``C…``, ``G…``, a DM's ``D…``) unless ``names``: chat.postMessage and
        chat.scheduleMessage also take ``#name``/``name`` and a user id (the DM with the app).
        A private channel the app is not in is invisible to it (``channel_not_found``); a public
        one it is not in is ``not_in_channel`` where the call needs ``member``ship.
        """
        channel = None
        if isinstance(ref, str) and ref:
            channel = self.directory.conversation(ref) if names else self.directory.by_id(ref)
        if channel is None or (channel.is_private and BOT_USER_ID not in channel.members):
            raise SlackError("channel_not_found")
        if member and BOT_USER_ID not in channel.members:
            raise SlackError("not_in_channel")
        return channel

    def user(self, user_id: object) -> User:
        user = self.directory.users.get(user_id) if isinstance(user_id, str) else None
        if user is None:
            raise SlackError("user_not_found")
        return user

    def message(self, channel_id: str, ts: object) -> Message:
        message = self.store.get_message(channel_id, ts) if isinstance(ts, str) else None
        if message is None:
            raise SlackError("message_not_found")
        return message

    # -- messages ------------------------------------------------------------------

    def post_message(
        self,
        channel_ref: object,
        *,
        text: object = None,
        blocks: object = None,
        thread_ts: object = None,
        metadata: object = None,
        files: list[str] | None = None,
        user: str = BOT_USER_ID,
    ) -> Message:
        channel = self.channel(channel_ref)
        if channel.is_private and user not in channel.members:
            raise SlackError("not_in_channel")
        text_value, block_list = self._content(text, blocks, required=not files)
        thread_ts = self._thread_root(channel.id, str(thread_ts)) if thread_ts is not None and thread_ts != "" else None
        message = Message(
            channel=channel.id,
            ts=self.store.next_ts(),
            thread_ts=thread_ts,
            user=user,
            bot_id=BOT_ID if user == BOT_USER_ID else None,
            text=text_value,
            blocks=block_list,
            metadata=_metadata(metadata),
            files=files,
            edited_ts=None,
        )
        self.store.insert_message(message)
        return message

    def update_message(
        self, channel_ref: object, ts: object, *, text: object = None, blocks: object = None, metadata: object = None
    ) -> Message:
        channel = self.channel(channel_ref)
        message = self.message(channel.id, ts)
        if message.user != BOT_USER_ID:
            raise SlackError("cant_update_message")
        if text is None and blocks is None and metadata is None:
            raise SlackError("no_text")
        if text is not None:
            message.text = _text(text)
        if blocks is not None:
            message.blocks = self._blocks(blocks)
        if metadata is not None:
            message.metadata = _metadata(metadata)
        message.edited_ts = self.store.next_ts()
        self.store.update_message(message)
        return message

    def delete_message(self, channel_ref: object, ts: object) -> Message:
        channel = self.channel(channel_ref)
        message = self.message(channel.id, ts)
        if message.user != BOT_USER_ID:
            raise SlackError("cant_delete_message")
        self.store.delete_message(channel.id, message.ts)
        return message

    def post_ephemeral(
        self,
        channel_ref: object,
        recipient: object,
        *,
        text: object = None,
        blocks: object = None,
        thread_ts: object = None,
        user: str = BOT_USER_ID,
        app_call: bool = False,
    ) -> Ephemeral:
        """``app_call``: the app's own chat.postEphemeral, which needs it in the conversation like a post
        (a public channel it is not in: ``not_in_channel``; a private one: ``channel_not_found``). A
        slash command's ack or response_url needs no membership: Slack answers the command there."""
        channel = self.conversation(channel_ref, names=True) if app_call else self.channel(channel_ref)
        target = self.user(recipient)
        if target.id not in channel.members:
            raise SlackError("user_not_in_channel")
        text_value, block_list = self._content(text, blocks, required=True)
        ephemeral = Ephemeral(
            channel=channel.id,
            ts=self.store.next_ts(),
            recipient=target.id,
            thread_ts=str(thread_ts) if thread_ts else None,
            user=user,
            bot_id=BOT_ID if user == BOT_USER_ID else None,
            text=text_value,
            blocks=block_list,
        )
        self.store.insert_ephemeral(ephemeral)
        return ephemeral

    def replace_ephemeral(self, ephemeral: Ephemeral, *, text: object, blocks: object) -> Ephemeral:
        ephemeral.text, ephemeral.blocks = self._content(text, blocks, required=True)
        self.store.replace_ephemeral(ephemeral)
        return ephemeral

    def schedule_message(
        self,
        channel: Channel,
        post_at: object,
        *,
        text: object = None,
        blocks: object = None,
        thread_ts: object = None,
        metadata: object = None,
    ) -> ScheduledMessage:
        when, now = _post_at(post_at), self._now()
        if when < now:
            raise SlackError("time_in_past")
        if when > now + MAX_SCHEDULE_AHEAD:
            raise SlackError("time_too_far")
        text_value, block_list = self._content(text, blocks, required=True)
        meta = _metadata(metadata)
        # No 5-minute window around `when` may hold more than 30 of the channel's scheduled messages.
        near = [s.post_at for s in self.store.scheduled(channel.id) if abs(s.post_at - when) < SCHEDULE_WINDOW]
        for start in {when, *(t for t in near if t <= when)}:
            if sum(start <= t < start + SCHEDULE_WINDOW for t in near) >= MAX_SCHEDULED_IN_WINDOW:
                raise SlackError("restricted_too_many")
        scheduled = ScheduledMessage(
            id=new_id("Q"),
            channel=channel.id,
            post_at=when,
            date_created=int(now),
            thread_ts=str(thread_ts) if thread_ts else None,
            text=text_value,
            blocks=block_list,
            metadata=meta,
        )
        self.store.insert_scheduled(scheduled)
        return scheduled

    def render_scheduled(self, scheduled: ScheduledMessage) -> dict[str, Any]:
        """The ``message`` of chat.scheduleMessage's answer: what will be posted."""
        out: dict[str, Any] = {
            "type": "delayed_message",
            "text": scheduled.text,
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": self.team_id,
        }
        if scheduled.blocks is not None:
            out["blocks"] = scheduled.blocks
        return out

    def scheduled_messages(
        self, channel_ref: object, *, oldest: str | None, latest: str | None, limit: int, cursor: str | None
    ) -> dict[str, Any]:
        """chat.scheduledMessages.list: the app's pending scheduled messages, soonest first."""
        channel_id = None
        if channel_ref not in (None, ""):
            channel = self.directory.by_id(channel_ref) if isinstance(channel_ref, str) else None
            if channel is None:
                raise SlackError("invalid_channel")
            channel_id = channel.id
        low, high = _seconds(oldest), _seconds(latest)
        pending = [
            s
            for s in self.store.scheduled(channel_id)
            if (low is None or s.post_at >= low) and (high is None or s.post_at <= high)
        ]
        start = 0
        if cursor:
            offset = _decode_cursor(cursor, "next_offset")
            if not offset.isdigit():
                raise SlackError("invalid_cursor")
            start = int(offset)
        page = pending[start : start + limit]
        more = start + limit < len(pending)
        return {
            "scheduled_messages": [
                {
                    "id": s.id,
                    "channel_id": s.channel,
                    "post_at": s.post_at,
                    "date_created": s.date_created,
                    "text": s.text,
                }
                for s in page
            ],
            "response_metadata": {"next_cursor": _encode_cursor(str(start + limit), "next_offset") if more else ""},
        }

    def deliver_scheduled(self, now: float | None = None) -> list[Message]:
        """Post every scheduled message whose time has come (by ``now``, default the clock); returns the posts.

        Like Slack (a documented bug of chat.scheduleMessage), a message scheduled with ``metadata`` is
        never posted: it leaves the list when its time comes, and nothing appears.
        """
        posted = []
        for scheduled in self.store.take_due(self._now() if now is None else now):
            if scheduled.metadata is not None:
                log.warning("scheduled message %s had metadata: not posted, as in Slack", scheduled.id)
                continue
            try:
                message = self.post_message(
                    scheduled.channel, text=scheduled.text, blocks=scheduled.blocks, thread_ts=scheduled.thread_ts
                )
            except SlackError as e:
                log.warning("scheduled message %s not posted: %s", scheduled.id, e.code)
                continue
            posted.append(message)
        return posted

    def set_topic(self, channel: Channel, topic: object, *, user: str = BOT_USER_ID) -> Channel:
        """conversations.setTopic: the channel's new topic, and Slack's "set the channel topic" message in it."""
        if channel.is_im:
            raise SlackError("method_not_supported_for_channel_type")
        if topic is None:
            raise SlackError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: topic"]}
            )
        value = str(topic)
        if len(value) > MAX_TOPIC:
            raise SlackError("too_long")
        last_set = int(self._now())
        self.store.set_topic(Topic(channel.id, value, user, last_set))
        updated = self.directory.set_topic(channel.id, value, user, last_set)
        self.store.insert_message(
            Message(
                channel=channel.id,
                ts=self.store.next_ts(),
                thread_ts=None,
                user=user,
                bot_id=None,
                text=f"set the channel topic: {value}" if value else "cleared the channel topic",
                blocks=None,
                metadata=None,
                files=None,
                edited_ts=None,
                subtype="channel_topic",
                topic=value,
            )
        )
        return updated

    def permalink(self, channel_id: str, message: Message) -> str:
        link = f"{self._base_url()}/archives/{channel_id}/p{message.ts.replace('.', '')}"
        if message.thread_ts and message.thread_ts != message.ts:
            link += f"?thread_ts={message.thread_ts}&cid={channel_id}"
        return link

    def thread_root(self, channel_id: str, thread_ts: str) -> str:
        """The thread a reply to ``thread_ts`` lands in (a reply to a reply: the original parent's)."""
        return self._thread_root(channel_id, thread_ts)

    def validated_blocks(self, blocks: object) -> list[dict[str, Any]]:
        """``blocks`` as a message would keep them, else Slack's ``invalid_blocks``."""
        return self._blocks(blocks)

    def _thread_root(self, channel_id: str, thread_ts: str) -> str:
        # Slack threads a reply to a reply under the original parent, and accepts a
        # thread_ts that names no message at all (the reply is then unreachable from history).
        target = self.store.get_message(channel_id, thread_ts)
        if target is not None and target.thread_ts:
            return target.thread_ts
        return thread_ts

    def _content(self, text: object, blocks: object, *, required: bool) -> tuple[str, list[dict[str, Any]] | None]:
        block_list = self._blocks(blocks) if blocks is not None else None
        text_value = _text(text) if text is not None else ""
        if required and not text_value and not block_list:
            raise SlackError("no_text")
        return text_value, block_list

    def _blocks(self, blocks: object, *, max_blocks: int = block_kit.MAX_MESSAGE_BLOCKS) -> list[dict[str, Any]]:
        try:
            valid = block_kit.validate(blocks, max_blocks=max_blocks)
        except block_kit.InvalidBlocks as e:
            raise SlackError("invalid_blocks", errors=[str(e)], response_metadata={"messages": [f"[ERROR] {e}"]}) from e
        return block_kit.with_block_ids(valid, _block_id) or []

    # -- rendering ------------------------------------------------------------------

    def render_message(self, message: Message, *, include_metadata: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "message"}
        if message.subtype:
            out["subtype"] = message.subtype
        out.update(user=message.user, text=message.text, ts=message.ts)
        if message.topic is not None:
            out["topic"] = message.topic
        if message.bot_id:
            out["bot_id"] = message.bot_id
            out["app_id"] = APP_ID
        out["team"] = self.team_id
        if message.blocks is not None:
            out["blocks"] = message.blocks
        if message.files:
            out["files"] = [self.render_file(f) for f in message.files if self.store.get_file(f)]
            out["upload"] = False
        if message.thread_ts and message.thread_ts != message.ts:
            out["thread_ts"] = message.thread_ts
            parent = self.store.get_message(message.channel, message.thread_ts)
            if parent is not None:
                out["parent_user_id"] = parent.user
        else:
            summary = self.store.thread_summary(message.channel, message.ts)
            if summary.reply_count:
                out["thread_ts"] = message.ts
                out["reply_count"] = summary.reply_count
                out["reply_users"] = summary.reply_users
                out["reply_users_count"] = len(summary.reply_users)
                out["latest_reply"] = summary.latest_reply
        if message.edited_ts:
            out["edited"] = {"user": message.user, "ts": message.edited_ts}
        if include_metadata and message.metadata:
            out["metadata"] = message.metadata
        return out

    def render_ephemeral(self, ephemeral: Ephemeral) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "message",
            "subtype": "ephemeral",
            "channel": ephemeral.channel,
            "recipient": ephemeral.recipient,
            "user": ephemeral.user,
            "text": ephemeral.text,
            "ts": ephemeral.ts,
        }
        if ephemeral.bot_id:
            out["bot_id"] = ephemeral.bot_id
        if ephemeral.blocks is not None:
            out["blocks"] = ephemeral.blocks
        if ephemeral.thread_ts:
            out["thread_ts"] = ephemeral.thread_ts
        return out

    # -- reading ------------------------------------------------------------------

    def history(
        self,
        channel_ref: object,
        *,
        limit: int,
        oldest: str | None,
        latest: str | None,
        inclusive: bool,
        cursor: str | None,
        include_metadata: bool,
    ) -> dict[str, Any]:
        channel = self.channel(channel_ref)
        _timestamp(oldest, "invalid_ts_oldest")
        _timestamp(latest, "invalid_ts_latest")
        messages = self.store.top_level(channel.id, oldest=oldest, latest=latest, inclusive=inclusive)
        messages.reverse()
        if cursor:
            before = _decode_cursor(cursor)
            messages = [m for m in messages if float(m.ts) < float(before)]
        page = messages[:limit]
        has_more = len(messages) > limit
        return {
            "messages": [self.render_message(m, include_metadata=include_metadata) for m in page],
            "has_more": has_more,
            "pin_count": 0,
            "response_metadata": {"next_cursor": _encode_cursor(page[-1].ts) if has_more else ""},
        }

    def replies(
        self,
        channel_ref: object,
        ts: object,
        *,
        limit: int,
        oldest: str | None,
        latest: str | None,
        inclusive: bool,
        cursor: str | None,
        include_metadata: bool,
    ) -> dict[str, Any]:
        """conversations.replies: the parent, then the replies within (oldest, latest), oldest first.

        As Slack does, the first page starts with the parent even when it lies outside the window
        (clients drop it by position), and later pages (a cursor) hold replies only.
        """
        channel = self.channel(channel_ref)
        if not isinstance(ts, str) or not ts:
            raise SlackError("thread_not_found")  # Slack: "Value for ts was missing or invalid"
        low, high = _timestamp(oldest, "invalid_ts_oldest"), _timestamp(latest, "invalid_ts_latest")
        root = self._thread_root(channel.id, ts)
        thread = self.store.thread(channel.id, root)
        if not thread or thread[0].ts != root:
            raise SlackError("thread_not_found")
        parent, replies = thread[0], thread[1:]
        replies = [m for m in replies if _within(float(m.ts), low, high, inclusive=inclusive)]
        if cursor:
            after = _decode_cursor(cursor)
            listed = [m for m in replies if float(m.ts) > float(after)]
        else:
            listed = [parent, *replies]
        page = listed[:limit]
        has_more = len(listed) > limit
        return {
            "messages": [self.render_message(m, include_metadata=include_metadata) for m in page],
            "has_more": has_more,
            "response_metadata": {"next_cursor": _encode_cursor(page[-1].ts) if has_more else ""},
        }

    # -- triggers and views ------------------------------------------------------------------

    def issue_trigger(self, user_id: str) -> str:
        trigger_id = f"{self.store.next_seq('trigger')}.{int(time.time())}.{secrets.token_hex(16)}"
        self._triggers[trigger_id] = _Trigger(user_id, self._clock())
        return trigger_id

    def _exchange_trigger(self, trigger_id: object) -> str:
        trigger = self._triggers.get(trigger_id) if isinstance(trigger_id, str) else None
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        if trigger.used:
            raise SlackError("exchanged_trigger_id")
        if self._trigger_ttl is not None and self._clock() - trigger.issued > self._trigger_ttl:
            raise SlackError("expired_trigger_id")
        trigger.used = True
        return trigger.user

    def open_view(self, trigger_id: object, view: object) -> dict[str, Any]:
        spec = self._view_spec(view, "modal")
        user = self._exchange_trigger(trigger_id)
        for stale in self.store.open_views(user):
            self.store.set_view_open(stale["id"], False)
        return self._save_new_view(user, spec, previous=None)

    def publish_home(self, user_ref: object, view: object, *, hash: object = None) -> dict[str, Any]:
        user = self.user(user_ref)
        spec = self._view_spec(view, "home")
        current = self.store.home_view(user.id)
        if current is not None and hash is not None and hash != current["hash"]:
            raise SlackError("hash_conflict")
        view_id = current["id"] if current else new_id("V")
        rendered = self._render_view(view_id, spec, root=view_id, previous=None)
        self.store.save_view(view_id, user.id, "home", True, rendered)
        return rendered

    def close_views(self, user_id: str, *, all_views: bool) -> list[dict[str, Any]]:
        """Close the top modal of a user's stack (or the whole stack); returns the closed views."""
        stack = self.store.open_views(user_id)
        closing = stack if all_views else stack[-1:]
        for view in closing:
            self.store.set_view_open(view["id"], False)
        return closing

    def replace_top_view(self, user_id: str, view: object) -> dict[str, Any]:
        """A view_submission answered with response_action "update"."""
        top = self.store.open_views(user_id)[-1]
        spec = self._view_spec(view, "modal")
        updated = self._render_view(top["id"], spec, root=top["root_view_id"], previous=top["previous_view_id"])
        self.store.save_view(top["id"], user_id, "modal", True, updated)
        return updated

    def push_view_for(self, user_id: str, view: object) -> dict[str, Any]:
        """A view_submission answered with response_action "push"."""
        stack = self.store.open_views(user_id)
        if len(stack) >= MAX_MODAL_STACK:
            raise SlackError("push_limit_reached")
        return self._save_new_view(user_id, self._view_spec(view, "modal"), previous=stack[-1] if stack else None)

    def _save_new_view(self, user: str, spec: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
        view_id = new_id("V")
        root = previous["root_view_id"] if previous else view_id
        rendered = self._render_view(view_id, spec, root=root, previous=previous["id"] if previous else None)
        self.store.save_view(view_id, user, "modal", True, rendered)
        return rendered

    def _view_spec(self, view: object, kind: str) -> dict[str, Any]:
        if not isinstance(view, dict):
            raise SlackError("invalid_arguments", response_metadata={"messages": ["[ERROR] view must be an object"]})
        if view.get("type") != kind:
            raise SlackError(
                "invalid_arguments",
                response_metadata={"messages": [f"[ERROR] view type must be {kind} [json-pointer:/view/type]"]},
            )
        if kind == "modal":
            title = view.get("title")
            if not isinstance(title, dict) or title.get("type") != "plain_text" or not title.get("text"):
                raise SlackError(
                    "invalid_arguments",
                    response_metadata={
                        "messages": ["[ERROR] missing required field: title [json-pointer:/view/title]"]
                    },
                )
            if len(title["text"]) > MAX_VIEW_TITLE:
                raise SlackError(
                    "invalid_arguments",
                    response_metadata={
                        "messages": [
                            f"[ERROR] must be less than {MAX_VIEW_TITLE + 1} characters [json-pointer:/view/title/text]"
                        ]
                    },
                )
        view = dict(view)
        view["blocks"] = self._blocks(view.get("blocks", []), max_blocks=block_kit.MAX_VIEW_BLOCKS)
        return view

    def _render_view(self, view_id: str, spec: dict[str, Any], *, root: str, previous: str | None) -> dict[str, Any]:
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": spec["type"],
            "blocks": spec["blocks"],
            "private_metadata": spec.get("private_metadata", ""),
            "callback_id": spec.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": spec.get("title"),
            "clear_on_close": bool(spec.get("clear_on_close", False)),
            "notify_on_close": bool(spec.get("notify_on_close", False)),
            "close": spec.get("close"),
            "submit": spec.get("submit"),
            "previous_view_id": previous,
            "root_view_id": root,
            "app_id": APP_ID,
            "external_id": spec.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": BOT_ID,
        }

    # -- files ------------------------------------------------------------------

    def start_upload(self, filename: object, length: object) -> tuple[str, str]:
        if not isinstance(filename, str) or not filename:
            raise SlackError("invalid_arguments")
        if not isinstance(length, str | int | float):
            raise SlackError("invalid_arguments")
        try:
            size = int(length)
        except ValueError:
            raise SlackError("invalid_arguments") from None
        if size == 0:
            raise SlackError("missing_argument")  # Slack takes a length of 0 as no length at all
        if size < 0:
            raise SlackError("invalid_arguments")
        file_id = new_id("F")
        self.store.insert_file(StoredFile(file_id, filename, None, size, None, int(time.time())))
        return file_id, f"{self._base_url()}/upload/v1/{file_id}"

    def receive_upload(self, file_id: str, content: bytes) -> bool:
        return self.store.set_file_content(file_id, content)

    def complete_upload(
        self, files: object, *, channel: object = None, initial_comment: object = None, thread_ts: object = None
    ) -> list[dict[str, Any]]:
        if not isinstance(files, list) or not files:
            raise SlackError("invalid_arguments")
        ids = []
        for item in files:
            file_id = item.get("id") if isinstance(item, dict) else None
            stored = self.store.get_file(file_id) if isinstance(file_id, str) else None
            if stored is None or stored.content is None:
                raise SlackError("file_not_found")
            if item.get("title"):
                self.store.set_file_title(stored.id, item["title"])
            ids.append(stored.id)
        if channel:
            self.post_message(channel, text=initial_comment or "", thread_ts=thread_ts, files=ids)
        return [self.render_file(file_id) for file_id in ids]

    def render_file(self, file_id: str) -> dict[str, Any]:
        stored = self.store.get_file(file_id)
        if stored is None:
            raise SlackError("file_not_found")
        base = self._base_url()
        return {
            "id": stored.id,
            "created": stored.created,
            "timestamp": stored.created,
            "name": stored.name,
            "title": stored.title or stored.name,
            "mimetype": "application/octet-stream",
            "filetype": stored.name.rsplit(".", 1)[-1] if "." in stored.name else "binary",
            "user": BOT_USER_ID,
            "size": len(stored.content or b""),
            "mode": "hosted",
            "is_external": False,
            "url_private": f"{base}/files/{stored.id}/{stored.name}",
            "permalink": f"{base}/files/{BOT_USER_ID}/{stored.id}/{stored.name}",
        }

    # -- identity ------------------------------------------------------------------

    def auth_test(self) -> dict[str, Any]:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Signoff Sandbox",
            "user": "signoff",
            "team_id": self.team_id,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }


def _text(text: object) -> str:
    if not isinstance(text, str):
        text = str(text)
    if len(text) > MAX_TEXT:
        raise SlackError("msg_too_long")
    return text


def metadata_of(metadata: object) -> dict[str, Any] | None:
    """A message's ``metadata`` argument as Slack keeps it, else ``invalid_metadata_format`` / ``_schema``."""
    return _metadata(metadata)


def _metadata(metadata: object) -> dict[str, Any] | None:
    if metadata is None or metadata == "":
        return None
    if not isinstance(metadata, dict) or not isinstance(metadata.get("event_type"), str):
        raise SlackError("invalid_metadata_format")
    payload = metadata.get("event_payload", {})
    if not isinstance(payload, dict):
        raise SlackError("invalid_metadata_schema")
    return {"event_type": metadata["event_type"], "event_payload": payload}


def _post_at(value: object) -> int:
    """chat.scheduleMessage's ``post_at``: whole Unix seconds, as a number or a string of digits."""
    if value is None or value == "":
        raise SlackError(
            "invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: post_at"]}
        )
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise SlackError("invalid_time")


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        raise SlackError("invalid_arguments") from None


def _timestamp(value: str | None, error: str) -> float | None:
    """A ``oldest``/``latest`` bound: absent, or a Unix timestamp (else Slack's ``invalid_ts_*``)."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        raise SlackError(error) from None


def _within(ts: float, low: float | None, high: float | None, *, inclusive: bool) -> bool:
    """Whether ``ts`` lies between the bounds: exclusive of them unless ``inclusive``, as Slack's reads."""
    if inclusive:
        return (low is None or ts >= low) and (high is None or ts <= high)
    return (low is None or ts > low) and (high is None or ts < high)


def _encode_cursor(value: str, kind: str = "next_ts") -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode()


def _decode_cursor(cursor: str, kind: str = "next_ts") -> str:
    try:
        found, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        float(value)
    except ValueError:
        raise SlackError("invalid_cursor") from None
    if found != kind:
        raise SlackError("invalid_cursor")
    return value
