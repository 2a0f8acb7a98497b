"""The "Request sign-off" Workflow Builder step on both engines, through the sandbox as Slack: a run of
the step starts one SignoffRequest, and the request's end completes the step (functions.completeSuccess
with its outputs, or functions.completeError with a message Workflow Builder shows), exactly once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from signoff.contracts.workflow_io import Phase
from signoff.contracts.workflow_step import step_workflow_id
from signoff.sandbox import SlackSandbox
from signoff.sandbox.functions import FunctionExecution
from signoff.slack import action_ids
from tests.support.bot import RunningBot, bot_settings
from tests.support.engines import REQUEST_ENGINES, phase_of, stack_on
from tests.support.slack import APPROVER_1, APPROVER_2, CHANNEL, REQUESTER, draft_messages

WATERCOOLER = "C0WATERCO"  # the app is not in it
INPUTS: dict[str, Any] = {
    "title": "Ship payments-api v2.3.1",
    "body": "Retry idempotency keys. Rollback: deploy v2.3.0",
    "approvers": [APPROVER_1, APPROVER_2],
    "channel": CHANNEL,
}


@pytest.fixture(params=REQUEST_ENGINES)
async def stack(
    time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[RunningBot]:
    settings = bot_settings(slack)
    async with stack_on(
        str(request.param), slack, settings, temporal_client=time_env.client, tmp_path=tmp_path, request=request
    ) as bot:
        yield bot


async def _ended(slack: SlackSandbox, execution: FunctionExecution) -> FunctionExecution:
    return await slack.wait_for(lambda: execution if execution.status != "running" else None, timeout=60)


async def _waiting_draft(slack: SlackSandbox, bot: RunningBot, execution: FunctionExecution) -> tuple[str, dict]:
    workflow_id = step_workflow_id(slack.workspace.team_id, execution.id)
    progress = await phase_of(bot, workflow_id, Phase.PENDING_APPROVAL)
    thread = progress.thread
    assert thread is not None
    thread_ts = thread.ts
    drafts = await slack.wait_for(lambda: draft_messages(slack, thread_ts))
    return workflow_id, drafts[-1]


async def test_an_approval_completes_the_step_with_its_outputs(stack: RunningBot, slack: SlackSandbox) -> None:
    execution, delivered = await slack.run_workflow_step(REQUESTER, INPUTS)
    assert delivered is not None and delivered.acked
    _, draft = await _waiting_draft(slack, stack, execution)
    await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)
    await _ended(slack, execution)
    assert execution.status == "completed"
    assert execution.outputs == {"outcome": "approved", "decided_by": [APPROVER_1], "notes": "", "text": INPUTS["body"]}
    assert execution.completions == ["functions.completeSuccess"]


async def test_a_rejection_completes_the_step_and_a_redelivery_starts_nothing(
    stack: RunningBot, slack: SlackSandbox
) -> None:
    execution, _ = await slack.run_workflow_step(REQUESTER, {**INPUTS, "required_approvals": 2, "deadline_hours": 24})
    _, draft = await _waiting_draft(slack, stack, execution)
    # Slack delivers the same run again (a retry of an event it thinks was not acked): one request, one thread.
    again = await slack.send_event(slack.functions.event(execution, "A0SIGNOFF"))
    assert again.acked
    await slack.click_button(APPROVER_2, CHANNEL, draft["ts"], action_ids.REJECT)
    [modal] = await slack.wait_for(lambda: slack.open_views(APPROVER_2))
    await slack.submit_view(APPROVER_2, modal["id"], {action_ids.REASON_BLOCK: {action_ids.REASON_INPUT: "Not today"}})
    await _ended(slack, execution)
    assert execution.outputs is not None
    assert (execution.outputs["outcome"], execution.outputs["decided_by"]) == ("rejected", [APPROVER_2])
    assert execution.completions == ["functions.completeSuccess"]
    parents = [m for m in slack.messages(CHANNEL) if m.get("thread_ts") or m.get("reply_count")]
    assert len(parents) == 1, parents


async def test_a_cancelled_request_fails_the_step(stack: RunningBot, slack: SlackSandbox) -> None:
    execution, _ = await slack.run_workflow_step(REQUESTER, INPUTS)
    workflow_id, _ = await _waiting_draft(slack, stack, execution)
    await stack.deps.gateway.cancel(workflow_id)
    await _ended(slack, execution)
    assert execution.status == "failed"
    assert execution.error is not None and "cancelled" in execution.error
    assert execution.completions == ["functions.completeError"]


async def test_a_channel_the_app_is_not_in_fails_the_step_with_the_reason(
    stack: RunningBot, slack: SlackSandbox
) -> None:
    execution, _ = await slack.run_workflow_step(REQUESTER, {**INPUTS, "channel": WATERCOOLER})
    await _ended(slack, execution)
    assert execution.status == "failed"
    assert execution.error is not None and "not_in_channel" in execution.error and "/invite" in execution.error
    assert slack.messages(WATERCOOLER) == [] or all(m.get("user") != "U0SIGNOFF" for m in slack.messages(WATERCOOLER))
