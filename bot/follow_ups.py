"""Work the bot owes after an ack, tracked until it ends, so a shutdown finishes it first.

Slack never resends a request the bot acknowledged: a start or a decision that was acked and then
dropped (a deploy's SIGTERM, Ctrl-C) is lost without anyone being told. ``signoff bot`` therefore
stops taking requests on SIGTERM and waits here (``FollowUps.drain``) until every piece of such
work has ended, within a deadline (``bot.server.DRAIN_DEADLINE``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from types import TracebackType


class InFlight:
    """A count of pieces of work in progress, and a way to wait until there are none."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def count(self) -> int:
        return self._count

    @contextlib.contextmanager
    def tracked(self) -> Iterator[None]:
        """Counts the work inside; entered and left without an await, so it cannot be missed."""
        self._count += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._count -= 1
            if self._count == 0:
                self._idle.set()

    async def wait(self, seconds: float) -> int:
        """Wait until nothing is in progress or ``seconds`` passed; returns how many are left."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._idle.wait()
        return self._count


# Listeners' work after the ack (Temporal calls, Slack answers) running at once in one bot.
# Acks and follow-ups share one event loop: a burst of requests whose follow-ups all ran
# at once kept the loop busy and later acks waited behind them. Queued follow-ups wait
# their turn instead; a few at a time still start and decide far faster than people click.
DEFAULT_MAX_FOLLOW_UPS = 8


class FollowUps:
    """What listeners do after (or instead of before) their ack: ``async with follow_ups:`` around it
    takes one of a few slots and counts the work as owed from the moment it is entered, waiting
    for a slot included; ``follow_ups.tracked()`` counts work that needs no slot (a start awaited
    before the ack), ``follow_ups.slot()`` takes a slot for work it counts. ``draining``: the bot takes no new requests (``InstrumentedApp`` refuses them)."""

    def __init__(self, slots: int = DEFAULT_MAX_FOLLOW_UPS) -> None:
        self._slots = asyncio.Semaphore(slots)
        self._owed = InFlight()
        self._held: list[contextlib.ExitStack] = []
        self.draining = False

    @property
    def owed(self) -> int:
        return self._owed.count

    def tracked(self) -> contextlib.AbstractContextManager[None]:
        return self._owed.tracked()

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """One of the slots, for work already counted with ``tracked()`` (a start acked once journaled)."""
        async with self._slots:
            yield

    async def __aenter__(self) -> None:
        stack = contextlib.ExitStack()
        stack.enter_context(self._owed.tracked())
        try:
            await self._slots.acquire()
        except BaseException:
            stack.close()
            raise
        stack.callback(self._slots.release)
        self._held.append(stack)

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        # Any held entry will do: each is one count and one slot.
        self._held.pop().close()

    async def drain(self, seconds: float) -> int:
        """Stop taking new work and wait for what is owed, at most ``seconds``; returns how much is left."""
        self.draining = True
        return await self._owed.wait(seconds)
