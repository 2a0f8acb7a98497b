"""What the workflows and the worker's activities agree on: activity names, inputs and step policies.

Workflows call activities by these names (``durable().execute_activity(SLACK_POST_DRAFT, …)``)
rather than through the activity functions, so workflow code never imports the worker
side. The names are recorded in every history: never rename one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from signoff.contracts.steps import StepPolicy
from signoff.contracts.tool_calls import ToolCallView
from signoff.contracts.workflow_io import DraftView, MessageRef, Phase, WorkflowKind

# Activity names (the worker registers its methods under exactly these).
SLACK_START_THREAD = "slack_start_thread"
SLACK_UPDATE_THREAD = "slack_update_thread"
SLACK_POST_THREAD_NOTE = "slack_post_thread_note"
SLACK_POST_DRAFT = "slack_post_draft"
SLACK_UPDATE_DRAFT = "slack_update_draft"
SLACK_POST_EPHEMERAL = "slack_post_ephemeral"
LOAD_WORKER_SETTINGS = "load_worker_settings"
SLACK_POST_TOOL_CALL = "slack_post_tool_call"
SLACK_UPDATE_TOOL_CALL = "slack_update_tool_call"
SLACK_POST_DM_REMINDER = "slack_post_dm_reminder"
# Who among a request's approvers is away (/signoff away), read as its first draft opens.
LOAD_AWAY = "load_away"

# Error types the workflow (and the retry policy) can match on.
SLACK_RATE_LIMITED = "SlackRateLimited"
SLACK_TRANSIENT_ERROR = "SlackTransientError"
SLACK_PERMANENT_ERROR = "SlackPermanentError"

# One Slack call, or a long draft's few calls, comfortably fits; a hung connection
# (or a worker that died mid-call: these activities don't heartbeat) is cut and
# retried quickly instead of holding the thread up.
SLACK_START_TO_CLOSE = timedelta(seconds=10)
# Transient failures are retried until Slack is back (every 2 minutes at most): a
# workflow that waits days for a human must not fail because Slack was down for an
# hour, and a failure could not be told to anyone through Slack anyway. Permanent
# errors (bad token, unknown channel) are never retried.
SLACK_RETRY_POLICY = StepPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
    maximum_attempts=0,
    non_retryable_error_types=(SLACK_PERMANENT_ERROR,),
)


# Model calls (each a durable activity on Temporal, a step on DBOS): a provider's hiccup is retried a
# few times with backoff; one failing for good fails the run and the thread says which agent failed.
MODEL_RETRY_POLICY = StepPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=4,
)


@dataclass
class ThreadStartInput:
    channel_id: str
    workflow_id: str
    kind: WorkflowKind
    subject: str
    requester_id: str | None
    idempotency_key: str
    phase: Phase = Phase.STARTING


@dataclass
class ThreadUpdateInput:
    thread: MessageRef
    kind: WorkflowKind
    subject: str
    requester_id: str | None
    workflow_id: str
    phase: Phase


@dataclass
class ThreadNoteInput:
    thread: MessageRef
    # Slack mrkdwn the workflow already made safe (escape / mention).
    text: str
    idempotency_key: str


@dataclass
class DraftPostInput:
    thread: MessageRef
    view: DraftView
    idempotency_key: str


@dataclass
class DraftUpdateInput:
    # The control message: the last ref ``post_draft`` returned.
    message: MessageRef
    view: DraftView


@dataclass
class EphemeralInput:
    channel_id: str
    user_id: str
    # Slack mrkdwn, already safe.
    text: str
    # Linked after the text: this message (its permalink) and, when the worker knows the
    # Temporal UI, this workflow there.
    thread: MessageRef | None = None
    workflow_id: str | None = None
    # When Slack refuses the ephemeral for good (channel gone, bot or user not in it), send
    # the text as a direct message instead; when that is refused too, give up without failing.
    dm_if_refused: bool = False
    # The slash command's response_url, tried before the DM: it reaches the requester in the channel,
    # ephemerally, where chat.postEphemeral cannot (the app is not in it).
    response_url: str | None = None


@dataclass
class ToolCallPostInput:
    thread: MessageRef
    view: ToolCallView
    idempotency_key: str


@dataclass
class ToolCallUpdateInput:
    message: MessageRef
    view: ToolCallView


@dataclass
class DmReminderInput:
    """A reminder for one decider, in their DM with the app, with the draft's buttons (``view``)."""

    user_id: str
    # Slack mrkdwn the workflow already made safe.
    text: str
    view: DraftView
    thread: MessageRef
    channel_id: str
    # One per person and reminder round (the DM carries it as metadata): a retry finds its earlier post.
    # None: scheduled by a run from before the keys, posted without that lookup.
    idempotency_key: str | None = None


@dataclass
class AwayQuery:
    """Which of ``user_ids`` are away on ``today`` (an ISO date, the workflow's clock)."""

    user_ids: list[str]
    today: str


@dataclass
class AwayNotice:
    """``user_id`` is away through ``until`` (ISO date); their requests go to ``delegate``, or the others."""

    user_id: str
    until: str
    delegate: str | None = None


# Reading a small local file: a few quick tries, then the request opens without it (never fails for it).
AWAY_START_TO_CLOSE = timedelta(seconds=10)
AWAY_RETRY_POLICY = StepPolicy(maximum_attempts=3)
