"""The bot's one way to talk to Temporal: typed calls, bounded in time, errors in plain words.

Its one job is that boundary: every deadline and every error mapping a user reads
when the bot talks to Temporal is here, and nowhere else in the bot.

Every call here has a deadline (an RPC timeout and an overall ``asyncio``
bound), and every failure a listener can meet is turned into a ``GatewayError``
whose message can be shown to the person who clicked or typed, as is:

* ``Refused``: the workflow's update validator said no (not an approver, stale
  revision, already decided); its reason is passed on word for word.
* ``Finished``: the workflow is no longer running.
* ``NotFound``: no such workflow.
* ``Unreachable``: Temporal did not answer in time or refused the connection.
* ``NotRecorded``: an update was sent but no worker confirmed it in time.
* ``AlreadyRunning``: a start with a workflow id already in use (duplicate delivery).
* ``MaybeStarted``: a start whose deadline passed and whose workflow could not be looked up.
* ``NoWorker``: the engine answers, but nothing that runs the workflows does.
* ``ForeignWorkflow``: a workflow of the engine that is not one of signoff's (``audit``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

from prometheus_client import Histogram
from signoff_client import SIGNOFF_REQUEST
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.types import MethodAsyncSingleParam
from temporalio.workflow import UpdateMethodMultiParam

from bot import metrics
from signoff.contracts import search_attributes
from signoff.contracts.tool_call_log import (
    APPEND_TOOL_CALLS,
    READ_TOOL_CALL_LOG,
    TOOL_CALL_LOG,
    ToolCallBatch,
    ToolCallLogStart,
    ToolCallLogView,
)
from signoff.contracts.tool_calls import ForwardInput, ToolCallRecord, ToolDecisionInput
from signoff.contracts.workflow_io import (
    WORKFLOW_TYPES,
    ApproveInput,
    ClaimInput,
    DecisionReceipt,
    DelegateInput,
    MessageRef,
    Phase,
    PlanRequest,
    Progress,
    RejectInput,
    ReleaseInput,
    ReportRequest,
    RevisionInput,
    SlackOrigin,
    StepAsideInput,
    WorkflowKind,
    WorkflowSettings,
)
from signoff.slack.rendering.lists import WorkflowRow
from signoff.temporal.connection import is_connect_failure, workflow_url
from signoff.temporal.search_attributes import SearchAttributeCheck
from workflows.plan import ApprovalWorkflow
from workflows.report import ReportGenerationWorkflow

log = logging.getLogger(__name__)

T = TypeVar("T")
RequestT = TypeVar("RequestT")

# How long one Temporal RPC may take before we tell the user Temporal is slow.
DEFAULT_RPC_TIMEOUT = timedelta(seconds=5)
# How long a worker has to accept (validate and run) a decision update.
DEFAULT_UPDATE_TIMEOUT = timedelta(seconds=10)
# After an update's deadline passed: how long to ask the server whether it is there at all.
SERVER_PROBE_TIMEOUT = timedelta(seconds=1)
# Visibility listings are cut at this many workflows.
MAX_LISTED = 50
# A request's memo key for the user group it named as its pool (``approver_group``): visibility lists
# it without asking the workflow, so the Home finds the request for that group's members.
MEMO_POOL_GROUP = "approver_group"
# Workflow starts in flight at once from one bot process. /report waits for its start only a
# bounded time before acking, so a burst of commands would otherwise send every start at once; the
# server starts ~50-110 a second here, the rest queue inside it past the RPC timeout (benchmarks:
# half of 200 /report at concurrency 50). Queued starts wait here instead.
MAX_CONCURRENT_STARTS = 32
# A long-poll on a request asks for its answer this often: a decided request whose webhook is still
# being delivered has not ended, and is decided all the same.
DECIDED_CHECK_SECONDS = 5.0

# SignoffRequests are started by other workflows or clients: listed too, so their drafts reach the Home.
_KIND_OF_TYPE = {name: kind for kind, name in WORKFLOW_TYPES.items()}
_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9_-]")

# Sorts before any real start time (an unknown one ranks last).
_NEVER = datetime.min.replace(tzinfo=UTC)

UNREACHABLE = "Temporal is unreachable right now; nothing was changed. Try again in a minute."
NO_SUCH_WORKFLOW = "No such workflow (it may have been deleted); nothing was changed."


class GatewayError(Exception):
    """A failure whose message is safe and useful to show to the user."""


class Refused(GatewayError):
    pass


class Finished(GatewayError):
    pass


class NotFound(GatewayError):
    pass


class Unreachable(GatewayError):
    pass


class NotRecorded(GatewayError):
    pass


class NoWorker(GatewayError):
    """Temporal answers but no worker does: the workflow is safe and goes on when one is back."""


class ForeignWorkflow(GatewayError):
    """The id names a workflow of another type than signoff's: it is not read."""


class NotConnected(Unreachable):
    """The client never connected: no request left the bot, so nothing can have happened."""


class MaybeStarted(GatewayError):
    """A start's deadline passed, and looking its workflow up by id did not tell whether it started."""

    def __init__(self, workflow_id: str, engine: str):
        super().__init__(
            f"{engine} did not confirm in time whether your request started, and it may have: "
            f"check with `/report status {workflow_id}` in a minute. If there is no such workflow, "
            "run the command again."
        )
        self.workflow_id = workflow_id


class AlreadyRunning(GatewayError):
    def __init__(self, workflow_id: str):
        super().__init__(f"That request is already running as `{workflow_id}`; nothing new was started.")
        self.workflow_id = workflow_id


class Listing(StrEnum):
    """The state a list asks for (``RunFilter.state``): every one of signoff's workflows, or the running ones."""

    ALL = "all"
    RUNNING = "running"


class RunStatus(StrEnum):
    """How a run stands in its engine, in the words both engines are mapped to (Temporal's)."""

    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    TERMINATED = "TERMINATED"
    TIMED_OUT = "TIMED_OUT"
    CONTINUED_AS_NEW = "CONTINUED_AS_NEW"


@dataclass(frozen=True)
class AuditRecord:
    """One workflow's record as its engine keeps it (``signoff audit``): the run, and its progress,
    which holds every decision (who, what, when, on which revision, notes or reason), the requester,
    the approvers, the channel and thread, the tool calls and the outcome."""

    workflow_id: str
    # Temporal's run id; None on DBOS, where a workflow id is one run.
    run_id: str | None
    workflow_type: str
    status: RunStatus | None
    started_at: datetime | None
    closed_at: datetime | None
    progress: Progress


@dataclass(frozen=True)
class RequestRecord:
    """A SignoffRequest as the HTTP API reads it: its run, what its memo says (the key that asked,
    the hash of what it asked), its thread, and how it ended (``result``: ``SignoffResult``'s JSON
    once decided; ``error``: the failure's type and message)."""

    workflow_id: str
    status: RunStatus
    memo: Mapping[str, Any]
    thread: MessageRef | None = None
    result: dict[str, Any] | None = None
    error: tuple[str, str] | None = None


@dataclass(frozen=True)
class Started:
    workflow_id: str
    run_id: str | None


@dataclass(frozen=True)
class Listed:
    """One workflow from visibility, with what the memo says about it."""

    workflow_id: str
    kind: WorkflowKind
    running: bool
    subject: str
    requester_id: str | None
    channel_id: str | None
    started_at: datetime | None
    # From the SignoffPhase search attribute (None where the workflow has none).
    phase: Phase | None = None
    # From the SignoffApprovers search attribute (empty where none are named, or it is not set).
    approvers: tuple[str, ...] = ()
    # The user group an API request named as its pool (its memo; None: the channel, or the setting's).
    pool_group: str | None = None

    def as_row(self) -> WorkflowRow | None:
        """A list line from visibility alone (None without a phase attribute: the workflow must be asked)."""
        if self.phase is None:
            return None
        return WorkflowRow(
            workflow_id=self.workflow_id,
            kind=self.kind,
            subject=self.subject,
            phase=self.phase,
            requester_id=self.requester_id,
            started_at=self.started_at,
        )


@dataclass(frozen=True)
class RunFilter:
    """Which of signoff's workflows a list holds: those meeting every criterion given. Each engine
    translates it (Temporal: a visibility query on the search attributes, or without them the
    newest workflows filtered by ``admits``; DBOS: what ``DBOSClient`` lists, filtered by ``admits``).

    ``waiting_for``: drafts waiting for that user's decision: running, pending approval, the user
    among the approvers or none named, and not their own request. ``requested_by``: that user's
    requests. ``channel``: those whose thread is in that channel."""

    state: Listing = Listing.ALL
    waiting_for: str | None = None
    requested_by: str | None = None
    channel: str | None = None

    @property
    def running_only(self) -> bool:
        """Whether only running workflows can meet it (a draft waits only while its workflow runs)."""
        return self.state is Listing.RUNNING or self.waiting_for is not None

    @property
    def narrowed(self) -> bool:
        """Whether it asks for more than a state (an engine filtering itself looks further)."""
        return self.waiting_for is not None or self.requested_by is not None or self.channel is not None

    def admits(self, item: Listed) -> bool:
        """Whether ``item`` meets the filter as far as its listing tells: what it does not carry (the
        phase, the approvers: Temporal without the search attributes, DBOS) is left to the caller,
        who asks the workflow (the Home does)."""
        if self.running_only and not item.running:
            return False
        if self.requested_by is not None and item.requester_id != self.requested_by:
            return False
        if self.channel is not None and item.channel_id != self.channel:
            return False
        if self.waiting_for is not None:
            if item.requester_id == self.waiting_for:
                return False
            if item.phase is not None and item.phase is not Phase.PENDING_APPROVAL:
                return False
            if item.approvers and self.waiting_for not in item.approvers:
                return False
        return True


# Every one of signoff's workflows.
_EVERY_RUN = RunFilter()


def _checked(which: RunFilter) -> RunFilter:
    """``which``, once each of its values is an id: refused alike on every engine, before any is asked."""
    try:
        for value in (which.waiting_for, which.requested_by, which.channel):
            if value is not None:
                search_attributes.quoted(value)
    except ValueError as err:
        raise GatewayError(f"Cannot list that: {err}.") from None
    return which


def visibility_query(which: RunFilter) -> str:
    """``which`` as a Temporal visibility query on signoff's search attributes. Values go in only
    if they are ids (``GatewayError`` otherwise): a quote cannot end a literal early."""
    try:
        return search_attributes.matching(
            running=which.state is Listing.RUNNING,
            waiting_for=which.waiting_for,
            requested_by=which.requested_by,
            channel=which.channel,
        )
    except ValueError as err:
        raise GatewayError(f"Cannot list that: {err}.") from None


def type_query(which: RunFilter) -> str:
    """signoff's workflows by type, running or all as ``which`` needs (no search attribute needed):
    the listing without them, which ``which.admits`` then filters."""
    types = " OR ".join(f"WorkflowType = '{name}'" for name in WORKFLOW_TYPES.values())
    status = " AND ExecutionStatus = 'Running'" if which.running_only else ""
    return f"({types}){status}"


def workflow_id_for(kind: WorkflowKind, team_id: str, channel_id: str, request_key: str) -> str:
    """A workflow id derived from the Slack request: the same delivery gives the same id."""
    digest = hashlib.sha256(request_key.encode()).hexdigest()[:16]
    team = _UNSAFE_ID_CHARS.sub("", team_id)[:20]
    channel = _UNSAFE_ID_CHARS.sub("", channel_id)[:20]
    return f"{kind.value}-{team}-{channel}-{digest}"


def channel_prefix(kind: WorkflowKind, team_id: str, channel_id: str) -> str:
    return workflow_id_for(kind, team_id, channel_id, "").rsplit("-", 1)[0] + "-"


def update_id(action: str, workflow_id: str, revision: int, user_id: str) -> str:
    """One update id per (decision, revision, person): a double click is one decision."""
    return f"{action}-{revision}-{user_id}"


DecisionInput = (
    ApproveInput
    | RevisionInput
    | RejectInput
    | ToolDecisionInput
    | ClaimInput
    | ReleaseInput
    | DelegateInput
    | StepAsideInput
    | ForwardInput
)


class Gateway(ABC):
    """What the listeners ask of an engine: ``TemporalGateway``, or ``DbosGateway`` (``SIGNOFF_ENGINE=dbos``).

    The decisions are the same on both, by the name of the workflow update each stands for: an
    engine says how one is sent (``_send``) and raises ``Refused`` with the workflow's own words
    when its validator says no. Every call is bounded in time (``_bounded``); an engine says what
    its failures mean to users (``_translate``). All errors are the ones above, safe to show."""

    # A call's overall deadline when its caller gives none.
    call_timeout: timedelta
    # Where each call's duration and outcome go (one histogram per engine).
    call_seconds: ClassVar[Histogram]

    async def _bounded(self, call: Callable[[], Awaitable[T]], timeout: timedelta | None = None) -> T:
        """Run one engine call under an overall deadline, mapping its failures (``_translate``)."""
        limit = (timeout or self.call_timeout).total_seconds() + 1
        started = time.perf_counter()
        outcome = "error"
        try:
            async with asyncio.timeout(limit):
                result = await call()
            outcome = "ok"
            return result
        except TimeoutError:
            outcome = "unreachable"
            raise self._no_answer(limit) from None
        except Exception as err:
            translated = self._translate(err)
            if translated is None:
                raise
            outcome, error = translated
            raise error from None
        finally:
            self.call_seconds.labels(outcome).observe(time.perf_counter() - started)

    @abstractmethod
    def _no_answer(self, seconds: float) -> GatewayError:
        """The error for a call that did not end within ``seconds``."""

    @abstractmethod
    def _translate(self, err: Exception) -> tuple[str, GatewayError] | None:
        """(the outcome label, the error users read) for a failed call, or None to let it through."""

    @abstractmethod
    async def _send(self, workflow_id: str, name: str, arg: DecisionInput, decision_id: str) -> DecisionReceipt:
        """Send one decision and return the workflow's receipt (``Refused``: its validator said no)."""

    async def _decide(self, workflow_id: str, name: str, arg: DecisionInput, decision_id: str) -> DecisionReceipt:
        try:
            receipt = await self._send(workflow_id, name, arg, decision_id)
        except Refused:
            metrics.DECISIONS.labels("refused").inc()
            metrics.REFUSALS.labels(name).inc()
            raise
        except BaseException:
            metrics.DECISIONS.labels("failed").inc()
            raise
        metrics.DECISIONS.labels("recorded").inc()
        return receipt

    async def approve(
        self,
        workflow_id: str,
        revision: int,
        user_id: str,
        team_id: str | None,
        *,
        comment: str = "",
        edited_text: str | None = None,
        member_of: str | None = None,
    ) -> DecisionReceipt:
        """Approve ``revision``, with an optional comment, or approve the approver's edit of it.

        ``member_of`` (every decision): the channel the bot found ``user_id`` in (signoff/contracts/access.py)."""
        action = "edit-approve" if edited_text is not None else "approve"
        arg = ApproveInput(
            revision=revision,
            user_id=user_id,
            team_id=team_id,
            comment=comment,
            edited_text=edited_text,
            member_of=member_of,
        )
        return await self._decide(
            workflow_id,
            _update_name(ReportGenerationWorkflow.approve_draft),
            arg,
            update_id(action, workflow_id, revision, user_id),
        )

    async def request_revision(
        self,
        workflow_id: str,
        revision: int,
        user_id: str,
        team_id: str | None,
        notes: str,
        *,
        member_of: str | None = None,
    ) -> DecisionReceipt:
        arg = RevisionInput(revision=revision, user_id=user_id, notes=notes, team_id=team_id, member_of=member_of)
        return await self._decide(
            workflow_id,
            _update_name(ReportGenerationWorkflow.request_draft_revision),
            arg,
            update_id("revise", workflow_id, revision, user_id),
        )

    async def reject(
        self,
        workflow_id: str,
        revision: int,
        user_id: str,
        team_id: str | None,
        reason: str,
        *,
        member_of: str | None = None,
    ) -> DecisionReceipt:
        arg = RejectInput(revision=revision, user_id=user_id, reason=reason, team_id=team_id, member_of=member_of)
        return await self._decide(
            workflow_id,
            _update_name(ReportGenerationWorkflow.reject_draft),
            arg,
            update_id("reject", workflow_id, revision, user_id),
        )

    async def allow_tool_call(
        self,
        workflow_id: str,
        call_number: int,
        user_id: str,
        team_id: str | None,
        *,
        always: bool,
        member_of: str | None = None,
    ) -> DecisionReceipt:
        arg = ToolDecisionInput(
            call_number=call_number, user_id=user_id, team_id=team_id, always=always, member_of=member_of
        )
        return await self._decide(
            workflow_id,
            _update_name(ApprovalWorkflow.allow_tool_call),
            arg,
            update_id("tool-allow", workflow_id, call_number, user_id),
        )

    async def deny_tool_call(
        self,
        workflow_id: str,
        call_number: int,
        user_id: str,
        team_id: str | None,
        reason: str,
        *,
        member_of: str | None = None,
    ) -> DecisionReceipt:
        arg = ToolDecisionInput(
            call_number=call_number, user_id=user_id, team_id=team_id, reason=reason, member_of=member_of
        )
        return await self._decide(
            workflow_id,
            _update_name(ApprovalWorkflow.deny_tool_call),
            arg,
            update_id("tool-deny", workflow_id, call_number, user_id),
        )

    async def start_forward(self, workflow_id: str, caller: str) -> DecisionReceipt:
        """Claim a proxied tool call's Allow to run it (``Refused`` unless allowed and never claimed:
        each attempt is its own, so a claim is never granted twice)."""
        claim = ForwardInput(call_number=1, user_id=caller)
        return await self._decide(workflow_id, "start_forward", claim, f"forward-{uuid.uuid4().hex}")

    async def finish_tool_call(self, workflow_id: str, caller: str, *, ok: bool, summary: str) -> DecisionReceipt:
        """Close a proxied tool call: how the run call ended, or that a denial reached its caller."""
        report = ForwardInput(call_number=1, user_id=caller, ok=ok, summary=summary)
        return await self._decide(workflow_id, "finish_tool_call", report, f"finish-{workflow_id}")

    async def claim(
        self, workflow_id: str, revision: int, user_id: str, team_id: str | None, *, member_of: str | None = None
    ) -> DecisionReceipt:
        """Take a pooled request: ``user_id`` becomes its one decider (refused: claimed already)."""
        arg = ClaimInput(revision=revision, user_id=user_id, team_id=team_id, member_of=member_of)
        return await self._hand_over(workflow_id, ReportGenerationWorkflow.claim_draft, "claim", arg)

    async def release(
        self, workflow_id: str, revision: int, user_id: str, team_id: str | None, *, member_of: str | None = None
    ) -> DecisionReceipt:
        """The claimer hands the request back to the pool."""
        arg = ReleaseInput(revision=revision, user_id=user_id, team_id=team_id, member_of=member_of)
        return await self._hand_over(workflow_id, ReportGenerationWorkflow.release_draft, "release", arg)

    async def step_aside(
        self,
        workflow_id: str,
        revision: int,
        user_id: str,
        team_id: str | None,
        reason: str = "",
        *,
        member_of: str | None = None,
    ) -> DecisionReceipt:
        """``user_id`` steps out (away, nobody named): the other approvers decide, or the pool again."""
        arg = StepAsideInput(revision=revision, user_id=user_id, reason=reason, team_id=team_id, member_of=member_of)
        return await self._decide(
            workflow_id,
            _update_name(ReportGenerationWorkflow.step_aside_draft),
            arg,
            update_id("step-aside", workflow_id, revision, user_id),
        )

    async def _hand_over(
        self,
        workflow_id: str,
        update: UpdateMethodMultiParam[..., Any],
        action: str,
        arg: ClaimInput | ReleaseInput,
    ) -> DecisionReceipt:
        # Numbered by the handoffs so far: a claim after a release is a new update, not the first one again.
        count = len((await self.progress(workflow_id)).handoffs)
        decision_id = update_id(f"{action}-{count}", workflow_id, arg.revision, arg.user_id)
        return await self._decide(workflow_id, _update_name(update), arg, decision_id)

    async def delegate(
        self,
        workflow_id: str,
        revision: int,
        user_id: str,
        team_id: str | None,
        to_user: str,
        reason: str = "",
        *,
        member_of: str | None = None,
        to_member_of: str | None = None,
    ) -> DecisionReceipt:
        """Hand ``user_id``'s part to ``to_user`` (who must be allowed to decide, never the requester)."""
        arg = DelegateInput(
            revision=revision,
            user_id=user_id,
            to_user=to_user,
            reason=reason,
            team_id=team_id,
            member_of=member_of,
            to_member_of=to_member_of,
        )
        return await self._decide(
            workflow_id,
            _update_name(ReportGenerationWorkflow.delegate_draft),
            arg,
            update_id(f"delegate-{to_user}", workflow_id, revision, user_id),
        )

    def not_found(self, workflow_id: str) -> NotFound:
        """What this engine answers for an id it does not have: also what someone is told about a
        workflow they may not see (signoff/contracts/access.py), so the two cannot be told apart."""
        return NotFound(NO_SUCH_WORKFLOW)

    async def _confirm_start(
        self, workflow_id: str, kind: WorkflowKind, deadline: GatewayError, *, still_sending: bool = False
    ) -> Started:
        """A start's deadline passed (``deadline``: what it raised): it may have started all the same,
        so its workflow is looked up by its id before anyone is told anything. ``still_sending``: the
        start is still under way (it cannot be stopped), so "not there yet" does not mean "not started"."""
        try:
            found = await self._started(workflow_id)
        except GatewayError as err:
            log.warning("start of %s: deadline passed, and the lookup failed too: %s", workflow_id, err)
            raise MaybeStarted(workflow_id, self.engine_name) from None
        if not found and still_sending:
            raise MaybeStarted(workflow_id, self.engine_name)
        if not found:
            # Looked up after the start's own deadline, which the engine enforces too: it did not start.
            raise deadline
        log.info("start of %s: deadline passed, but it had started", workflow_id)
        metrics.COMMANDS_STARTED.labels(kind.value).inc()
        return Started(workflow_id=workflow_id, run_id=None)

    # What users read the engine as ("Temporal", "The workflow database").
    engine_name: ClassVar[str]

    @abstractmethod
    async def _started(self, workflow_id: str) -> bool:
        """Whether a workflow with this id exists (``GatewayError``: the engine did not say)."""

    @abstractmethod
    def ui_url(self, workflow_id: str) -> str | None: ...

    @abstractmethod
    async def health_problem(self, timeout: timedelta) -> str | None: ...

    @abstractmethod
    async def start_report(self, topic: str, origin: SlackOrigin, request_key: str) -> Started: ...

    @abstractmethod
    async def start_plan(self, task: str, origin: SlackOrigin, request_key: str) -> Started: ...

    @abstractmethod
    async def progress(self, workflow_id: str) -> Progress: ...

    @abstractmethod
    async def current_draft(self, workflow_id: str) -> str: ...

    @abstractmethod
    async def tool_call(self, workflow_id: str, call_number: int) -> ToolCallRecord | None: ...

    @abstractmethod
    async def cancel(self, workflow_id: str) -> None: ...

    @abstractmethod
    async def audit(self, workflow_id: str) -> AuditRecord:
        """The workflow's record (``NotFound``; ``ForeignWorkflow``: not one of signoff's; ``NoWorker``:
        nothing runs it to answer; ``Unreachable``: the engine did not answer)."""

    @abstractmethod
    async def lists_by_search_attributes(self) -> bool: ...

    @abstractmethod
    async def _list(self, which: RunFilter, limit: int) -> list[Listed]:
        """``which``, translated for this engine: running first, newest first, at most ``limit``."""

    @abstractmethod
    async def _count(self, which: RunFilter) -> int:
        """How many of signoff's workflows meet ``which`` in all, translated for this engine."""

    async def list_workflows(self, which: RunFilter | Listing = _EVERY_RUN, limit: int = MAX_LISTED) -> list[Listed]:
        """signoff's workflows that meet ``which`` (a ``Listing`` alone: those in that state), running
        first, newest first, at most ``limit``."""
        return await self._list(_checked(which if isinstance(which, RunFilter) else RunFilter(state=which)), limit)

    async def count_workflows(self, which: RunFilter) -> int:
        """How many of signoff's workflows meet ``which`` in all."""
        return await self._count(_checked(which))

    async def waiting_for(self, user_id: str, limit: int) -> list[Listed]:
        """Drafts waiting for ``user_id``'s decision, newest first."""
        return await self.list_workflows(RunFilter(waiting_for=user_id), limit)

    async def requested_by(self, user_id: str, limit: int) -> list[Listed]:
        """What ``user_id`` requested, running first, then the latest finished."""
        return await self.list_workflows(RunFilter(requested_by=user_id), limit)

    async def running(self, limit: int) -> tuple[list[Listed], int]:
        """signoff's running workflows, newest first, at most ``limit``, and how many run in all."""
        running = RunFilter(state=Listing.RUNNING)
        listed, total = await asyncio.gather(self.list_workflows(running, limit), self.count_workflows(running))
        return listed, total

    @abstractmethod
    async def latest_in_channel(self, team_id: str, channel_id: str) -> str | None: ...

    # The HTTP API's requests (``bot.api``): an engine that has them overrides both.

    async def start_request(self, workflow_id: str, request: dict[str, Any], memo: dict[str, Any]) -> Started:
        """Start a SignoffRequest under ``workflow_id`` (``AlreadyRunning``: that id was used, ever)."""
        raise GatewayError(f"{self.engine_name} does not serve the HTTP API's requests")

    async def request_record(self, workflow_id: str, wait: float = 0.0) -> RequestRecord:
        """The SignoffRequest ``workflow_id`` (``NotFound``: none, or not a SignoffRequest); ``wait``:
        seconds to wait first for it to be decided (cut short when it is)."""
        raise GatewayError(f"{self.engine_name} does not serve the HTTP API's requests")

    @abstractmethod
    async def progress_of_many(self, workflow_ids: list[str], within: float) -> list[Progress]: ...

    # The MCP proxy's tool-call logs (``signoff.contracts.tool_call_log``): each engine overrides both.

    async def append_tool_calls(self, log_id: str, start: ToolCallLogStart, batch: ToolCallBatch) -> None:
        """Append ``batch`` to the log ``log_id``, starting it with ``start`` if it is not running; it
        returns once the engine has the batch, not once the log has taken it."""
        raise GatewayError(f"{self.engine_name} keeps no MCP proxy tool-call logs")

    async def tool_call_log(self, log_id: str, run_id: str | None = None) -> ToolCallLogView:
        """The log ``log_id`` (Temporal: its run ``run_id``, else the latest; ``NotFound``: no such log)."""
        raise GatewayError(f"{self.engine_name} keeps no MCP proxy tool-call logs")


class TemporalGateway(Gateway):
    call_seconds = metrics.TEMPORAL_CALL_SECONDS
    engine_name = "Temporal"

    def __init__(
        self,
        client: Client,
        *,
        task_queue: str,
        namespace: str = "default",
        temporal_ui_url: str | None = None,
        workflow_settings: WorkflowSettings | None = None,
        rpc_timeout: timedelta = DEFAULT_RPC_TIMEOUT,
        update_timeout: timedelta = DEFAULT_UPDATE_TIMEOUT,
        max_concurrent_starts: int = MAX_CONCURRENT_STARTS,
    ) -> None:
        self.client = client
        self.task_queue = task_queue
        self.namespace = namespace
        self.temporal_ui_url = temporal_ui_url
        self.workflow_settings = workflow_settings
        self.rpc_timeout = rpc_timeout
        self.call_timeout = rpc_timeout
        self.update_timeout = update_timeout
        self._start_slots = asyncio.Semaphore(max_concurrent_starts)
        self._search_attributes: SearchAttributeCheck | None = None

    async def lists_by_search_attributes(self) -> bool:
        """Whether the lists are visibility queries on signoff's search attributes (they are
        registered), else the bounded listing of the newest workflows."""
        if self._search_attributes is None:
            # The client's namespace: the one its workflows run in (made on first use).
            self._search_attributes = SearchAttributeCheck(
                self.client,
                self.client.namespace,
                consequence=(
                    "workflows started now do not upsert them, and /report list, /report status and the App Home "
                    f"look only at the newest {MAX_LISTED} workflows of the namespace."
                ),
            )
        return await self._search_attributes.registered()

    # ------------------------------------------------------------------ helpers

    async def health_problem(self, timeout: timedelta) -> str | None:
        """Why Temporal is not usable now, or None (the bot's /readyz)."""
        return await metrics.temporal_problem(self.client, timeout)

    def ui_url(self, workflow_id: str) -> str | None:
        if not self.temporal_ui_url:
            return None
        return workflow_url(self.temporal_ui_url, self.namespace, workflow_id)

    def _no_answer(self, seconds: float) -> GatewayError:
        return Unreachable(f"Temporal did not answer within {seconds:g} s; nothing was changed. Try again in a minute.")

    def _translate(self, err: Exception) -> tuple[str, GatewayError] | None:
        if isinstance(err, RPCError):
            return "error", _map_rpc_error(err)
        if is_connect_failure(err):
            # A lazily connected client reports a failed (re)connect this way.
            log.warning("Temporal connection failed: %s", err)
            return "unreachable", NotConnected(UNREACHABLE)
        return None

    # ------------------------------------------------------------------ starting

    async def start_report(self, topic: str, origin: SlackOrigin, request_key: str) -> Started:
        workflow_id = workflow_id_for(WorkflowKind.REPORT, origin.team_id, origin.channel_id, request_key)
        request = ReportRequest(topic=topic, origin=origin, settings=await self._settings_to_pass())
        return await self._start(ReportGenerationWorkflow.run, request, workflow_id, WorkflowKind.REPORT, topic, origin)

    async def start_plan(self, task: str, origin: SlackOrigin, request_key: str) -> Started:
        workflow_id = workflow_id_for(WorkflowKind.PLAN, origin.team_id, origin.channel_id, request_key)
        request = PlanRequest(task=task, origin=origin, settings=await self._settings_to_pass())
        return await self._start(ApprovalWorkflow.run, request, workflow_id, WorkflowKind.PLAN, task, origin)

    async def _settings_to_pass(self) -> WorkflowSettings | None:
        """The bot's workflow settings, saying whether the workflow may upsert its search attributes."""
        if self.workflow_settings is None:
            # The worker's settings activity asks the namespace itself.
            return None
        return replace(self.workflow_settings, search_attributes=await self.lists_by_search_attributes())

    async def _start(
        self,
        run: MethodAsyncSingleParam[Any, RequestT, str],
        request: RequestT,
        workflow_id: str,
        kind: WorkflowKind,
        subject: str,
        origin: SlackOrigin,
    ) -> Started:
        async def start() -> WorkflowHandle[Any, Any]:
            return await self.client.start_workflow(
                run,
                request,
                id=workflow_id,
                task_queue=self.task_queue,
                # A duplicate delivery of the same command must never start a second run,
                # not even after the first one finished.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                memo={
                    "kind": kind.value,
                    "subject": subject[:200],
                    "team_id": origin.team_id,
                    "channel_id": origin.channel_id,
                    "requester_id": origin.requester_id,
                },
                rpc_timeout=self.rpc_timeout,
            )

        return await self._start_once(start, workflow_id, kind)

    async def _start_once(
        self, start: Callable[[], Awaitable[WorkflowHandle[Any, Any]]], workflow_id: str, kind: WorkflowKind
    ) -> Started:
        """Make ``start`` (a start under ``workflow_id``, never reused) in one of the start slots."""
        try:
            # The RPC timeout counts from when the start is sent, not while it waits for a slot.
            async with self._start_slots:
                handle = await self._bounded(start)
        except WorkflowAlreadyStartedError:
            raise AlreadyRunning(workflow_id) from None
        except NotConnected:
            raise
        except Unreachable as err:
            # Sent, and no answer in time (or the connection dropped): the server may have started it.
            return await self._confirm_start(workflow_id, kind, err)
        metrics.COMMANDS_STARTED.labels(kind.value).inc()
        return Started(workflow_id=handle.id, run_id=handle.result_run_id)

    async def _started(self, workflow_id: str) -> bool:
        handle = self.client.get_workflow_handle(workflow_id)

        async def describe() -> WorkflowExecutionDescription:
            return await handle.describe(rpc_timeout=SERVER_PROBE_TIMEOUT)

        try:
            await self._bounded(describe, SERVER_PROBE_TIMEOUT)
        except NotFound:
            return False
        except Finished:
            return True  # it started, and has ended since
        return True

    # ------------------------------------------------------------------ queries

    async def progress(self, workflow_id: str) -> Progress:
        handle = self.client.get_workflow_handle_for(ReportGenerationWorkflow.run, workflow_id)

        async def query() -> Progress:
            return await handle.query(ReportGenerationWorkflow.progress, rpc_timeout=self.rpc_timeout)

        try:
            return await self._bounded(query)
        except (WorkflowQueryFailedError, WorkflowQueryRejectedError) as err:
            raise GatewayError(f"Could not read the status of `{workflow_id}`: {err}") from None
        except (Unreachable, Finished) as err:
            # Only a worker answers a query: with none running the server fails it as
            # unavailable, timed out or "no poller", which would read as Temporal down or
            # the workflow finished. Ask the server itself to tell which.
            description = await self._server_description(workflow_id)
            if description is None:
                raise err from None
            raise NoWorker(_no_worker(workflow_id, description)) from None

    async def current_draft(self, workflow_id: str) -> str:
        """The draft's text as it stands (for the Edit & approve form)."""
        handle = self.client.get_workflow_handle_for(ReportGenerationWorkflow.run, workflow_id)

        async def query() -> str:
            return await handle.query(ReportGenerationWorkflow.current_draft, rpc_timeout=self.rpc_timeout)

        try:
            return await self._bounded(query)
        except (WorkflowQueryFailedError, WorkflowQueryRejectedError) as err:
            raise GatewayError(f"Could not read the draft of `{workflow_id}`: {err}") from None

    # ------------------------------------------------------------------ decisions

    async def tool_call(self, workflow_id: str, call_number: int) -> ToolCallRecord | None:
        """One tool call of a plan (its full arguments), for the "Show full arguments" modal."""
        handle = self.client.get_workflow_handle_for(ApprovalWorkflow.run, workflow_id)

        async def query() -> ToolCallRecord | None:
            return await handle.query(ApprovalWorkflow.tool_call, call_number, rpc_timeout=self.rpc_timeout)

        try:
            return await self._bounded(query)
        except (WorkflowQueryFailedError, WorkflowQueryRejectedError) as err:
            raise GatewayError(f"Could not read tool call {call_number} of `{workflow_id}`: {err}") from None

    async def _send(self, workflow_id: str, name: str, arg: DecisionInput, decision_id: str) -> DecisionReceipt:
        # The decision updates live on the shared base class; both workflow types have them.
        handle = self.client.get_workflow_handle(workflow_id)

        async def send() -> DecisionReceipt:
            return await handle.execute_update(
                name, arg, id=decision_id, result_type=DecisionReceipt, rpc_timeout=self.update_timeout
            )

        return await self._send_update(workflow_id, send)

    async def _send_update(self, workflow_id: str, send: Callable[[], Awaitable[DecisionReceipt]]) -> DecisionReceipt:
        seconds = self.update_timeout.total_seconds()
        try:
            return await self._bounded(send, self.update_timeout)
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            message = getattr(cause, "message", None) or str(cause or err)
            raise Refused(message) from None
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            raise await self._explain_deadline(workflow_id, seconds) from None
        except NotFound:
            raise await self._explain_not_found(workflow_id) from None
        except Unreachable as err:
            if "did not answer" in str(err):
                raise await self._explain_deadline(workflow_id, seconds) from None
            raise

    async def _explain_deadline(self, workflow_id: str, seconds: float) -> NotRecorded:
        """The update's deadline passed: tell a silent worker from a silent server."""
        if await self._server_description(workflow_id) is None:
            return NotRecorded(
                f"Your decision was not recorded: Temporal did not answer within {seconds:g} s. "
                "Nothing was changed; try again in a minute."
            )
        # The server answers, so it took the update and no worker ran it before our deadline.
        return NotRecorded(_not_recorded(seconds))

    async def _server_description(self, workflow_id: str) -> WorkflowExecutionDescription | None:
        """The server's own record of the workflow (no worker involved), or None if it does not
        answer within SERVER_PROBE_TIMEOUT."""
        handle = self.client.get_workflow_handle(workflow_id)
        try:
            async with asyncio.timeout(SERVER_PROBE_TIMEOUT.total_seconds()):
                return await handle.describe(rpc_timeout=SERVER_PROBE_TIMEOUT)
        except (TimeoutError, RPCError, RuntimeError):
            # Whatever the reason the probe failed, the server did not answer it promptly either.
            return None

    async def _explain_not_found(self, workflow_id: str) -> GatewayError:
        """NOT_FOUND on an update means "closed" on some servers: tell the two apart."""
        handle = self.client.get_workflow_handle(workflow_id)

        async def describe() -> WorkflowExecutionDescription:
            return await handle.describe(rpc_timeout=self.rpc_timeout)

        try:
            description = await self._bounded(describe)
        except GatewayError as err:
            return err
        if description.status != WorkflowExecutionStatus.RUNNING:
            return Finished("This workflow has already finished; nothing was changed.")
        return NotFound("Temporal could not find a waiting draft for that button; nothing was changed.")

    # ------------------------------------------------------------------ cancel

    async def cancel(self, workflow_id: str) -> None:
        handle = self.client.get_workflow_handle(workflow_id)

        async def cancel() -> None:
            await handle.cancel(rpc_timeout=self.rpc_timeout)

        await self._bounded(cancel)

    # ------------------------------------------------------------------ audit

    async def audit(self, workflow_id: str) -> AuditRecord:
        handle = self.client.get_workflow_handle(workflow_id)

        async def describe() -> WorkflowExecutionDescription:
            return await handle.describe(rpc_timeout=self.rpc_timeout)

        description = await self._bounded(describe)
        if description.workflow_type not in _KIND_OF_TYPE:
            raise ForeignWorkflow(
                f"{workflow_id!r} is a {description.workflow_type} workflow, not one of signoff's "
                f"({', '.join(WORKFLOW_TYPES.values())})"
            )

        async def query() -> Progress:
            # Every signoff workflow type answers the same query (workflows/human_loop.py).
            return await handle.query(ReportGenerationWorkflow.progress, rpc_timeout=self.rpc_timeout)

        progress = await self._described_query(query, workflow_id, description, "progress query")
        status = description.status
        return AuditRecord(
            workflow_id=workflow_id,
            run_id=description.run_id,
            workflow_type=description.workflow_type,
            status=RunStatus(status.name) if status else None,
            started_at=description.start_time,
            closed_at=description.close_time,
            progress=progress,
        )

    # ------------------------------------------------------------------ visibility

    async def _list(self, which: RunFilter, limit: int) -> list[Listed]:
        """A visibility query on the search attributes; without them, the newest ``MAX_LISTED`` of
        signoff's types (the bounded listing), filtered here by what their memo says."""
        if await self.lists_by_search_attributes():
            return await self._visible(visibility_query(which), limit)
        if not which.narrowed:
            return await self._visible(type_query(which), limit)
        newest = await self._visible(type_query(which), MAX_LISTED)
        return [item for item in newest if which.admits(item)][:limit]

    async def _count(self, which: RunFilter) -> int:
        if await self.lists_by_search_attributes():
            query = visibility_query(which)
        elif not which.narrowed:
            query = type_query(which)
        else:
            # Without the search attributes only the bounded listing can be filtered.
            return len(await self._list(which, MAX_LISTED))

        async def count() -> int:
            return (await self.client.count_workflows(query, rpc_timeout=self.rpc_timeout)).count

        return await self._bounded(count)

    async def _visible(self, query: str, limit: int) -> list[Listed]:
        async def collect() -> list[WorkflowExecution]:
            found = []
            async for execution in self.client.list_workflows(
                query, limit=limit, page_size=limit, rpc_timeout=self.rpc_timeout
            ):
                found.append(execution)
            return found

        return [await _listed(execution) for execution in await self._bounded(collect)]

    async def latest_in_channel(self, team_id: str, channel_id: str) -> str | None:
        if await self.lists_by_search_attributes():
            candidates = await self.list_workflows(RunFilter(channel=channel_id), MAX_LISTED)
        else:
            candidates = [
                item
                for item in await self.list_workflows(limit=MAX_LISTED)
                if item.channel_id == channel_id
                or any(item.workflow_id.startswith(channel_prefix(kind, team_id, channel_id)) for kind in WorkflowKind)
            ]
        if not candidates:
            return None
        # Visibility lists running workflows first: the latest started is among the first page.
        return max(candidates, key=lambda item: item.started_at or _NEVER).workflow_id

    async def progress_of_many(self, workflow_ids: list[str], within: float) -> list[Progress]:
        """Progress of each workflow that answers within ``within`` seconds overall (others are skipped)."""
        tasks = [asyncio.ensure_future(self.progress(workflow_id)) for workflow_id in workflow_ids]
        if not tasks:
            return []
        done, pending = await asyncio.wait(tasks, timeout=within)
        for task in pending:
            task.cancel()
        results = []
        for task in tasks:
            if task in done and task.exception() is None:
                results.append(task.result())
            elif task in done:
                log.info("progress query failed: %s", task.exception())
        return results

    # ------------------------------------------------------------------ the MCP proxy's tool-call logs

    async def append_tool_calls(self, log_id: str, start: ToolCallLogStart, batch: ToolCallBatch) -> None:
        async def signal_with_start() -> None:
            await self.client.start_workflow(
                TOOL_CALL_LOG,
                start,
                id=log_id,
                task_queue=self.task_queue,
                start_signal=APPEND_TOOL_CALLS,
                start_signal_args=[batch],
                rpc_timeout=self.rpc_timeout,
            )

        await self._bounded(signal_with_start)

    async def tool_call_log(self, log_id: str, run_id: str | None = None) -> ToolCallLogView:
        handle = self.client.get_workflow_handle(log_id, run_id=run_id)

        async def describe() -> WorkflowExecutionDescription:
            return await handle.describe(rpc_timeout=self.rpc_timeout)

        description = await self._bounded(describe)
        if description.workflow_type != TOOL_CALL_LOG:
            raise NotFound(f"{log_id!r} is a {description.workflow_type} workflow, not a tool-call log")

        async def query() -> ToolCallLogView:
            return await handle.query(READ_TOOL_CALL_LOG, result_type=ToolCallLogView, rpc_timeout=self.rpc_timeout)

        return await self._described_query(query, log_id, description, "query")

    async def _described_query(
        self, query: Callable[[], Awaitable[T]], workflow_id: str, description: WorkflowExecutionDescription, what: str
    ) -> T:
        """``query``'s answer, for a workflow Temporal has just described (``NoWorker``: none answered)."""
        try:
            return await self._bounded(query)
        except (WorkflowQueryFailedError, WorkflowQueryRejectedError) as err:
            raise GatewayError(f"{workflow_id!r} could not answer its {what}: {err}") from None
        except (Unreachable, Finished):
            # Temporal answered the describe: a query nobody picks up ends at its RPC timeout.
            raise NoWorker(
                f"no worker answered {workflow_id!r}'s {what} within "
                f"{self.rpc_timeout.total_seconds():g} s: is a signoff worker running on task queue "
                f"{description.task_queue!r}?"
            ) from None

    # ------------------------------------------------------------------ the HTTP API's requests

    async def start_request(self, workflow_id: str, request: dict[str, Any], memo: dict[str, Any]) -> Started:
        async def start() -> WorkflowHandle[Any, Any]:
            return await self.client.start_workflow(
                SIGNOFF_REQUEST,
                request,
                id=workflow_id,
                task_queue=self.task_queue,
                # An idempotency key names one request forever, even after it ended.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                memo=memo,
                rpc_timeout=self.rpc_timeout,
            )

        return await self._start_once(start, workflow_id, WorkflowKind.REQUEST)

    async def request_record(self, workflow_id: str, wait: float = 0.0) -> RequestRecord:
        handle = self.client.get_workflow_handle(workflow_id)

        async def describe() -> WorkflowExecutionDescription:
            return await handle.describe(rpc_timeout=self.rpc_timeout)

        description = await self._bounded(describe)
        if description.workflow_type != SIGNOFF_REQUEST:
            # Another kind of workflow is no request of the API's: the same answer as none at all.
            raise self.not_found(workflow_id)
        if wait > 0 and description.status == WorkflowExecutionStatus.RUNNING:
            await self._until_decided(handle, wait)
            description = await self._bounded(describe)
        memo = await description.memo()
        status = RunStatus(description.status.name) if description.status else RunStatus.RUNNING
        if status is RunStatus.COMPLETED:
            result = await self._bounded(lambda: handle.result(rpc_timeout=self.rpc_timeout))
            thread = result.get("thread") if isinstance(result, dict) else None
            ref = MessageRef(thread["channel"], thread["ts"]) if thread else None
            return RequestRecord(workflow_id, status, memo, thread=ref, result=result)
        if status is RunStatus.FAILED:
            return RequestRecord(workflow_id, status, memo, error=await self._failure(handle))
        progress, answer = await self._request_state(handle, status)
        return RequestRecord(workflow_id, status, memo, thread=progress.thread if progress else None, result=answer)

    async def _until_decided(self, handle: WorkflowHandle[Any, Any], wait: float) -> None:
        """Until the request ends, or is decided (its webhook may still be on its way, the run with
        it), or ``wait`` seconds pass: the run's end is awaited (a long-poll of Temporal's), asking
        for its answer every ``DECIDED_CHECK_SECONDS``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while (left := deadline - loop.time()) > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(left, DECIDED_CHECK_SECONDS)):
                    with contextlib.suppress(WorkflowFailureError, RPCError):
                        await handle.result(rpc_timeout=timedelta(seconds=wait + 1))
                    return
            _, answer = await self._request_state(handle, RunStatus.RUNNING)
            if answer is not None:
                return

    async def _request_state(
        self, handle: WorkflowHandle[Any, Any], status: RunStatus
    ) -> tuple[Progress | None, dict[str, Any] | None]:
        """Its progress and answer (a running request's; a closed one's as its worker replays it), or
        (None, None) when no worker answers: the run's status alone still says how it stands."""

        async def query() -> tuple[Progress, dict[str, Any] | None]:
            progress = await handle.query(ReportGenerationWorkflow.progress, rpc_timeout=self.rpc_timeout)
            answer = await handle.query("answer", result_type=dict, rpc_timeout=self.rpc_timeout)
            return progress, answer

        try:
            return await self._bounded(query)
        except (GatewayError, WorkflowQueryFailedError, WorkflowQueryRejectedError) as err:
            log.info("request %s (%s): no state: %s", handle.id, status.value, err)
            return None, None

    async def _failure(self, handle: WorkflowHandle[Any, Any]) -> tuple[str, str]:
        try:
            await self._bounded(lambda: handle.result(rpc_timeout=self.rpc_timeout))
        except WorkflowFailureError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError):
                return cause.type or "ApplicationError", cause.message
            return type(cause).__name__, str(cause)
        return "Failed", "the request failed"


async def _listed(execution: WorkflowExecution) -> Listed:
    """One listed workflow, from its memo (set by the bot at start) and its search attributes."""
    try:
        memo = await execution.memo()
    except (ValueError, TypeError, RuntimeError) as err:
        # A memo we can't decode only costs the subject line.
        log.info("memo of %s unreadable: %s", execution.id, err)
        memo = {}
    attributes = execution.typed_search_attributes
    phase = attributes.get(search_attributes.PHASE)
    return Listed(
        workflow_id=execution.id,
        kind=_KIND_OF_TYPE.get(execution.workflow_type or "", WorkflowKind.REPORT),
        running=execution.status == WorkflowExecutionStatus.RUNNING,
        subject=str(memo.get("subject", "")),
        requester_id=memo.get("requester_id") or attributes.get(search_attributes.REQUESTER),
        channel_id=memo.get("channel_id") or attributes.get(search_attributes.CHANNEL),
        started_at=execution.start_time,
        phase=_phase(phase),
        approvers=tuple(attributes.get(search_attributes.APPROVERS) or ()),
        pool_group=memo.get(MEMO_POOL_GROUP) or None,
    )


def _phase(value: str | None) -> Phase | None:
    try:
        return Phase(value) if value else None
    except ValueError:
        # A phase this bot does not know (a newer worker's): shown as unknown rather than failing the list.
        return None


def _update_name(update: UpdateMethodMultiParam[..., Any]) -> str:
    """The update's registered name, read from its definition (an attribute, cheap to read).

    Callers still pass the typed method (``ReportGenerationWorkflow.approve_draft``);
    ``execute_update`` given the method re-checks it against a runtime-checkable Protocol on
    every call, about a millisecond of CPU: a fifth of the bot's CPU under a burst of clicks
    (benchmarks, profiled with py-spy).
    """
    name = update._defn.name
    if name is None:
        raise TypeError(f"{update!r} is a dynamic update handler; it has no name to send")
    return name


def _no_worker(workflow_id: str, description: WorkflowExecutionDescription) -> str:
    status = description.status
    if status is None or status == WorkflowExecutionStatus.RUNNING:
        state = "It is safe in Temporal and goes on when a worker is back."
    else:
        state = f"Temporal has it as {status.name.lower().replace('_', ' ')}."
    return (
        f"No signoff worker is answering right now, so `{workflow_id}` cannot show its status. "
        f"{state} Nothing was changed; try again once a worker is running."
    )


def _not_recorded(seconds: float) -> str:
    return (
        f"Your decision was not recorded: no worker confirmed it within {seconds:g} s. "
        "The signoff worker may be down; try again once it is back."
    )


def _map_rpc_error(err: RPCError) -> GatewayError:
    status = err.status
    if status == RPCStatusCode.NOT_FOUND:
        message = str(err.message).lower()
        if "completed" in message or "closed" in message or "finished" in message:
            return Finished("This workflow has already finished; nothing was changed.")
        return NotFound(NO_SUCH_WORKFLOW)
    if status == RPCStatusCode.FAILED_PRECONDITION:
        return Finished("This workflow has already finished; nothing was changed.")
    if status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
        return Unreachable(UNREACHABLE)
    if status == RPCStatusCode.INVALID_ARGUMENT:
        return GatewayError(f"Temporal refused the request: {err.message}")
    if status == RPCStatusCode.UNIMPLEMENTED:
        return GatewayError("This Temporal server has no workflow visibility (listing); use `/report status <id>`.")
    log.warning("Temporal call failed: %s", err)
    return Unreachable(
        f"Temporal answered with an error ({status.name if status else 'unknown'}); nothing was changed."
    )
