"""The report's progress as one streamed message in its thread: Slack's chat.startStream, appendStream, stopStream.

Each call is its own activity (``signoff.contracts.progress_stream`` says why each is safe to retry). The
three are called directly rather than through slack_sdk's ``chat_stream()`` helper: the helper keeps the
stream's ``ts`` and its buffer in one process's memory, and this stream outlives the process (a step on
another worker, after a crash, goes on with it); it uses the helper's chunk models.

Where Slack refuses to stream (the method unknown to this Slack, a token type it does not take, a
conversation type it does not stream in, no recipient), ``start_progress`` answers ``refused`` with Slack's
error name and the workflow posts phase notes instead. An append Slack refuses because the stream is over
answers Slack's reason: the workflow goes on in a new stream when Slack ended it (a stream lives about five
minutes), with notes when someone pressed Stop. A stop that did not land answers False (the workflow posts
its text as a note). Rate limits and Slack being down are retried, as every Slack call of the workflows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_sdk.models.messages.chunk import Chunk, MarkdownTextChunk, PlanUpdateChunk, TaskUpdateChunk
from temporalio.exceptions import ApplicationError

from signoff.activities.context import Activity, current_step
from signoff.activities.slack import SlackActivities, call_slack, post_metadata, posted_key, slack_error_code
from signoff.contracts.progress_stream import (
    MAX_STREAM_MARKDOWN,
    MAX_TASK_TITLE,
    SLACK_APPEND_PROGRESS,
    SLACK_START_PROGRESS,
    SLACK_STOP_PROGRESS,
    ProgressAppendInput,
    ProgressStartInput,
    ProgressStopInput,
    ProgressStream,
    ProgressTask,
    task_id_prefix,
)
from signoff.contracts.workflow_io import MessageRef
from signoff.slack.rendering.text import cut_mrkdwn

# Slack's answers to chat.startStream that mean "no streaming here" (the methods' reference pages, and
# Slack's general answers for a method this Slack or this token cannot use).
STREAMING_UNAVAILABLE = frozenset(
    {
        "unknown_method",
        "not_allowed_token_type",
        "channel_type_not_supported",
        "method_not_supported_for_channel_type",
        "missing_recipient_user_id",
        "missing_recipient_team_id",
        "messages_tab_disabled",
    }
)
# Slack's answers to chat.appendStream / chat.stopStream that mean the stream is over.
STREAM_OVER = frozenset({"message_not_in_streaming_state", "stopped_by_user", "message_not_found"})


def _plan_chunks(title: str, tasks: list[ProgressTask]) -> list[Chunk]:
    """The plan's title and its tasks as they stand (each replaces what the message showed)."""
    return [
        PlanUpdateChunk(title=title[:MAX_TASK_TITLE]),
        *(TaskUpdateChunk(id=t.id, title=t.title[:MAX_TASK_TITLE], status=t.status.value) for t in tasks),
    ]


def _task_ids(message: Mapping[str, Any]) -> list[str]:
    """The task ids a streamed message shows (task cards, alone or in a plan)."""
    ids = []
    for block in message.get("blocks") or []:
        cards = block.get("tasks") or [] if block.get("type") == "plan" else [block]
        ids += [str(card.get("task_id")) for card in cards if card.get("type") == "task_card"]
    return ids


class ProgressStreamActivities:
    def __init__(self, slack: SlackActivities) -> None:
        self._slack = slack

    def by_name(self) -> dict[str, Activity]:
        """These activities by the names the workflows call them (recorded in histories: never renamed)."""
        return {
            SLACK_START_PROGRESS: self.start_progress,
            SLACK_APPEND_PROGRESS: self.append_progress,
            SLACK_STOP_PROGRESS: self.stop_progress,
        }

    async def start_progress(self, input: ProgressStartInput) -> ProgressStream:
        """Start the stream under the thread, or continue the one an earlier attempt of this step started."""
        key = input.idempotency_key
        if current_step().attempt > 1:
            prefix = task_id_prefix(key)
            found = await self._slack.find_in_thread(
                input.thread,
                [key],
                lambda message: key if any(i.startswith(prefix) for i in _task_ids(message)) else None,
            )
            if key in found:
                current_step().logger.info("The progress stream %s was started by an earlier attempt", key)
                return ProgressStream(MessageRef(channel_id=input.thread.channel_id, ts=found[key]))
        try:
            response = await call_slack(
                "chat.startStream",
                self._slack.client.chat_startStream(
                    channel=input.thread.channel_id,
                    thread_ts=input.thread.ts,
                    recipient_user_id=input.recipient_user_id,
                    recipient_team_id=input.recipient_team_id,
                    task_display_mode="plan",
                    chunks=_plan_chunks(input.title, input.tasks),
                ),
            )
        except ApplicationError as err:
            code = slack_error_code(err)
            if code is None:
                raise
            log = current_step().logger.info if code in STREAMING_UNAVAILABLE else current_step().logger.warning
            log("Slack refused to stream the progress (%s); posting phase notes instead", code)
            return ProgressStream(None, refused=code)
        return ProgressStream(MessageRef(channel_id=response["channel"], ts=response["ts"]))

    async def append_progress(self, input: ProgressAppendInput) -> str | None:
        """Show the plan's new title and tasks; None when shown, else Slack's reason the stream is over
        (``message_not_in_streaming_state``: Slack ended it; ``stopped_by_user``: someone pressed Stop)."""
        try:
            await call_slack(
                "chat.appendStream",
                self._slack.client.chat_appendStream(
                    channel=input.stream.channel_id,
                    ts=input.stream.ts,
                    chunks=_plan_chunks(input.title, input.tasks),
                ),
            )
        except ApplicationError as err:
            self._over(err, "chat.appendStream")
            return slack_error_code(err)
        return None

    async def stop_progress(self, input: ProgressStopInput) -> bool:
        """End the stream with its last tasks and ``text``; False when Slack had ended it (the text not shown)."""
        chunks = _plan_chunks(input.title, input.tasks)
        if input.text:
            chunks.append(MarkdownTextChunk(text=cut_mrkdwn(input.text, MAX_STREAM_MARKDOWN)))
        try:
            await call_slack(
                "chat.stopStream",
                self._slack.client.chat_stopStream(
                    channel=input.stream.channel_id,
                    ts=input.stream.ts,
                    chunks=chunks,
                    metadata=post_metadata(input.idempotency_key),
                ),
            )
        except ApplicationError as err:
            code = slack_error_code(err)
            if code in STREAM_OVER and await self._stopped_with(input):
                current_step().logger.info("The progress stream %s was stopped by an earlier attempt", input.stream.ts)
                return True
            return self._over(err, "chat.stopStream")
        return True

    async def _stopped_with(self, input: ProgressStopInput) -> bool:
        """Whether the stream carries this stop's metadata: an earlier attempt's stop went through."""
        response = await call_slack(
            "conversations.replies",
            self._slack.client.conversations_replies(
                channel=input.thread.channel_id,
                ts=input.thread.ts,
                oldest=input.stream.ts,
                inclusive=True,
                limit=2,
                include_all_metadata=True,
            ),
        )
        return any(
            m.get("ts") == input.stream.ts and posted_key(m) == input.idempotency_key
            for m in response.get("messages") or []
        )

    @staticmethod
    def _over(err: ApplicationError, method: str) -> bool:
        """False (the stream is over: notes from here on) for Slack's refusal; anything else is raised."""
        code = slack_error_code(err)
        if code is None:
            raise err
        log = current_step().logger.info if code in STREAM_OVER else current_step().logger.warning
        log("%s refused (%s): the progress goes on as phase notes", method, code)
        return False
