"""Steps that fail, run by either engine through the seam (``tests/workflows/test_seam.py``).

The same activities and policy on both engines; ``python -m tests.workflows.seam_probe DATABASE_URL``
runs each step in a DBOS workflow on that database and prints, as JSON, what each run saw (the
``StepFailed`` it caught, the attempts the activity was told) and whether ``temporalio.testing`` was
ever imported (the DBOS engine calls the activities itself).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import timedelta
from typing import Any

from temporalio.exceptions import ApplicationError

from signoff.activities.context import Activity, current_step
from signoff.contracts.activity_io import SLACK_PERMANENT_ERROR, SLACK_RATE_LIMITED, SLACK_TRANSIENT_ERROR
from signoff.contracts.steps import StepFailed, StepPolicy
from signoff.contracts.workflow_io import Phase, Progress, WorkflowKind
from workflows.runtime import Durable

REFUSED = "probe_refused"
DOWN = "probe_down"
FLAKY = "probe_flaky"
RATE_LIMITED = "probe_rate_limited"
STEPS = (REFUSED, DOWN, FLAKY, RATE_LIMITED)
# What the rate-limited step's first attempt asks to wait (Slack's Retry-After), far above QUICK's 10 ms.
RETRY_AFTER = timedelta(seconds=1)
QUICK = StepPolicy(
    initial_interval=timedelta(milliseconds=10),
    maximum_attempts=3,
    non_retryable_error_types=(SLACK_PERMANENT_ERROR,),
)
TIMEOUT = timedelta(seconds=30)

# What each activity was told, attempt by attempt: (step, attempt, workflow id given).
told: list[tuple[str, int, bool]] = []
# When the rate-limited step's attempts ran (time.monotonic()).
rate_limited_at: list[float] = []


def _note() -> None:
    step = current_step()
    told.append((step.step, step.attempt, bool(step.workflow_id)))


async def refused() -> str:
    _note()
    raise ApplicationError("chat.postMessage failed: not_in_channel", "not_in_channel", type=SLACK_PERMANENT_ERROR)


async def down() -> str:
    _note()
    raise ApplicationError("chat.postMessage: Slack is unavailable", type=SLACK_TRANSIENT_ERROR)


async def flaky() -> str:
    _note()
    if current_step().attempt < 2:
        raise ApplicationError("the first attempt fails", type=SLACK_TRANSIENT_ERROR)
    return "done"


async def rate_limited() -> str:
    _note()
    rate_limited_at.append(time.monotonic())
    if current_step().attempt < 2:
        raise ApplicationError("chat.postMessage: ratelimited", type=SLACK_RATE_LIMITED, next_retry_delay=RETRY_AFTER)
    return "done"


def retry_gap() -> float | None:
    """Seconds between the rate-limited step's two attempts (what the engine waited)."""
    return rate_limited_at[1] - rate_limited_at[0] if len(rate_limited_at) > 1 else None


ACTIVITIES: dict[str, Activity] = {REFUSED: refused, DOWN: down, FLAKY: flaky, RATE_LIMITED: rate_limited}


def described(outcome: object) -> dict[str, Any]:
    """What a workflow saw of a step: its result, or the StepFailed it caught, in plain JSON."""
    if not isinstance(outcome, StepFailed):
        return {"result": outcome}
    return {
        "step": outcome.step,
        "error_type": outcome.error_type,
        "message": outcome.message,
        "details": list(outcome.details),
        "non_retryable": outcome.non_retryable,
        "cancelled": outcome.cancelled,
        "cause": type(outcome.cause).__name__,
    }


class ProbeRun:
    """The little of a workflow an engine's ``publish`` reads."""

    def progress(self) -> Progress:
        return Progress("seam", WorkflowKind.REPORT, "probing", Phase.STARTING, None, [], 1)

    def current_draft(self) -> str:
        return ""


async def probed(durable: Durable, step: str) -> dict[str, Any]:
    """What a workflow run by ``durable`` sees of ``step``."""
    try:
        outcome: object = await durable.execute_activity(step, start_to_close_timeout=TIMEOUT, policy=QUICK)
    except StepFailed as err:
        outcome = err
    return described(outcome)


async def _on_dbos(database_url: str) -> dict[str, Any]:
    from dbos import DBOS, SetWorkflowID

    from signoff.config.settings import Settings
    from signoff.dbos.config import dbos_config
    from signoff.dbos.engine import DbosDurable

    @DBOS.workflow(name="seam-probe")
    async def probe(step: str) -> dict[str, Any]:
        durable = DbosDurable(ProbeRun(), ACTIVITIES, None)  # type: ignore[arg-type]
        await durable.tick()  # as the engine starts every run
        return await probed(durable, step)

    config = dbos_config(Settings.from_env({**os.environ, "SIGNOFF_DATABASE_URL": database_url}), name="seam-probe")
    DBOS(config=config)
    DBOS.launch()
    try:
        seen = {}
        for step in STEPS:
            with SetWorkflowID(f"seam-{step}"):
                seen[step] = await probe(step)
        return {
            "seen": seen,
            "told": told,
            "retry_gap": retry_gap(),
            "temporalio.testing": "temporalio.testing" in sys.modules,
        }
    finally:
        DBOS.destroy()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_on_dbos(sys.argv[1]))), flush=True)
