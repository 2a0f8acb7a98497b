"""OpenTelemetry tracing (SIGNOFF_TRACING): off by default, and when on, one trace from the bot's start
through the workflow and its activities, on the real test server with the real worker."""

from __future__ import annotations

from dataclasses import replace

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.testing import WorkflowEnvironment

from bot.server import connect_temporal
from signoff.config.settings import Settings, SettingsError, Tracing
from signoff.contracts.workflow_io import ApproveInput
from signoff.sandbox import SlackSandbox
from signoff.worker import connect_worker_client, serving_worker, worker_slack_client
from tests.support.flows import waiting_draft
from tests.support.slack import APPROVER_1, CHANNEL
from tests.support.temporal import start_report, worker_settings
from tests.support.waiting import eventually
from workflows import ReportGenerationWorkflow


def test_tracing_is_off_unless_asked() -> None:
    assert Settings.from_env({}).tracing is Tracing.OFF
    assert Settings.from_env({"SIGNOFF_TRACING": ""}).tracing is Tracing.OFF
    assert Settings.from_env({"SIGNOFF_TRACING": " OTLP "}).tracing is Tracing.OTLP
    settings = Settings.from_env({"SIGNOFF_TRACING": "console", "OTEL_SERVICE_NAME": "signoff-eu"})
    assert settings.tracing is Tracing.CONSOLE and settings.tracing_service_name == "signoff-eu"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SIGNOFF_TRACING": "jaeger"}, "SIGNOFF_TRACING='jaeger' must be off, console or otlp"),
        ({"SIGNOFF_TRACING": "true"}, "must be off, console or otlp"),
        (
            {"SIGNOFF_TRACING": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "OTEL_EXPORTER_OTLP_PROTOCOL='grpc': signoff exports OTLP over HTTP only",
        ),
        (
            {"SIGNOFF_TRACING": "otlp", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "collector:4318"},
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT='collector:4318' must be a URL",
        ),
    ],
)
def test_malformed_tracing_settings_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        Settings.from_env(env)


def test_otlp_settings_are_only_checked_when_exporting_there() -> None:
    # Another tool's OTEL_* variables in the environment do not stop signoff while it does not trace.
    assert Settings.from_env({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}).tracing is Tracing.OFF
    assert (
        Settings.from_env(
            {"SIGNOFF_TRACING": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "https://otel.example.com:4318"}
        ).tracing
        is Tracing.OTLP
    )


def _tracing_interceptors(client: object) -> list[object]:
    return [i for i in client.config()["interceptors"] if isinstance(i, TracingInterceptor)]  # type: ignore[attr-defined]


def _on(time_env: WorkflowEnvironment, settings: Settings, tracing: Tracing) -> Settings:
    return replace(settings, temporal_address=time_env.client.service_client.config.target_host, tracing=tracing)


async def test_off_installs_no_interceptor(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    settings = _on(time_env, worker_settings(slack), Tracing.OFF)
    assert _tracing_interceptors(await connect_worker_client(settings)) == []
    assert _tracing_interceptors(await connect_temporal(settings)) == []


def _names(spans: tuple[ReadableSpan, ...]) -> set[str]:
    return {span.name for span in spans}


async def test_a_report_is_one_trace_from_the_bots_start_to_the_workers_activities(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    settings = _on(time_env, worker_settings(slack), Tracing.OTLP)
    worker_spans, bot_spans = InMemorySpanExporter(), InMemorySpanExporter()
    worker_client = await connect_worker_client(settings, span_exporter=worker_spans)
    bot_client = await connect_temporal(settings, span_exporter=bot_spans)
    assert len(_tracing_interceptors(worker_client)) == 1 and len(_tracing_interceptors(bot_client)) == 1
    async with serving_worker(worker_client, settings, worker_slack_client(settings)):
        handle = await start_report(bot_client, settings)
        await waiting_draft(slack, handle)
        await handle.execute_update(
            ReportGenerationWorkflow.approve_draft, ApproveInput(1, APPROVER_1, member_of=CHANNEL)
        )
        await handle.result()

        # Spans leave in batches (every few seconds): wait for the ones this run ends with.
        await eventually(lambda: "StartWorkflowUpdate:approve_draft" in _names(bot_spans.get_finished_spans()))
        await eventually(
            lambda: (
                {"CompleteWorkflow:ReportGenerationWorkflow", "RunActivity:slack_update_draft"}
                <= _names(worker_spans.get_finished_spans())
            )
        )
    bot = {span.name: span for span in bot_spans.get_finished_spans()}
    worker = worker_spans.get_finished_spans()
    start = bot["StartWorkflow:ReportGenerationWorkflow"]
    assert start.resource.attributes["service.name"] == "signoff-bot"
    assert {span.resource.attributes["service.name"] for span in worker} == {"signoff-worker"}
    names = _names(worker)
    # The workflow, its model calls and its Slack posts, each as the workflow schedules it and as it runs.
    assert {"RunWorkflow:ReportGenerationWorkflow", "HandleUpdate:approve_draft"} <= names
    assert {"StartActivity:slack_start_thread", "RunActivity:slack_start_thread"} <= names
    assert {"StartActivity:slack_post_draft", "RunActivity:slack_post_draft"} <= names
    assert {"StartActivity:invoke_model_activity", "RunActivity:invoke_model_activity"} <= names
    run = next(span for span in worker if span.name == "RunWorkflow:ReportGenerationWorkflow")
    assert run.parent is not None and run.parent.span_id == start.context.span_id
    # Everything the worker did for this report, the decision included, is in the trace the bot's start
    # began: the context travels in the workflow's headers (a query is a trace of its own).
    traced = [span for span in worker if not span.name.startswith("HandleQuery:")]
    assert {span.context.trace_id for span in traced} == {start.context.trace_id}
