"""The Restate engine: the same workflow classes, run as Restate workflows (``restate-sdk``).

Nothing of the rules is engine-specific: ``ReportGenerationWorkflow`` and ``ApprovalWorkflow`` run
as they are, through ``workflows.runtime``; this module gives them Restate's primitives:

- each attempt of an activity (the same Slack and settings activities the Temporal worker runs,
  called from ``signoff.activities.table`` with a ``StepContext``) is a journaled ``ctx.run`` whose
  outcome, value or failure, is recorded; attempts are retried under the activity's own
  ``StepPolicy`` with a durable sleep between; one that fails for good raises ``StepFailed``, its
  cause the last attempt's error (recorded as DBOS records a step's error: pickled, so a replay
  raises the same); each model call is a journaled ``ctx.run`` under ``MODEL_RETRY_POLICY``, so a
  finished call is never repeated after a crash;
- search attributes and memo are Temporal's visibility: nothing here (the bot's lists read the
  run's ``request`` and ``progress`` state through the admin API's SQL);
- ``now()`` is ``ctx.time()`` read after each durable operation (like Temporal's workflow time);
- a decision: the bot calls the workflow's shared handler ``decide``, which resolves the durable
  promise the run waits on (``decision-<n>``, one per message, in order) and then waits on the
  promise ``reply-<message id>``, which the run resolves once it has checked the decision with the
  update's own validator (a refusal changes nothing and the same decision may come again);
- a timer is a durable sleep raced against that promise;
- what queries would return is workflow state (``progress``, ``draft``, and a SignoffRequest's
  ``answer`` once decided), read by the shared handler ``status``; a SignoffRequest's memo (the HTTP
  API's key and body hash) is its input's second half (``RequestRun``), kept as its ``memo`` state;
- patches: the patch ids the code that started a run knew are the run's first journaled step, so a
  run keeps the branches of the code that started it, whichever release resumes it.

How running workflows survive a deploy: Restate pins each run to the deployment that started it
(the endpoint URL registered with the admin API) and replays it there after every suspension or
crash. A new release is served at the same URL (``SIGNOFF_RESTATE_SERVICE_PORT``) and registers at
start: the same handlers at the same URL are the same deployment, so the runs parked on it are
finished by the new code, on the branches their first step recorded (a patch the old code did not
know is not taken; every run the new code starts takes it). A release that changes the handlers is
served at a new URL, a second deployment: new runs go there, and the old URL must keep serving its
runs until they end (Restate's deployment versioning). A stop records nothing: a run parked when
its endpoint stops stays parked, and resumes where it is served next
(``tests/restate/test_deploy_versioning.py``, ``tests/restate/test_bot_restart.py``).

Restate replays a resumed run from its journal (after a crash, and after every suspension while it
waits), each finished step returning its recorded outcome: the same replay rule as Temporal, so the
workflow code's determinism carries over. Steps run one at a time, as on DBOS (the journal is in
call order), so tool calls the model asks for together are asked one after another.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import inspect
import logging
import pickle
import typing
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import restate
from agents import Agent, Model, ModelProvider, RunConfig, Runner, RunResult
from agents.items import ModelResponse
from pydantic import TypeAdapter
from restate.serde import Serde
from restate.server_context import DisconnectedException, restate_context_is_replaying
from temporalio.exceptions import ApplicationError

from signoff.activities.context import Activity, StepContext, running
from signoff.contracts.activity_io import MODEL_RETRY_POLICY
from signoff.contracts.engine_messages import (
    CANCEL,
    WORKFLOW_NAMES,
    EngineReply,
    RequestRun,
    StatusView,
    WireMessage,
)
from signoff.contracts.steps import StepFailed, StepPolicy
from signoff.contracts.tool_call_log import (
    TOOL_CALL_LOG,
    TOOL_CALL_LOG_PAGE,
    ToolCallAppend,
    ToolCallBatch,
    ToolCallEntry,
    ToolCallLogHead,
    ToolCallLogStart,
    ToolCallLogView,
    tool_call_log_page_event,
)
from signoff.contracts.workflow_io import PlanRequest, Progress, ReportRequest, WorkflowKind
from workflows.approval import DecisionRefused
from workflows.human_loop import HumanReviewedWorkflow
from workflows.patches import ALL_PATCHES, PATCHES_BEFORE_DBOS
from workflows.plan import ApprovalWorkflow
from workflows.report import ReportGenerationWorkflow
from workflows.runtime import StepsInOrder, step_failed, use
from workflows.signoff_request import SignoffRequestWorkflow
from workflows.tool_call_log import ToolCallLog

log = logging.getLogger(__name__)

T = TypeVar("T")

# State keys and promise names of a run (the bot's gateway reads the same).
PROGRESS_STATE = "progress"
DRAFT_STATE = "draft"
REQUEST_STATE = "request"
MEMO_STATE = "memo"
ANSWER_STATE = "answer"
NEXT_DECISION_STATE = "next_decision"
# How many promises ``decide`` tries past the one the run last said it waits on (each taken one is
# a message still queued ahead of this one).
MAX_QUEUED_DECISIONS = 1000
# How long a wait with no deadline sleeps before it looks again (any decision wakes it at once).
IDLE_WAIT = timedelta(hours=1)


def decision_promise(number: int) -> str:
    return f"decision-{number}"


def reply_promise(message_id: str) -> str:
    return f"reply-{message_id}"


class JsonSerde(Serde[T]):
    """JSON through pydantic for one type: the contracts' dataclasses, the agents' ModelResponse.

    Read back, a value is the one written: pydantic models by their fields' aliases (an OpenAI
    function call's ``async_`` is ``async`` on the wire; by its Python name it would come back as an
    extra field beside the real one, and the Agents SDK then finds two identities for one tool call
    and refuses to approve it) and with only the fields that were set."""

    def __init__(self, type_: Any) -> None:
        self._adapter: TypeAdapter[Any] = TypeAdapter(type_)

    def serialize(self, obj: T | None) -> bytes:
        return self._adapter.dump_json(obj, by_alias=True, exclude_unset=True)

    def deserialize(self, buf: bytes) -> T | None:
        return typing.cast(T, self._adapter.validate_json(buf)) if buf else None


@dataclass(frozen=True)
class AttemptOutcome:
    """What one attempt of a step left in the journal: its value as JSON, or how it failed (the
    ``StepFailed`` it would be, and its cause, pickled: the fields DBOS keeps of a step's error)."""

    value: str | None = None
    failure: str | None = None

    @staticmethod
    def failed(step: str, err: Exception) -> AttemptOutcome:
        failure = step_failed(step, err)
        try:
            cause: bytes | None = pickle.dumps(err)
        except Exception:  # an error that does not pickle: its words stand without it
            cause = None
        return AttemptOutcome(failure=base64.b64encode(pickle.dumps((failure, cause))).decode())

    def step_failure(self) -> StepFailed:
        assert self.failure is not None
        # Written by this engine's own steps in this run's journal, as DBOS pickles them in its database.
        failure, cause = pickle.loads(base64.b64decode(self.failure))
        return dataclasses.replace(failure, cause=None if cause is None else pickle.loads(cause))


_OUTCOME = JsonSerde[AttemptOutcome](AttemptOutcome)
_PATCHES = JsonSerde[list[str]](list[str])
_INT = JsonSerde[int](int)


def _return_type(fn: Callable[..., Any]) -> Any:
    hints = typing.get_type_hints(fn)
    return hints.get("return", Any)


class RestateDurable(StepsInOrder):
    """``workflows.runtime.Durable`` for one Restate workflow run (see the module docstring)."""

    def __init__(
        self,
        ctx: restate.WorkflowContext,
        instance: HumanReviewedWorkflow,
        activities: Mapping[str, Activity],
        models: ModelProvider,
    ) -> None:
        self._ctx = ctx
        self._instance = instance
        self._activities = activities
        self._models = models
        self._clock = datetime.now(UTC)
        self._steps = asyncio.Lock()
        self._patches: frozenset[str] = frozenset()
        self._next_decision = 0
        # Whether this invocation began by replaying: its first live step may have run before.
        self._resumed = False
        self._ran_a_step = False
        # The reply to each decision accepted, by its decision id: what another attempt at it gets.
        self._accepted: dict[str, EngineReply] = {}
        self._published: tuple[object, str] | None = None
        # Whether a SignoffRequest's answer is set (once: it never changes).
        self._answered = False
        # The SDK's task for this attempt at the run: cancelled when the endpoint stops (``stopping``).
        self._attempt = asyncio.current_task()

    def stopping(self) -> bool:
        """Whether the endpoint is stopping this attempt (hypercorn cancels its handlers' tasks at
        shutdown), as against signoff's own cancel, a message: the run is not ending, only this
        process's part in it, and Restate runs it again from its journal where it is served next."""
        return self._attempt is not None and self._attempt.cancelling() > 0

    def _still_running(self) -> None:
        """Raise CancelledError once the endpoint is stopping: the workflow code's cleanup for a
        cancel (a note, the buttons removed) records nothing, and no step waits on a connection
        that is going away (hypercorn would wait for it for ever)."""
        if self.stopping():
            raise asyncio.CancelledError("the endpoint is stopping")

    # --- identity, clock, patches -------------------------------------------------------

    @property
    def logger(self) -> logging.Logger:
        return log

    def now(self) -> datetime:
        return self._clock

    def workflow_id(self) -> str:
        return self._ctx.key()

    def run_id(self) -> str:
        return self._ctx.key()

    async def begin(self) -> None:
        """The run's first steps: the patches its code knows, and the clock."""
        self._resumed = bool(restate_context_is_replaying.get())
        known = await self._ctx.run_typed("patches", _known_patches, restate.RunOptions(serde=_PATCHES))
        self._patches = frozenset(known or ())
        await self.tick()

    def patched(self, patch_id: str) -> bool:
        if patch_id in PATCHES_BEFORE_DBOS:
            return True  # every Restate run has taken these (the engine came after them)
        return patch_id in self._patches

    async def patched_async(self, patch_id: str) -> bool:
        return self.patched(patch_id)

    async def tick(self) -> None:
        self._still_running()
        seconds = await self._ctx.time()
        self._clock = datetime.fromtimestamp(seconds, UTC)

    # --- steps --------------------------------------------------------------------------

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
        serde = JsonSerde[Any](result_type or _return_type(fn))
        scheduled = self._clock

        async def attempt_activity(attempt: int) -> str:
            if self._resumed and not self._ran_a_step:
                # The first step a resumed run really runs may have run before the crash: the
                # activity then looks for what it already did (its idempotency key) before acting.
                attempt = max(attempt, 2)
            self._ran_a_step = True
            context = StepContext(
                step=activity, attempt=attempt, first_scheduled=scheduled, workflow_id=self.workflow_id()
            )
            with running(context):
                async with asyncio.timeout(start_to_close_timeout.total_seconds()):
                    result = await fn(*args)
            return serde.serialize(result).decode()

        return serde.deserialize((await self._retried(activity, policy, attempt_activity)).encode())

    async def _retried(self, name: str, policy: StepPolicy, attempt: Callable[[int], Coroutine[Any, Any, str]]) -> str:
        """``attempt(n)`` as one journaled step per attempt, retried under ``policy`` with a durable
        sleep between; ``StepFailed`` (the last attempt's error its cause) when it is not to be retried."""
        number = 0
        while True:
            number += 1
            self._still_running()
            async with self._steps:
                # One attempt per journal entry, which always completes: its failure is recorded as a value.
                outcome = await self._ctx.run_typed(
                    name, _attempt_outcome, restate.RunOptions(serde=_OUTCOME, max_attempts=1), name, attempt, number
                )
            assert outcome is not None
            await self.tick()
            if outcome.failure is None:
                return outcome.value or "null"
            failure = outcome.step_failure()
            if not policy.retries_after(number, failure.error_type, failure.non_retryable):
                raise failure from failure.cause
            self._still_running()
            await self._ctx.sleep(policy.wait_after(number, failure.retry_after))
            await self.tick()

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
        async def attempt_call(_attempt: int) -> str:
            self._ran_a_step = True
            return _MODEL_RESPONSE.serialize(await call()).decode()

        try:
            # Model calls: the worker's MODEL_RETRY_POLICY, as step retries.
            value = await self._retried("model_call", MODEL_RETRY_POLICY, attempt_call)
        except StepFailed as err:
            raise _ModelStepFailed(err) from None
        response = _MODEL_RESPONSE.deserialize(value.encode())
        assert response is not None
        return response

    # --- waiting and decisions ----------------------------------------------------------

    async def wait_condition(self, predicate: Callable[[], bool], *, timeout: timedelta | None = None) -> None:
        deadline = None if timeout is None else self._clock + timeout
        while not predicate():
            await self.publish()
            wait = IDLE_WAIT if deadline is None else deadline - self._clock
            if wait <= timedelta(0):
                raise TimeoutError
            self._still_running()
            self._ctx.set(NEXT_DECISION_STATE, self._next_decision, serde=_INT)
            promise = self._ctx.promise(decision_promise(self._next_decision), serde=_MESSAGE)
            match await restate.select(decision=promise.value(), timer=self._ctx.sleep(wait)):
                case ["decision", message]:
                    self._next_decision += 1
                    await self.tick()
                    await self._dispatch(message)
                case _:
                    await self.tick()

    async def _dispatch(self, message: WireMessage) -> None:
        if message.name == CANCEL:
            await self._reply(message.id, EngineReply())
            raise asyncio.CancelledError("cancelled through signoff")
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
                arg = message.arg()
                validate(arg)
                receipt = handle(arg)
                if inspect.isawaitable(receipt):
                    receipt = await receipt
                reply = self._accepted[decision_id] = EngineReply(receipt=receipt)
            except DecisionRefused as err:
                reply = EngineReply(refused=str(err))
        await self._reply(message.id, reply)
        await self.publish()

    async def _reply(self, message_id: str, reply: EngineReply) -> None:
        self._still_running()
        await self._ctx.promise(reply_promise(message_id), serde=_REPLY).resolve(reply)

    async def publish(self) -> None:
        """Set the progress and draft state when they changed (what Temporal's queries read), and a
        SignoffRequest's answer once it has one."""
        self._still_running()
        progress, draft = self._instance.progress(), self._instance.current_draft()
        previous = self._published
        self._published = (progress, draft)
        if previous is None or previous[0] != progress:
            self._ctx.set(PROGRESS_STATE, progress, serde=_PROGRESS)
        if previous is None or previous[1] != draft:
            self._ctx.set(DRAFT_STATE, draft, serde=_STR)
        if isinstance(self._instance, SignoffRequestWorkflow) and not self._answered:
            answer = self._instance.answer()
            if answer is not None:
                self._answered = True
                self._ctx.set(ANSWER_STATE, answer, serde=_JSON_OBJECT)


_MESSAGE = JsonSerde[WireMessage](WireMessage)
_STATUS = JsonSerde[StatusView](StatusView)
_REPLY = JsonSerde[EngineReply](EngineReply)
_PROGRESS = JsonSerde[Progress](Progress)
_STR = JsonSerde[str](str)
_MODEL_RESPONSE = JsonSerde[ModelResponse](ModelResponse)
_JSON_OBJECT = JsonSerde[dict[str, Any]](dict[str, Any])
_REQUEST_RUN = JsonSerde[RequestRun](RequestRun)
# A SignoffRequest's outcome: its answer's JSON, or "cancelled".
_REQUEST_OUTCOME = JsonSerde[dict[str, Any] | str](dict[str, Any] | str)


async def _known_patches() -> list[str]:
    return sorted(ALL_PATCHES)


async def _attempt_outcome(
    step: str, attempt: Callable[[int], Coroutine[Any, Any, str]], number: int
) -> AttemptOutcome:
    """Attempt ``number`` of ``step`` as a journal entry that always completes: its value, or its failure."""
    try:
        return AttemptOutcome(value=await attempt(number))
    except Exception as err:
        return AttemptOutcome.failed(step, err)


class _ModelStepFailed(Exception):
    """A model call failed for good, on its way out of the Agents SDK's run to ``run_agent``."""

    def __init__(self, failure: StepFailed):
        super().__init__(str(failure))
        self.failure = failure


class _StepModel(Model):
    """A model whose every response is a journaled step (recorded once, returned on replay)."""

    def __init__(self, model: Model, durable: RestateDurable):
        self._model = model
        self._durable = durable

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        return await self._durable.model_call(lambda: self._model.get_response(*args, **kwargs))

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("signoff's workflows never stream")


class RestateEngine:
    """What the Restate workflows run with: the activities by name and the model provider; its
    ``app()`` is the ASGI endpoint Restate calls (registered with the admin API)."""

    def __init__(self, activities: Mapping[str, Activity], models: ModelProvider) -> None:
        self.activities = dict(activities)
        self.models = models
        self.services: list[restate.Workflow | restate.VirtualObject] = [
            _workflow_service(self, WorkflowKind.REPORT, ReportRequest, ReportGenerationWorkflow),
            _workflow_service(self, WorkflowKind.PLAN, PlanRequest, ApprovalWorkflow),
            _request_service(self),
            _tool_call_log_object(),
        ]

    def app(self) -> Any:
        return restate.app(self.services)

    async def drive(self, ctx: restate.WorkflowContext, instance: HumanReviewedWorkflow, request: Any) -> Any:
        durable = RestateDurable(ctx, instance, self.activities, self.models)
        undo = use(durable)
        try:
            await durable.begin()
            return await instance.run(request)  # type: ignore[attr-defined]
        except asyncio.CancelledError:
            if durable.stopping():
                raise  # the endpoint stops, not the workflow: Restate runs it again
            return "cancelled"
        except (restate.TerminalError, DisconnectedException):
            raise  # a terminal error is the run's outcome already; a disconnect is the endpoint stopping
        except Exception as err:
            if restate.is_internal_exception(err):
                raise  # the SDK's own control flow (suspension): not the workflow's outcome
            # The workflow failed for good (a pipeline error, a budget): Restate must not retry it.
            raise restate.TerminalError(f"{failure_kind(err)}: {err}") from err
        finally:
            try:
                if not durable.stopping():
                    await durable.publish()
            except Exception as err:  # suspended or ended: the last state stands
                if not restate.is_internal_exception(err):
                    log.debug("last progress not published: %s", err)
            undo()


def failure_kind(err: Exception) -> str:
    """What a failed run's error is called: an ApplicationError's own type (``INVALID_REQUEST``…), as
    Temporal and DBOS report it, else its class (the bot's gateway reads it back before the colon)."""
    if isinstance(err, ApplicationError) and err.type:
        return err.type
    return type(err).__name__


def _workflow_service(
    engine: RestateEngine, kind: WorkflowKind, request_type: type, workflow_class: Callable[[], HumanReviewedWorkflow]
) -> restate.Workflow:
    service = _service_of(kind)
    request_serde: Serde[Any] = JsonSerde[Any](request_type)

    @service.main(name="run", input_serde=request_serde, output_serde=_STR)
    async def run(ctx: restate.WorkflowContext, request: Any) -> str:
        ctx.set(REQUEST_STATE, request, serde=request_serde)
        result: str = await engine.drive(ctx, workflow_class(), request)
        return result

    return service


def _request_service(engine: RestateEngine) -> restate.Workflow:
    """SignoffRequest: its answer's JSON, or "cancelled"."""
    service = _service_of(WorkflowKind.REQUEST)

    @service.main(name="run", input_serde=_REQUEST_RUN, output_serde=_REQUEST_OUTCOME)
    async def run(ctx: restate.WorkflowContext, started: RequestRun) -> dict[str, Any] | str:
        ctx.set(REQUEST_STATE, started.request, serde=_JSON_OBJECT)
        ctx.set(MEMO_STATE, started.memo, serde=_JSON_OBJECT)
        outcome: dict[str, Any] | str = await engine.drive(ctx, SignoffRequestWorkflow(), started.request)
        return outcome

    return service


def _service_of(kind: WorkflowKind) -> restate.Workflow:
    """``kind``'s Restate workflow with the shared handlers every kind has: ``decide`` and ``status``."""
    service = restate.Workflow(WORKFLOW_NAMES[kind])

    @service.handler(name="decide", input_serde=_MESSAGE, output_serde=_REPLY)
    async def decide(ctx: restate.WorkflowSharedContext, message: WireMessage) -> EngineReply:
        number = await ctx.get(NEXT_DECISION_STATE, serde=_INT) or 0
        for _ in range(MAX_QUEUED_DECISIONS):
            try:
                await ctx.promise(decision_promise(number), serde=_MESSAGE).resolve(message)
                break
            except restate.TerminalError:
                number += 1  # taken by an earlier message: this one queues behind it
        else:
            return EngineReply(refused="Too many decisions are waiting for this workflow; try again shortly.")
        reply = await ctx.promise(reply_promise(message.id), serde=_REPLY).value()
        assert reply is not None
        return reply

    @service.handler(name="status", output_serde=_STATUS)
    async def status(ctx: restate.WorkflowSharedContext) -> StatusView:
        progress = await ctx.get(PROGRESS_STATE, serde=_PROGRESS)
        draft = await ctx.get(DRAFT_STATE, serde=_STR)
        answer = await ctx.get(ANSWER_STATE, serde=_JSON_OBJECT)
        return StatusView(progress=progress, draft=draft or "", answer=answer)

    return service


_LOG_HEAD = JsonSerde[ToolCallLogHead](ToolCallLogHead)
_LOG_PAGE = JsonSerde[list[ToolCallEntry]](list[ToolCallEntry])
_LOG_APPEND = JsonSerde[ToolCallAppend](ToolCallAppend)
_LOG_VIEW = JsonSerde[ToolCallLogView | None](ToolCallLogView | None)
_LOG_HEAD_STATE = "head"


def _tool_call_log_object() -> restate.VirtualObject:
    """The MCP proxy's tool-call log, one object per log id: ``append`` (exclusive, so batches apply
    in order) keeps a head (label, grants, count) and the entries in pages of TOOL_CALL_LOG_PAGE;
    ``read`` (shared) answers the whole log, or None for a log never appended to."""
    log_object = restate.VirtualObject(TOOL_CALL_LOG)

    @log_object.handler(name="append", input_serde=_LOG_APPEND)
    async def append(ctx: restate.ObjectContext, appended: ToolCallAppend) -> None:
        head = await ctx.get(_LOG_HEAD_STATE, serde=_LOG_HEAD)
        if head is None:
            head = ToolCallLogHead(appended.start.label, list(appended.start.grants), 0)
        kept = ToolCallLog(ToolCallLogStart(head.label, head.grants))
        kept.append(ToolCallBatch(grants=appended.batch.grants))
        entries = appended.batch.entries
        while entries:
            page = head.entries // TOOL_CALL_LOG_PAGE
            stored = await ctx.get(tool_call_log_page_event(page), serde=_LOG_PAGE) or []
            room = TOOL_CALL_LOG_PAGE - len(stored)
            ctx.set(tool_call_log_page_event(page), stored + entries[:room], serde=_LOG_PAGE)
            head.entries += len(entries[:room])
            entries = entries[room:]
        ctx.set(_LOG_HEAD_STATE, ToolCallLogHead(head.label, kept.grants, head.entries), serde=_LOG_HEAD)

    @log_object.handler(name="read", kind="shared", output_serde=_LOG_VIEW)
    async def read(ctx: restate.ObjectSharedContext) -> ToolCallLogView | None:
        head = await ctx.get(_LOG_HEAD_STATE, serde=_LOG_HEAD)
        if head is None:
            return None
        entries: list[ToolCallEntry] = []
        for page in range(-(-head.entries // TOOL_CALL_LOG_PAGE)):
            stored: list[ToolCallEntry] | None = await ctx.get(tool_call_log_page_event(page), serde=_LOG_PAGE)
            entries.extend(stored or [])
        return ToolCallLogView(label=head.label, entries=entries, grants=head.grants)

    return log_object


__all__ = ["RestateDurable", "RestateEngine", "StatusView", "WireMessage"]
