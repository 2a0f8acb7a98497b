"""``RestateGateway``: what the bot asks of the Restate engine, over Restate's HTTP APIs only.

A start is the workflow's ``run`` handler called by key (the workflow id) through the ingress; a
click is the workflow's shared handler ``decide``, which answers with the run's own verdict
(``signoff.restate.engine``); a status is the shared handler ``status`` (with a SignoffRequest's
answer once decided, which a long-poll polls for). Lists come from the admin
API's SQL over ``sys_invocation`` and the runs' ``request`` state. The bot needs none of the workflow
code, and the engine may run in another process than the bot.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from pydantic import TypeAdapter, ValidationError

from bot import metrics
from bot.gateway import (
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
    channel_prefix,
    workflow_id_for,
)
from signoff.contracts.engine_messages import (
    CANCEL,
    WORKFLOW_NAMES,
    EngineMessage,
    EngineReply,
    RequestRun,
    StatusView,
    WireMessage,
)
from signoff.contracts.tool_call_log import (
    TOOL_CALL_LOG,
    ToolCallAppend,
    ToolCallBatch,
    ToolCallLogStart,
    ToolCallLogView,
)
from signoff.contracts.tool_calls import ToolCallRecord
from signoff.contracts.workflow_io import (
    DecisionReceipt,
    MessageRef,
    PlanRequest,
    Progress,
    ReportRequest,
    SlackOrigin,
    WorkflowKind,
    WorkflowSettings,
)
from signoff.contracts.workflow_step import step_workflow_id

log = logging.getLogger(__name__)

DEFAULT_CALL_TIMEOUT = timedelta(seconds=5)
# How long a click waits for the workflow's answer: it is read at the workflow's next wait.
DEFAULT_REPLY_TIMEOUT = timedelta(seconds=10)
UNREACHABLE = "Restate did not answer; nothing was changed. Try again in a minute."
_KIND_OF_SERVICE = {name: kind for kind, name in WORKFLOW_NAMES.items()}
_STATUS = TypeAdapter(StatusView)
_REPLY = TypeAdapter(EngineReply)
_MESSAGE = TypeAdapter(WireMessage)
_LOG_APPEND = TypeAdapter(ToolCallAppend)
_LOG_VIEW = TypeAdapter(ToolCallLogView | None)
_REQUEST_RUN = TypeAdapter(RequestRun)
# How often a long-poll looks at a request's answer (Restate has no wait on a workflow's state).
ANSWER_POLL_SECONDS = 0.5
# The prefixes of a SignoffRequest's ids, which name no kind: the HTTP API's (``api-…``, from the key
# and idempotency key) and the Workflow Builder step's (``step_workflow_id``).
_REQUEST_ID_PREFIXES = ("api", step_workflow_id("", "").split("-", 1)[0])


class RestateUnreachable(Exception):
    pass


def _kind_of(workflow_id: str) -> WorkflowKind | None:
    prefix = workflow_id.split("-", 1)[0]
    if prefix in _REQUEST_ID_PREFIXES:
        return WorkflowKind.REQUEST
    return next((kind for kind in WORKFLOW_NAMES if kind.value == prefix), None)


def _moment(value: object) -> datetime | None:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None


def _run_status_of(status: str, completion: object) -> RunStatus:
    if status != "completed":
        return RunStatus.RUNNING
    return RunStatus.COMPLETED if completion == "success" else RunStatus.FAILED


def _failure_of(failure: object) -> tuple[str, str]:
    """A failed run's error as (type, message), from the terminal error the engine ended it with
    (``"<type>: <message>"``, ``signoff.restate.engine.failure_kind``; Restate may put its code first)."""
    text = str(failure or "the request failed")
    if text.startswith("[") and "] " in text:
        text = text.split("] ", 1)[1]
    kind, colon, message = text.partition(": ")
    return (kind, message) if colon and kind.isidentifier() else ("Failed", text)


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class RestateGateway(Gateway):
    call_seconds = metrics.RESTATE_CALL_SECONDS
    engine_name = "Restate"

    def __init__(
        self,
        ingress_url: str,
        admin_url: str,
        *,
        auth_token: str | None = None,
        workflow_settings: WorkflowSettings | None = None,
        call_timeout: timedelta = DEFAULT_CALL_TIMEOUT,
        reply_timeout: timedelta = DEFAULT_REPLY_TIMEOUT,
    ) -> None:
        self.ingress_url = ingress_url.rstrip("/")
        self.admin_url = admin_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {auth_token}"} if auth_token else {}
        self.workflow_settings = workflow_settings
        self.call_timeout = call_timeout
        self.reply_timeout = reply_timeout
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self._headers)
        return self._session

    async def _post(self, url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        # Restate closes idle keep-alive connections: a request on one it just closed is sent again
        # once on a new one (every call here is idempotent: by key, by idempotency key, or a read).
        for again in (True, False):
            try:
                return await self._post_once(url, body, headers)
            except aiohttp.ServerDisconnectedError as err:
                if not again:
                    raise RestateUnreachable(type(err).__name__) from err
            except aiohttp.ClientError as err:
                raise RestateUnreachable(type(err).__name__) from err
        raise AssertionError("unreachable")

    async def _post_once(self, url: str, body: bytes, headers: dict[str, str] | None) -> tuple[int, bytes]:
        # A handler that takes no input refuses a body's content type (400): none without a body.
        content = {"Content-Type": "application/json"} if body else {}
        async with self._http().post(
            url,
            data=body or None,
            headers={**content, **(headers or {})},
            skip_auto_headers=() if body else ("Content-Type",),
        ) as response:
            return response.status, await response.read()

    def not_found(self, workflow_id: str) -> NotFound:
        return NotFound(f"There is no workflow `{workflow_id}`.")

    def ui_url(self, workflow_id: str) -> str | None:
        return None

    async def health_problem(self, timeout: timedelta) -> str | None:
        try:
            await self._bounded(lambda: self._query("SELECT 1 AS one"), timeout)
        except GatewayError:
            return "Restate did not answer"
        return None

    def _no_answer(self, seconds: float) -> GatewayError:
        return GatewayError(UNREACHABLE)

    def _translate(self, err: Exception) -> tuple[str, GatewayError] | None:
        if isinstance(err, RestateUnreachable):
            log.warning("Restate call failed: %s", err)
            return "unreachable", GatewayError(UNREACHABLE)
        return None

    def _handler_url(self, workflow_id: str, handler: str) -> str:
        kind = _kind_of(workflow_id)
        if kind is None:
            raise self.not_found(workflow_id)
        return f"{self.ingress_url}/{WORKFLOW_NAMES[kind]}/{workflow_id}/{handler}"

    # ------------------------------------------------------------------ starting

    async def start_report(self, topic: str, origin: SlackOrigin, request_key: str) -> Started:
        workflow_id = workflow_id_for(WorkflowKind.REPORT, origin.team_id, origin.channel_id, request_key)
        request = ReportRequest(topic=topic, origin=origin, settings=self.workflow_settings)
        return await self._start(workflow_id, TypeAdapter(ReportRequest).dump_json(request))

    async def start_plan(self, task: str, origin: SlackOrigin, request_key: str) -> Started:
        workflow_id = workflow_id_for(WorkflowKind.PLAN, origin.team_id, origin.channel_id, request_key)
        request = PlanRequest(task=task, origin=origin, settings=self.workflow_settings)
        return await self._start(workflow_id, TypeAdapter(PlanRequest).dump_json(request))

    async def _start(self, workflow_id: str, body: bytes) -> Started:
        url = self._handler_url(workflow_id, "run/send")
        try:
            status, answer = await self._bounded(lambda: self._post(url, body))
        except GatewayError as err:
            return await self._confirm_start(workflow_id, _kind_of(workflow_id) or WorkflowKind.REPORT, err)
        if status >= 300:
            raise GatewayError(f"Restate refused the start ({status}); nothing was started.")
        if json.loads(answer).get("status") == "PreviouslyAccepted":
            # The workflow id is the request's: a second delivery of the same command starts nothing.
            raise AlreadyRunning(workflow_id)
        metrics.COMMANDS_STARTED.labels((_kind_of(workflow_id) or WorkflowKind.REPORT).value).inc()
        return Started(workflow_id=workflow_id, run_id=None)

    async def _started(self, workflow_id: str) -> bool:
        return await self._run_status(workflow_id) is not None

    # ------------------------------------------------------------------ the HTTP API's requests

    async def start_request(self, workflow_id: str, request: dict[str, Any], memo: dict[str, Any]) -> Started:
        if _kind_of(workflow_id) is not WorkflowKind.REQUEST:
            raise GatewayError(f"`{workflow_id}` is not a SignoffRequest's id; nothing was started.")
        # Restate keeps no memo: it is the run's input beside the request, kept in its ``memo`` state.
        return await self._start(workflow_id, _REQUEST_RUN.dump_json(RequestRun(request=request, memo=memo)))

    async def request_record(self, workflow_id: str, wait: float = 0.0) -> RequestRecord:
        row = await self._request_row(workflow_id)
        view = await self._view(workflow_id)
        if wait > 0 and row["status"] != "completed" and view.answer is None:
            row, view = await self._until_decided(workflow_id, wait)
        memo = await self._memo(workflow_id)
        thread = view.progress.thread if view.progress is not None else None
        if thread is None and view.answer and view.answer.get("thread"):
            thread = MessageRef(view.answer["thread"]["channel"], view.answer["thread"]["ts"])
        status = _run_status_of(str(row["status"]), row.get("completion_result"))
        if status is RunStatus.FAILED:
            error = _failure_of(row.get("completion_failure"))
            return RequestRecord(workflow_id, status, memo, thread=thread, error=error)
        if status is RunStatus.COMPLETED and view.answer is None:
            # The engine's run ends "cancelled" when cancelled through signoff: it never had an answer.
            return RequestRecord(workflow_id, RunStatus.CANCELED, memo, thread=thread)
        return RequestRecord(workflow_id, status, memo, thread=thread, result=view.answer)

    async def _request_row(self, workflow_id: str) -> dict[str, Any]:
        if _kind_of(workflow_id) is not WorkflowKind.REQUEST:
            raise self.not_found(workflow_id)
        rows = await self._query(
            "SELECT status, completion_result, completion_failure FROM sys_invocation "
            f"WHERE target_handler_name = 'run' AND target_service_name = {_sql_string(WORKFLOW_NAMES[WorkflowKind.REQUEST])} "
            f"AND target_service_key = {_sql_string(workflow_id)} LIMIT 1"
        )
        if not rows:
            raise self.not_found(workflow_id)
        return rows[0]

    async def _until_decided(self, workflow_id: str, wait: float) -> tuple[dict[str, Any], StatusView]:
        """The request's run and status once it is decided (its answer is set), it ends, or ``wait``
        seconds pass: its answer is looked at every ``ANSWER_POLL_SECONDS``."""
        deadline = time.monotonic() + wait
        while True:
            row = await self._request_row(workflow_id)
            view = await self._view(workflow_id)
            left = deadline - time.monotonic()
            if view.answer is not None or row["status"] == "completed" or left <= 0:
                return row, view
            await asyncio.sleep(min(left, ANSWER_POLL_SECONDS))

    async def _memo(self, workflow_id: str) -> dict[str, Any]:
        """The request's memo: the run's ``memo`` state, or, before the run has set it (Restate has
        not called the endpoint yet), its input as the journal's first entry holds it."""
        memo = await self._state(workflow_id, "memo")
        if memo:
            return memo
        rows = await self._query(
            "SELECT j.entry_json FROM sys_journal j JOIN sys_invocation i ON j.id = i.id "
            f"WHERE i.target_handler_name = 'run' AND i.target_service_key = {_sql_string(workflow_id)} "
            "AND j.index = 0 LIMIT 1"
        )
        try:
            payload = json.loads(rows[0]["entry_json"])["Command"]["Input"]["payload"]
            return _REQUEST_RUN.validate_json(bytes(payload)).memo
        except (IndexError, KeyError, TypeError, ValueError):
            return {}  # no input recorded in a form this reads: no memo

    async def _state(self, workflow_id: str, key: str) -> dict[str, Any]:
        """A run's state ``key`` (JSON), read through the admin API's SQL; empty when unset."""
        rows = await self._query(
            f"SELECT value_utf8 FROM state WHERE key = {_sql_string(key)} "
            f"AND service_key = {_sql_string(workflow_id)} LIMIT 1"
        )
        value = json.loads(rows[0]["value_utf8"] or "{}") if rows else {}
        return value if isinstance(value, dict) else {}

    # ------------------------------------------------------------------ status

    async def _view(self, workflow_id: str) -> StatusView:
        url = self._handler_url(workflow_id, "status")
        status, answer = await self._bounded(lambda: self._post(url, b""))
        if status >= 300:
            raise GatewayError(f"Restate did not answer the status of `{workflow_id}` ({status}).")
        return _STATUS.validate_json(answer)

    async def progress(self, workflow_id: str) -> Progress:
        run_status = await self._run_status(workflow_id)
        if run_status is None:
            raise self.not_found(workflow_id)
        view = await self._view(workflow_id)
        if view.progress is not None:
            return view.progress
        raise GatewayError(f"`{workflow_id}` is {run_status}: it has no status to show yet.")

    async def current_draft(self, workflow_id: str) -> str:
        return (await self._view(workflow_id)).draft

    async def tool_call(self, workflow_id: str, call_number: int) -> ToolCallRecord | None:
        progress = await self.progress(workflow_id)
        return next((r for r in progress.tool_calls if r.call_number == call_number), None)

    async def _run_status(self, workflow_id: str) -> str | None:
        """The status of the workflow's ``run`` invocation (``running``, ``suspended``, ``completed``…)."""
        rows = await self._query(
            "SELECT status FROM sys_invocation WHERE target_handler_name = 'run' "
            f"AND target_service_key = {_sql_string(workflow_id)} LIMIT 1"
        )
        return str(rows[0]["status"]) if rows else None

    async def _query(self, sql: str) -> list[dict[str, Any]]:
        async def ask() -> list[dict[str, Any]]:
            status, answer = await self._post(
                f"{self.admin_url}/query", json.dumps({"query": sql}).encode(), {"Accept": "application/json"}
            )
            if status >= 300:
                raise GatewayError(f"Restate refused a query ({status}).")
            return list(json.loads(answer).get("rows", []))

        return await self._bounded(ask)

    # ------------------------------------------------------------------ decisions

    async def _send(self, workflow_id: str, name: str, arg: DecisionInput, message_id: str) -> DecisionReceipt:
        run_status = await self._run_status(workflow_id)
        if run_status is None:
            raise self.not_found(workflow_id)
        view = await self._view(workflow_id)
        ended = view.progress is not None and view.progress.phase.is_terminal
        if run_status == "completed" or ended:
            phase = view.progress.phase.value.replace("_", " ") if view.progress is not None else "finished"
            raise Refused(f"This was already decided: it is {phase}.")
        # Each attempt is its own message: the first attempt's refusal must not answer the next one.
        attempt_id = f"{message_id}.{uuid.uuid4().hex}"
        message = WireMessage.of(EngineMessage(id=attempt_id, name=name, arg=arg, decision_id=message_id))
        url = self._handler_url(workflow_id, "decide")
        seconds = self.reply_timeout.total_seconds()
        try:
            status, answer = await self._bounded(
                lambda: self._post(url, _MESSAGE.dump_json(message), {"idempotency-key": attempt_id}),
                self.reply_timeout + self.call_timeout,
            )
        except GatewayError:
            raise NotRecorded(
                f"The workflow did not answer within {seconds:g} s: your decision is queued and applies "
                "when it next waits, unless the draft has changed by then. Check the thread before clicking again."
            ) from None
        if status >= 300:
            raise GatewayError(f"Restate did not take the decision ({status}); nothing was changed.")
        try:
            reply = _REPLY.validate_json(answer)
        except ValidationError:
            raise GatewayError("Restate's answer to the decision was unreadable; check the thread.") from None
        if reply.refused is not None or reply.receipt is None:
            raise Refused(reply.refused or "The workflow refused that decision.")
        return reply.receipt

    # ------------------------------------------------------------------ cancel

    async def cancel(self, workflow_id: str) -> None:
        run_status = await self._run_status(workflow_id)
        if run_status is None:
            raise self.not_found(workflow_id)
        if run_status == "completed":
            raise Finished("This workflow has already finished; nothing was changed.")
        message = WireMessage(id=f"cancel-{workflow_id}", name=CANCEL)
        url = self._handler_url(workflow_id, "decide/send")
        await self._bounded(lambda: self._post(url, _MESSAGE.dump_json(message), {"idempotency-key": message.id}))

    # ------------------------------------------------------------------ the MCP proxy's tool-call logs

    async def append_tool_calls(self, log_id: str, start: ToolCallLogStart, batch: ToolCallBatch) -> None:
        # Sent, not awaited: Restate has it once it answers; the object applies batches in order.
        url = f"{self.ingress_url}/{TOOL_CALL_LOG}/{log_id}/append/send"
        body = _LOG_APPEND.dump_json(ToolCallAppend(start, batch))
        status, _ = await self._bounded(lambda: self._post(url, body, {"idempotency-key": uuid.uuid4().hex}))
        if status >= 300:
            raise GatewayError(f"Restate refused the tool-call log's batch ({status})")

    async def tool_call_log(self, log_id: str, run_id: str | None = None) -> ToolCallLogView:
        url = f"{self.ingress_url}/{TOOL_CALL_LOG}/{log_id}/read"
        status, answer = await self._bounded(lambda: self._post(url, b""))
        if status >= 300:
            raise GatewayError(f"Restate could not read the tool-call log {log_id!r} ({status})")
        view = _LOG_VIEW.validate_json(answer)
        if view is None:
            raise self.not_found(log_id)
        return view

    # ------------------------------------------------------------------ listing

    async def lists_by_search_attributes(self) -> bool:
        # The admin API filters by status in SQL: the running workflows are listed whatever their number.
        return False

    async def audit(self, workflow_id: str) -> AuditRecord:
        rows = await self._query(
            "SELECT target_service_name, status, completion_result, created_at, completed_at FROM sys_invocation "
            f"WHERE target_handler_name = 'run' AND target_service_key = {_sql_string(workflow_id)} LIMIT 1"
        )
        if not rows:
            raise self.not_found(workflow_id)
        row = rows[0]
        service = str(row["target_service_name"])
        if service not in _KIND_OF_SERVICE:
            raise ForeignWorkflow(f"{workflow_id!r} is a {service} workflow, not one of signoff's")
        progress = (await self._view(workflow_id)).progress
        status = _run_status_of(str(row["status"]), row.get("completion_result"))
        if progress is None:
            if status is RunStatus.RUNNING:
                raise NoWorker(
                    f"{workflow_id!r} is {row['status']} and no engine has recorded its progress yet: "
                    "is a signoff bot or worker with SIGNOFF_ENGINE=restate registered with this Restate?"
                )
            raise GatewayError(f"{workflow_id!r} is {row['status']} and recorded no progress")
        return AuditRecord(
            workflow_id=workflow_id,
            run_id=None,
            workflow_type=service,
            status=status,
            started_at=_moment(row.get("created_at")),
            closed_at=_moment(row.get("completed_at")),
            progress=progress,
        )

    async def _list(self, which: RunFilter, limit: int) -> list[Listed]:
        """signoff's running workflows, newest first, then (all states) the latest finished ones; for
        a narrowed filter, the newest ``MAX_LISTED`` of them filtered by what their request says."""
        looked_at = MAX_LISTED if which.narrowed else limit
        listed = await self._listed(running=True, limit=looked_at)
        if not which.running_only and len(listed) < looked_at:
            listed += await self._listed(running=False, limit=looked_at - len(listed))
        return [item for item in listed if which.admits(item)][:limit]

    async def _count(self, which: RunFilter) -> int:
        if which.narrowed:
            return len(await self._list(which, MAX_LISTED))
        where = self._runs_where(running=True) if which.running_only else self._runs_where(running=None)
        rows = await self._query(f"SELECT count(*) AS n FROM sys_invocation WHERE {where}")
        return int(rows[0]["n"]) if rows else 0

    def _runs_where(self, *, running: bool | None) -> str:
        services = ", ".join(_sql_string(name) for name in WORKFLOW_NAMES.values())
        where = f"target_handler_name = 'run' AND target_service_name IN ({services})"
        if running is None:
            return where
        return where + (" AND status != 'completed'" if running else " AND status = 'completed'")

    async def _listed(self, *, running: bool, limit: int) -> list[Listed]:
        rows = await self._query(
            "SELECT target_service_name, target_service_key, created_at FROM sys_invocation "
            f"WHERE {self._runs_where(running=running)} ORDER BY created_at DESC LIMIT {int(limit)}"
        )
        if not rows:
            return []
        keys = ", ".join(_sql_string(str(row["target_service_key"])) for row in rows)
        requests = {
            str(row["service_key"]): row["value_utf8"]
            for row in await self._query(
                f"SELECT service_key, value_utf8 FROM state WHERE key = 'request' AND service_key IN ({keys})"
            )
        }
        listed = []
        for row in rows:
            workflow_id = str(row["target_service_key"])
            request = json.loads(requests.get(workflow_id) or "{}")
            # A report's or plan's request has its origin; a SignoffRequest's JSON, its own fields.
            origin = request.get("origin") or {
                "requester_id": request.get("requester"),
                "channel_id": request.get("channel"),
            }
            listed.append(
                Listed(
                    workflow_id=workflow_id,
                    kind=_KIND_OF_SERVICE.get(str(row["target_service_name"]), WorkflowKind.REPORT),
                    running=running,
                    subject=str(request.get("topic") or request.get("task") or request.get("title") or "")[:200],
                    requester_id=origin.get("requester_id"),
                    channel_id=origin.get("channel_id"),
                    started_at=_moment(row.get("created_at")),
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
            except GatewayError as err:
                log.info("progress of %s unreadable: %s", workflow_id, err)
        return results
