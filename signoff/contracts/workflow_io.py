"""Data that crosses the workflow boundary: inputs, update payloads, progress.

Everything here is plain data (dataclasses and enums) so that the workflow
sandbox, the bot and the activities can share it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

# The client's (what callers hold to), re-exported for the app: the default task queue, the
# SignoffRequest workflow type, and the shortest and longest waits any duration may ask for.
from signoff_client import DEFAULT_TASK_QUEUE as DEFAULT_TASK_QUEUE
from signoff_client import MAX_WAIT as MAX_WAIT
from signoff_client import MIN_WAIT as MIN_WAIT
from signoff_client import SIGNOFF_REQUEST

from signoff.contracts.tool_calls import READ_ONLY_TOOLS, ToolCallRecord

MAX_TOPIC_CHARS = 500
MAX_NOTES_CHARS = 3000
# Slack's plain-text input holds at most 3,000 characters: an edit is at most that.
MAX_EDIT_CHARS = 3000


class WorkflowKind(StrEnum):
    REPORT = "report"
    PLAN = "plan"
    # A SignoffRequest: any workflow (or client) asking a person through signoff.
    REQUEST = "request"


# The workflow type (Temporal) or workflow name (DBOS) of each kind.
WORKFLOW_TYPES = {
    WorkflowKind.REPORT: "ReportGenerationWorkflow",
    WorkflowKind.PLAN: "ApprovalWorkflow",
    WorkflowKind.REQUEST: SIGNOFF_REQUEST,
}


class Phase(StrEnum):
    """What a workflow is doing now; ``get_status`` returns these values."""

    STARTING = "starting"
    RESEARCHING = "researching"
    WRITING = "writing"
    REVIEWING = "reviewing"
    PLANNING = "planning"
    PENDING_APPROVAL = "pending_approval"
    REVISING = "revising"
    EXECUTING = "executing"
    APPROVED = "approved"
    COMPLETED = "completed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    FAILED = "failed"
    # The run reached its token budget (SIGNOFF_TOKEN_BUDGET) and stopped; never approved.
    STOPPED = "stopped"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_PHASES


TERMINAL_PHASES = frozenset(
    {
        Phase.APPROVED,
        Phase.COMPLETED,
        Phase.REJECTED,
        Phase.EXPIRED,
        Phase.CANCELLED,
        Phase.FAILED,
        Phase.STOPPED,
    }
)


class DecisionKind(StrEnum):
    APPROVE = "approve"
    REQUEST_REVISION = "request_revision"
    REJECT = "reject"


class HandoffKind(StrEnum):
    """Who decides changes hands (not a decision on the draft): the gate's routing updates."""

    # A member of the pool (the channel, when no approvers are named) takes the request: the one decider.
    CLAIM = "claim"
    # The claimer hands it back to the pool.
    RELEASE = "release"
    # A decider hands their part to another person.
    DELEGATE = "delegate"
    # A decider steps out (away with nobody named): the other approvers, or the pool, decide.
    STEP_ASIDE = "step_aside"


class DraftState(StrEnum):
    """How a posted draft message is shown; only OPEN carries buttons."""

    OPEN = "open"
    SUPERSEDED = "superseded"
    APPROVED = "approved"
    REVISION_REQUESTED = "revision_requested"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


@dataclass
class SlackOrigin:
    """Where a request came from in Slack; the thread is created by the workflow."""

    team_id: str
    channel_id: str
    requester_id: str
    # The slash command's response_url: answers the requester where they typed the command even in a
    # channel the app is not in (Slack honours it 5 times within 30 minutes). None: started elsewhere.
    response_url: str | None = None


# Escalations after the last reminder; then the gate pings nobody else and waits for the deadline.
MAX_ESCALATIONS = 3


@dataclass
class ApprovalPolicy:
    """Who may decide, how many must agree, and how long the workflow waits."""

    # Slack user ids allowed to decide; empty means anyone but the requester.
    approvers: list[str] = field(default_factory=list)
    required_approvals: int = 1
    reminder_interval: timedelta = timedelta(hours=24)
    max_reminders: int = 3
    # A Slack user ("U…") or user group ("S…") mentioned on escalation.
    escalation_to: str | None = None
    # None waits forever.
    decision_deadline: timedelta | None = timedelta(days=7)
    # SIGNOFF_REQUIRE_REJECT_REASON: a rejection must say why.
    reject_reason_required: bool = False
    # SIGNOFF_APPROVER_GROUP: with no approvers named, a user group ("S…") is the pool instead of the
    # channel: its members decide, or one of them claims it.
    approver_group: str | None = None


@dataclass
class AgentModels:
    """Model name per agent; resolved by the worker's model provider."""

    research: str = "gpt-4.1"
    writer: str = "gpt-4.1"
    reviewer: str = "gpt-4.1"
    planner: str = "gpt-4.1"
    executor: str = "gpt-4.1"


@dataclass
class ModelPrice:
    """What a model costs, in USD per million tokens (SIGNOFF_MODEL_PRICES)."""

    model: str
    input_per_million: float
    output_per_million: float


@dataclass
class TokenUsage:
    """Model calls and tokens so far; ``cost_usd`` is an estimate, None when a model used has no price."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass
class WorkflowSettings:
    """Everything a workflow needs to know about its deployment, passed in, never read from env."""

    policy: ApprovalPolicy = field(default_factory=ApprovalPolicy)
    models: AgentModels = field(default_factory=AgentModels)
    max_review_rounds: int = 3
    # Where to post when a workflow was started without a Slack origin.
    default_channel: str | None = None
    # Agent tools that run without asking a person (SIGNOFF_AUTO_APPROVED_TOOLS); every other
    # tool call waits for the approvers. read_channel: on the plan's own conversation only.
    auto_approved_tools: list[str] = field(default_factory=lambda: list(READ_ONLY_TOOLS))
    # USD per million tokens per model, for the estimated cost (empty: no estimate).
    model_prices: list[ModelPrice] = field(default_factory=list)
    # Tokens a run may use (SIGNOFF_TOKEN_BUDGET); None: no limit.
    token_budget: int | None = None
    # Whether the namespace has signoff's search attributes registered, so the workflow may upsert
    # them (signoff.contracts.search_attributes). Not a setting: whoever builds these settings (the bot, the
    # worker's settings activity) asks the namespace. Upserting an unregistered one fails every
    # workflow task: the workflow would be stuck.
    search_attributes: bool = False


@dataclass
class ReportRequest:
    topic: str
    origin: SlackOrigin | None = None
    # None: the worker's settings are loaded once at start by an activity.
    settings: WorkflowSettings | None = None


@dataclass
class PlanRequest:
    task: str
    origin: SlackOrigin | None = None
    settings: WorkflowSettings | None = None


@dataclass
class ApproveInput:
    revision: int
    user_id: str
    team_id: str | None = None
    # Optional words from the approver, kept in the thread and the audit log.
    comment: str = ""
    # Edit & approve: the text the approver approves instead of the draft (where edits are allowed).
    edited_text: str | None = None
    # The conversation the bot found ``user_id`` a member of (Slack, just before sending), or None
    # (not checked: an older client). The validator counts it only when it is the request's channel;
    # with no approvers named, a decision without it is refused (signoff/contracts/access.py).
    member_of: str | None = None


@dataclass
class RevisionInput:
    revision: int
    user_id: str
    notes: str
    team_id: str | None = None
    # The conversation the bot found ``user_id`` a member of (Slack, just before sending), or None
    # (not checked: an older client). The validator counts it only when it is the request's channel;
    # with no approvers named, a decision without it is refused (signoff/contracts/access.py).
    member_of: str | None = None


@dataclass
class RejectInput:
    revision: int
    user_id: str
    reason: str = ""
    team_id: str | None = None
    # The conversation the bot found ``user_id`` a member of (Slack, just before sending), or None
    # (not checked: an older client). The validator counts it only when it is the request's channel;
    # with no approvers named, a decision without it is refused (signoff/contracts/access.py).
    member_of: str | None = None


@dataclass
class ClaimInput:
    """Claim (or, ``ReleaseInput``, release) a pooled request; ``member_of`` as for decisions."""

    revision: int
    user_id: str
    team_id: str | None = None
    member_of: str | None = None


@dataclass
class ReleaseInput:
    revision: int
    user_id: str
    team_id: str | None = None
    member_of: str | None = None


@dataclass
class DelegateInput:
    """Hand ``user_id``'s part in the request to ``to_user`` (``reason`` optional)."""

    revision: int
    user_id: str
    to_user: str
    reason: str = ""
    team_id: str | None = None
    member_of: str | None = None
    # The conversation the bot found ``to_user`` a member of (None: not checked): on a pooled
    # request the delegate must be in its channel, as any decider there.
    to_member_of: str | None = None


@dataclass
class StepAsideInput:
    """``user_id`` steps out of the request (away): the other approvers decide, or the pool again."""

    revision: int
    user_id: str
    reason: str = ""
    team_id: str | None = None
    member_of: str | None = None


@dataclass
class HandoffRecord:
    """One change of who decides, for the thread and the audit."""

    kind: HandoffKind
    user_id: str
    revision: int
    at: datetime
    # The delegate (DELEGATE only).
    to_user: str | None = None
    reason: str = ""


@dataclass
class DecisionReceipt:
    """What an accepted decision update returns to the clicker."""

    kind: DecisionKind
    revision: int
    approvals: list[str]
    required_approvals: int
    phase: Phase
    # Set when the update changed who decides instead (Claim, Release, Delegate); ``kind`` then means nothing.
    handoff: HandoffKind | None = None
    # Who decides after it (the claimer, or the named approvers with the delegate in place). A tuple: an
    # immutable default is a class attribute, so a receipt pickled before this field (DBOS) reads it too.
    deciders: tuple[str, ...] = ()

    @property
    def quorum_met(self) -> bool:
        return len(self.approvals) >= self.required_approvals


@dataclass
class DecisionRecord:
    kind: DecisionKind
    user_id: str
    revision: int
    at: datetime
    # The revision notes, the rejection reason, or the approver's comment.
    notes: str = ""
    # Approved with the approver's own edit of the text.
    edited: bool = False


@dataclass
class ReviewRound:
    revision: int
    round: int
    approved: bool
    feedback: str


@dataclass
class MessageRef:
    channel_id: str
    ts: str


@dataclass
class Progress:
    """The structured status the Slack commands and App Home show."""

    workflow_id: str
    kind: WorkflowKind
    subject: str
    phase: Phase
    requester_id: str | None
    approvers: list[str]
    required_approvals: int
    revision: int = 0
    review_rounds: list[ReviewRound] = field(default_factory=list)
    waiting_since: datetime | None = None
    reminders_sent: int = 0
    escalated: bool = False
    approvals: list[str] = field(default_factory=list)
    decisions: list[DecisionRecord] = field(default_factory=list)
    thread: MessageRef | None = None
    outcome: str | None = None
    # The agents' tool calls, in order (plans only).
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    # Every model call's tokens so far, summed.
    usage: TokenUsage = field(default_factory=TokenUsage)
    # The request's Slack channel (its thread's, once posted): who may see and decide depends on it.
    channel_id: str | None = None
    # The HTTP API key that asked (its name), for a SignoffRequest made through the API.
    api_key: str | None = None
    # Who decides now, when that differs from ``approvers``: the claimer of a pooled request, or the
    # approvers with delegates in their place. None: ``approvers`` (or the channel) decide.
    deciders: list[str] | None = None
    # Claims, releases and delegations, in order (the audit). A tuple: an immutable default is a class
    # attribute, so a Progress pickled before this field (a DBOS run's event) reads it too.
    handoffs: tuple[HandoffRecord, ...] = ()
    # When the open draft expires unless someone decides (None: no draft open, or no deadline).
    deadline: datetime | None = None
    # The user group whose members decide when nobody is named (signoff/contracts/access.py ``pool_of``);
    # None: the channel's members. An immutable default: a Progress pickled before this field reads it too.
    pool_group: str | None = None

    @property
    def decide_now(self) -> list[str]:
        """The named deciders the access rule applies (empty: the channel's members)."""
        return self.approvers if self.deciders is None else self.deciders


@dataclass
class DraftView:
    """Everything needed to render one draft revision and its decision controls."""

    workflow_id: str
    kind: WorkflowKind
    subject: str
    revision: int
    # Model markdown; converted and escaped here.
    body: str
    state: DraftState
    approvals: list[str] = field(default_factory=list)
    required_approvals: int = 1
    # Slack mrkdwn the caller made safe (e.g. "Approved by <@U1>").
    status_note: str = ""
    workflow_url: str | None = None
    # Which buttons the draft offers besides Approve and Reject.
    allow_revision: bool = True
    allow_edits: bool = False
    # The user group whose members decide (the pool), carried by the buttons so the bot checks it.
    pool_group: str | None = None
    # Routing (runs that took ROUTING_PATCH): Claim on a pooled request, Release for its claimer
    # (who it is: ``claimed_by``), Delegate for every decider.
    routing: bool = False
    claimable: bool = False
    claimed_by: str | None = None
