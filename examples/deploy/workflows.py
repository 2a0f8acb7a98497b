"""DeployWorkflow: summarize the changes, ask for sign-off in Slack, deploy only when approved.

The sign-off is signoff's ``SignoffRequest`` workflow, run as a child on signoff's task queue
(``request_signoff``). The approvers may edit the release notes before approving (``allow_edits``):
what is deployed is what they approved. Anything but an approval stops the deploy with the reason.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError, ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from signoff_client import (
        INVALID_REQUEST,
        NOT_IN_CHANNEL,
        SignoffRequestInput,
        SignoffResult,
        request_signoff,
    )

    from examples.deploy.activities import DeployActivities, summarize_changes
    from examples.deploy.shared import Deployment, DeployRequest, DeployResult

# Signoff refused the request itself: asking again as it is would fail the same way.
REFUSED = (INVALID_REQUEST, NOT_IN_CHANNEL)


@workflow.defn
class DeployWorkflow:
    @workflow.run
    async def run(self, request: DeployRequest) -> DeployResult:
        summary = await workflow.execute_activity(
            summarize_changes, request, start_to_close_timeout=timedelta(seconds=30)
        )
        deploy_id = workflow.info().workflow_id
        signoff_id = f"{deploy_id}-signoff"
        try:
            answer = await request_signoff(
                SignoffRequestInput(
                    title=summary.title,
                    body=summary.release_notes,
                    channel=request.channel,
                    requester=request.requester,
                    approvers=request.approvers,
                    reminder_interval_seconds=request.reminder_interval_seconds,
                    decision_deadline_seconds=request.decision_deadline_seconds,
                    allow_edits=True,
                    metadata={"deploy_workflow_id": deploy_id, "service": request.service, "version": request.version},
                ),
                id=signoff_id,
                task_queue=request.signoff_task_queue,
                # Should this deploy be terminated or time out, the sign-off is cancelled (its buttons
                # removed), not terminated with its buttons still live in Slack.
                parent_close_policy=ParentClosePolicy.REQUEST_CANCEL,
            )
        except ChildWorkflowError as err:
            # A cancelled deploy cancels its sign-off (the buttons go) and ends as cancelled: re-raised.
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type in REFUSED:
                workflow.logger.warning("Sign-off refused the request: %s", cause.message)
                return DeployResult(
                    deployed=False, outcome="not_asked", reason=cause.message, signoff_workflow_id=signoff_id
                )
            raise

        if answer.outcome != "approved":
            reason = why_not(answer)
            workflow.logger.info("Not deploying %s %s: %s", request.service, request.version, reason)
            return DeployResult(
                deployed=False,
                outcome=answer.outcome,
                reason=reason,
                decided_by=answer.decided_by,
                signoff_workflow_id=signoff_id,
            )

        deployment = await workflow.execute_activity_method(
            DeployActivities.deploy,
            Deployment(
                deployment_id=f"{deploy_id}:{request.service}@{request.version}",
                service=request.service,
                version=request.version,
                environment=request.environment,
                release_notes=answer.text,
                approved_by=answer.decided_by,
            ),
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=RetryPolicy(maximum_attempts=5),
        )
        return DeployResult(
            deployed=True,
            outcome="approved",
            reason=answer.notes,
            release_notes=deployment.release_notes,
            notes_edited=answer.edited,
            decided_by=answer.decided_by,
            deployment_id=deployment.deployment_id,
            signoff_workflow_id=signoff_id,
        )


def why_not(answer: SignoffResult) -> str:
    """Why the deploy stops, in one line, from the sign-off's answer."""
    who = ", ".join(answer.decided_by) or "nobody"
    notes = answer.notes.strip()
    if answer.outcome == "rejected":
        return f"rejected by {who}: {notes}" if notes else f"rejected by {who} (no reason given)"
    if answer.outcome == "revision_requested":
        return f"changes requested by {who}: {notes}"
    return "expired: no decision before the sign-off's deadline"
