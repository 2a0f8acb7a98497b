"""The durable primitives the workflow code uses, behind one seam: Temporal's, or the DBOS engine's.

The workflows (report, plan, SignoffRequest, the gate, the thread, the tool approvals) are one
implementation of the rules. What they need of an engine is small: a clock and patch checks that
replay, the run's ids, activities by name, waiting on a condition with a timeout, and an agent
run whose model calls are durable. On Temporal each maps to ``temporalio.workflow`` one to one
(so recorded histories replay unchanged); the DBOS engine (``signoff/dbos/engine.py``) sets its own
``Durable`` for the run it drives.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any, Protocol

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, RetryState

with workflow.unsafe.imports_passed_through():
    from agents import Agent, Runner, RunResult


class Durable(Protocol):
    """What an engine gives the workflow code (see the module docstring)."""

    @property
    def logger(self) -> logging.LoggerAdapter[logging.Logger] | logging.Logger: ...

    def now(self) -> datetime: ...

    def patched(self, patch_id: str) -> bool:
        """Whether this run takes the patch's new branch: for the patches from before the DBOS
        engine, which every DBOS run has taken (the engine refuses any other)."""

    async def patched_async(self, patch_id: str) -> bool:
        """Whether this run takes the patch's new branch, on either engine: a marker in the run's
        history (Temporal's ``workflow.patched``, DBOS's ``DBOS.patch_async``). Every new patch."""

    def workflow_id(self) -> str: ...

    def run_id(self) -> str: ...

    async def execute_activity(
        self,
        activity: str,
        arg: Any = ...,
        *,
        result_type: type | None = None,
        start_to_close_timeout: timedelta,
        retry_policy: RetryPolicy,
    ) -> Any: ...

    async def wait_condition(self, predicate: Callable[[], bool], *, timeout: timedelta | None = None) -> None:
        """Return once ``predicate()`` holds; raise ``TimeoutError`` after ``timeout``."""

    async def run_agent(self, agent: Agent[Any], agent_input: Any, **kwargs: Any) -> RunResult: ...

    def background(self, work: Coroutine[Any, Any, None]) -> Awaitable[None]:
        """Start ``work`` without waiting for it (an engine may run it at once instead)."""

    async def gather(self, *work: Awaitable[Any]) -> list[Any]:
        """Run ``work`` concurrently where the engine replays that deterministically, else in order."""


class TemporalDurable:
    """Temporal's primitives, one call each, exactly as the workflows made them before this seam."""

    @property
    def logger(self) -> logging.LoggerAdapter[logging.Logger]:
        return workflow.logger

    def now(self) -> datetime:
        return workflow.now()

    def patched(self, patch_id: str) -> bool:
        return workflow.patched(patch_id)

    async def patched_async(self, patch_id: str) -> bool:
        return workflow.patched(patch_id)

    def workflow_id(self) -> str:
        return workflow.info().workflow_id

    def run_id(self) -> str:
        return workflow.info().run_id

    async def execute_activity(
        self,
        activity: str,
        arg: Any = ...,
        *,
        result_type: type | None = None,
        start_to_close_timeout: timedelta,
        retry_policy: RetryPolicy,
    ) -> Any:
        if arg is ...:
            return await workflow.execute_activity(
                activity,
                result_type=result_type,
                start_to_close_timeout=start_to_close_timeout,
                retry_policy=retry_policy,
            )
        return await workflow.execute_activity(
            activity,
            arg,
            result_type=result_type,
            start_to_close_timeout=start_to_close_timeout,
            retry_policy=retry_policy,
        )

    async def wait_condition(self, predicate: Callable[[], bool], *, timeout: timedelta | None = None) -> None:
        await workflow.wait_condition(predicate, timeout=timeout)

    async def run_agent(self, agent: Agent[Any], agent_input: Any, **kwargs: Any) -> RunResult:
        # The worker's OpenAIAgentsPlugin makes each model call inside a Temporal activity.
        return await Runner.run(agent, agent_input, **kwargs)

    def background(self, work: Coroutine[Any, Any, None]) -> Awaitable[None]:
        return asyncio.ensure_future(work)

    async def gather(self, *work: Awaitable[Any]) -> list[Any]:
        return list(await asyncio.gather(*work))


_TEMPORAL = TemporalDurable()
_current: ContextVar[Durable] = ContextVar("signoff_durable")


def durable() -> Durable:
    """The engine running the current workflow (Temporal unless an engine set its own)."""
    return _current.get(_TEMPORAL)


def use(engine: Durable) -> Callable[[], None]:
    """Make ``engine`` the current one for this task and what it starts; returns the undo."""
    token = _current.set(engine)
    return lambda: _current.reset(token)


def step_failed(activity: str, cause: BaseException) -> ActivityError:
    """A step that failed for good, as the workflows already handle it (Temporal's ActivityError)."""
    error = ActivityError(
        f"{activity} failed",
        scheduled_event_id=0,
        started_event_id=0,
        identity="",
        activity_type=activity,
        activity_id="",
        retry_state=RetryState.NON_RETRYABLE_FAILURE,
    )
    error.__cause__ = cause
    return error
