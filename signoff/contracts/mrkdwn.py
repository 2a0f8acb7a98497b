"""Pure helpers for Slack mrkdwn text, safe to call inside workflow code.

User and model text is always passed through ``escape`` before it is shown, so a
topic like ``<!channel>`` or ``<@U123>`` is displayed literally and pings nobody.
"""

from __future__ import annotations

import re
from datetime import timedelta

_SLACK_ID = re.compile(r"^[UWBS][A-Z0-9]{2,}$")


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control characters in mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mention(slack_id: str) -> str:
    """A real mention of a user ("U…"/"W…") or a user group ("S…"); anything else is escaped."""
    if not _SLACK_ID.match(slack_id):
        return escape(slack_id)
    if slack_id.startswith("S"):
        return f"<!subteam^{slack_id}>"
    return f"<@{slack_id}>"


def mentions(slack_ids: list[str]) -> str:
    return ", ".join(mention(slack_id) for slack_id in slack_ids)


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, marking the cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + "…"


def humanize(span: timedelta) -> str:
    """``2 days``, ``1 hour``, ``90 seconds``: a wait as a reminder says it."""
    seconds = int(span.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count > 1 else ''}"
    return f"{seconds} seconds"


def agent_words(name: str) -> str:
    """An agent's name as people read it, escaped: ``ExecutorAgent`` → ``the executor agent``."""
    words = re.findall(r"[A-Z][a-z0-9]*|[a-z0-9]+", name) or [name]
    return escape(truncate("the " + " ".join(word.lower() for word in words), 80))
