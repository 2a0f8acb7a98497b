"""Record one workflow history per path into tests/histories/, for the replay test.

Run after an intended change to workflow code (and commit the new files):

    .venv/bin/python -m tests.support.record_histories [scenario ...]

Name the scenarios of the new paths: the committed histories of the others stay as they are.

A replay failure against the committed histories means a change would break
workflows already running in production: version it with ``workflow.patched``. Before
re-recording after such a patch, copy the histories its old branch runs into
``tests/histories/before-<patch id>/``: they stay, and keep proving that workflows started
before the patch still replay.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from agents.models.interface import ModelProvider
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from signoff.config.settings import Settings
from signoff.contracts.tool_calls import ForwardInput, ToolCallState, ToolDecisionInput
from signoff.contracts.workflow_io import (
    ApprovalPolicy,
    ApproveInput,
    ModelPrice,
    Phase,
    PlanRequest,
    RejectInput,
    ReportRequest,
    RevisionInput,
    SlackOrigin,
    WorkflowSettings,
)
from signoff.sandbox import SlackSandbox
from tests.support.api import CI_KEY
from tests.support.models import ScriptedExecutorProvider
from tests.support.paths import HISTORIES
from tests.support.slack import (
    APPROVALS_CHANNEL,
    APPROVER_1,
    APPROVER_2,
    CHANNEL,
    LEADS,
    ORIGIN,
    REQUESTER,
    deploy_request,
)
from tests.support.temporal import closed, running_worker, start_time_skipping, wait_for_phase, with_agents_plugin
from tests.support.waiting import eventually
from tests.support.webhooks import receiver
from workflows import ApprovalWorkflow, ReportGenerationWorkflow, SignoffRequestWorkflow

Scenario = Callable[[Client, WorkflowEnvironment, WorkflowSettings, str], Awaitable[WorkflowHandle]]


async def _pending(client: Client, run: Any, request: ReportRequest | PlanRequest, queue: str) -> WorkflowHandle:
    """Start a workflow and wait until its draft waits for a decision."""
    handle = await client.start_workflow(run, request, id=f"replay-{uuid.uuid4()}", task_queue=queue)
    await wait_for_phase(handle, Phase.PENDING_APPROVAL)
    return handle


async def _report(client: Client, settings: WorkflowSettings, queue: str) -> WorkflowHandle:
    request = ReportRequest(topic="Replay coverage for signoff", origin=ORIGIN, settings=settings)
    return await _pending(client, ReportGenerationWorkflow.run, request, queue)


async def report_approve(client, env, settings, queue):
    handle = await _report(client, settings, queue)
    await handle.execute_update(ReportGenerationWorkflow.approve_draft, ApproveInput(1, APPROVER_1, member_of=CHANNEL))
    return handle


async def report_revise_then_approve(client, env, settings, queue):
    handle = await _report(client, settings, queue)
    await handle.execute_update(
        ReportGenerationWorkflow.request_draft_revision,
        RevisionInput(1, APPROVER_1, "Cover the costs too", member_of=CHANNEL),
    )

    async def revision_two() -> bool:
        return (await handle.query(ReportGenerationWorkflow.progress)).revision == 2

    await eventually(revision_two)
    await wait_for_phase(handle, Phase.PENDING_APPROVAL)
    await handle.execute_update(ReportGenerationWorkflow.approve_draft, ApproveInput(2, APPROVER_2, member_of=CHANNEL))
    return handle


async def report_reject(client, env, settings, queue):
    handle = await _report(client, settings, queue)
    await handle.execute_update(
        ReportGenerationWorkflow.reject_draft, RejectInput(1, APPROVER_1, "Not now", member_of=CHANNEL)
    )
    return handle


async def report_expire(client, env, settings, queue):
    return await _report(client, settings, queue)  # the time-skipping server runs it to the deadline


async def report_cancel(client, env, settings, queue):
    handle = await _report(client, settings, queue)
    await handle.cancel()
    return handle


async def report_quorum(client, env, settings, queue):
    handle = await _report(client, settings, queue)
    await handle.execute_update(ReportGenerationWorkflow.approve_draft, ApproveInput(1, APPROVER_1, member_of=CHANNEL))
    await handle.execute_update(ReportGenerationWorkflow.approve_draft, ApproveInput(1, APPROVER_2, member_of=CHANNEL))
    return handle


async def report_edit_approve(client, env, settings, queue):
    handle = await _report(client, settings, queue)
    draft = await handle.query(ReportGenerationWorkflow.current_draft)
    edited = draft.replace("## Summary", "## Summary (edited)") + "\n## Budget\n- 40,000 EUR per farm"
    await handle.execute_update(
        ReportGenerationWorkflow.approve_draft,
        ApproveInput(1, APPROVER_1, comment="Added the budget", edited_text=edited, member_of=CHANNEL),
    )
    return handle


async def report_article_signal(client, env, settings, queue):
    handle = await client.start_workflow(
        ReportGenerationWorkflow.run, "Article topic", id=f"replay-{uuid.uuid4()}", task_queue=queue
    )
    await handle.signal(ReportGenerationWorkflow.approve)
    return handle


async def report_thread_refused(client, env, settings, queue):
    # A channel Slack does not know: no thread, so the requester is told (by DM) and the workflow fails.
    nowhere = SlackOrigin(team_id=ORIGIN.team_id, channel_id="C0NOWHERE", requester_id=ORIGIN.requester_id)
    return await client.start_workflow(
        ReportGenerationWorkflow.run,
        ReportRequest(topic="Replay coverage for signoff", origin=nowhere, settings=settings),
        id=f"replay-{uuid.uuid4()}",
        task_queue=queue,
    )


async def report_budget_stopped(client, env, settings, queue):
    # A one-token budget with a price table: the research runs, then the run stops (token-budget patch).
    limited = dataclasses.replace(settings, token_budget=1, model_prices=[ModelPrice("gpt-4.1", 2.0, 8.0)])
    request = ReportRequest(topic="Replay coverage for signoff", origin=ORIGIN, settings=limited)
    return await client.start_workflow(
        ReportGenerationWorkflow.run, request, id=f"replay-{uuid.uuid4()}", task_queue=queue
    )


async def _request(client: Client, queue: str, **fields: Any) -> WorkflowHandle:
    """A SignoffRequest started by name with plain JSON, as any caller would; waits for its draft."""
    handle = await client.start_workflow(
        "SignoffRequest", deploy_request(**fields), id=f"replay-{uuid.uuid4()}", task_queue=queue, result_type=dict
    )
    await wait_for_phase(handle, Phase.PENDING_APPROVAL)
    return handle


async def request_approve(client, env, settings, queue):
    handle = await _request(client, queue)
    await handle.execute_update(
        SignoffRequestWorkflow.approve_draft,
        ApproveInput(1, APPROVER_1, comment="Ship it after 14:00", member_of=CHANNEL),
    )
    return handle


async def request_revision_requested(client, env, settings, queue):
    handle = await _request(client, queue)
    await handle.execute_update(
        SignoffRequestWorkflow.request_draft_revision,
        RevisionInput(1, APPROVER_2, "Add the rollback plan", member_of=CHANNEL),
    )
    return handle


async def request_expire(client, env, settings, queue):
    # A reminder, then the deadline: the time-skipping server runs it out.
    return await _request(client, queue, reminder_interval_seconds=3600, decision_deadline_seconds=2 * 3600)


async def request_cancel(client, env, settings, queue):
    handle = await _request(client, queue)
    await handle.cancel()
    return handle


# The sandbox ``record`` runs the scenarios against (request_workflow_step runs a step in it).
_recording: dict[str, SlackSandbox] = {}


async def request_workflow_step(client, env, settings, queue):
    # Started by the Workflow Builder step: once approved, the workflow completes the step in Slack.
    execution = _recording["slack"].functions.start(
        "request_signoff", REQUESTER, {"title": "Deploy", "body": "Deploy it", "channel": CHANNEL}
    )
    handle = await _request(client, queue, function_execution_id=execution.id)
    await handle.execute_update(SignoffRequestWorkflow.approve_draft, ApproveInput(1, APPROVER_1, member_of=CHANNEL))
    await closed(handle)
    assert execution.completions == ["functions.completeSuccess"], execution
    return handle


async def request_api_webhook(client, env, settings, queue):
    # Made through the HTTP API: its key's name and a callback_url, POSTed to (signed) once approved.
    async with receiver() as hook:
        handle = await _request(client, queue, api_key=CI_KEY.name, callback_url=hook.base + "/hook")
        await handle.execute_update(
            SignoffRequestWorkflow.approve_draft, ApproveInput(1, APPROVER_1, member_of=CHANNEL)
        )
        await closed(handle)
        assert len(hook.received) == 1, hook.received
    return handle


async def request_tool_call_denied(client, env, settings, queue):
    # A call of signoff mcp-proxy's: its tool-call message, denied, then closed by the proxy (told).
    call = {"tool": "post_message", "arguments": {"channel": "#ops", "text": "1"}, "agent": "an agent"}
    handle = await _request(client, queue, api_key=CI_KEY.name, tool_call=call)
    await _call_waiting(handle, 1)
    await handle.execute_update(
        SignoffRequestWorkflow.deny_tool_call, ToolDecisionInput(1, APPROVER_1, reason="No", member_of=CHANNEL)
    )
    await eventually(lambda: handle.query(SignoffRequestWorkflow.answer))
    await handle.execute_update(
        SignoffRequestWorkflow.finish_tool_call, ForwardInput(1, CI_KEY.name, ok=False, summary="the caller was told")
    )
    return handle


async def _plan(client: Client, settings: WorkflowSettings, queue: str) -> WorkflowHandle:
    request = PlanRequest(task="Rotate the API keys", origin=ORIGIN, settings=settings)
    return await _pending(client, ApprovalWorkflow.run, request, queue)


async def plan_approve(client, env, settings, queue):
    handle = await _plan(client, settings, queue)
    await handle.execute_update(ApprovalWorkflow.approve_draft, ApproveInput(1, APPROVER_1, member_of=CHANNEL))
    return handle


async def plan_decline(client, env, settings, queue):
    handle = await _plan(client, settings, queue)
    await handle.signal(ApprovalWorkflow.decide, args=["plan_approval", "declined"])
    return handle


async def plan_budget_stopped(client, env, settings, queue):
    # The planner's run uses the one-token budget: once approved, the executor never starts.
    limited = dataclasses.replace(settings, token_budget=1)
    request = PlanRequest(task="Replay coverage for plans", origin=ORIGIN, settings=limited)
    handle = await _pending(client, ApprovalWorkflow.run, request, queue)
    await handle.execute_update(ApprovalWorkflow.approve_draft, ApproveInput(1, APPROVER_1, member_of=CHANNEL))
    return handle


async def _tool_calls_waiting(handle: WorkflowHandle, count: int) -> None:
    async def waiting() -> bool:
        calls = (await handle.query(ApprovalWorkflow.progress)).tool_calls
        return sum(call.state is ToolCallState.PENDING for call in calls) == count

    await eventually(waiting)


async def _call_waiting(handle: WorkflowHandle, number: int) -> None:
    async def waiting() -> bool:
        calls = (await handle.query(ApprovalWorkflow.progress)).tool_calls
        return any(call.call_number == number and call.state is ToolCallState.PENDING for call in calls)

    await eventually(waiting)


async def _executing(client: Client, settings: WorkflowSettings, queue: str, task: str, calls: int) -> WorkflowHandle:
    """A plan whose executor waits for a person on ``calls`` tool calls."""
    request = PlanRequest(task=task, origin=ORIGIN, settings=settings)
    handle = await _pending(client, ApprovalWorkflow.run, request, queue)
    await handle.execute_update(ApprovalWorkflow.approve_draft, ApproveInput(1, APPROVER_1, member_of=CHANNEL))
    await _tool_calls_waiting(handle, calls)
    return handle


async def plan_tool_allow(client, env, settings, queue):
    handle = await _executing(client, settings, queue, "Announce the offsite in #random", 1)
    await handle.execute_update(ApprovalWorkflow.allow_tool_call, ToolDecisionInput(1, APPROVER_2, member_of=CHANNEL))
    return handle


async def plan_tool_deny(client, env, settings, queue):
    handle = await _executing(client, settings, queue, "Announce the offsite in #random", 1)
    await handle.execute_update(
        ApprovalWorkflow.deny_tool_call, ToolDecisionInput(1, APPROVER_2, reason="Not yet", member_of=CHANNEL)
    )
    return handle


async def plan_tool_expire(client, env, settings, queue):
    # The time-skipping server runs the call's gate to its deadline.
    return await _executing(client, settings, queue, "Announce the offsite in #random", 1)


async def plan_tool_always_allow(client, env, settings, queue):
    handle = await _executing(client, settings, queue, "Announce the offsite in #random and #general", 2)
    await handle.execute_update(
        ApprovalWorkflow.allow_tool_call, ToolDecisionInput(1, APPROVER_2, always=True, member_of=CHANNEL)
    )
    await handle.execute_update(ApprovalWorkflow.allow_tool_call, ToolDecisionInput(2, APPROVER_2, member_of=CHANNEL))
    return handle


async def plan_tool_always_allow_target(client, env, settings, queue):
    # Always allow for #random (tool-call-targets patch): #general still asks, #random by id does not.
    handle = await _executing(client, settings, queue, "Announce the offsite", 1)
    await handle.execute_update(
        ApprovalWorkflow.allow_tool_call, ToolDecisionInput(1, APPROVER_2, always=True, member_of=CHANNEL)
    )
    await _call_waiting(handle, 2)
    await handle.execute_update(
        ApprovalWorkflow.deny_tool_call, ToolDecisionInput(2, APPROVER_2, reason="Not there", member_of=CHANNEL)
    )
    return handle


async def plan_read_channel(client, env, settings, queue):
    # The plan's own channel is read without asking; another one asks (tool-call-targets patch).
    handle = await _executing(client, settings, queue, "Summarise the channels", 1)
    await _call_waiting(handle, 2)
    await handle.execute_update(ApprovalWorkflow.allow_tool_call, ToolDecisionInput(2, APPROVER_2, member_of=CHANNEL))
    return handle


# The executor's tool calls in the scenarios that need more than the offline model's one post per channel.
SCRIPTED_EXECUTORS: dict[str, list[list[tuple[str, dict[str, Any]]]]] = {
    "plan_tool_always_allow_target": [
        [("post_message", {"channel": "#random", "text": "First"})],
        [("post_message", {"channel": "#general", "text": "Elsewhere"})],
        [("post_message", {"channel": "C0RANDOM0", "text": "By id"})],
    ],
    "plan_read_channel": [
        [("read_channel", {"channel": "#general", "limit": 3})],
        [("read_channel", {"channel": APPROVALS_CHANNEL, "limit": 3})],
    ],
}


def _models(name: str) -> ModelProvider | None:
    turns = SCRIPTED_EXECUTORS.get(name)
    return ScriptedExecutorProvider(turns) if turns else None


SCENARIOS: dict[str, tuple[Scenario, ApprovalPolicy]] = {
    "report_approve": (report_approve, ApprovalPolicy()),
    "report_revise_then_approve": (report_revise_then_approve, ApprovalPolicy()),
    "report_reject": (report_reject, ApprovalPolicy()),
    "report_expire": (report_expire, ApprovalPolicy(escalation_to=LEADS)),
    "report_cancel": (report_cancel, ApprovalPolicy()),
    "report_quorum": (report_quorum, ApprovalPolicy(approvers=[APPROVER_1, APPROVER_2], required_approvals=2)),
    "report_edit_approve": (report_edit_approve, ApprovalPolicy()),
    "report_article_signal": (report_article_signal, ApprovalPolicy()),
    "report_thread_refused": (report_thread_refused, ApprovalPolicy()),
    "report_budget_stopped": (report_budget_stopped, ApprovalPolicy()),
    "plan_approve": (plan_approve, ApprovalPolicy()),
    "plan_decline": (plan_decline, ApprovalPolicy()),
    "plan_tool_allow": (plan_tool_allow, ApprovalPolicy()),
    "plan_tool_deny": (plan_tool_deny, ApprovalPolicy()),
    "plan_tool_expire": (plan_tool_expire, ApprovalPolicy(decision_deadline=timedelta(hours=2))),
    "plan_tool_always_allow": (plan_tool_always_allow, ApprovalPolicy()),
    "plan_tool_always_allow_target": (plan_tool_always_allow_target, ApprovalPolicy()),
    "plan_read_channel": (plan_read_channel, ApprovalPolicy()),
    "plan_budget_stopped": (plan_budget_stopped, ApprovalPolicy()),
    "request_approve": (request_approve, ApprovalPolicy()),
    "request_revision_requested": (request_revision_requested, ApprovalPolicy()),
    "request_expire": (request_expire, ApprovalPolicy()),
    "request_cancel": (request_cancel, ApprovalPolicy()),
    "request_api_webhook": (request_api_webhook, ApprovalPolicy()),
    "request_workflow_step": (request_workflow_step, ApprovalPolicy()),
    "request_tool_call_denied": (request_tool_call_denied, ApprovalPolicy()),
}


async def record(names: list[str]) -> None:
    """Record the named scenarios (all of them when none is named)."""
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenarios: {', '.join(sorted(unknown))}; known: {', '.join(SCENARIOS)}")
    HISTORIES.mkdir(exist_ok=True)
    env = await start_time_skipping()
    slack = SlackSandbox()
    await slack.start(port=0)
    _recording["slack"] = slack
    try:
        for name, (scenario, policy) in SCENARIOS.items():
            if names and name not in names:
                continue
            workflow_settings = WorkflowSettings(policy=policy, default_channel=CHANNEL)
            settings = Settings(
                task_queue=f"replay-{name}",
                slack_bot_token=slack.bot_token,
                slack_api_url=slack.api_url,
                workflow=workflow_settings,
                # The HTTP API's key, whose secret signs request_api_webhook's webhook to a local receiver.
                api_keys=(CI_KEY,),
                webhook_allow_private=True,
            )
            client = with_agents_plugin(env.client, settings)
            async with running_worker(env.client, settings, _models(name)):
                handle = await scenario(client, env, workflow_settings, settings.task_queue)
                await closed(handle)  # cancelled and failed endings are histories too
                history = await handle.fetch_history()
            (HISTORIES / f"{name}.json").write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n")
            print(f"recorded {name}: {len(history.events)} events")
    finally:
        await slack.stop()
        await env.shutdown()


if __name__ == "__main__":
    # Name the scenarios to record (new paths), so histories already committed are not re-recorded.
    asyncio.run(record(sys.argv[1:]))
