"""What an activity knows of the engine running it, whichever engine that is.

The activities are plain async functions: the Temporal worker (``signoff.worker``) and the DBOS
engine (``signoff.dbos.engine``) each call them with a ``StepContext`` set for the call, made from
their own idea of an attempt. An activity reads it with ``current_step()``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("signoff.activities")

# An activity: an async function of at most one argument (the contracts' input), by its name in
# ``signoff.contracts.activity_io`` / ``tool_calls``.
Activity = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class StepContext:
    """One attempt at one activity.

    ``attempt`` counts from 1: an attempt after the first may follow one that did its work and was
    cut before it could say so, so a post first looks for what an earlier attempt posted (since
    ``first_scheduled``, when the first attempt was scheduled)."""

    step: str
    attempt: int = 1
    first_scheduled: datetime = field(default_factory=lambda: datetime.now(UTC))
    workflow_id: str = ""
    logger: logging.Logger | logging.LoggerAdapter[logging.Logger] = log


_current: ContextVar[StepContext | None] = ContextVar("signoff_step", default=None)


def current_step() -> StepContext:
    """The attempt this activity is; called outside any engine (a direct call), a first attempt now."""
    return _current.get() or StepContext(step="")


@contextlib.contextmanager
def running(context: StepContext) -> Iterator[StepContext]:
    """Make ``context`` the current step while an engine runs the activity's code."""
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


__all__ = ["Activity", "StepContext", "current_step", "running"]
