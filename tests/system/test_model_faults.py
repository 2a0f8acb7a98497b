"""The model provider failing: retried within policy, then the thread says why; nothing hangs."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core.contracts import Phase
from sandbox import SlackSandbox
from tests.doubles.openai_standin import OpenAIStandIn
from tests.support.temporal import running_worker, wait_for_phase, with_agents_plugin
from tests.workflows.test_report import make_settings, start_report, thread_texts
from worker.worker import MODEL_RETRY_POLICY, model_provider
from workflows import ReportGenerationWorkflow


@pytest.fixture
async def models() -> OpenAIStandIn:
    async with OpenAIStandIn() as standin:
        yield standin


@contextlib.asynccontextmanager
async def report_on(
    time_env: WorkflowEnvironment, slack: SlackSandbox, models: OpenAIStandIn
) -> AsyncIterator[WorkflowHandle]:
    """A report whose agents call the OpenAI stand-in over HTTP (the real openai client path)."""
    settings = replace(make_settings(slack), openai_api_key=models.api_key, openai_base_url=models.base_url)
    async with running_worker(time_env.client, settings, model_provider(settings)):
        yield await start_report(with_agents_plugin(time_env.client, settings), settings)


async def test_server_errors_are_retried_within_policy(
    time_env: WorkflowEnvironment, slack: SlackSandbox, models: OpenAIStandIn
) -> None:
    models.fail(role="research", times=2, status=500)
    async with report_on(time_env, slack, models) as handle:
        await wait_for_phase(handle, Phase.PENDING_APPROVAL, timeout=30)
        await handle.cancel()
    assert models.count("research", status="http_500") == 2
    assert models.count("research", status="ok") == 1


async def test_a_provider_that_keeps_failing_fails_the_report_and_says_why(
    time_env: WorkflowEnvironment, slack: SlackSandbox, models: OpenAIStandIn
) -> None:
    models.fail(role="research", times=100, status=500)
    async with report_on(time_env, slack, models) as handle:
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        state = await handle.query(ReportGenerationWorkflow.progress)
    assert models.count("research") == MODEL_RETRY_POLICY.maximum_attempts
    assert state.phase is Phase.FAILED
    failure = [text for text in thread_texts(slack, state.thread.ts) if "failed" in text]
    assert failure and "ResearchAgent failed" in failure[0]


async def test_malformed_structured_output_is_asked_again(
    time_env: WorkflowEnvironment, slack: SlackSandbox, models: OpenAIStandIn
) -> None:
    models.malformed(role="reviewer", times=1)
    async with report_on(time_env, slack, models) as handle:
        await wait_for_phase(handle, Phase.PENDING_APPROVAL, timeout=30)
        await handle.cancel()
    assert models.count("reviewer", status="malformed") == 1
    assert models.count("reviewer", status="ok") == 2


async def test_always_malformed_output_fails_the_report(
    time_env: WorkflowEnvironment, slack: SlackSandbox, models: OpenAIStandIn
) -> None:
    models.malformed(role="reviewer", times=100)
    async with report_on(time_env, slack, models) as handle:
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        state = await handle.query(ReportGenerationWorkflow.progress)
    assert state.phase is Phase.FAILED
    assert "no usable answer" in (state.outcome or "")
