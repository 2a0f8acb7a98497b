"""What the "Request sign-off" Workflow Builder step (``bot.listeners.functions``), ``SignoffRequestWorkflow``
and the completing activity agree on.

Slack runs the step by sending ``function_executed`` (callback id ``request_signoff``) with the step's
inputs and a ``function_execution_id``; the bot starts a ``SignoffRequest`` whose input is the request
plus that id, under a workflow id derived from it (a redelivered event starts nothing new). When the
request ends, the workflow completes the step through ``functions.completeSuccess`` (the outputs below)
or ``functions.completeError`` (a message Workflow Builder shows), as an activity by name.

The step's own token (the event's ``bot_access_token``) is not kept: Slack revokes it when the step
completes or 15 minutes after it was issued, and a sign-off takes longer. The worker completes with
its bot token, which ``functions.completeSuccess`` / ``completeError`` accept with no scope.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from pydantic import Field
from signoff_client import SignoffRequestInput

from signoff.contracts.activity_io import SLACK_RETRY_POLICY, SLACK_START_TO_CLOSE

REQUEST_SIGNOFF_FUNCTION = "request_signoff"
COMPLETE_WORKFLOW_STEP = "complete_workflow_step"
# Slack's function execution ids: Fx…
FUNCTION_EXECUTION_ID_PATTERN = r"^Fx[A-Z0-9]{6,}$"
# Workflow Builder shows the error to the person who ran the workflow; keep it to a readable length.
MAX_STEP_ERROR_CHARS = 1000
# One Slack call, retried as every Slack call of the workflows: until Slack takes it (Slack down for an
# hour must not lose the step's end); a deliberate refusal (the execution is gone, the outputs refused) never.
COMPLETE_STEP_START_TO_CLOSE = SLACK_START_TO_CLOSE
COMPLETE_STEP_RETRY_POLICY = SLACK_RETRY_POLICY


class WorkflowStepRequest(SignoffRequestInput):
    """``SignoffRequest``'s input as the Workflow Builder step starts it (told apart by ``function_execution_id``)."""

    function_execution_id: str = Field(pattern=FUNCTION_EXECUTION_ID_PATTERN)


def function_execution_of(request: dict[str, Any]) -> str | None:
    """The ``function_execution_id`` of a workflow input the step started, else None (read before validation,
    so a request refused as invalid still fails its step)."""
    value = request.get("function_execution_id")
    return value if isinstance(value, str) and value else None


def step_workflow_id(team_id: str, function_execution_id: str) -> str:
    """The one workflow id of a step's run: a redelivered ``function_executed`` finds it taken."""
    digest = hashlib.sha256(f"{team_id}:{function_execution_id}".encode()).hexdigest()[:40]
    return f"step-{digest}"


@dataclass(frozen=True)
class StepCompletion:
    """How one step ends: ``outputs`` (``functions.completeSuccess``) or ``error`` (``functions.completeError``)."""

    function_execution_id: str
    outputs: dict[str, Any] | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        if (self.outputs is None) == (self.error is None):
            raise ValueError("a step ends with outputs or with an error, exactly one")
