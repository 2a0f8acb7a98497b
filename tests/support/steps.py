"""Calling an activity as one attempt of a step, as an engine does (``signoff.activities.context``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from signoff.activities.context import Activity, StepContext, running


@dataclass
class Attempt:
    """Attempt ``number`` of a step first scheduled at ``scheduled``."""

    number: int = 1
    scheduled: datetime = field(default_factory=lambda: datetime.now(UTC))

    async def run(self, fn: Activity, *args: Any) -> Any:
        with running(
            StepContext(step=getattr(fn, "__name__", ""), attempt=self.number, first_scheduled=self.scheduled)
        ):
            return await fn(*args)
