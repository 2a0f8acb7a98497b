"""Slack's per-method rate-limit tiers, for the methods signoff calls (off unless switched on).

Slack limits most Web API methods per method, per app and per workspace, by tier (docs.slack.dev,
"Rate limits"): Tier 1 1+ a minute, Tier 2 20+, Tier 3 50+, Tier 4 100+; past it a call answers
HTTP 429 with ``Retry-After`` and ``{"ok": false, "error": "ratelimited"}``. Each method's tier is on its
reference page. Since 2025-05-29, a commercially distributed app that is not in the Marketplace gets
1 ``conversations.history`` / ``conversations.replies`` request a minute, with ``limit`` at most 15.
The sandbox is one app in one workspace, so the budget is per method, over a sliding minute.
"""

from __future__ import annotations

import argparse
import math
import time
from collections import deque
from collections.abc import Callable
from enum import StrEnum

WINDOW_SECONDS = 60.0
PER_MINUTE_BY_TIER = {1: 1, 2: 20, 3: 50, 4: 100}
# The method reference pages' "Rate limits" (chat.postMessage has its own per-channel limit: --post-rate).
TIER_BY_METHOD = {
    "chat.update": 3,
    "conversations.history": 3,
    "conversations.replies": 3,
    "conversations.info": 3,
    "conversations.list": 2,
    "conversations.setTopic": 2,
    "conversations.members": 4,
    "conversations.open": 3,
    "chat.startStream": 2,
    "chat.appendStream": 4,
    "chat.stopStream": 2,
}
# Non-Marketplace distributed apps, since 2025-05-29 (new installs; existing ones since 2025-09-02).
DISTRIBUTED_PER_MINUTE = {"conversations.history": 1, "conversations.replies": 1}
DISTRIBUTED_MAX_LIMIT = 15


class SlackTiers(StrEnum):
    OFF = "off"
    # An internal (custom) app or a Marketplace app: each method's published tier.
    INTERNAL = "internal"
    # A distributed app outside the Marketplace: the tiers, and the 2025 limits on reading history.
    DISTRIBUTED = "distributed"

    def per_minute(self, method: str) -> int | None:
        """How many calls of ``method`` a minute these limits allow; None: not limited here."""
        if self is SlackTiers.OFF:
            return None
        if self is SlackTiers.DISTRIBUTED and method in DISTRIBUTED_PER_MINUTE:
            return DISTRIBUTED_PER_MINUTE[method]
        tier = TIER_BY_METHOD.get(method)
        return None if tier is None else PER_MINUTE_BY_TIER[tier]

    def max_limit(self, method: str) -> int | None:
        """The most messages one history read may return under these limits; None: the method's own."""
        if self is SlackTiers.DISTRIBUTED and method in DISTRIBUTED_PER_MINUTE:
            return DISTRIBUTED_MAX_LIMIT
        return None


def add_tiers_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``--slack-tiers [internal|distributed]`` (the flag alone: ``internal``; absent: ``off``)."""
    parser.add_argument(
        "--slack-tiers",
        nargs="?",
        const=SlackTiers.INTERNAL.value,
        default=SlackTiers.OFF.value,
        choices=[tiers.value for tiers in SlackTiers],
        help=f"{what}: 'internal' (the flag alone: an internal or Marketplace app's tiers; chat.update and "
        "conversations.* answer 429 + Retry-After past their budget a minute) or 'distributed' (also the 2025 "
        "limits of a distributed non-Marketplace app: history/replies once a minute, 15 messages); default off",
    )


class TierLimiter:
    """Each method's calls in the last minute; a call past its budget is told how long to wait."""

    def __init__(self, tiers: SlackTiers, clock: Callable[[], float] = time.monotonic) -> None:
        self.tiers = tiers
        self._clock = clock
        self._calls: dict[str, deque[float]] = {}

    def acquire(self, method: str) -> int | None:
        """Count a call of ``method``: None if allowed, else the whole seconds to wait (Retry-After)."""
        budget = self.tiers.per_minute(method)
        if budget is None:
            return None
        now = self._clock()
        calls = self._calls.setdefault(method, deque())
        while calls and calls[0] <= now - WINDOW_SECONDS:
            calls.popleft()
        if len(calls) < budget:
            calls.append(now)
            return None
        # A refused call does not count; the budget frees when the oldest call leaves the window.
        return max(1, math.ceil(calls[0] + WINDOW_SECONDS - now))
