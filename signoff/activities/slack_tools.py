"""The executor's tools as activities: what an allowed tool call does in Slack.

Each acts once however often it is retried: a message carries its call's idempotency key in
its metadata (found again by ``SlackActivities.post_once``), a scheduled message is looked
up among the channel's scheduled messages, a shared document by its file name (made from the
key). Slack refusing for good (``not_in_channel``, ``channel_not_found``…) is a result the agent
is told, not a failure; transient failures are retried by Temporal as for every Slack call.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from temporalio.exceptions import ApplicationError

from signoff.activities.context import Activity, current_step
from signoff.activities.slack import SlackActivities, call_slack, slack_error_code
from signoff.contracts.tool_calls import (
    TOOL_POST_MESSAGE,
    TOOL_READ_CHANNEL,
    TOOL_RESOLVE_CHANNEL,
    TOOL_SCHEDULE_MESSAGE,
    TOOL_SET_CHANNEL_TOPIC,
    TOOL_SHARE_DOCUMENT,
    PostMessageInput,
    ReadChannelInput,
    ResolveChannelInput,
    ResolvedChannel,
    ScheduleMessageInput,
    SetTopicInput,
    ShareDocumentInput,
    ToolResult,
    channel_name_key,
    conversation_id_in,
)

# conversations.list is Tier 2: a few pages find any channel of a normal workspace.
CHANNEL_LOOKUP_PAGES = 5
CHANNEL_LOOKUP_PAGE_SIZE = 200
# How long a #name → id lookup is kept: a channel renamed, or archived and its name reused, is looked
# up again after this: one lookup per name and worker every 5 minutes at most, well within Tier 2.
CHANNEL_NAME_TTL_SECONDS = 5 * 60
# How many recent messages a retried share looks through for its own file.
SHARE_LOOKUP_LIMIT = 100
READ_TEXT_CHARS = 500


class ChannelNotFound(Exception):
    pass


def _refused(err: ApplicationError, channel: str) -> ToolResult:
    """A permanent Slack refusal, in words the agent (and the thread) can act on."""
    code = slack_error_code(err) or "error"
    if code == "not_in_channel":
        summary = (
            f"Slack answered not_in_channel: the app is not a member of {channel}. "
            "Invite it first (/invite @signoff in that channel), then ask again."
        )
    elif code == "channel_not_found":
        summary = f"Slack answered channel_not_found: there is no channel {channel} the app can see."
    else:
        summary = f"Slack refused: {code}."
    return ToolResult(ok=False, summary=summary, error=code)


def document_file_name(title: str, idempotency_key: str) -> str:
    """A file name unique to the call (so a retry finds its own upload) and readable."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "document"
    return f"{slug}-{hashlib.sha256(idempotency_key.encode()).hexdigest()[:10]}.md"


class SlackToolActivities:
    """The executor's Slack tools, on the worker's Slack client and idempotent posting."""

    def __init__(self, slack: SlackActivities, clock: Callable[[], float] = time.monotonic) -> None:
        self._slack = slack
        self._client = slack.client
        # #name → (id, when looked up): conversations.list is Tier 2 (about 20 calls a minute), so ask
        # once per name for CHANNEL_NAME_TTL_SECONDS (a renamed or recreated channel is found after it).
        self._channel_ids: dict[str, tuple[str, float]] = {}
        self._clock = clock

    async def _channel_id(self, channel: str) -> str:
        """A conversation id for what the model wrote: an id, a <#C…|name> link or a #name."""
        conversation = conversation_id_in(channel)
        if conversation is not None:
            return conversation
        name = channel_name_key(channel)
        cached = self._channel_ids.get(name)
        if cached is not None and self._clock() - cached[1] < CHANNEL_NAME_TTL_SECONDS:
            return cached[0]
        cursor: str | None = None
        for _ in range(CHANNEL_LOOKUP_PAGES):
            response = await call_slack(
                "conversations.list",
                self._client.conversations_list(
                    types="public_channel,private_channel",
                    exclude_archived=True,
                    limit=CHANNEL_LOOKUP_PAGE_SIZE,
                    cursor=cursor,
                ),
            )
            for found in response.get("channels") or []:
                if str(found.get("name", "")).lower() == name:
                    self._channel_ids[name] = (str(found["id"]), self._clock())
                    return str(found["id"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        raise ChannelNotFound(channel)

    async def _resolve(self, channel: str) -> str | ToolResult:
        try:
            return await self._channel_id(channel)
        except ChannelNotFound:
            return ToolResult(
                ok=False,
                summary=f"There is no channel named {channel} that the app can see; use its id or exact name.",
                error="channel_not_found",
            )

    async def post_message(self, input: PostMessageInput) -> ToolResult:
        channel_id = await self._resolve(input.channel)
        if isinstance(channel_id, ToolResult):
            return channel_id
        try:
            posted = await self._slack.post_once(channel_id, input.idempotency_key, text=input.text)
        except ApplicationError as err:
            if slack_error_code(err) is None:
                raise
            return _refused(err, input.channel)
        link = await self._slack.permalink(posted)
        return ToolResult(ok=True, summary=f"Posted the message in {input.channel}.", permalink=link)

    async def schedule_message(self, input: ScheduleMessageInput) -> ToolResult:
        channel_id = await self._resolve(input.channel)
        if isinstance(channel_id, ToolResult):
            return channel_id
        try:
            if current_step().attempt > 1 and await self._already_scheduled(channel_id, input):
                return _scheduled(input)
            await call_slack(
                "chat.scheduleMessage",
                self._client.chat_scheduleMessage(channel=channel_id, text=input.text, post_at=input.post_at),
            )
        except ApplicationError as err:
            if slack_error_code(err) is None:
                raise
            return _refused(err, input.channel)
        return _scheduled(input)

    async def _already_scheduled(self, channel_id: str, input: ScheduleMessageInput) -> bool:
        response = await call_slack(
            "chat.scheduledMessages.list", self._client.chat_scheduledMessages_list(channel=channel_id)
        )
        return any(
            message.get("post_at") == input.post_at and message.get("text") == input.text
            for message in response.get("scheduled_messages") or []
        )

    async def share_document(self, input: ShareDocumentInput) -> ToolResult:
        channel_id = await self._resolve(input.channel)
        if isinstance(channel_id, ToolResult):
            return channel_id
        filename = document_file_name(input.title, input.idempotency_key)
        try:
            if current_step().attempt > 1 and await self._already_shared(channel_id, filename):
                return ToolResult(ok=True, summary=f"Shared {input.title!r} in {input.channel}.")
            # slack_sdk's own helper: files.getUploadURLExternal, the upload, files.completeUploadExternal.
            await call_slack(
                "files.completeUploadExternal",
                self._client.files_upload_v2(
                    channel=channel_id, content=input.markdown, filename=filename, title=input.title
                ),
            )
        except ApplicationError as err:
            if slack_error_code(err) is None:
                raise
            return _refused(err, input.channel)
        return ToolResult(ok=True, summary=f"Shared {input.title!r} in {input.channel}.")

    async def _already_shared(self, channel_id: str, filename: str) -> bool:
        response = await call_slack(
            "conversations.history", self._client.conversations_history(channel=channel_id, limit=SHARE_LOOKUP_LIMIT)
        )
        return any(
            file.get("name") == filename
            for message in response.get("messages") or []
            for file in message.get("files") or []
        )

    async def set_channel_topic(self, input: SetTopicInput) -> ToolResult:
        channel_id = await self._resolve(input.channel)
        if isinstance(channel_id, ToolResult):
            return channel_id
        try:
            # Setting the same topic twice is harmless: no idempotency key needed.
            await call_slack(
                "conversations.setTopic", self._client.conversations_setTopic(channel=channel_id, topic=input.topic)
            )
        except ApplicationError as err:
            if slack_error_code(err) is None:
                raise
            return _refused(err, input.channel)
        return ToolResult(ok=True, summary=f"Set the topic of {input.channel}.")

    async def read_channel(self, input: ReadChannelInput) -> ToolResult:
        channel_id = await self._resolve(input.channel)
        if isinstance(channel_id, ToolResult):
            return channel_id
        try:
            response = await call_slack(
                "conversations.history", self._client.conversations_history(channel=channel_id, limit=input.limit)
            )
        except ApplicationError as err:
            if slack_error_code(err) is None:
                raise
            return _refused(err, input.channel)
        lines = [_message_line(m) for m in reversed(response.get("messages") or [])]
        body = "\n".join(lines) if lines else "(no messages)"
        # The text is for the agent only: the thread may be in a channel whose members may not read this one.
        return ToolResult(
            ok=True,
            summary=f"The last {len(lines)} messages of {input.channel}:\n{body}",
            note=(
                f"Read the last {len(lines)} message{'' if len(lines) == 1 else 's'} of {input.channel} "
                "(given to the agent, not shown here)."
            ),
        )

    async def resolve_channel(self, input: ResolveChannelInput) -> ResolvedChannel:
        """The conversation a #name stands for, found as the tools find it (and from the same cache)."""
        try:
            return ResolvedChannel(channel_id=await self._channel_id(input.channel))
        except ChannelNotFound:
            return ResolvedChannel(channel_id=None)

    def by_name(self) -> dict[str, Activity]:
        """These activities by the names the workflows call them (recorded in histories: never renamed)."""
        return {
            TOOL_POST_MESSAGE: self.post_message,
            TOOL_SCHEDULE_MESSAGE: self.schedule_message,
            TOOL_SHARE_DOCUMENT: self.share_document,
            TOOL_SET_CHANNEL_TOPIC: self.set_channel_topic,
            TOOL_READ_CHANNEL: self.read_channel,
            TOOL_RESOLVE_CHANNEL: self.resolve_channel,
        }


def _message_line(message: dict[str, Any]) -> str:
    who = message.get("user") or message.get("bot_id") or "someone"
    text = str(message.get("text") or "").replace("\n", " ")
    if len(text) > READ_TEXT_CHARS:
        text = text[: READ_TEXT_CHARS - 1] + "…"
    return f"{who}: {text}"


def _scheduled(input: ScheduleMessageInput) -> ToolResult:
    when = datetime.fromtimestamp(input.post_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return ToolResult(ok=True, summary=f"Scheduled the message in {input.channel} for {when}.")
