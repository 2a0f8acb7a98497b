"""The Temporal worker: both workflows, the Slack and settings activities, and model calls."""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import aiohttp
from agents import set_trace_processors
from agents.models.interface import ModelProvider
from agents.models.openai_provider import OpenAIProvider
from openai import AsyncOpenAI
from slack_sdk.web.async_client import AsyncWebClient
from temporalio import activity
from temporalio.client import Client, ClientConfig
from temporalio.converter import DataConverter, EncodingPayloadConverter
from temporalio.openai_agents import ModelActivityParameters, OpenAIAgentsPlugin, OpenAIPayloadConverter
from temporalio.runtime import Runtime
from temporalio.worker import ReplayerConfig, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from signoff.activities.context import Activity, StepContext, running
from signoff.activities.table import activity_table
from signoff.config.settings import Settings, SettingsError
from signoff.contracts.activity_io import MODEL_RETRY_POLICY
from signoff.heap import freeze_startup_heap
from signoff.models.offline import OfflineModelProvider
from signoff.slack.client import slack_client, slack_session
from signoff.slack.pacing import ChannelPacer
from signoff.temporal.connection import connect_client, metrics_runtime
from signoff.temporal.search_attributes import SearchAttributeCheck
from workflows.plan import ApprovalWorkflow
from workflows.report import ReportGenerationWorkflow
from workflows.runtime import retry_policy
from workflows.signoff_request import SignoffRequestWorkflow
from workflows.tool_call_log import ToolCallLogWorkflow

if TYPE_CHECKING:
    # Annotations only: the otel extra is imported by a process that traces (signoff/temporal/tracing.py).
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger(__name__)

# A model call may legitimately take minutes; a dead worker must be noticed in seconds,
# which is what the heartbeat timeout is for (the plugin heartbeats at half of it).
MODEL_START_TO_CLOSE = timedelta(minutes=5)
MODEL_HEARTBEAT_TIMEOUT = timedelta(seconds=10)
# Workflow tasks are CPU work under one GIL: more at once only makes each one slower. With 300
# reminders due at once after a restart (cache 200), 16 posted them all in 34 s, the default
# of 100 in 67 s; parking was the same 3.4 drafts/s with either.
MAX_CONCURRENT_WORKFLOW_TASKS = 16
# Pure data, text helpers and agent definitions: deterministic and without mutable global
# state. The workflow sandbox would otherwise import them afresh for every workflow instance, which
# was most of the CPU of creating an instance and of the memory each cached one holds.
WORKFLOW_SANDBOX_PASSTHROUGH_MODULES = (
    "signoff.contracts.workflow_io",
    "signoff.contracts.activity_io",
    "signoff.contracts.steps",
    "signoff.contracts.tool_calls",
    "signoff_client",
    "signoff.contracts.mrkdwn",
    "signoff.contracts.search_attributes",
    "workflows.agents",
)


def workflow_runner() -> SandboxedWorkflowRunner:
    """The workflow sandbox every worker and replayer of these workflows uses."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*WORKFLOW_SANDBOX_PASSTHROUGH_MODULES)
    )


def model_provider(settings: Settings) -> ModelProvider:
    if settings.offline_model:
        # No key, nowhere to export traces to: drop the exporter rather than warn on every run.
        set_trace_processors([])
        return OfflineModelProvider()
    if settings.openai_base_url:
        # Traces would go to api.openai.com, not to the endpoint the user chose.
        set_trace_processors([])
    # Retries belong to Temporal (MODEL_RETRY_POLICY), which records each attempt; the
    # client's own hidden retries would multiply them.
    client = AsyncOpenAI(api_key=settings.openai_api_key, base_url=settings.openai_base_url, max_retries=0)
    return OpenAIProvider(openai_client=client, use_responses=settings.openai_api_style == "responses")


class SharedJsonPayloadConverter(OpenAIPayloadConverter):
    """The Agents plugin's payload converter, with one JSON converter for the process.

    Temporal makes a payload converter for every workflow run it loads, and each would build its own
    pydantic TypeAdapter for every dataclass it decodes: again on each run's first Allow click
    (about 1 ms) and start (2-3 ms), on the workflow task a person waits for. Shared, the converter's
    bounded LRU of adapters is built once per type (the types are the contracts in ``core``, which
    the sandbox passes through, so every run decodes the same classes).
    """

    _json: ClassVar[EncodingPayloadConverter | None] = None

    def __init__(self) -> None:
        super().__init__()
        json = self.converters[b"json/plain"]
        shared = SharedJsonPayloadConverter._json
        if shared is None:
            SharedJsonPayloadConverter._json = json
        else:
            self._set_converters(*(shared if c is json else c for c in self.converters.values()))


def _shared_json(converter: DataConverter | None) -> DataConverter:
    return dataclasses.replace(converter or DataConverter.default, payload_converter_class=SharedJsonPayloadConverter)


class _AgentsPlugin(OpenAIAgentsPlugin):
    """The Agents plugin, its converter swapped for the shared one (it refuses a subclass itself)."""

    def configure_client(self, config: ClientConfig) -> ClientConfig:
        config = super().configure_client(config)
        config["data_converter"] = _shared_json(config.get("data_converter"))
        return config

    def configure_replayer(self, config: ReplayerConfig) -> ReplayerConfig:
        config = super().configure_replayer(config)
        config["data_converter"] = _shared_json(config.get("data_converter"))
        return config


def model_activity_parameters() -> ModelActivityParameters:
    """Each model call's activity: the model step policy (``MODEL_RETRY_POLICY``) as Temporal's."""
    return ModelActivityParameters(
        start_to_close_timeout=MODEL_START_TO_CLOSE,
        heartbeat_timeout=MODEL_HEARTBEAT_TIMEOUT,
        retry_policy=retry_policy(MODEL_RETRY_POLICY),
    )


def agents_plugin(settings: Settings, provider: ModelProvider | None = None) -> OpenAIAgentsPlugin:
    return _AgentsPlugin(
        model_params=model_activity_parameters(),
        model_provider=provider or model_provider(settings),
    )


def worker_runtime(settings: Settings, host: str = "0.0.0.0") -> Runtime | None:
    """With ``--metrics-port``: a runtime exporting the SDK's ``temporal_…`` metrics for Prometheus
    there (a port in use: ``SettingsError``, exit 2). Create it before anything else starts."""
    if settings.metrics_port is None:
        return None
    return metrics_runtime(settings.metrics_port, host)


async def connect_worker_client(
    settings: Settings, runtime: Runtime | None = None, span_exporter: SpanExporter | None = None
) -> Client:
    """The worker's client: the Temporal profile's cluster (``signoff.temporal.connection``), with the agents plugin,
    in ``runtime`` (``worker_runtime``) if given; with ``SIGNOFF_TRACING`` on, its tracing interceptor
    traces the workflows and activities of a worker on it too (to ``span_exporter`` if given).
    Raises ``SettingsError`` saying why when Temporal cannot be reached or refuses the connection."""
    return await connect_client(
        settings,
        plugins=[agents_plugin(settings)],
        runtime=runtime,
        service="signoff-worker",
        span_exporter=span_exporter,
    )


def worker_slack_client(settings: Settings, session: aiohttp.ClientSession | None = None) -> AsyncWebClient:
    if not settings.slack_bot_token:
        if settings.workflow.default_channel:
            # Every workflow would fail on its first post; say so now, not in each workflow.
            raise SettingsError("SIGNOFF_DEFAULT_CHANNEL is set but SLACK_BOT_TOKEN is missing")
        log.warning("SLACK_BOT_TOKEN is not set: only workflows without a Slack thread can run")
    # No retry handlers: retries belong to Temporal, which knows what already happened.
    return slack_client(settings.slack_bot_token or "", settings.slack_api_url, session)


def temporal_activity(name: str, fn: Activity) -> Callable[..., Awaitable[Any]]:
    """``fn`` as the Temporal activity called ``name``: the same signature (Temporal decodes the input
    by its annotation), run with the ``StepContext`` of Temporal's attempt."""

    @functools.wraps(fn)
    async def attempt(*args: Any) -> Any:
        info = activity.info()
        context = StepContext(
            step=name,
            attempt=info.attempt,
            first_scheduled=info.scheduled_time,
            workflow_id=info.workflow_id or "",
            logger=activity.logger,
        )
        with running(context):
            return await fn(*args)

    return activity.defn(name=name)(attempt)


def worker_activities(
    settings: Settings,
    slack: AsyncWebClient,
    pacer: ChannelPacer | None = None,
    search_attributes: SearchAttributeCheck | None = None,
) -> list[Callable[..., Awaitable[Any]]]:
    """Every activity the workflows call (``signoff.activities.table``), as Temporal activities;
    ``search_attributes``: the namespace's check."""
    table = activity_table(settings, slack, pacer, search_attributes)
    return [temporal_activity(name, fn) for name, fn in table.items()]


def build_worker(
    client: Client, settings: Settings, slack: AsyncWebClient, pacer: ChannelPacer | None = None
) -> Worker:
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[ReportGenerationWorkflow, ApprovalWorkflow, SignoffRequestWorkflow, ToolCallLogWorkflow],
        activities=worker_activities(
            settings,
            slack,
            pacer,
            SearchAttributeCheck(
                client,
                client.namespace,
                consequence="workflows started without settings (Temporal CLI or UI, SignoffRequest) do not upsert them.",
            ),
        ),
        max_cached_workflows=settings.worker_cache_size,
        max_concurrent_workflow_tasks=MAX_CONCURRENT_WORKFLOW_TASKS,
        workflow_runner=workflow_runner(),
    )


def serving_worker(client: Client, settings: Settings, slack: AsyncWebClient) -> Worker:
    """The worker as it runs for real (``signoff worker`` and ``signoff dev``): posts kept to
    Slack's rate per channel here rather than collecting 429s."""
    return build_worker(client, settings, slack, ChannelPacer())


async def run_worker(settings: Settings) -> None:
    runtime = worker_runtime(settings)
    if settings.metrics_port is not None:
        log.info("Temporal SDK metrics at http://0.0.0.0:%d/metrics", settings.metrics_port)
    async with slack_session() as session:
        slack = worker_slack_client(settings, session)
        # Unreachable, an untrusted certificate, refused credentials: a SettingsError, exit 2.
        client = await connect_worker_client(settings, runtime)
        worker = serving_worker(client, settings, slack)
        log.info(
            "Worker listening on task queue %s at %s (%s model, caching up to %d workflows)",
            settings.task_queue,
            settings.temporal_address,
            "offline" if settings.offline_model else "OpenAI",
            settings.worker_cache_size,
        )
        freeze_startup_heap()
        await worker.run()
