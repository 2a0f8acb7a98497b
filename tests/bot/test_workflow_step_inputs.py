"""Bad input to the "Request sign-off" step: the step fails at once with a message Workflow Builder shows
(Bolt's fail(): functions.completeError with the run's own token), and nothing is started or posted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from bot.gateway import NotFound, Unreachable
from bot.listeners.functions import BadStepInput, step_request
from signoff.contracts.workflow_step import step_workflow_id
from signoff.sandbox import SlackSandbox
from tests.support.bot import RunningBot, bot_settings
from tests.support.engines import running_stack
from tests.support.slack import APPROVER_1, APPROVER_2, CHANNEL, REQUESTER

INPUTS: dict[str, Any] = {"title": "Ship it", "body": "Release notes", "approvers": [APPROVER_1], "channel": CHANNEL}
EXECUTION = "Fx0TESTRUN01"

BAD: list[tuple[dict[str, Any], str]] = [
    ({"title": "Ship it", "body": "Release notes"}, "needs approvers or a channel"),
    ({**INPUTS, "required_approvals": 0}, "required_approvals: must be a whole number of at least 1"),
    ({**INPUTS, "required_approvals": 2}, "only 1 approvers are listed"),
    ({**INPUTS, "deadline_hours": -1}, "deadline_hours: must be more than 0 hours"),
    ({**INPUTS, "deadline_hours": 24 * 366 * 11}, "deadline_hours: "),
    ({**INPUTS, "title": "   "}, "title: must not be empty"),
]


@pytest.mark.parametrize(("inputs", "reason"), BAD)
def test_bad_inputs_are_refused_with_the_reason(inputs: dict[str, Any], reason: str) -> None:
    with pytest.raises(BadStepInput, match=reason.replace("(", r"\(")):
        step_request(inputs, EXECUTION)


def test_good_inputs_make_the_request() -> None:
    request = step_request({**INPUTS, "approvers": [APPROVER_1, APPROVER_2], "deadline_hours": 1.5}, EXECUTION)
    assert request.decision_deadline_seconds == 5400
    assert request.function_execution_id == EXECUTION
    assert step_request({**INPUTS, "approvers": []}, EXECUTION).approvers is None  # the channel decides


@pytest.fixture
async def stack(time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path) -> AsyncIterator[RunningBot]:
    async with running_stack(
        "temporal", slack, bot_settings(slack), temporal_client=time_env.client, tmp_path=tmp_path
    ) as bot:
        yield bot


@pytest.mark.parametrize(("inputs", "reason"), [BAD[0], BAD[1], BAD[3]])
async def test_a_bad_step_fails_in_workflow_builder_and_starts_nothing(
    stack: RunningBot, slack: SlackSandbox, inputs: dict[str, Any], reason: str
) -> None:
    before = len(slack.messages(CHANNEL))
    execution, delivered = await slack.run_workflow_step(REQUESTER, inputs)
    assert delivered is not None and delivered.acked
    await slack.wait_for(lambda: execution.status != "running", timeout=30)
    assert execution.status == "failed" and execution.error is not None and reason in execution.error
    assert execution.completions == ["functions.completeError"]
    with pytest.raises(NotFound):
        await stack.deps.gateway.request_record(step_workflow_id(slack.workspace.team_id, execution.id))
    assert len(slack.messages(CHANNEL)) == before


async def test_an_engine_that_cannot_be_reached_fails_the_step_saying_to_run_it_again(
    stack: RunningBot, slack: SlackSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable(*args: object) -> None:
        raise Unreachable("Temporal at localhost:7233 did not answer")

    monkeypatch.setattr(stack.deps.gateway, "start_request", unreachable)
    execution, _ = await slack.run_workflow_step(REQUESTER, INPUTS)
    await slack.wait_for(lambda: execution.status != "running", timeout=30)
    assert execution.error is not None and "run the workflow again" in execution.error
