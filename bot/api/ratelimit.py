"""Each key's pace (``SIGNOFF_API_RATE`` requests a minute, a burst of as many): a token bucket per
key, refused with 429 and ``Retry-After`` when empty. In memory, per bot process."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.api.problems import ProblemError


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.per_second = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, name: str) -> None:
        """One request of key ``name``; ``ProblemError`` (429) when it has none left."""
        now = self._clock()
        bucket = self._buckets.setdefault(name, _Bucket(self.capacity, now))
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.per_second)
        bucket.at = now
        if bucket.tokens < 1:
            retry_after = max(1, math.ceil((1 - bucket.tokens) / self.per_second))
            raise ProblemError(
                429,
                "rate-limited",
                f"too many requests for this key: {int(self.capacity)} a minute; try again in {retry_after} s",
                headers={"Retry-After": str(retry_after)},
            )
        bucket.tokens -= 1
