"""Workflow Builder's "Request sign-off" step: ``function_executed`` for ``request_signoff``.

Bolt acks the event at once. The listener checks the step's inputs (a step that cannot work fails now,
through ``functions.completeError``, with a message Workflow Builder shows), then starts a
``SignoffRequest`` through the bot's one gateway under an id derived from the ``function_execution_id``:
a redelivered event finds it taken and starts nothing. From then on the workflow owns the step: it
completes or fails it when the request ends (``signoff.contracts.workflow_step``), however long that
takes and whatever restarts in between.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from pydantic import ValidationError
from signoff_client import MAX_WAIT_SECONDS, describe_invalid
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.fail.async_fail import AsyncFail

from bot.deps import Deps
from bot.gateway import AlreadyRunning, GatewayError, MaybeStarted
from signoff.contracts.workflow_io import WorkflowKind
from signoff.contracts.workflow_step import REQUEST_SIGNOFF_FUNCTION, WorkflowStepRequest, step_workflow_id

log = logging.getLogger(__name__)

SECONDS_PER_HOUR = 3600


class BadStepInput(ValueError):
    """An input the step cannot run with; the message is what Workflow Builder shows."""


def step_request(inputs: dict[str, Any], function_execution_id: str) -> WorkflowStepRequest:
    """The ``SignoffRequest`` input for one run of the step (``BadStepInput``: why it cannot run)."""
    approvers = inputs.get("approvers") or []
    channel = inputs.get("channel") or None
    if not isinstance(approvers, list) or not all(isinstance(user, str) for user in approvers):
        raise BadStepInput("approvers: must be a list of people")
    if not approvers and channel is None:
        raise BadStepInput(
            "Request sign-off needs approvers or a channel: choose the people who decide, "
            "or a channel whose members may decide"
        )
    request: dict[str, Any] = {
        "title": inputs.get("title"),
        "body": inputs.get("body"),
        "channel": channel,
        "approvers": approvers or None,
        "required_approvals": _whole_number(inputs.get("required_approvals", 1), "required_approvals"),
        "function_execution_id": function_execution_id,
    }
    deadline_hours = inputs.get("deadline_hours")
    if deadline_hours is not None:
        request["decision_deadline_seconds"] = _deadline_seconds(deadline_hours)
    try:
        return WorkflowStepRequest.model_validate(request)
    except ValidationError as err:
        raise BadStepInput(describe_invalid(err).replace("Invalid SignoffRequest", "Invalid step inputs")) from None


def _number(value: object, name: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadStepInput(f"{name}: must be {what}, not {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise BadStepInput(f"{name}: must be {what}, not {value!r}") from None
    if not math.isfinite(number):
        raise BadStepInput(f"{name}: must be {what}, not {value!r}")
    return number


def _whole_number(value: object, name: str) -> int:
    number = _number(value, name, "a whole number")
    if number != int(number) or number < 1:
        raise BadStepInput(f"{name}: must be a whole number of at least 1, not {value!r}")
    return int(number)


def _deadline_seconds(value: object) -> int:
    hours = _number(value, "deadline_hours", "a number of hours")
    if hours <= 0:
        raise BadStepInput(f"deadline_hours: must be more than 0 hours, not {value!r}")
    seconds = math.ceil(hours * SECONDS_PER_HOUR)
    if seconds > MAX_WAIT_SECONDS:
        raise BadStepInput(f"deadline_hours: {value} hours is longer than {MAX_WAIT_SECONDS // SECONDS_PER_HOUR} hours")
    return seconds


def register(app: AsyncApp, deps: Deps) -> None:
    @app.function(REQUEST_SIGNOFF_FUNCTION)
    async def request_signoff(body: dict[str, Any], event: dict[str, Any], fail: AsyncFail) -> None:
        # Bolt acked the event before this runs (auto_acknowledge).
        execution = str(event.get("function_execution_id") or "")
        team_id = str(body.get("team_id") or "")
        async with deps.follow_ups:
            try:
                request = step_request(event.get("inputs") or {}, execution)
            except BadStepInput as err:
                log.info("step %s refused: %s", execution, err)
                # With the step's own token (fresh: it was just issued), as Bolt's fail() does.
                await fail(error=str(err))
                return
            workflow_id = step_workflow_id(team_id, execution)
            memo = {
                "kind": WorkflowKind.REQUEST.value,
                "subject": request.title[:200],
                "channel_id": request.channel,
                "requester_id": None,
                "function_execution_id": execution,
            }
            try:
                await deps.gateway.start_request(workflow_id, request.model_dump(mode="json", exclude_none=True), memo)
                log.info("step %s started %s", execution, workflow_id)
            except AlreadyRunning:
                # Slack delivered the event again: the first delivery's request owns the step.
                log.info("step %s: %s already started", execution, workflow_id)
            except MaybeStarted:
                # Started or not, nothing more to do here: if it started, it completes the step.
                log.warning("step %s: the engine did not confirm %s", execution, workflow_id)
            except GatewayError as err:
                log.warning("step %s: could not start %s: %s", execution, workflow_id, err)
                await fail(error=f"signoff could not start the request ({err}); run the workflow again")
