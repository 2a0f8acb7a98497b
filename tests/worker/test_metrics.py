"""The worker's metrics: the Temporal SDK runtime's, for Prometheus, on --metrics-port."""

from __future__ import annotations

from dataclasses import replace

from temporalio.testing import WorkflowEnvironment

from signoff.contracts.workflow_io import Phase
from signoff.sandbox import SlackSandbox
from signoff.temporal.devserver import free_port
from signoff.worker import build_worker, connect_worker_client, worker_runtime, worker_slack_client
from tests.support.scrape import scrape, value
from tests.support.temporal import start_report, wait_for_phase, worker_settings


async def test_the_worker_exports_the_sdks_metrics_after_a_workflow_ran(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    port = free_port()
    settings = replace(
        worker_settings(slack),
        temporal_address=time_env.client.service_client.config.target_host,
        metrics_port=port,
    )
    runtime = worker_runtime(settings)
    assert runtime is not None
    client = await connect_worker_client(settings, runtime)
    async with build_worker(client, settings, worker_slack_client(settings)):
        handle = await start_report(client, settings)
        await wait_for_phase(handle, Phase.PENDING_APPROVAL)
        samples = await scrape(f"http://127.0.0.1:{port}/metrics")
    queue = settings.task_queue
    names = {name for name, _ in samples}
    assert any(name.startswith("temporal_") for name in names), sorted(names)
    # This worker's own work, on its task queue: workflow tasks, the research/writer/review model
    # activities and the Slack posts.
    assert value(samples, "temporal_workflow_task_execution_latency_count", task_queue=queue) > 0, sorted(names)
    assert value(samples, "temporal_activity_execution_latency_count", task_queue=queue) >= 3
    assert value(samples, "temporal_worker_start_total", task_queue=queue) >= 1
    # The client's calls through this runtime too (the start, the queries).
    assert value(samples, "temporal_request_total", operation="StartWorkflowExecution") >= 1
