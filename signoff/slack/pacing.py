"""Pacing posts per channel to Slack's rate, so a fan-out queues in the worker instead of failing.

Slack allows about one ``chat.postMessage`` per second per channel, with short bursts, and
answers 429 beyond. Retrying after a 429 works (see ``slack_activities``), but each refusal
costs a failed activity attempt, a timer and a history lookup before the retry, and with many
workflows posting into one channel the retries collide. Here each worker spaces its own posts
by channel (a generic cell rate algorithm: a burst of ``burst``, then one per ``interval``), so
429s remain only for what other workers or apps post into the same channel.

A post that would have to wait longer than ``max_wait`` does not wait inside its activity
(which has a short start-to-close timeout): the caller is told how long the channel is booked
and retries then, reserving nothing meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

# Slack's documented special limit for posting messages (1 per second per channel, short
# bursts allowed), with a tenth to spare: posts leave on schedule but arrive with jitter.
SLACK_POST_INTERVAL = 1.1
SLACK_POST_BURST = 3
# Well inside the Slack activities' 10 s start-to-close timeout.
MAX_PACING_WAIT = 4.0
# Channels idle this long are forgotten, so the table stays as small as the busy set.
_PRUNE_EVERY = 1024


class ChannelBusy(Exception):
    """The channel is booked for longer than a post may wait; retry after ``retry_after`` seconds."""

    def __init__(self, channel_id: str, retry_after: float) -> None:
        super().__init__(f"channel {channel_id} is booked for {retry_after:.1f}s by earlier posts")
        self.channel_id = channel_id
        self.retry_after = retry_after


@dataclass
class ChannelPacer:
    interval: float = SLACK_POST_INTERVAL
    burst: int = SLACK_POST_BURST
    max_wait: float = MAX_PACING_WAIT
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        if self.interval <= 0 or self.burst < 1 or self.max_wait < 0:
            raise ValueError("interval must be > 0, burst ≥ 1 and max_wait ≥ 0")
        # Per channel, the theoretical time at which the next post would be on schedule.
        self._due: dict[str, float] = {}
        self._reservations = 0

    @property
    def channels(self) -> int:
        return len(self._due)

    def reserve(self, channel_id: str) -> float:
        """Book the channel's next slot; returns how many seconds to wait before posting.

        Raises ``ChannelBusy`` (booking nothing) when that would be longer than ``max_wait``.
        """
        now = self.clock()
        due = max(self._due.get(channel_id, now), now)
        wait = due - (self.burst - 1) * self.interval - now
        if wait > self.max_wait:
            raise ChannelBusy(channel_id, wait - self.max_wait)
        self._due[channel_id] = due + self.interval
        self._reservations += 1
        if self._reservations % _PRUNE_EVERY == 0:
            self._prune(now)
        return max(0.0, wait)

    async def acquire(self, channel_id: str) -> None:
        """Wait for the channel's next slot (or raise ``ChannelBusy``)."""
        wait = self.reserve(channel_id)
        if wait > 0:
            await asyncio.sleep(wait)

    def _prune(self, now: float) -> None:
        for channel_id in [c for c, due in self._due.items() if due <= now]:
            del self._due[channel_id]
