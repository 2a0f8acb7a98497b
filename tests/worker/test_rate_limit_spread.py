"""429s from many workflows in one channel: the repeats are spread, never earlier than Retry-After."""

from __future__ import annotations

import random
from datetime import timedelta

from worker.slack_activities import MAX_RATE_LIMIT_SPREAD, rate_limit_delay


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


def test_a_herd_of_fifty_in_one_channel_gets_through_within_the_retry_policy() -> None:
    """Simulated: 50 posts at once against 1 message/s with bursts of 3, as the sandbox and Slack do."""
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
        delay = rate_limit_delay(timedelta(seconds=1), attempt).total_seconds()
        pending.append((at + delay, i, attempt + 1))
        pending.sort()
    assert worst < 20  # SLACK_RETRY_POLICY.maximum_attempts
