"""The MCP proxy's side of its tool-call log (``signoff.contracts.tool_call_log``): entries buffered
here and appended in the background, so a call the policy allows never waits for the engine.

A batch goes out once ``MAX_BATCH_ENTRIES`` are waiting or ``FLUSH_SECONDS`` after the first of
them; closing flushes what is left. A grant (Always allow) is appended at once, awaited, before the
call it allowed runs: a restarted proxy reads the grants back (``grants``). What a SIGKILL can lose is
the entries of the last ``FLUSH_SECONDS`` (and a batch being sent); never a grant or a decision, which
the requests themselves hold. An engine that does not answer keeps the entries here (up to
``MAX_BUFFERED``, the oldest dropped with a warning) and they go with the next batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.gateway import Gateway, GatewayError, NotFound
from signoff.contracts.tool_call_log import (
    MAX_BATCH_ENTRIES,
    PREVIEW_CHARS,
    AlwaysAllowGrant,
    ToolCallBatch,
    ToolCallEntry,
    ToolCallLogStart,
    UpstreamStatus,
    Verdict,
)

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
MAX_BUFFERED = 10_000


def entry(
    tool: str,
    canonical_arguments: str,
    verdict: Verdict,
    upstream: UpstreamStatus,
    *,
    request_id: str | None = None,
    decision: str | None = None,
    decided_by: tuple[str, ...] | list[str] = (),
    note: str = "",
    at: datetime | None = None,
) -> ToolCallEntry:
    """One call as the log keeps it (made ``at``, default now): its arguments as a digest and a short preview."""
    return ToolCallEntry(
        at=at or datetime.now(UTC),
        tool=tool,
        arguments_digest=hashlib.sha256(canonical_arguments.encode()).hexdigest(),
        arguments_preview=canonical_arguments[:PREVIEW_CHARS],
        verdict=verdict,
        upstream=upstream,
        request_id=request_id,
        decision=decision,
        decided_by=list(decided_by),
        note=note[:300],
    )


@dataclass
class ToolCallJournal:
    """Appends one proxy identity's calls to its log ``log_id`` through ``gateway``."""

    gateway: Gateway
    log_id: str
    label: str
    flush_seconds: float = FLUSH_SECONDS
    # Entries, or how to make one: a relayed call's entry is made when it is sent, off the call's path.
    _buffer: list[ToolCallEntry | Callable[[], ToolCallEntry]] = field(default_factory=list)
    _grants: list[AlwaysAllowGrant] = field(default_factory=list)
    # Grants not yet in the log (the engine did not answer): sent with the next batch.
    _unsent_grants: list[AlwaysAllowGrant] = field(default_factory=list)
    _waiting: asyncio.Event = field(default_factory=asyncio.Event)
    _full: asyncio.Event = field(default_factory=asyncio.Event)
    _sending: asyncio.Lock = field(default_factory=asyncio.Lock)
    _flusher: asyncio.Task[None] | None = None
    _warned: bool = False
    _dropping: bool = False

    async def grants(self) -> list[AlwaysAllowGrant]:
        """The grants the log holds (none when it does not exist yet, or cannot be read: then the
        proxy asks again, which is safe)."""
        try:
            self._grants = list((await self.gateway.tool_call_log(self.log_id)).grants)
        except NotFound:
            return []
        except GatewayError as err:
            log.warning("could not read the Always allow grants of %s: %s", self.log_id, err)
        return list(self._grants)

    @property
    def unsent(self) -> int:
        """Entries not yet in the log."""
        return len(self._buffer)

    def start(self) -> None:
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_in_background(), name=f"flush {self.log_id}")

    def record(self, logged: ToolCallEntry | Callable[[], ToolCallEntry]) -> None:
        """Keep ``logged`` for the next batch (never waits)."""
        if len(self._buffer) >= MAX_BUFFERED:
            del self._buffer[0]
            if not self._dropping:
                log.warning("tool-call log %s: over %d entries unsent; dropping the oldest", self.log_id, MAX_BUFFERED)
                self._dropping = True
        self._buffer.append(logged)
        self._waiting.set()
        if len(self._buffer) >= MAX_BATCH_ENTRIES:
            self._full.set()

    async def grant(self, granted: AlwaysAllowGrant) -> None:
        """Append ``granted`` now, with whatever entries wait (not answered: logged, kept here, and sent
        with the next batch; meanwhile it lasts while this proxy runs)."""
        self._grants.append(granted)
        self._unsent_grants.append(granted)
        await self.flush()

    async def flush(self) -> None:
        """Send what is buffered and the grants not yet sent, in batches of at most ``MAX_BATCH_ENTRIES``."""
        async with self._sending:
            # What is buffered now, not what comes in while it is sent: that waits for the next batch,
            # or a busy proxy would send one small batch after another.
            due = len(self._buffer)
            while due > 0 or self._unsent_grants:
                count = min(due, MAX_BATCH_ENTRIES)
                # Made once: a batch the engine refused is sent again as it was.
                made = [_made(logged) for logged in self._buffer[:count]]
                self._buffer[:count] = made
                batch = ToolCallBatch(entries=made, grants=list(self._unsent_grants))
                try:
                    await self.gateway.append_tool_calls(self.log_id, self._start(), batch)
                except GatewayError as err:
                    if not self._warned:
                        log.warning("tool-call log %s: not appended (kept here, sent later): %s", self.log_id, err)
                        self._warned = True
                    return
                del self._buffer[: len(batch.entries)]
                del self._unsent_grants[: len(batch.grants)]
                due -= len(batch.entries)
            self._warned = self._dropping = False

    def _start(self) -> ToolCallLogStart:
        # Were the log's run gone (terminated), a new one starts with the grants this proxy knows.
        return ToolCallLogStart(label=self.label, grants=list(self._grants))

    async def _flush_in_background(self) -> None:
        while True:
            await self._waiting.wait()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.flush_seconds):
                    await self._full.wait()
            self._waiting.clear()
            self._full.clear()
            await self.flush()
            if self._buffer:
                # Not sent (the engine did not answer): try again after the interval.
                self._waiting.set()

    async def close(self) -> None:
        """Stop the background flush and send what is left (on a clean shutdown)."""
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        await self.flush()


def _made(logged: ToolCallEntry | Callable[[], ToolCallEntry]) -> ToolCallEntry:
    return logged() if callable(logged) else logged
