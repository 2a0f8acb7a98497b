"""signoff's own words for a workflow's steps (activities and model calls), on either engine.

A workflow asks for a step by name with a ``StepPolicy`` and catches ``StepFailed``; each engine
maps them to its own: Temporal's ``RetryPolicy`` and ``ActivityError`` (``workflows.runtime``),
DBOS's steps retried by the policy (``signoff.dbos.engine``). Nothing here imports an engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any


@dataclass(frozen=True)
class StepPolicy:
    """How a step is retried: after ``initial_interval``, each wait ``backoff_coefficient`` times the
    last, at most ``maximum_interval`` (none: no cap); ``maximum_attempts`` in all (0: no limit);
    never again after an error whose type is in ``non_retryable_error_types``.

    The defaults are Temporal's, so a policy maps to a ``RetryPolicy`` field for field and the
    histories recorded before this type existed replay unchanged."""

    initial_interval: timedelta = timedelta(seconds=1)
    backoff_coefficient: float = 2.0
    maximum_interval: timedelta | None = None
    maximum_attempts: int = 0
    non_retryable_error_types: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.initial_interval <= timedelta(0):
            raise ValueError(f"initial_interval must be positive, not {self.initial_interval}")
        if self.backoff_coefficient < 1:
            raise ValueError(f"backoff_coefficient must be at least 1, not {self.backoff_coefficient}")
        if self.maximum_interval is not None and self.maximum_interval < self.initial_interval:
            raise ValueError("maximum_interval must be at least initial_interval")
        if self.maximum_attempts < 0:
            raise ValueError(f"maximum_attempts must be 0 (no limit) or more, not {self.maximum_attempts}")

    def retries_after(self, attempt: int, error_type: str | None, non_retryable: bool) -> bool:
        """Whether attempt number ``attempt`` (from 1), failed with ``error_type``, is tried again."""
        if non_retryable or (error_type is not None and error_type in (self.non_retryable_error_types or ())):
            return False
        return not self.maximum_attempts or attempt < self.maximum_attempts

    def wait_after(self, attempt: int, asked: timedelta | None = None) -> timedelta:
        """How long to wait after attempt number ``attempt`` failed, before the next: what the attempt
        ``asked`` for (Slack's ``Retry-After``, as an activity's ``next_retry_delay``), as Temporal does,
        else the policy's backoff."""
        if asked is not None:
            return asked
        wait = self.initial_interval * self.backoff_coefficient ** (attempt - 1)
        # Temporal's own cap when none is set: 100 times the first interval.
        limit = self.maximum_interval or self.initial_interval * 100
        return min(wait, limit)


@dataclass(eq=False)
class StepFailed(Exception):
    """A step that failed for good: out of attempts, not to be retried, or cancelled.

    ``cause`` is the step's own last error (what its engine gives); the other fields describe it in
    words a workflow can match on, whatever the engine: ``error_type`` (an activity's error type,
    such as ``SlackPermanentError``, else the exception's class name), ``details`` (what the activity
    attached, such as Slack's error name), ``non_retryable`` (the step said not to retry it),
    ``cancelled`` (the step was cancelled with the run)."""

    step: str
    cause: BaseException | None = None
    error_type: str | None = None
    message: str = ""
    details: Sequence[Any] = field(default=())
    non_retryable: bool = False
    cancelled: bool = False
    # The wait the attempt asked for before the next (an activity's ``next_retry_delay``), if any.
    retry_after: timedelta | None = None

    def __post_init__(self) -> None:
        super().__init__(f"{self.step} failed")

    def __reduce__(self) -> tuple[Any, ...]:
        # DBOS records a run's error as a pickle: everything but the cause, which may not pickle
        # (the words above say what it was).
        return (
            StepFailed,
            (
                self.step,
                None,
                self.error_type,
                self.message,
                tuple(self.details),
                self.non_retryable,
                self.cancelled,
                self.retry_after,
            ),
        )


__all__ = ["StepFailed", "StepPolicy"]
