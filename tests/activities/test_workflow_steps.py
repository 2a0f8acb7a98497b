"""complete_workflow_step against the sandbox: the step's end reaches Slack once, a retry after a lost answer
finds it done, Slack's outages are retried and its refusals are not."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError

from signoff.activities.workflow_steps import WorkflowStepActivities
from signoff.contracts.activity_io import SLACK_PERMANENT_ERROR, SLACK_TRANSIENT_ERROR
from signoff.contracts.workflow_step import StepCompletion
from signoff.sandbox import SlackSandbox
from signoff.slack.client import slack_client
from tests.support.slack import APPROVER_1, CHANNEL, REQUESTER
from tests.support.steps import Attempt

INPUTS = {"title": "Ship it", "body": "Release notes", "approvers": [APPROVER_1], "channel": CHANNEL}
OUTPUTS = {"outcome": "approved", "decided_by": [APPROVER_1], "notes": "", "text": "Release notes"}


def _activities(sb: SlackSandbox) -> WorkflowStepActivities:
    # The worker's bot token, never the run's workflow token.
    return WorkflowStepActivities(slack_client(sb.bot_token, sb.api_url))


async def test_outputs_complete_the_step(sb: SlackSandbox) -> None:
    execution = sb.functions.start("request_signoff", REQUESTER, INPUTS)
    done = await Attempt(1).run(_activities(sb).complete_workflow_step, StepCompletion(execution.id, outputs=OUTPUTS))
    assert done == "completed"
    assert (execution.status, execution.outputs) == ("completed", OUTPUTS)


async def test_an_error_fails_the_step_with_the_message_cut_to_a_readable_length(sb: SlackSandbox) -> None:
    execution = sb.functions.start("request_signoff", REQUESTER, INPUTS)
    failed = await Attempt(1).run(
        _activities(sb).complete_workflow_step, StepCompletion(execution.id, error="x" * 5000)
    )
    assert failed == "failed"
    assert execution.status == "failed" and execution.error == "x" * 1000


async def test_a_retry_after_the_completion_went_through_is_done_not_a_second_completion(sb: SlackSandbox) -> None:
    execution = sb.functions.start("request_signoff", REQUESTER, INPUTS)
    activities = _activities(sb)
    completion = StepCompletion(execution.id, outputs=OUTPUTS)
    await Attempt(1).run(activities.complete_workflow_step, completion)
    # The first attempt's answer was lost (worker crash): the next attempt finds Slack done with it.
    assert await Attempt(2).run(activities.complete_workflow_step, completion) == "already_ended"
    assert execution.completions == ["functions.completeSuccess"]


async def test_a_step_ended_elsewhere_is_a_permanent_failure_on_the_first_attempt(sb: SlackSandbox) -> None:
    with pytest.raises(ApplicationError) as raised:
        await Attempt(1).run(_activities(sb).complete_workflow_step, StepCompletion("Fx0GONE00000", outputs=OUTPUTS))
    assert raised.value.type == SLACK_PERMANENT_ERROR and raised.value.non_retryable
    assert "function_execution_not_found" in str(raised.value)


async def test_slack_down_is_retried_and_refused_outputs_are_not(sb: SlackSandbox) -> None:
    execution = sb.functions.start("request_signoff", REQUESTER, INPUTS)
    activities = _activities(sb)
    sb.faults.fail("functions.completeSuccess", status=503)
    with pytest.raises(ApplicationError) as raised:
        await Attempt(1).run(activities.complete_workflow_step, StepCompletion(execution.id, outputs=OUTPUTS))
    assert raised.value.type == SLACK_TRANSIENT_ERROR and not raised.value.non_retryable
    with pytest.raises(ApplicationError) as refused:
        await Attempt(2).run(
            activities.complete_workflow_step, StepCompletion(execution.id, outputs={"outcome": "approved"})
        )
    assert refused.value.type == SLACK_PERMANENT_ERROR and "parameter_validation_failed" in str(refused.value)
    assert execution.status == "running"
