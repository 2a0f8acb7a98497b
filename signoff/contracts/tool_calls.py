"""Tool calls an agent asks to make, and a person's decision on each: the contracts.

An agent's side-effecting tool call pauses its run until a person allows or denies it
in Slack. Everything a workflow, the worker's activities and the bot exchange about such
a call is plain data here: the tool names users put in the policy, the update payloads,
the activity inputs and results, and what the thread shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

# The executor's tools. Users name them in SIGNOFF_AUTO_APPROVED_TOOLS: never rename one.
POST_MESSAGE = "post_message"
SCHEDULE_MESSAGE = "schedule_message"
SHARE_DOCUMENT = "share_document"
SET_CHANNEL_TOPIC = "set_channel_topic"
READ_CHANNEL = "read_channel"
EXECUTOR_TOOLS = (POST_MESSAGE, SCHEDULE_MESSAGE, SHARE_DOCUMENT, SET_CHANNEL_TOPIC, READ_CHANNEL)
# Tools without a side effect: allowed without asking unless the policy says otherwise.
READ_ONLY_TOOLS = (READ_CHANNEL,)

# Activity names (the worker registers its methods under exactly these).
TOOL_POST_MESSAGE = "tool_post_message"
TOOL_SCHEDULE_MESSAGE = "tool_schedule_message"
TOOL_SHARE_DOCUMENT = "tool_share_document"
TOOL_SET_CHANNEL_TOPIC = "tool_set_channel_topic"
TOOL_READ_CHANNEL = "tool_read_channel"
# Not a tool: a #name looked up as the tools look it up, so a decision can be scoped to the conversation.
TOOL_RESOLVE_CHANNEL = "tool_resolve_channel"

# What a tool may be handed; longer text is refused before anything runs.
MAX_TOOL_TEXT_CHARS = 4000
MAX_DOCUMENT_CHARS = 100_000
MAX_CHANNEL_TOPIC_CHARS = 250
MAX_READ_LIMIT = 15


class ToolCallState(StrEnum):
    """Where one tool call is: waiting for a person, decided, and then done or failed."""

    PENDING = "pending"
    ALLOWED = "allowed"
    DENIED = "denied"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    DONE = "done"
    FAILED = "failed"


@dataclass
class ToolCallView:
    """Everything needed to render one tool call's approval message."""

    workflow_id: str
    call_number: int
    agent: str
    tool: str
    # The arguments as the model sent them (a JSON object), shown readably, never trusted.
    arguments: dict[str, Any]
    state: ToolCallState
    approvals: list[str] = field(default_factory=list)
    required_approvals: int = 1
    # Slack mrkdwn the workflow made safe (e.g. "Allowed by <@U1>").
    status_note: str = ""
    workflow_url: str | None = None
    # What "Always allow" covers besides this tool: the channel as the model wrote it (shown
    # escaped). None: the whole tool, as in runs started before Always allow was scoped.
    always_allow_target: str | None = None
    # The user group whose members decide (the pool), carried by the buttons so the bot checks it.
    pool_group: str | None = None


@dataclass
class ToolDecisionInput:
    """A click on Allow, Always allow or Deny (an update's payload)."""

    call_number: int
    user_id: str
    team_id: str | None = None
    # Deny: why, for the agent (optional).
    reason: str = ""
    # Allow: also allow this tool without asking for the rest of this run.
    always: bool = False
    # The conversation the bot found ``user_id`` a member of, as on a draft's decision
    # (signoff.contracts.workflow_io.ApproveInput; signoff/contracts/access.py): None is a non-member.
    member_of: str | None = None


@dataclass
class ForwardInput:
    """What the MCP proxy tells a proxied tool call's request (``SignoffRequest`` asked about one call).

    ``start_forward``: it is about to run the allowed call (refused unless allowed and not claimed
    before: the upstream runs at most once). ``finish_tool_call``: how the forwarded call ended
    (``ok``, ``summary``), or, for a denied or timed-out call, that the caller was told."""

    call_number: int
    # The caller (an API key's name, or mcp-stdio): the audit's "forwarded by".
    user_id: str
    ok: bool = False
    summary: str = ""


@dataclass
class ToolCallRecord:
    """One tool call as the status, the thread's summary and the audit see it."""

    call_number: int
    agent: str
    tool: str
    arguments: dict[str, Any]
    state: ToolCallState
    decided_by: list[str] = field(default_factory=list)
    # The reason given on deny, or what the tool did (or why it failed), in plain words.
    result: str = ""
    asked_at: datetime | None = None
    # False when the policy (or an earlier Always allow) let it run without asking.
    asked: bool = True
    # Allowed with Always allow: later calls of the tool (on the same target) run without asking.
    always_allowed: bool = False
    # A proxied call whose caller has said how it ended (or that it was told the denial): its
    # request takes no more of that call, even while its run posts its last notes.
    closed: bool = False


# --- activity inputs and results ---------------------------------------------------


@dataclass
class PostMessageInput:
    # A conversation id (C…/G…) or a #name, as the model wrote it.
    channel: str
    text: str
    idempotency_key: str


@dataclass
class ScheduleMessageInput:
    channel: str
    text: str
    # Unix seconds.
    post_at: int
    idempotency_key: str


@dataclass
class ShareDocumentInput:
    channel: str
    title: str
    markdown: str
    idempotency_key: str


@dataclass
class SetTopicInput:
    channel: str
    topic: str


@dataclass
class ReadChannelInput:
    channel: str
    limit: int


@dataclass
class ToolResult:
    """What a tool did, for the agent and the thread. Slack refusing (``not_in_channel``…) is a
    result the agent is told, not a failure: the run goes on."""

    ok: bool
    # Plain words for the agent and (escaped) for the thread.
    summary: str
    # Slack's error name when Slack refused.
    error: str | None = None
    # A link to what was made (a message, a file), when there is one.
    permalink: str | None = None
    # What the thread, the status and the audit show instead of ``summary`` when ``summary``
    # carries text read from a conversation (the agent alone gets that). Empty: ``summary``.
    note: str = ""

    @property
    def shown(self) -> str:
        """The result as people see it (plain words; escape it for mrkdwn)."""
        return self.note or self.summary


@dataclass
class ResolveChannelInput:
    # A channel name as the model wrote it ("#general", "general").
    channel: str


@dataclass
class ResolvedChannel:
    # The conversation id the tools would act on, or None when no channel the app sees has that name.
    channel_id: str | None


# --- which conversation a tool call names ---------------------------------------------

_CONVERSATION_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_CHANNEL_LINK = re.compile(r"^<#([CG][A-Z0-9]{2,})(?:\|[^>]*)?>$")


def conversation_id_in(channel: str) -> str | None:
    """The conversation id ``channel`` names outright (an id, or a ``<#C…|name>`` link), else None:
    a name, which only Slack can turn into an id. The tools and the workflow both read it so."""
    channel = channel.strip()
    link = _CHANNEL_LINK.match(channel)
    if link:
        return link.group(1)
    return channel if _CONVERSATION_ID.match(channel) else None


def channel_name_key(channel: str) -> str:
    """A channel name as the tools look it up: without its "#", case-insensitive."""
    return channel.strip().removeprefix("#").lower()
