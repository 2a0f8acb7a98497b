"""What the report workflow and the streamed-progress activities agree on.

While research, writing and review run, the thread shows one streamed message (Slack's
``chat.startStream`` → ``chat.appendStream`` → ``chat.stopStream``) with a plan: one task per agent step,
each saying what it does and, once done, how long it took; it ends, when the draft is posted, with the
reviewer's findings and who decides. Every call is an activity by name, so each is durable on every engine.

Retries are safe by construction: appends carry only ``task_update`` / ``plan_update`` chunks, whose title
and status replace what the message showed (sent twice, they show the same), and everything that adds
text goes in the one ``stopStream`` call, which Slack takes once (a second stop answers
``message_not_in_streaming_state``, and the stop's metadata tells this run's stop from Slack ending the
stream). A start retried after a crash first looks for the stream its earlier attempt began, by the task
ids (they carry the start's idempotency key), and continues that one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from signoff.contracts.activity_io import SLACK_RETRY_POLICY, SLACK_START_TO_CLOSE
from signoff.contracts.workflow_io import MessageRef

SLACK_START_PROGRESS = "slack_start_progress"
SLACK_APPEND_PROGRESS = "slack_append_progress"
SLACK_STOP_PROGRESS = "slack_stop_progress"
PROGRESS_START_TO_CLOSE = SLACK_START_TO_CLOSE
PROGRESS_RETRY_POLICY = SLACK_RETRY_POLICY
# Slack's answer to an append after it ended the stream on its own (a stream lives about five minutes).
STREAM_ENDED_BY_SLACK = "message_not_in_streaming_state"
# Slack's limits: a task title near 256 characters, markdown 12,000 a call.
MAX_TASK_TITLE = 250
MAX_STREAM_MARKDOWN = 12_000


class TaskStatus(StrEnum):
    """A ``task_update`` chunk's status (Slack's names)."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"
    ERROR = "error"


@dataclass
class ProgressTask:
    """One agent step as the plan shows it; ``id`` is unique in the message (``task_id``)."""

    id: str
    title: str
    status: TaskStatus


@dataclass
class ProgressStartInput:
    thread: MessageRef
    # The stream's recipient: Slack requires one outside a DM (the requester, in their workspace).
    recipient_user_id: str | None
    recipient_team_id: str | None
    title: str
    tasks: list[ProgressTask]
    # Every task id starts with it (``task_id_prefix``): how a retry finds the stream it began.
    idempotency_key: str


@dataclass
class ProgressStream:
    """The started stream, or why Slack refused streaming here (its error name): phase notes instead."""

    message: MessageRef | None
    refused: str | None = None


@dataclass
class ProgressAppendInput:
    stream: MessageRef
    title: str
    tasks: list[ProgressTask] = field(default_factory=list)


@dataclass
class ProgressStopInput:
    thread: MessageRef
    stream: MessageRef
    title: str
    tasks: list[ProgressTask]
    # Slack markdown: the reviewer's findings and who decides; appended once, by the stop.
    text: str
    idempotency_key: str


def task_id_prefix(idempotency_key: str) -> str:
    return f"{idempotency_key}/"
