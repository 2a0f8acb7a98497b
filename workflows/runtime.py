"""The durable primitives the workflow code uses, behind one seam: Temporal's, DBOS's or Restate's.

The workflows (report, plan, SignoffRequest, the gate, the thread, the tool approvals) are one
implementation of the rules. What they need of an engine is small: a clock and patch checks that
replay, the run's ids, activities by name, waiting on a condition with a timeout, an agent
run whose model calls are durable, and what the lists index. It is said in signoff's own words
(``signoff.contracts.steps``: ``StepPolicy``, ``StepFailed``). On Temporal each maps to
``temporalio.workflow`` one to one (so recorded histories replay unchanged: a ``StepPolicy``
becomes the same ``RetryPolicy`` field for field, an ``ActivityError`` a ``StepFailed``); the DBOS
and Restate engines (``signoff/dbos/engine.py``, ``signoff/restate/engine.py``) each set their own
``Durable`` for the run they drive.

This is the one workflow module that calls ``temporalio.workflow``'s primitives
(``tests/workflows/test_seam.py`` checks the others only declare their handlers with it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any, Protocol

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

from signoff.contracts import search_attributes
from signoff.contracts.search_attributes import SearchValues
from signoff.contracts.steps import StepFailed, StepPolicy

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
        policy: StepPolicy,
    ) -> Any:
        """Run the activity called ``activity`` under ``policy``; raise ``StepFailed`` once it failed for good."""

    async def wait_condition(self, predicate: Callable[[], bool], *, timeout: timedelta | None = None) -> None:
        """Return once ``predicate()`` holds; raise ``TimeoutError`` after ``timeout``."""

    async def run_agent(self, agent: Agent[Any], agent_input: Any, **kwargs: Any) -> RunResult: ...

    def background(self, work: Coroutine[Any, Any, None]) -> Awaitable[None]:
        """Start ``work`` without waiting for it (an engine may run it at once instead)."""

    async def gather(self, *work: Awaitable[Any]) -> list[Any]:
        """Run ``work`` concurrently where the engine replays that deterministically, else in order."""

    def upsert_search_attributes(self, values: SearchValues) -> None:
        """Index the run by ``values`` (``signoff.contracts.search_attributes``) where the engine's
        lists use them; call only where they are registered (``WorkflowSettings.search_attributes``)."""

    def upsert_memo(self, memo: Mapping[str, Any]) -> None:
        """Keep ``memo`` with the run, for the lists to read without asking the workflow."""

    def run_failure(self, error: StepFailed) -> BaseException:
        """What the run raises to end as failed because of ``error`` (a step failed for good)."""


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
        policy: StepPolicy,
    ) -> Any:
        try:
            if arg is ...:
                return await workflow.execute_activity(
                    activity,
                    result_type=result_type,
                    start_to_close_timeout=start_to_close_timeout,
                    retry_policy=retry_policy(policy),
                )
            return await workflow.execute_activity(
                activity,
                arg,
                result_type=result_type,
                start_to_close_timeout=start_to_close_timeout,
                retry_policy=retry_policy(policy),
            )
        except ActivityError as err:
            # Raised from the ActivityError: ``run_failure`` fails the run with it, as before this seam.
            raise step_failed(activity, err.cause) from err

    async def wait_condition(self, predicate: Callable[[], bool], *, timeout: timedelta | None = None) -> None:
        await workflow.wait_condition(predicate, timeout=timeout)

    async def run_agent(self, agent: Agent[Any], agent_input: Any, **kwargs: Any) -> RunResult:
        # The worker's OpenAIAgentsPlugin makes each model call inside a Temporal activity, which it
        # schedules itself: its failure for good is an ActivityError here (the tools' are StepFailed already).
        try:
            return await Runner.run(agent, agent_input, **kwargs)
        except ActivityError as err:
            raise step_failed(err.activity_type or "model call", err.cause) from err

    def background(self, work: Coroutine[Any, Any, None]) -> Awaitable[None]:
        return asyncio.ensure_future(work)

    async def gather(self, *work: Awaitable[Any]) -> list[Any]:
        return list(await asyncio.gather(*work))

    def upsert_search_attributes(self, values: SearchValues) -> None:
        workflow.upsert_search_attributes(search_attributes.updates(values))

    def upsert_memo(self, memo: Mapping[str, Any]) -> None:
        workflow.upsert_memo(dict(memo))

    def run_failure(self, error: StepFailed) -> BaseException:
        # The activity's own ActivityError: the run fails (or, its cause a cancellation, ends
        # cancelled) exactly as it did before the seam, "Activity task failed" with the activity's details.
        engine_error = error.__cause__
        return engine_error if isinstance(engine_error, ActivityError) else error


class StepsInOrder:
    """What the engines without Temporal's determinism checks and lists share (DBOS, Restate): a
    run's steps one at a time, in call order (each engine numbers its journal in that order, so
    concurrent steps could be numbered differently on replay), and no search attributes or memo
    (their lists read what the run publishes)."""

    def background(self, work: Coroutine[Any, Any, None]) -> Awaitable[None]:
        return work

    async def gather(self, *work: Awaitable[Any]) -> list[Any]:
        return [await each for each in work]

    def upsert_search_attributes(self, values: SearchValues) -> None:
        pass

    def upsert_memo(self, memo: Mapping[str, Any]) -> None:
        pass

    def run_failure(self, error: StepFailed) -> BaseException:
        return error


_TEMPORAL = TemporalDurable()
_current: ContextVar[Durable] = ContextVar("signoff_durable")


def durable() -> Durable:
    """The engine running the current workflow (Temporal unless an engine set its own)."""
    return _current.get(_TEMPORAL)


def use(engine: Durable) -> Callable[[], None]:
    """Make ``engine`` the current one for this task and what it starts; returns the undo."""
    token = _current.set(engine)
    return lambda: _current.reset(token)


def retry_policy(policy: StepPolicy) -> RetryPolicy:
    """``policy`` as Temporal's ``RetryPolicy``, field for field (the recorded histories' commands carry it)."""
    types = policy.non_retryable_error_types
    return RetryPolicy(
        initial_interval=policy.initial_interval,
        backoff_coefficient=policy.backoff_coefficient,
        maximum_interval=policy.maximum_interval,
        maximum_attempts=policy.maximum_attempts,
        non_retryable_error_types=None if types is None else list(types),
    )


def step_failed(step: str, cause: BaseException | None) -> StepFailed:
    """``StepFailed`` for the step called ``step`` whose last error was ``cause``: an activity's
    ``ApplicationError`` says its type, details and whether to retry, any other error its class name."""
    if isinstance(cause, ApplicationError):
        return StepFailed(
            step,
            cause,
            error_type=cause.type,
            message=cause.message,
            details=tuple(cause.details),
            non_retryable=cause.non_retryable,
            retry_after=cause.next_retry_delay,
        )
    if cause is None:
        return StepFailed(step)
    return StepFailed(
        step,
        cause,
        error_type=type(cause).__name__,
        message=str(cause),
        cancelled=isinstance(cause, CancelledError | asyncio.CancelledError),
    )


# Temporal only: a run that lives as long as its id (the MCP proxy's tool-call log) starts afresh,
# its state carried over as input, before its history grows past what the server keeps. The DBOS
# engine runs such a workflow as a loop of its own (``signoff.dbos.engine``).


def history_is_long() -> bool:
    """Whether Temporal suggests continuing the current run as new (its history is getting large)."""
    return workflow.info().is_continue_as_new_suggested()


async def continue_as_new(next_input: Callable[[], Any]) -> None:
    """Once every signal and update handler has finished, end this run and start the next with
    ``next_input()`` (read then, so nothing handled meanwhile is left behind)."""
    await workflow.wait_condition(workflow.all_handlers_finished)
    workflow.continue_as_new(next_input())
