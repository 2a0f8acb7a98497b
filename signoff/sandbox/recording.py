"""What the sandbox saw, and what it was told to get wrong.

``Call`` is one recorded request (Web API method or response_url); ``Faults``
holds the failures tests queue up for the next calls to a method.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]
    status: int
    response: dict[str, Any] | str | None
    time: float

    @property
    def ok(self) -> bool:
        return self.status == 200 and isinstance(self.response, dict) and bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        """Slack's error name in an ok:false answer; None for an ok answer or a body that is not JSON."""
        return self.response.get("error") if isinstance(self.response, dict) else None


@dataclass(frozen=True)
class Fault:
    """One queued failure: an HTTP status with a non-JSON body, or ok:false with an error."""

    status: int = 200
    error: str | None = None
    retry_after: int | None = None


@dataclass(frozen=True)
class Slow:
    """One queued slow answer: the call takes effect at once, its answer comes ``seconds`` later."""

    seconds: float
    match: Callable[[dict[str, Any]], bool] | None = None


@dataclass
class Faults:
    _queued: dict[str, deque[Fault]] = field(default_factory=dict)
    _slow: dict[str, list[Slow]] = field(default_factory=dict)

    def fail(self, method: str, times: int = 1, *, status: int | None = None, error: str | None = None) -> None:
        """Make the next ``times`` calls to ``method`` fail.

        With ``error`` the call answers HTTP 200 ``{"ok": false, "error": error}``;
        otherwise it answers HTTP ``status`` (default 500) with a non-JSON body.
        """
        if error is not None and status is not None:
            raise ValueError("give either status or error, not both")
        fault = Fault(error=error) if error is not None else Fault(status=status or 500)
        self._queue(method, fault, times)

    def rate_limit(self, method: str, times: int = 1, *, retry_after: int = 1) -> None:
        """Make the next ``times`` calls to ``method`` answer 429 with ``Retry-After``."""
        self._queue(method, Fault(status=429, error="ratelimited", retry_after=retry_after), times)

    def slow(
        self, method: str, seconds: float, times: int = 1, *, match: Callable[[dict[str, Any]], bool] | None = None
    ) -> None:
        """Answer the next ``times`` calls to ``method`` (those whose params ``match``, if given) ``seconds`` late.

        The call takes effect and is recorded at once; only the answer waits, as when Slack
        is slow to answer, or the caller dies before the answer arrives.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        if seconds <= 0:
            raise ValueError("seconds must be positive")
        self._slow.setdefault(method, []).extend([Slow(seconds, match)] * times)

    def take_slow(self, method: str, params: dict[str, Any]) -> float | None:
        """Seconds to hold the answer to this call (consuming the first matching slow fault), else None."""
        queue = self._slow.get(method) or []
        for index, slow in enumerate(queue):
            if slow.match is None or slow.match(params):
                del queue[index]
                return slow.seconds
        return None

    def clear(self) -> None:
        self._queued.clear()
        self._slow.clear()

    def take(self, method: str) -> Fault | None:
        """The next fault queued for ``method``, consuming it."""
        queue = self._queued.get(method)
        if not queue:
            return None
        return queue.popleft()

    def _queue(self, method: str, fault: Fault, times: int) -> None:
        if times < 1:
            raise ValueError("times must be at least 1")
        self._queued.setdefault(method, deque()).extend([fault] * times)
