"""``complete_workflow_step``: ends a Workflow Builder step (``functions.completeSuccess`` / ``completeError``).

Called by ``SignoffRequestWorkflow`` when a request the step started ends, however long after the step
began: with the worker's bot token (the step's own token is revoked 15 minutes after it was issued, or
once the step completes). Slack's failures are translated as every Slack activity's (``call_slack``):
rate limits and outages retried by the workflow's policy, deliberate refusals never.

Idempotent across attempts: Slack forgets an execution once it is completed and then answers
``function_execution_not_found`` (or ``execution_not_in_running_state``). On a later attempt that means
an earlier attempt completed it and was cut before hearing so: done. On the first attempt it means the
step was ended elsewhere (the workflow run was cancelled in Slack, or it is no step of this app's).
"""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient
from temporalio.exceptions import ApplicationError

from signoff.activities.context import Activity, current_step
from signoff.activities.slack import call_slack, slack_error_code
from signoff.contracts.workflow_step import COMPLETE_WORKFLOW_STEP, MAX_STEP_ERROR_CHARS, StepCompletion

# What Slack answers for an execution that is no longer running (completed, or ended in Slack).
GONE_ERRORS = frozenset({"function_execution_not_found", "execution_not_in_running_state"})


class WorkflowStepActivities:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    def by_name(self) -> dict[str, Activity]:
        return {COMPLETE_WORKFLOW_STEP: self.complete_workflow_step}

    async def complete_workflow_step(self, completion: StepCompletion) -> str:
        """ "completed", "failed" (completeError taken) or "already_ended" (a later attempt found it done)."""
        step = current_step()
        execution = completion.function_execution_id
        try:
            if completion.outputs is not None:
                method = "functions.completeSuccess"
                await call_slack(
                    method,
                    self._client.functions_completeSuccess(function_execution_id=execution, outputs=completion.outputs),
                )
                outcome = "completed"
            else:
                method = "functions.completeError"
                error = (completion.error or "")[:MAX_STEP_ERROR_CHARS]
                await call_slack(
                    method, self._client.functions_completeError(function_execution_id=execution, error=error)
                )
                outcome = "failed"
        except ApplicationError as err:
            if slack_error_code(err) in GONE_ERRORS and step.attempt > 1:
                step.logger.info("step %s: already ended (attempt %d)", execution, step.attempt)
                return "already_ended"
            raise
        step.logger.info("step %s: %s (attempt %d)", execution, outcome, step.attempt)
        return outcome
