"""The DBOS engine: the same workflow classes, run as DBOS workflows on SQLite or PostgreSQL.

Nothing of the rules is engine-specific: ``ReportGenerationWorkflow`` and ``ApprovalWorkflow`` run
as they are, through ``workflows.runtime``; this module gives them DBOS's primitives:

- each activity (the same Slack and settings activities the Temporal worker runs, called from
  ``signoff.activities.table`` with a ``StepContext``) is a DBOS step, each retry of it too, under the
  activity's own ``StepPolicy``; one that fails for good raises ``StepFailed``; each model call is a
  step, so a finished call is never repeated after a crash;
- search attributes and memo are Temporal's visibility: nothing here (the lists read the progress
  event, which holds the same phase, requester, approvers, channel and subject);
- ``now()`` is the time of the run's latest durable operation (like Temporal's workflow time);
- a timer is ``recv``'s durable timeout; a decision is a message (``signoff.contracts.engine_messages``) the
  workflow checks with the update's own validator and answers through an event the bot waits on;
- what queries would return is published as events whenever it changes;
- DBOS re-runs a recovered workflow from the start, each finished step returning its recorded
  output: the same replay rule as Temporal, so the workflow code's determinism carries over.

Steps run one at a time (DBOS numbers them in call order, so concurrent steps could be numbered
differently on recovery): tool calls the model asks for together are asked one after another.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from agents import Agent, Model, ModelProvider, RunConfig, Runner, RunResult
from agents.items import ModelResponse
from dbos import DBOS, StepOptions

from signoff.activities.context import Activity, StepContext, running
from signoff.contracts.activity_io import MODEL_RETRY_POLICY
from signoff.contracts.engine_messages import (
    ANSWER_EVENT,
    CANCEL,
    DECISIONS_TOPIC,
    DRAFT_EVENT,
    PROGRESS_EVENT,
    WORKFLOW_NAMES,
    EngineMessage,
    EngineReply,
    reply_event,
)
from signoff.contracts.steps import StepFailed, StepPolicy
from signoff.contracts.tool_call_log import (
    TOOL_CALL_LOG,
    TOOL_CALL_LOG_EVENT,
    TOOL_CALL_LOG_PAGE,
    TOOL_CALLS_TOPIC,
    ToolCallBatch,
    ToolCallLogHead,
    ToolCallLogStart,
    tool_call_log_page_event,
)
from signoff.contracts.workflow_io import PlanRequest, ReportRequest, WorkflowKind
from signoff.dbos import legacy_names
from workflows.approval import DecisionRefused
from workflows.human_loop import HumanReviewedWorkflow
from workflows.patches import PATCHES_BEFORE_DBOS
from workflows.plan import ApprovalWorkflow
from workflows.report import ReportGenerationWorkflow
from workflows.runtime import StepsInOrder, step_failed, use
from workflows.signoff_request import SignoffRequestWorkflow
from workflows.tool_call_log import ToolCallLog

# Runs recorded before the move to one package name their classes by the old modules.
legacy_names.install()

log = logging.getLogger(__name__)

T = TypeVar("T")

# How long a wait with no deadline sleeps before it looks again (any message wakes it at once).
IDLE_RECV_SECONDS = 3600.0

# DBOS recovers and dequeues only the runs of its own application version, by default a hash of
# the workflow functions' source: a release that changed them would strand every run in flight
# (approvals wait days). Pinned to the hash DBOS computed for the engine's first release, so its
# runs and every later release's are recovered; changes are versioned with patches instead.
APPLICATION_VERSION = "3fb8885cda5f7d29ba291419ca9afbc0"


class DbosDurable(StepsInOrder):
    """``workflows.runtime.Durable`` for one DBOS workflow run (see the module docstring)."""

    def __init__(
        self,
        instance: HumanReviewedWorkflow,
        activities: Mapping[str, Activity],
        models: ModelProvider,
        stopping: Callable[[], bool] = lambda: False,
    ):
        self._instance = instance
        self._activities = activities
        self._models = models
        self._stopping = stopping
        self._clock = datetime.now(UTC)
        # One step at a time: DBOS numbers steps in call order (the module docstring).
        self._steps = asyncio.Lock()
        # Whether this run resumed after a crash: its first step replayed instead of running.
        self._resumed: bool | None = None
        self._ran_a_step = False
        self._replied: set[str] = set()
        # The reply to each decision accepted, by its decision id: what another attempt at it gets.
        self._accepted: dict[str, EngineReply] = {}
        self._published: tuple[object, str] | None = None
        # Whether a SignoffRequest's answer is published (once: it never changes).
        self._answered = False

    @property
    def logger(self) -> logging.Logger:
        return log

    def now(self) -> datetime:
        return self._clock

    def patched(self, patch_id: str) -> bool:
        if patch_id not in PATCHES_BEFORE_DBOS:
            raise RuntimeError(f"patch {patch_id!r} is newer than the DBOS engine: check it with patched_async")
        # Every DBOS run has taken these (they were true, unrecorded, from the engine's first release).
        return True

    def _still_running(self) -> None:
        """Raise CancelledError once the process is stopping: the run records nothing more (the
        module's ``DbosEngine.stop``), whatever the workflow code tries on its way out."""
        if self._stopping():
            raise asyncio.CancelledError("the engine is stopping")

    async def patched_async(self, patch_id: str) -> bool:
        # A position in the run's steps: numbered in call order like them, so one at a time.
        self._still_running()
        async with self._steps:
            return await DBOS.patch_async(patch_id)

    def workflow_id(self) -> str:
        return str(DBOS.workflow_id)

    def run_id(self) -> str:
        return str(DBOS.workflow_id)

    # --- steps --------------------------------------------------------------------------

    async def tick(self) -> None:
        """Record the time: ``now()`` until the next durable operation."""
        self._clock = await self._step({"name": "clock"}, self._read_clock)

    async def _read_clock(self) -> datetime:
        if self._resumed is None:
            self._resumed = False
        self._ran_a_step = True
        return datetime.now(UTC)

    async def _step(self, options: StepOptions, fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
        self._still_running()
        async with self._steps:
            result: T = await DBOS.run_step_async(options, fn)
        if self._resumed is None:
            # The run's first step returned without running: it was recorded before a crash.
            self._resumed = True
        return result

    async def execute_activity(
        self,
        activity: str,
        arg: Any = ...,
        *,
        result_type: type | None = None,
        start_to_close_timeout: timedelta,
        policy: StepPolicy,
    ) -> Any:
        await self.publish()
        fn = self._activities[activity]
        args = () if arg is ... else (arg,)
        scheduled = self._clock

        async def attempt_activity(attempt: int) -> tuple[Any, datetime]:
            return await self._run_activity(activity, fn, args, attempt, scheduled, start_to_close_timeout)

        result, self._clock = await self._retried(activity, policy, attempt_activity)
        return result

    async def _retried(self, name: str, policy: StepPolicy, attempt: Callable[[int], Coroutine[Any, Any, T]]) -> T:
        """``attempt(n)`` as one DBOS step per attempt, retried under ``policy`` with a durable sleep
        between; ``StepFailed`` (the last attempt's error its cause) when it is not to be retried."""
        number = 0
        while True:
            number += 1
            try:
                return await self._step({"name": name}, functools.partial(attempt, number))
            except Exception as err:
                # The error as recorded (on recovery, unpickled): an activity's ApplicationError, or any other.
                failure = step_failed(name, err)
                if not policy.retries_after(number, failure.error_type, failure.non_retryable):
                    raise failure from err
                self._still_running()
                await DBOS.sleep_async(policy.wait_after(number, failure.retry_after).total_seconds())

    async def _run_activity(
        self,
        name: str,
        fn: Activity,
        args: tuple[Any, ...],
        attempt: int,
        scheduled: datetime,
        timeout: timedelta,
    ) -> tuple[Any, datetime]:
        if self._resumed and not self._ran_a_step:
            # The first step a resumed run really runs may have run before the crash: the
            # activity then looks for what it already did (its idempotency key) before acting.
            attempt = max(attempt, 2)
        self._ran_a_step = True
        context = StepContext(step=name, attempt=attempt, first_scheduled=scheduled, workflow_id=str(DBOS.workflow_id))
        with running(context):
            async with asyncio.timeout(timeout.total_seconds()):
                result = await fn(*args)
        return result, datetime.now(UTC)

    async def run_agent(self, agent: Agent[Any], agent_input: Any, **kwargs: Any) -> RunResult:
        model = agent.model
        resolved = model if isinstance(model, Model) else self._models.get_model(model)
        config = kwargs.pop("run_config", None) or RunConfig()
        try:
            return await Runner.run(
                agent.clone(model=_StepModel(resolved, self)), agent_input, run_config=config, **kwargs
            )
        except _ModelStepFailed as err:
            raise err.failure from err.failure.__cause__

    async def model_call(self, call: Callable[[], Awaitable[ModelResponse]]) -> ModelResponse:
        async def attempt_call(_attempt: int) -> ModelResponse:
            self._ran_a_step = True
            return await call()

        try:
            # Model calls: the worker's MODEL_RETRY_POLICY, as step retries.
            return await self._retried("model_call", MODEL_RETRY_POLICY, attempt_call)
        except StepFailed as err:
            raise _ModelStepFailed(err) from None

    # --- waiting and decisions ----------------------------------------------------------

    async def wait_condition(self, predicate: Callable[[], bool], *, timeout: timedelta | None = None) -> None:
        deadline = None if timeout is None else self._clock + timeout
        while not predicate():
            await self.publish()
            wait = IDLE_RECV_SECONDS if deadline is None else (deadline - self._clock).total_seconds()
            if wait <= 0:
                raise TimeoutError
            self._still_running()
            message = await DBOS.recv_async(DECISIONS_TOPIC, timeout_seconds=wait)
            await self.tick()
            if isinstance(message, EngineMessage):
                await self._dispatch(message)

    async def _dispatch(self, message: EngineMessage) -> None:
        if message.name == CANCEL:
            raise asyncio.CancelledError("cancelled through signoff")
        if message.id in self._replied:
            return
        decision_id = message.decision_id or message.id
        handlers = self._instance.decision_handlers()
        reply: EngineReply
        if decision_id in self._accepted:
            # Already taken (a double click): the same receipt, and nothing applied twice.
            reply = self._accepted[decision_id]
        elif message.name not in handlers:
            reply = EngineReply(refused=f"This workflow takes no decision called {message.name!r}.")
        else:
            validate, handle = handlers[message.name]
            try:
                validate(message.arg)
                receipt = handle(message.arg)
                if inspect.isawaitable(receipt):
                    receipt = await receipt
                reply = self._accepted[decision_id] = EngineReply(receipt=receipt)
            except DecisionRefused as err:
                reply = EngineReply(refused=str(err))
        self._replied.add(message.id)
        self._still_running()
        await DBOS.set_event_async(reply_event(message.id), reply)
        await self.publish()

    async def publish(self) -> None:
        """Set the progress and draft events when they changed (what Temporal's queries read), and a
        SignoffRequest's answer once it has one."""
        self._still_running()
        progress, draft = self._instance.progress(), self._instance.current_draft()
        previous = self._published
        self._published = (progress, draft)
        if previous is None or previous[0] != progress:
            await DBOS.set_event_async(PROGRESS_EVENT, progress)
        if previous is None or previous[1] != draft:
            await DBOS.set_event_async(DRAFT_EVENT, draft)
        if isinstance(self._instance, SignoffRequestWorkflow) and not self._answered:
            answer = self._instance.answer()
            if answer is not None:
                self._answered = True
                await DBOS.set_event_async(ANSWER_EVENT, answer)


class _ModelStepFailed(Exception):
    """A model call failed for good, on its way out of the Agents SDK's run to ``run_agent``."""

    def __init__(self, failure: StepFailed):
        super().__init__(str(failure))
        self.failure = failure


class _StepModel(Model):
    """A model whose every response is a DBOS step (recorded once, returned on recovery)."""

    def __init__(self, model: Model, durable: DbosDurable):
        self._model = model
        self._durable = durable

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        return await self._durable.model_call(lambda: self._model.get_response(*args, **kwargs))

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("signoff's workflows never stream")


class DbosEngine:
    """What the DBOS workflows run with: the activities by name and the model provider.

    One per process (``DBOS`` itself is one per process); ``DBOS.launch()`` then runs the queue's
    workflows and recovers the ones a crash interrupted."""

    def __init__(self, activities: Mapping[str, Activity], models: ModelProvider):
        global _engine
        self.activities = dict(activities)
        self.models = models
        self._runs: set[asyncio.Task[Any]] = set()
        self._stopping = False
        _engine = self

    async def stop(self) -> None:
        """Stop this process's runs where they are, before DBOS shuts down.

        Each run's task is cancelled; from then on every durable operation raises CancelledError
        without touching DBOS, so the workflow code's cleanup for a cancel (a note, the buttons
        removed) does nothing and no outcome is recorded (DBOS records only an ``Exception``): the
        runs stay PENDING, and DBOS recovers them when this executor launches again. Without this,
        the loop's last cancellation reached them after DBOS was gone, each a traceback.
        """
        self._stopping = True
        runs = [run for run in self._runs if not run.done()]
        for run in runs:
            run.cancel()
        await asyncio.gather(*runs, return_exceptions=True)

    def stopping(self) -> bool:
        return self._stopping

    async def keep_log(self, start: ToolCallLogStart) -> None:
        """The MCP proxy's tool-call log for as long as its id lives: each batch a message, the log
        read through events (a head, and the entries in pages: a page's event is set again until
        it is full, then never). One run per id (DBOS has no continue-as-new): recovering it
        replays its messages, each a recorded step."""
        if self._stopping:
            raise asyncio.CancelledError("the engine is stopping")
        run = asyncio.current_task()
        assert run is not None
        self._runs.add(run)
        log = ToolCallLog(start)
        total = 0
        try:
            await DBOS.set_event_async(TOOL_CALL_LOG_EVENT, ToolCallLogHead(start.label, log.grants, total))
            while True:
                batch = await DBOS.recv_async(TOOL_CALLS_TOPIC, timeout_seconds=IDLE_RECV_SECONDS)
                if self._stopping:
                    raise asyncio.CancelledError("the engine is stopping")
                if not isinstance(batch, ToolCallBatch):
                    continue
                # log.entries holds the current page only.
                page = total // TOOL_CALL_LOG_PAGE
                log.append(batch)
                total += len(batch.entries)
                while log.entries:
                    await DBOS.set_event_async(tool_call_log_page_event(page), log.entries[:TOOL_CALL_LOG_PAGE])
                    if len(log.entries) < TOOL_CALL_LOG_PAGE:
                        break
                    log.entries = log.entries[TOOL_CALL_LOG_PAGE:]
                    page += 1
                await DBOS.set_event_async(TOOL_CALL_LOG_EVENT, ToolCallLogHead(start.label, log.grants, total))
        except asyncio.CancelledError:
            if self._stopping:
                raise  # the process stops, not the log: recovered at the next launch
        finally:
            self._runs.discard(run)

    async def drive(self, instance: HumanReviewedWorkflow, request: Any) -> Any:
        if self._stopping:
            raise asyncio.CancelledError("the engine is stopping")  # dequeued as it stopped: not started
        run = asyncio.current_task()
        assert run is not None
        self._runs.add(run)
        durable = DbosDurable(instance, self.activities, self.models, self.stopping)
        undo = use(durable)
        try:
            await durable.tick()
            return await instance.run(request)  # type: ignore[attr-defined]
        except asyncio.CancelledError:
            if self._stopping:
                raise  # the process stops, not the workflow
            return "cancelled"
        finally:
            self._runs.discard(run)
            if not self._stopping:
                await durable.publish()
            undo()


_engine: DbosEngine | None = None


def _current_engine() -> DbosEngine:
    if _engine is None:
        raise RuntimeError("a DBOS workflow ran before DbosEngine was set up in this process")
    return _engine


@DBOS.workflow(name=WORKFLOW_NAMES[WorkflowKind.REPORT])
async def report_workflow(request: ReportRequest) -> str:
    return await _current_engine().drive(ReportGenerationWorkflow(), request)


@DBOS.workflow(name=WORKFLOW_NAMES[WorkflowKind.PLAN])
async def plan_workflow(request: PlanRequest) -> str:
    return await _current_engine().drive(ApprovalWorkflow(), request)


@DBOS.workflow(name=WORKFLOW_NAMES[WorkflowKind.REQUEST])
async def request_workflow(request: dict[str, Any], memo: dict[str, Any] | None = None) -> Any:
    """SignoffRequest: its JSON answer, or "cancelled". ``memo``: what Temporal keeps as the run's memo
    (the HTTP API's key and body hash), kept here as the run's second input; the workflow ignores it."""
    result: Any = await _current_engine().drive(SignoffRequestWorkflow(), request)
    return result


@DBOS.workflow(name=TOOL_CALL_LOG)
async def tool_call_log_workflow(start: ToolCallLogStart) -> None:
    await _current_engine().keep_log(start)


__all__ = ["DbosDurable", "DbosEngine"]
