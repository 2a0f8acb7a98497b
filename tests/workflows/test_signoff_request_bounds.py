"""A SignoffRequest whose quorum only its requester could complete fails at once with
InvalidSignoffRequest, and nothing is posted (time-skipping server). The request's own fields are
checked in ``test_signoff_request.py``; this is the worker's SIGNOFF_APPROVERS, known only there."""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment

from signoff.sandbox import SlackSandbox
from tests.support.slack import CHANNEL, REQUESTER
from tests.workflows.test_signoff_request import DEPLOY, caller


async def test_the_workers_approvers_must_leave_someone_besides_the_requester(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    # The request names no approvers: the worker's hold only its requester, who may not approve.
    request = {key: value for key, value in DEPLOY.items() if key != "approvers"}
    async with caller(time_env, slack, approvers=[REQUESTER]) as ask:
        parent, _ = await ask(request)
        result = await parent.result()
    assert result["type"] == "InvalidSignoffRequest", result
    assert "required_approvals" in result["error"] and "other than the requester" in result["error"], result
    assert slack.messages(CHANNEL) == []
