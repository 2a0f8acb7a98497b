"""Answers typed in a draft's thread: which messages count, the grammar, and the workflow id a
thread's parent shows.

Pure functions (no I/O); ``bot/listeners/messages.py`` reads the thread's parent and sends
the decision. The grammar, a reply that is only this (any case, surrounding whitespace ignored):

======================================  =====================================================
``approve``, ``approved``, ``lgtm``     approve (trailing ``.`` or ``!`` allowed: ``LGTM!``)
``approve: <comment>``                  approve with a comment (also ``approved:``, ``lgtm:``)
``reject: <reason>``                    reject; ``reject`` alone rejects with no reason
``revise: <notes>``                     send the draft back to the writer with the notes
======================================  =====================================================

Anything else is not a decision: "I approve of lunch", "lgtm?" or "approve it" are chatter.
The text after the colon may span lines; Slack's escaping of ``&``, ``<`` and ``>`` is undone,
as a modal's text input would have given it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from signoff.contracts.workflow_io import DecisionKind

_KINDS = {
    "approve": DecisionKind.APPROVE,
    "approved": DecisionKind.APPROVE,
    "lgtm": DecisionKind.APPROVE,
    "reject": DecisionKind.REJECT,
    "revise": DecisionKind.REQUEST_REVISION,
}
# The keyword first, then either a colon and free text, or nothing but trailing . and !
_REPLY = re.compile(
    r"(?P<word>approved|approve|lgtm|reject|revise)(?:\s*:(?P<rest>.*)|[.!]*)",
    re.IGNORECASE | re.DOTALL,
)
# A context element of a thread's parent that is only the workflow id in code quotes
# (signoff/slack/rendering/drafts.py thread_parent: "`<workflow id>`").
_WORKFLOW_ID = re.compile(r"`([^`]+)`")


# Message subtypes that are still a person typing in a thread: none, or "Also send to #channel".
# Edits (message_changed), deletions, joins, bots' and system messages are never answers.
TYPED_SUBTYPES = frozenset({None, "thread_broadcast"})


@dataclass(frozen=True)
class ThreadReply:
    """A person's message in a thread, from a ``message`` event (message.channels / message.groups)."""

    user_id: str
    channel_id: str
    thread_ts: str
    text: str
    # The thread parent's author, when Slack says (it does for replies): skips other people's threads.
    parent_user_id: str | None = None
    # When it was typed (Slack's ts): a reply older than the current revision was not about it.
    ts: str | None = None
    # The author's workspace (``user_team``, else the message's ``team``), never the envelope's
    # ``team_id``: in a Slack Connect channel that is the receiving workspace, whoever typed.
    team_id: str | None = None


@dataclass(frozen=True)
class TypedDecision:
    kind: DecisionKind
    # The approver's comment, the rejection's reason or the revision notes ("" when none).
    text: str = ""


def thread_reply(event: Mapping[str, Any]) -> ThreadReply | None:
    """The person's thread reply a ``message`` event carries, or None for anything else: a top-level
    post, a bot's message (the app's own included), an edit or a deletion, a hidden message."""
    if event.get("type") != "message" or event.get("subtype") not in TYPED_SUBTYPES:
        return None
    if event.get("bot_id") or event.get("hidden"):
        return None
    user, channel, thread_ts, text = (event.get(name) for name in ("user", "channel", "thread_ts", "text"))
    if not (_present(user) and _present(channel) and _present(thread_ts) and isinstance(text, str)):
        return None
    if thread_ts == event.get("ts"):
        return None  # the thread's parent itself
    parent = event.get("parent_user_id")
    ts = event.get("ts")
    team = next((team for team in (event.get("user_team"), event.get("team")) if _present(team)), None)
    return ThreadReply(
        user, channel, thread_ts, text, parent if _present(parent) else None, ts if _present(ts) else None, team
    )


def parse_reply(text: str) -> TypedDecision | None:
    """The decision a thread reply types, or None when it is not one (see the module's grammar)."""
    match = _REPLY.fullmatch(text.strip())
    if match is None:
        return None
    rest = match.group("rest")
    return TypedDecision(_KINDS[match.group("word").lower()], _unescape(rest.strip()) if rest else "")


def workflow_id_shown(parent: Mapping[str, Any]) -> str | None:
    """The workflow id a signoff thread's parent message shows in a context block, if any."""
    for block in parent.get("blocks") or []:
        if not isinstance(block, Mapping) or block.get("type") != "context":
            continue
        for element in block.get("elements") or []:
            if not isinstance(element, Mapping) or element.get("type") != "mrkdwn":
                continue
            match = _WORKFLOW_ID.fullmatch(str(element.get("text") or "").strip())
            if match:
                return match.group(1)
    return None


def _present(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value)


def _unescape(text: str) -> str:
    """Undo Slack's escaping of typed text (only these three; ``&amp;`` last)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
