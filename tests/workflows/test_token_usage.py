"""Token usage summed per run, its estimated cost, and a budget that stops a run (time-skipping server)."""

from __future__ import annotations

import dataclasses
import uuid

from temporalio.testing import WorkflowEnvironment

from signoff.config.settings import Settings
from signoff.contracts.workflow_io import (
    ApproveInput,
    ModelPrice,
    Phase,
    PlanRequest,
    Progress,
    RevisionInput,
    TokenUsage,
)
from signoff.sandbox import SlackSandbox
from signoff.slack.rendering.lists import status_blocks
from tests.support.flows import thread_of, waiting_draft
from tests.support.slack import APPROVER_1, CHANNEL, ORIGIN, buttons, draft_messages, thread_texts
from tests.support.temporal import running_worker, start_report, with_agents_plugin, worker_settings
from workflows import ApprovalWorkflow, ReportGenerationWorkflow

PRICES = [ModelPrice("gpt-4.1", 2.0, 8.0)]


def with_workflow(settings: Settings, **changes: object) -> Settings:
    return dataclasses.replace(settings, workflow=dataclasses.replace(settings.workflow, **changes))  # type: ignore[arg-type]


def expected_cost(usage: TokenUsage) -> float:
    return (usage.input_tokens * 2.0 + usage.output_tokens * 8.0) / 1_000_000


async def test_usage_is_summed_and_shown_with_its_cost(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    settings = with_workflow(worker_settings(slack), model_prices=PRICES)
    async with running_worker(time_env.client, settings):
        handle = await start_report(with_agents_plugin(time_env.client, settings), settings)
        await waiting_draft(slack, handle)
        waiting: Progress = await handle.query(ReportGenerationWorkflow.progress)
        # research, writer, and at least one AI review: every call counted.
        assert waiting.usage.requests >= 3
        assert waiting.usage.input_tokens > 0 and waiting.usage.output_tokens > 0
        assert waiting.usage.cost_usd is not None
        assert abs(waiting.usage.cost_usd - expected_cost(waiting.usage)) < 1e-9
        status = str([block.to_dict() for block in status_blocks(waiting)])
        assert "*Usage:*" in status and f"{waiting.usage.total_tokens:,} tokens" in status and "$" in status

        await handle.execute_update(
            ReportGenerationWorkflow.approve_draft,
            ApproveInput(revision=waiting.revision, user_id=APPROVER_1, member_of=CHANNEL),
        )
        await handle.result()
        final: Progress = await handle.query(ReportGenerationWorkflow.progress)
    assert final.usage == waiting.usage
    closing = thread_texts(slack, thread_of(final))[-1]
    assert "is approved" in closing
    assert f"Usage: {final.usage.total_tokens:,} tokens" in closing
    assert f"in {final.usage.requests} model calls" in closing and "≈ $" in closing


async def test_without_a_price_the_cost_is_unknown(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    settings = with_workflow(worker_settings(slack), model_prices=[ModelPrice("gpt-4.1-mini", 0.4, 1.6)])
    async with running_worker(time_env.client, settings):
        handle = await start_report(with_agents_plugin(time_env.client, settings), settings)
        await waiting_draft(slack, handle)
        state: Progress = await handle.query(ReportGenerationWorkflow.progress)
        await handle.terminate("test over")
    assert state.usage.requests >= 3 and state.usage.cost_usd is None
    assert "no estimate" in str([block.to_dict() for block in status_blocks(state)])


async def test_a_small_budget_stops_the_report_before_approval(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    # The research alone uses more than 10 tokens: the writer never starts.
    settings = with_workflow(worker_settings(slack), token_budget=10)
    async with running_worker(time_env.client, settings):
        handle = await start_report(with_agents_plugin(time_env.client, settings), settings)
        result = await handle.result()
        state: Progress = await handle.query(ReportGenerationWorkflow.progress)
    assert result.startswith("Report stopped at its token budget")
    assert state.phase is Phase.STOPPED and state.phase.is_terminal
    assert state.revision == 0 and state.decisions == []
    assert state.usage.requests == 1 and state.usage.total_tokens >= 10
    assert state.outcome is not None and "budget of 10" in state.outcome
    texts = thread_texts(slack, thread_of(state))
    assert any("report reached its token budget" in text and "ends here" in text for text in texts)
    assert not draft_messages(slack, thread_of(state))
    assert not any("is approved" in text for text in texts)


async def test_the_budget_stops_a_revision(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    """Reached while a draft waits: the draft can still be decided; a revision would start an agent: stopped."""
    probe = worker_settings(slack)
    async with running_worker(time_env.client, probe):
        handle = await start_report(with_agents_plugin(time_env.client, probe), probe)
        await waiting_draft(slack, handle)
        used = (await handle.query(ReportGenerationWorkflow.progress)).usage.total_tokens
        await handle.terminate("probe over")
    settings = with_workflow(worker_settings(slack), token_budget=used)
    async with running_worker(time_env.client, settings):
        handle = await start_report(with_agents_plugin(time_env.client, settings), settings)
        await waiting_draft(slack, handle)
        waiting: Progress = await handle.query(ReportGenerationWorkflow.progress)
        assert waiting.phase is Phase.PENDING_APPROVAL
        await handle.execute_update(
            ReportGenerationWorkflow.request_draft_revision,
            RevisionInput(revision=waiting.revision, user_id=APPROVER_1, notes="More on costs", member_of=CHANNEL),
        )
        result = await handle.result()
        state: Progress = await handle.query(ReportGenerationWorkflow.progress)
    assert result.startswith("Report stopped")
    assert state.phase is Phase.STOPPED and state.usage == waiting.usage
    [draft] = draft_messages(slack, thread_of(state))
    assert buttons(draft) == []
    assert "reached its token budget" in thread_texts(slack, thread_of(state))[-1]


async def test_a_small_budget_stops_a_plan(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    settings = with_workflow(worker_settings(slack), token_budget=1)
    async with running_worker(time_env.client, settings):
        handle = await with_agents_plugin(time_env.client, settings).start_workflow(
            ApprovalWorkflow.run,
            PlanRequest(task="Tidy the channel", origin=ORIGIN, settings=settings.workflow),
            id=f"plan-test-{uuid.uuid4()}",
            task_queue=settings.task_queue,
        )
        await waiting_draft(slack, handle)
        # The planner's run used the budget: once approved, the executor does not start.
        await handle.execute_update(
            ApprovalWorkflow.approve_draft, ApproveInput(revision=1, user_id=APPROVER_1, member_of=CHANNEL)
        )
        result = await handle.result()
        state: Progress = await handle.query(ApprovalWorkflow.progress)
    assert result.startswith("Plan stopped at its token budget")
    assert state.phase is Phase.STOPPED and state.tool_calls == []
    assert "reached its token budget" in thread_texts(slack, thread_of(state))[-1]
