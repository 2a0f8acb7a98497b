"""What ``signoff mcp-proxy`` and the engines agree on about its tool-call log: one long-lived run per
proxy identity (the key and the upstream) holding every call the proxy saw and how it went, and the
Always allow grants, which a restarted proxy reads back. ``signoff hook`` keeps one too, per key,
of every call Claude Code put to it.

Temporal runs it as the workflow ``SignoffToolCallLog`` (``workflows.tool_call_log``: a signal
appends, signal-with-start; a query reads; continued as new past a bound), DBOS as the workflow of
the same name (``signoff.dbos.engine``: a message appends; an event reads), Restate as the virtual
object of that name (``signoff.restate.engine``: ``append``, sent without waiting; ``read``), the
entries kept in pages on each engine but Temporal's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

TOOL_CALL_LOG = "SignoffToolCallLog"
# The signal (Temporal) that appends a batch, and the query that reads the log.
APPEND_TOOL_CALLS = "append_tool_calls"
READ_TOOL_CALL_LOG = "tool_call_log"
# DBOS: the topic a batch is sent on, and the events the log keeps current (the head: label, grants,
# how many entries; the entries in pages of TOOL_CALL_LOG_PAGE, each page an event of its own).
TOOL_CALLS_TOPIC = "signoff.toolcalls"
TOOL_CALL_LOG_EVENT = "signoff.toolcalls.head"
TOOL_CALL_LOG_PAGE = 200
LOG_ID_PREFIX = "toolcalls-"
# The longest preview of a call's arguments kept in an entry (the digest names them all).
PREVIEW_CHARS = 160
# Entries one Temporal run holds before it continues as new (each batch is one signal in its history).
MAX_ENTRIES_PER_RUN = 2000
# A batch bigger than this is refused: the proxy sends at most this many entries at once.
MAX_BATCH_ENTRIES = 100


def tool_call_log_page_event(page: int) -> str:
    return f"signoff.toolcalls.page:{page}"


def tool_call_log_id(key_name: str, identity: str) -> str:
    """The log of the proxy ``identity`` (its upstream) running as the key ``key_name``: a digest, so an
    upstream's command line (which may carry a token) never shows in the id."""
    return LOG_ID_PREFIX + hashlib.sha256(f"{key_name}\0{identity}".encode()).hexdigest()[:32]


class Verdict(StrEnum):
    """How the proxy decided a call."""

    ALLOWED_BY_POLICY = "allowed-by-policy"
    DENIED_BY_POLICY = "denied-by-policy"
    # Run unasked because a person chose Always allow earlier (``request_id``: that request).
    ALWAYS_ALLOWED = "always-allowed"
    # Put to a person (``request_id``: the request; ``decision``: allowed, denied or pending).
    ASKED = "asked"
    # Refused before the policy: it could not run (an unknown tool, arguments its schema refuses, the
    # upstream not answering, arguments too large to show a person).
    REFUSED = "refused"


class UpstreamStatus(StrEnum):
    """How the call ended at the upstream."""

    OK = "ok"
    ERROR = "error"
    # The upstream was not called (denied, pending, refused before asking).
    NOT_RUN = "not-run"
    # Let through to an agent that runs the tool itself (``signoff hook``: Claude Code does, and signoff
    # does not see how it ends).
    LET_THROUGH = "let-through"


@dataclass
class ToolCallEntry:
    at: datetime
    tool: str
    # sha256 of the arguments' canonical JSON (sorted keys, no spaces), and their first characters.
    arguments_digest: str
    arguments_preview: str
    verdict: Verdict
    upstream: UpstreamStatus
    request_id: str | None = None
    # Asked: "allowed", "denied" or "pending", and who decided.
    decision: str | None = None
    decided_by: list[str] = field(default_factory=list)
    # Why, in a few words: the policy rule, the denial's reason, the upstream's error.
    note: str = ""


@dataclass
class AlwaysAllowGrant:
    """A person chose Always allow for ``tool`` on ``target`` (None: the whole tool) in ``request_id``."""

    tool: str
    target: str | None
    request_id: str
    decided_by: list[str] = field(default_factory=list)
    at: datetime | None = None


@dataclass
class ToolCallBatch:
    """What the proxy appends at once: entries buffered since the last flush, and new grants."""

    entries: list[ToolCallEntry] = field(default_factory=list)
    grants: list[AlwaysAllowGrant] = field(default_factory=list)


@dataclass
class ToolCallLogStart:
    """A log run's input: who it is for (a label safe to show: the key and the upstream's name), and
    what a run continued as new carries over (the grants, how many entries came before, the run
    holding them)."""

    label: str
    grants: list[AlwaysAllowGrant] = field(default_factory=list)
    earlier_entries: int = 0
    previous_run_id: str | None = None
    # Temporal: entries before the run continues as new.
    max_entries: int = MAX_ENTRIES_PER_RUN


@dataclass
class ToolCallAppend:
    """Restate: what the log object's ``append`` handler takes (the start is used when it has no state)."""

    start: ToolCallLogStart
    batch: ToolCallBatch


@dataclass
class ToolCallLogHead:
    """DBOS: the log's head event (its pages are events of their own)."""

    label: str
    grants: list[AlwaysAllowGrant]
    entries: int


@dataclass
class ToolCallLogView:
    """The log as read: this run's entries (oldest first) and every grant; ``earlier_entries`` were
    recorded by the runs before it (Temporal: ``previous_run_id`` is the last of them)."""

    label: str
    entries: list[ToolCallEntry]
    grants: list[AlwaysAllowGrant]
    earlier_entries: int = 0
    previous_run_id: str | None = None
