"""429s from many workflows in one channel: the repeats are spread, never earlier than Retry-After."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from signoff.activities.slack import MAX_RATE_LIMIT_SPREAD, rate_limit_delay


def test_first_attempt_waits_exactly_retry_after() -> None:
    assert rate_limit_delay(timedelta(seconds=7), 1) == timedelta(seconds=7)


def test_later_attempts_are_spread_between_retry_after_and_the_cap() -> None:
    random.seed(5)
    retry_after = timedelta(seconds=1)
    for attempt in range(2, 21):
        delays = {rate_limit_delay(retry_after, attempt) for _ in range(50)}
        assert all(retry_after <= d <= max(retry_after, MAX_RATE_LIMIT_SPREAD) for d in delays)
        assert all(d <= retry_after * 2 ** (attempt - 1) for d in delays)
        if attempt <= 6:  # below the cap
            assert len(delays) > 10, "colliding retries must not all wait the same time"


def test_a_long_retry_after_is_never_shortened() -> None:
    assert rate_limit_delay(timedelta(seconds=90), 5) == timedelta(seconds=90)


def _worst_attempt(delay: Callable[[timedelta, int], timedelta]) -> int:
    """Simulated: 50 posts at once into one channel against 1 message/s with bursts of 3, as the sandbox
    and Slack do, each 429 answered with Retry-After 1 s and repeated after ``delay``; the attempt the
    last of them got through at."""
    random.seed(1)
    tokens, last, worst = 3.0, 0.0, 0
    pending = sorted((random.uniform(0, 0.5), i, 1) for i in range(50))
    while pending:
        at, i, attempt = pending.pop(0)
        tokens, last = min(3.0, tokens + (at - last)), at
        if tokens >= 1:
            tokens -= 1
            worst = max(worst, attempt)
            continue
        pending.append((at + delay(timedelta(seconds=1), attempt).total_seconds(), i, attempt + 1))
        pending.sort()
    return worst


def test_a_herd_of_fifty_in_one_channel_gets_through_in_under_a_third_of_the_attempts_retry_after_alone_takes() -> None:
    # The retry policy never gives up (SLACK_RETRY_POLICY.maximum_attempts is 0), so the bound is not
    # its: it is the same herd repeating after exactly Retry-After, which collides again every time
    # and lets one post through a second (the 48th attempt).
    alone = _worst_attempt(lambda retry_after, attempt: retry_after)
    spread = _worst_attempt(rate_limit_delay)
    assert alone >= 45
    assert spread * 3 < alone, (spread, alone)
