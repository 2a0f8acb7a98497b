"""What the deploy workflow, its activities and its starter exchange: plain dataclasses (JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from signoff_client import DEFAULT_TASK_QUEUE

# This example's own task queue; signoff's worker listens on its own (``agent-workflows``).
TASK_QUEUE = "deploy-example"
SIGNOFF_TASK_QUEUE = DEFAULT_TASK_QUEUE

# How a deployment ended: signoff's outcomes, or "not_asked" when signoff refused the request
# itself (a bad field, or a channel the app is not in).
Outcome = Literal["approved", "rejected", "revision_requested", "expired", "not_asked"]


@dataclass
class DeployRequest:
    service: str
    version: str
    # What changed since the running version (e.g. merged pull requests' titles).
    changes: list[str]
    # Where to ask (a Slack conversation id, C…) and who: Slack user ids.
    channel: str
    requester: str
    approvers: list[str]
    environment: str = "production"
    previous_version: str | None = None
    # None: the signoff worker's settings (SIGNOFF_REMINDER_INTERVAL, SIGNOFF_DECISION_DEADLINE).
    reminder_interval_seconds: int | None = None
    decision_deadline_seconds: int | None = None
    signoff_task_queue: str = SIGNOFF_TASK_QUEUE


@dataclass
class ChangeSummary:
    title: str
    # Markdown: what the approvers read, and may edit before approving.
    release_notes: str


@dataclass
class Deployment:
    # The idempotency key: one deployment per id, however often the activity is retried.
    deployment_id: str
    service: str
    version: str
    environment: str
    # The release notes as approved: the approver's edit, if they made one.
    release_notes: str
    approved_by: list[str]


@dataclass
class DeployResult:
    deployed: bool
    outcome: Outcome
    # Why it stopped (rejection reason, revision notes, expiry, refusal), or the approvers' comments.
    reason: str
    # The approved release notes (empty unless deployed), and whether an approver edited them.
    release_notes: str = ""
    notes_edited: bool = False
    decided_by: list[str] = field(default_factory=list)
    deployment_id: str | None = None
    # The sign-off's workflow id (`signoff audit <id>` prints its decision log).
    signoff_workflow_id: str = ""
