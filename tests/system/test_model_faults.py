"""The model provider failing: retried within policy, then the thread says why; nothing hangs."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from signoff.contracts.activity_io import MODEL_RETRY_POLICY
from signoff.contracts.workflow_io import Phase, Progress
from signoff.sandbox import SlackSandbox
from signoff.worker import model_provider
from tests.doubles.openai_standin import OpenAIStandIn
from tests.support.flows import thread_of
from tests.support.slack import thread_texts
from tests.support.temporal import running_worker, start_report, wait_for_phase, with_agents_plugin, worker_settings
from workflows import ReportGenerationWorkflow


@dataclass
class Provider:
    """The OpenAI stand-in as the model provider of a report's agents (over HTTP, the real openai client path)."""

    time_env: WorkflowEnvironment
    slack: SlackSandbox
    models: OpenAIStandIn

    @contextlib.asynccontextmanager
    async def report(self) -> AsyncIterator[WorkflowHandle]:
        models = self.models
        settings = replace(worker_settings(self.slack), openai_api_key=models.api_key, openai_base_url=models.base_url)
        async with running_worker(self.time_env.client, settings, model_provider(settings)):
            yield await start_report(with_agents_plugin(self.time_env.client, settings), settings)

    async def report_reaches_its_draft(self) -> None:
        """The report gets as far as a draft waiting for a decision (then it is cancelled)."""
        async with self.report() as handle:
            await wait_for_phase(handle, Phase.PENDING_APPROVAL, timeout=30)
            await handle.cancel()

    async def report_fails(self) -> Progress:
        """The report fails (waiting on its result lets the test server skip the retries' backoff)."""
        async with self.report() as handle:
            with pytest.raises(WorkflowFailureError):
                await handle.result()
            return await handle.query(ReportGenerationWorkflow.progress)


@pytest.fixture
async def provider(time_env: WorkflowEnvironment, slack: SlackSandbox) -> AsyncIterator[Provider]:
    async with OpenAIStandIn() as models:
        yield Provider(time_env, slack, models)


@pytest.mark.slow
async def test_server_errors_are_retried_within_policy(provider: Provider) -> None:
    provider.models.fail(role="research", times=2, status=500)
    await provider.report_reaches_its_draft()
    assert provider.models.count("research", status="http_500") == 2
    assert provider.models.count("research", status="ok") == 1


async def test_a_provider_that_keeps_failing_fails_the_report_and_says_why(provider: Provider) -> None:
    provider.models.fail(role="research", times=100, status=500)
    state = await provider.report_fails()
    assert provider.models.count("research") == MODEL_RETRY_POLICY.maximum_attempts
    assert state.phase is Phase.FAILED
    failure = [text for text in thread_texts(provider.slack, thread_of(state)) if "failed" in text]
    assert failure and "ResearchAgent failed" in failure[0]


async def test_malformed_structured_output_is_asked_again(provider: Provider) -> None:
    provider.models.malformed(role="reviewer", times=1)
    await provider.report_reaches_its_draft()
    assert provider.models.count("reviewer", status="malformed") == 1
    assert provider.models.count("reviewer", status="ok") == 2


async def test_always_malformed_output_fails_the_report(provider: Provider) -> None:
    provider.models.malformed(role="reviewer", times=100)
    state = await provider.report_fails()
    assert state.phase is Phase.FAILED
    assert "no usable answer" in (state.outcome or "")
