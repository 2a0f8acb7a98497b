"""ChannelPacer: Slack's per-channel posting rate kept by the worker itself (fake clock, no sleeps)."""

from __future__ import annotations

import pytest

from signoff.slack.pacing import ChannelBusy, ChannelPacer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def pacer(clock: Clock, **kwargs: float) -> ChannelPacer:
    return ChannelPacer(interval=1.0, burst=3, max_wait=4.0, clock=clock, **kwargs)


def test_a_burst_goes_at_once_then_one_per_interval() -> None:
    clock = Clock()
    p = pacer(clock)
    waits = [p.reserve("C1") for _ in range(6)]
    assert waits == [0.0, 0.0, 0.0, 1.0, 2.0, 3.0]


def test_posts_spread_over_time_never_wait() -> None:
    clock = Clock()
    p = pacer(clock)
    for _ in range(20):
        assert p.reserve("C1") == 0.0
        clock.now += 1.0


def test_channels_are_paced_independently() -> None:
    clock = Clock()
    p = pacer(clock)
    for _ in range(3):
        p.reserve("C1")
    assert p.reserve("C1") == 1.0
    assert p.reserve("C2") == 0.0


def test_a_channel_booked_past_max_wait_refuses_and_books_nothing() -> None:
    clock = Clock()
    p = pacer(clock)
    waits = [p.reserve("C1") for _ in range(7)]
    assert waits[-1] == 4.0
    with pytest.raises(ChannelBusy) as refused:
        p.reserve("C1")
    assert refused.value.retry_after == pytest.approx(1.0)
    # The refusal booked no slot: after the suggested delay the next post fits within max_wait.
    clock.now += refused.value.retry_after
    assert p.reserve("C1") == pytest.approx(4.0)


def test_slots_free_up_as_time_passes() -> None:
    clock = Clock()
    p = pacer(clock)
    for _ in range(7):
        p.reserve("C1")
    clock.now += 10.0
    assert [p.reserve("C1") for _ in range(3)] == [0.0, 0.0, 0.0]


def test_idle_channels_are_forgotten() -> None:
    clock = Clock()
    p = pacer(clock)
    for i in range(2000):
        p.reserve(f"C{i}")
        clock.now += 0.01
    # Prune runs every 1,024 reservations and keeps only channels still booked.
    assert p.channels < 2000
    clock.now += 10.0
    for _ in range(2048):
        p.reserve("C-busy")
        clock.now += 1.0
    assert p.channels <= 2


@pytest.mark.parametrize("kwargs", [{"interval": 0}, {"burst": 0}, {"max_wait": -1}])
def test_nonsense_settings_are_refused(kwargs: dict) -> None:
    base = {"interval": 1.0, "burst": 3, "max_wait": 4.0}
    with pytest.raises(ValueError):
        ChannelPacer(**{**base, **kwargs})
