"""The bot's one boundary to the DBOS engine: the same methods and errors as ``TemporalGateway``.

It talks only to DBOS's system database (``DBOSClient``), never to workflow code: a start is an
enqueue by workflow name, a click is a message the workflow checks with the update's own
validator, answered through an event this gateway waits on (``signoff.contracts.engine_messages``), and a
status is the progress event the workflow keeps current.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from dbos import DBOSClient, EnqueueOptions, WorkflowStatus
from dbos._error import DBOSException, DBOSWorkflowIDInUseError
from sqlalchemy.exc import SQLAlchemyError
from temporalio.exceptions import ApplicationError

from bot import metrics
from bot.gateway import (
    DECIDED_CHECK_SECONDS,
    MAX_LISTED,
    AlreadyRunning,
    AuditRecord,
    DecisionInput,
    Finished,
    ForeignWorkflow,
    Gateway,
    GatewayError,
    Listed,
    NotFound,
    NotRecorded,
    NoWorker,
    Refused,
    RequestRecord,
    RunFilter,
    RunStatus,
    Started,
    Unreachable,
    channel_prefix,
    workflow_id_for,
)
from signoff.contracts.engine_messages import (
    ANSWER_EVENT,
    CANCEL,
    DECISIONS_TOPIC,
    DRAFT_EVENT,
    PROGRESS_EVENT,
    QUEUE,
    WORKFLOW_NAMES,
    EngineMessage,
    EngineReply,
    reply_event,
)
from signoff.contracts.tool_call_log import (
    TOOL_CALL_LOG,
    TOOL_CALL_LOG_EVENT,
    TOOL_CALL_LOG_PAGE,
    TOOL_CALLS_TOPIC,
    ToolCallBatch,
    ToolCallEntry,
    ToolCallLogHead,
    ToolCallLogStart,
    ToolCallLogView,
    tool_call_log_page_event,
)
from signoff.contracts.tool_calls import ToolCallRecord
from signoff.contracts.workflow_io import (
    DecisionReceipt,
    PlanRequest,
    Progress,
    ReportRequest,
    SlackOrigin,
    WorkflowKind,
    WorkflowSettings,
)
from signoff.dbos import legacy_names

# Runs recorded before the move to one package name their classes by the old modules.
legacy_names.install()

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_CALL_TIMEOUT = timedelta(seconds=5)
# How long a click waits for the workflow's answer: it is read at the workflow's next wait.
DEFAULT_REPLY_TIMEOUT = timedelta(seconds=10)
_RUNNING = ["ENQUEUED", "PENDING"]
_FINISHED = ["SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"]
_KIND_OF_NAME = {name: kind for kind, name in WORKFLOW_NAMES.items()}
# DBOS's statuses in the words both engines' audit records use.
_RUN_STATUS = {
    "ENQUEUED": RunStatus.RUNNING,
    "DELAYED": RunStatus.RUNNING,
    "PENDING": RunStatus.RUNNING,
    "SUCCESS": RunStatus.COMPLETED,
    "ERROR": RunStatus.FAILED,
    "MAX_RECOVERY_ATTEMPTS_EXCEEDED": RunStatus.FAILED,
    "CANCELLED": RunStatus.CANCELED,
}
UNREACHABLE = "The workflow database did not answer; nothing was changed. Try again in a minute."


def _retrieved(task: asyncio.Future[Any]) -> None:
    """Reads a finished background call's outcome, so a failure nobody awaits is not reported as lost."""
    if not task.cancelled():
        task.exception()


class EventReader(Protocol):
    """Reads a workflow's event, waiting up to ``timeout_seconds`` for it (DBOSClient, or DBOS itself)."""

    async def get_event_async(self, workflow_id: str, key: str, timeout_seconds: float = 60) -> Any: ...


class DbosGateway(Gateway):
    call_seconds = metrics.DBOS_CALL_SECONDS
    engine_name = "The workflow database"

    def __init__(
        self,
        client: DBOSClient,
        *,
        events: EventReader | None = None,
        workflow_settings: WorkflowSettings | None = None,
        call_timeout: timedelta = DEFAULT_CALL_TIMEOUT,
        reply_timeout: timedelta = DEFAULT_REPLY_TIMEOUT,
    ) -> None:
        self.client = client
        # A DBOSClient re-reads a awaited event once a second; the engine in this process is told
        # at once (``signoff bot`` runs it), so events are read through it where it runs.
        self.events: EventReader = events or client
        self.workflow_settings = workflow_settings
        self.call_timeout = call_timeout
        self.reply_timeout = reply_timeout
        # The tool-call logs this gateway has made sure are enqueued (a message needs its workflow).
        self._logs: set[str] = set()

    def not_found(self, workflow_id: str) -> NotFound:
        return NotFound(f"There is no workflow `{workflow_id}`.")

    def ui_url(self, workflow_id: str) -> str | None:
        # DBOS has no web UI of its own here (Conductor is a separate service).
        return None

    async def health_problem(self, timeout: timedelta) -> str | None:
        """Why the workflow database is not usable now, or None (the bot's /readyz)."""
        try:
            await self._bounded(self.client.check_connection_async, timeout)
        except GatewayError:
            return "The DBOS system database did not answer"
        return None

    def _no_answer(self, seconds: float) -> GatewayError:
        return Unreachable(UNREACHABLE)

    def _translate(self, err: Exception) -> tuple[str, GatewayError] | None:
        if isinstance(err, SQLAlchemyError):
            log.warning("DBOS system database call failed: %s", type(err).__name__)
            return "unreachable", Unreachable(UNREACHABLE)
        return None

    # ------------------------------------------------------------------ starting

    async def start_report(self, topic: str, origin: SlackOrigin, request_key: str) -> Started:
        workflow_id = workflow_id_for(WorkflowKind.REPORT, origin.team_id, origin.channel_id, request_key)
        request = ReportRequest(topic=topic, origin=origin, settings=self.workflow_settings)
        return await self._start(WorkflowKind.REPORT, request, workflow_id)

    async def start_plan(self, task: str, origin: SlackOrigin, request_key: str) -> Started:
        workflow_id = workflow_id_for(WorkflowKind.PLAN, origin.team_id, origin.channel_id, request_key)
        request = PlanRequest(task=task, origin=origin, settings=self.workflow_settings)
        return await self._start(WorkflowKind.PLAN, request, workflow_id)

    async def _start(self, kind: WorkflowKind, request: object, workflow_id: str, *more: object) -> Started:
        """Enqueue ``kind``'s workflow under ``workflow_id`` with ``request`` (and ``more`` inputs)."""
        options: EnqueueOptions = {
            "queue_name": QUEUE,
            "workflow_name": WORKFLOW_NAMES[kind],
            "workflow_id": workflow_id,
            # A duplicate delivery of the same command must never start a second run.
            "workflow_id_reuse_policy": "reject",
        }
        # The enqueue runs in a thread that a deadline cannot stop: it is kept to know whether it still may write.
        enqueue: asyncio.Future[Any] = asyncio.ensure_future(self.client.enqueue_async(options, request, *more))
        enqueue.add_done_callback(_retrieved)
        try:
            await self._bounded(lambda: asyncio.shield(enqueue))
        except DBOSWorkflowIDInUseError:
            raise AlreadyRunning(workflow_id) from None
        except GatewayError as err:
            # No answer in time, or the database failed mid-call: the enqueue may have been written.
            return await self._confirm_start(workflow_id, kind, err, still_sending=not enqueue.done())
        metrics.COMMANDS_STARTED.labels(kind.value).inc()
        return Started(workflow_id=workflow_id, run_id=None)

    # ------------------------------------------------------------------ the HTTP API's requests

    async def start_request(self, workflow_id: str, request: dict[str, Any], memo: dict[str, Any]) -> Started:
        # DBOS keeps no memo: it is the run's second input (``signoff.dbos.engine.request_workflow``).
        return await self._start(WorkflowKind.REQUEST, request, workflow_id, memo)

    async def request_record(self, workflow_id: str, wait: float = 0.0) -> RequestRecord:
        status = await self._request_status(workflow_id)
        if wait > 0 and str(status.status) in _RUNNING:
            await self._until_decided(workflow_id, wait)
            status = await self._request_status(workflow_id)
        args = (status.input or {}).get("args", ()) if status.input else ()
        memo = args[1] if len(args) > 1 and isinstance(args[1], dict) else {}
        run_status = _RUN_STATUS.get(str(status.status), RunStatus.RUNNING)
        progress = await self._event(workflow_id, PROGRESS_EVENT)
        thread = progress.thread if isinstance(progress, Progress) else None
        if run_status is RunStatus.COMPLETED and not isinstance(status.output, dict):
            # The engine's run ends "cancelled" when cancelled through signoff.
            return RequestRecord(workflow_id, RunStatus.CANCELED, memo, thread=thread)
        if run_status is RunStatus.COMPLETED:
            return RequestRecord(workflow_id, run_status, memo, thread=thread, result=status.output)
        if run_status is RunStatus.FAILED:
            return RequestRecord(workflow_id, run_status, memo, thread=thread, error=_failure(status.error))
        answer = await self._event(workflow_id, ANSWER_EVENT)
        return RequestRecord(
            workflow_id, run_status, memo, thread=thread, result=answer if isinstance(answer, dict) else None
        )

    async def _request_status(self, workflow_id: str) -> WorkflowStatus:
        found = await self._bounded(
            lambda: self.client.list_workflows_async(workflow_ids=[workflow_id], load_input=True, load_output=True)
        )
        if not found or found[0].name != WORKFLOW_NAMES[WorkflowKind.REQUEST]:
            raise self.not_found(workflow_id)
        return found[0]

    async def _until_decided(self, workflow_id: str, wait: float) -> None:
        """Until the request is decided (its answer event is set), it ends, or ``wait`` seconds pass."""
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            answer = await self._event(workflow_id, ANSWER_EVENT, timeout=min(left, DECIDED_CHECK_SECONDS))
            if answer is not None or await self._status(workflow_id) not in _RUNNING:
                return

    async def _started(self, workflow_id: str) -> bool:
        found = await self._bounded(lambda: self.client.list_workflows_async(workflow_ids=[workflow_id]))
        return bool(found)

    # ------------------------------------------------------------------ the MCP proxy's tool-call logs

    async def append_tool_calls(self, log_id: str, start: ToolCallLogStart, batch: ToolCallBatch) -> None:
        if log_id not in self._logs:
            options: EnqueueOptions = {"queue_name": QUEUE, "workflow_name": TOOL_CALL_LOG, "workflow_id": log_id}
            # Enqueueing an id that exists changes nothing (the log keeps its first input).
            await self._bounded(lambda: self.client.enqueue_async(options, start))
            self._logs.add(log_id)
        message_id = uuid.uuid4().hex
        await self._bounded(lambda: self.client.send_async(log_id, batch, TOOL_CALLS_TOPIC, idempotency_key=message_id))

    async def tool_call_log(self, log_id: str, run_id: str | None = None) -> ToolCallLogView:
        found = await self._bounded(
            lambda: self.client.list_workflows_async(workflow_ids=[log_id], load_input=True, load_output=False)
        )
        if not found or found[0].name != TOOL_CALL_LOG:
            raise self.not_found(log_id)
        head = await self._event(log_id, TOOL_CALL_LOG_EVENT)
        if not isinstance(head, ToolCallLogHead):
            # Enqueued and not run yet: what it was started with.
            args = (found[0].input or {}).get("args", ()) if found[0].input else ()
            start = args[0] if args and isinstance(args[0], ToolCallLogStart) else ToolCallLogStart(label=log_id)
            return ToolCallLogView(label=start.label, entries=[], grants=list(start.grants))
        entries: list[ToolCallEntry] = []
        for page in range(-(-head.entries // TOOL_CALL_LOG_PAGE)):
            entries += await self._event(log_id, tool_call_log_page_event(page)) or []
        return ToolCallLogView(label=head.label, entries=entries, grants=list(head.grants))

    # ------------------------------------------------------------------ status

    async def progress(self, workflow_id: str) -> Progress:
        progress = await self._event(workflow_id, PROGRESS_EVENT)
        if isinstance(progress, Progress):
            return progress
        status = await self._status(workflow_id)
        raise GatewayError(f"`{workflow_id}` is {status.lower()}: it has no status to show yet.")

    async def current_draft(self, workflow_id: str) -> str:
        draft = await self._event(workflow_id, DRAFT_EVENT)
        return draft if isinstance(draft, str) else ""

    async def tool_call(self, workflow_id: str, call_number: int) -> ToolCallRecord | None:
        progress = await self.progress(workflow_id)
        return next((r for r in progress.tool_calls if r.call_number == call_number), None)

    async def _event(self, workflow_id: str, key: str, timeout: float = 0.0) -> Any:
        return await self._bounded(
            lambda: self.events.get_event_async(workflow_id, key, timeout_seconds=timeout),
            self.call_timeout + timedelta(seconds=timeout),
        )

    async def _status(self, workflow_id: str) -> str:
        """The workflow's DBOS status (ENQUEUED, PENDING, SUCCESS, ERROR, CANCELLED, …)."""
        found = await self._bounded(lambda: self.client.list_workflows_async(workflow_ids=[workflow_id]))
        if not found:
            raise self.not_found(workflow_id)
        return str(found[0].status)

    # ------------------------------------------------------------------ decisions

    async def _send(self, workflow_id: str, name: str, arg: DecisionInput, message_id: str) -> DecisionReceipt:
        status = await self._status(workflow_id)
        progress = await self._event(workflow_id, PROGRESS_EVENT)
        ended = isinstance(progress, Progress) and progress.phase.is_terminal
        if status not in _RUNNING or ended:
            # A workflow that has ended (or is posting its last notes) reads no more messages.
            phase = progress.phase.value.replace("_", " ") if isinstance(progress, Progress) else status.lower()
            raise Refused(f"This was already decided: it is {phase}.")
        # Each attempt is its own message: the first attempt's refusal must not answer the next one.
        attempt_id = f"{message_id}.{uuid.uuid4().hex}"
        message = EngineMessage(id=attempt_id, name=name, arg=arg, decision_id=message_id)
        await self._bounded(
            lambda: self.client.send_async(workflow_id, message, DECISIONS_TOPIC, idempotency_key=attempt_id)
        )
        seconds = self.reply_timeout.total_seconds()
        reply = await self._event(workflow_id, reply_event(attempt_id), timeout=seconds)
        if not isinstance(reply, EngineReply):
            raise NotRecorded(
                f"The workflow did not answer within {seconds:g} s: your decision is queued and applies "
                "when it next waits, unless the draft has changed by then. Check the thread before clicking again."
            )
        if reply.refused is not None or reply.receipt is None:
            raise Refused(reply.refused or "The workflow refused that decision.")
        return reply.receipt

    # ------------------------------------------------------------------ cancel

    async def cancel(self, workflow_id: str) -> None:
        status = await self._status(workflow_id)
        if status not in _RUNNING:
            raise Finished("This workflow has already finished; nothing was changed.")
        message = EngineMessage(id=f"cancel-{workflow_id}", name=CANCEL)
        await self._bounded(
            lambda: self.client.send_async(workflow_id, message, DECISIONS_TOPIC, idempotency_key=message.id)
        )

    # ------------------------------------------------------------------ audit

    async def audit(self, workflow_id: str) -> AuditRecord:
        found = await self._bounded(
            lambda: self.client.list_workflows_async(workflow_ids=[workflow_id], load_input=False, load_output=False)
        )
        if not found:
            raise self.not_found(workflow_id)
        status = found[0]
        if status.name not in _KIND_OF_NAME:
            raise ForeignWorkflow(
                f"{workflow_id!r} is a {status.name} workflow, not one of signoff's ({', '.join(_KIND_OF_NAME)})"
            )
        # What a query would answer is the event the workflow keeps current.
        progress = await self._event(workflow_id, PROGRESS_EVENT)
        run_status = _RUN_STATUS.get(str(status.status), RunStatus.RUNNING)
        if not isinstance(progress, Progress):
            if run_status is RunStatus.RUNNING:
                raise NoWorker(
                    f"{workflow_id!r} is {str(status.status).lower()} and no engine has recorded its progress yet: "
                    "is a signoff bot or worker with SIGNOFF_ENGINE=dbos running on this database?"
                )
            raise GatewayError(f"{workflow_id!r} is {str(status.status).lower()} and recorded no progress")
        return AuditRecord(
            workflow_id=workflow_id,
            run_id=None,
            workflow_type=status.name,
            status=run_status,
            started_at=_moment(status.created_at),
            closed_at=_moment(status.completed_at),
            progress=progress,
        )

    # ------------------------------------------------------------------ listing

    async def lists_by_search_attributes(self) -> bool:
        # DBOS filters by status in SQL: the running workflows are listed whatever their number.
        return False

    async def _list(self, which: RunFilter, limit: int) -> list[Listed]:
        """signoff's running workflows, newest first, then (all states) the latest finished ones; for
        a narrowed filter, the newest ``MAX_LISTED`` of them filtered by what their input says (a
        draft's phase is the workflow's progress: ``waiting_for`` keeps every running one that may wait)."""
        looked_at = MAX_LISTED if which.narrowed else limit
        listed = await self._listed(_RUNNING, looked_at)
        if not which.running_only and len(listed) < looked_at:
            listed += await self._listed(_FINISHED, looked_at - len(listed))
        return [item for item in listed if which.admits(item)][:limit]

    async def _count(self, which: RunFilter) -> int:
        if which.narrowed:
            return len(await self._list(which, MAX_LISTED))
        statuses = _RUNNING if which.running_only else None
        everything = await self._bounded(
            lambda: self.client.list_workflows_async(
                name=list(WORKFLOW_NAMES.values()), status=statuses, load_input=False, load_output=False
            )
        )
        return len(everything)

    async def _listed(self, statuses: list[str], limit: int) -> list[Listed]:
        found = await self._bounded(
            lambda: self.client.list_workflows_async(
                name=list(WORKFLOW_NAMES.values()),
                status=statuses,
                limit=limit,
                sort_desc=True,
                load_input=True,
                load_output=False,
            )
        )
        listed = []
        for status in found:
            request = (status.input or {}).get("args", (None,))[0] if status.input else None
            origin = getattr(request, "origin", None)
            subject = getattr(request, "topic", None) or getattr(request, "task", "") or ""
            requester_id = origin.requester_id if origin else None
            channel_id = origin.channel_id if origin else None
            if isinstance(request, dict):
                # A SignoffRequest's JSON input.
                subject, requester_id, channel_id = (request.get(k) for k in ("title", "requester", "channel"))
            listed.append(
                Listed(
                    workflow_id=status.workflow_id,
                    kind=_KIND_OF_NAME.get(status.name, WorkflowKind.REPORT),
                    running=status.status in _RUNNING,
                    subject=str(subject or "")[:200],
                    requester_id=requester_id,
                    channel_id=channel_id,
                    started_at=_moment(status.created_at),
                )
            )
        return listed

    async def latest_in_channel(self, team_id: str, channel_id: str) -> str | None:
        for item in await self.list_workflows(limit=MAX_LISTED):
            if item.channel_id == channel_id or any(
                item.workflow_id.startswith(channel_prefix(kind, team_id, channel_id)) for kind in WorkflowKind
            ):
                return item.workflow_id
        return None

    async def progress_of_many(self, workflow_ids: list[str], within: float) -> list[Progress]:
        results = []
        deadline = time.monotonic() + within
        for workflow_id in workflow_ids:
            if time.monotonic() > deadline:
                break
            try:
                results.append(await self.progress(workflow_id))
            except (GatewayError, DBOSException) as err:
                log.info("progress of %s unreadable: %s", workflow_id, err)
        return results


def _failure(error: object) -> tuple[str, str]:
    """A failed run's error as (type, message): a workflow's ApplicationError keeps its type."""
    if isinstance(error, ApplicationError):
        return error.type or "ApplicationError", error.message
    if isinstance(error, BaseException):
        return type(error).__name__, str(error)
    return "Failed", str(error or "the request failed")


def _moment(epoch_ms: int | None) -> datetime | None:
    """A DBOS timestamp (milliseconds since the epoch) as a time in UTC."""
    return datetime.fromtimestamp(epoch_ms / 1000, UTC) if epoch_ms else None
