"""Temporal for tests: the real time-skipping test server (from a pip package), a worker on it,
workflows started as the bot starts them, and a Temporal that hangs."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from agents.models.interface import ModelProvider
from google.protobuf.duration_pb2 import Duration
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from signoff.config.settings import Settings
from signoff.contracts.workflow_io import ApprovalPolicy, Phase, ReportRequest, WorkflowSettings
from signoff.sandbox import SlackSandbox
from signoff.worker import agents_plugin, build_worker, worker_slack_client
from tests.support.slack import ORIGIN
from tests.support.waiting import eventually
from workflows import ReportGenerationWorkflow
from workflows.human_loop import HumanReviewedWorkflow

BIN = Path(sys.executable).parent
TEST_SERVER = BIN / "temporal-test-server"


# How long the time-skipping server may take to start: the SDK's 5 s default was missed now and
# then on a busy 2-core machine (a test error, not a finding).
TEST_SERVER_STARTUP = timedelta(seconds=60)


async def start_time_skipping() -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), test_server_startup_timeout=TEST_SERVER_STARTUP
    )


def with_agents_plugin(client: Client, settings: Settings, provider: ModelProvider | None = None) -> Client:
    """A client for the same server, with the OpenAI Agents plugin (data converter, model activity)."""
    config = client.config()
    config["plugins"] = [agents_plugin(settings, provider)]
    return Client(**config)


@contextlib.asynccontextmanager
async def running_worker(
    client: Client, settings: Settings, provider: ModelProvider | None = None
) -> AsyncIterator[Worker]:
    worker = build_worker(with_agents_plugin(client, settings, provider), settings, worker_slack_client(settings))
    async with worker:
        yield worker


async def fresh_namespace(client: Client) -> Client:
    """A new namespace on ``client``'s server (no custom search attributes: a cluster where nobody
    ran `signoff setup`), and a client of it like ``client``, once the server serves it."""
    name = f"tests-{uuid.uuid4().hex[:10]}"
    await client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=name, workflow_execution_retention_period=Duration(seconds=int(timedelta(days=1).total_seconds()))
        )
    )
    config = client.config()
    config["namespace"] = name
    other = Client(**config)

    async def served() -> bool:
        try:
            await other.count_workflows()
        except RPCError:
            return False
        return True

    await eventually(served, timeout=60, interval=0.2)
    return other


async def wait_for_phase(handle: WorkflowHandle, phase: Phase, timeout: float = 15.0) -> None:
    last = ["no answer yet"]

    async def reached() -> bool:
        try:
            status = await handle.query(HumanReviewedWorkflow.get_status)
        except RPCError as err:
            # A query goes to the worker that last ran the workflow; while that worker is dead
            # and no other has taken over, the server gives up on it ("context canceled").
            last[0] = f"query failed: {err}"
            return False
        last[0] = status
        return status == phase.value

    try:
        await eventually(reached, timeout)
    except AssertionError:
        raise AssertionError(f"{handle.id} not {phase.value} within {timeout}s; last: {last[0]}") from None


async def closed(handle: WorkflowHandle) -> None:
    """Wait for the workflow to close, however it ends (so nothing of it outlives its worker)."""
    with contextlib.suppress(WorkflowFailureError):
        await handle.result()


# ---------------------------------------------------------------------------
# Workflows started as the bot starts them
# ---------------------------------------------------------------------------


def worker_settings(slack: SlackSandbox, **policy: object) -> Settings:
    """A worker's settings: its own task queue, posting to the sandbox, with this approval policy."""
    return Settings(
        task_queue=f"tests-{uuid.uuid4()}",
        slack_bot_token=slack.bot_token,
        slack_api_url=slack.api_url,
        workflow=WorkflowSettings(policy=ApprovalPolicy(**policy)),  # type: ignore[arg-type]
    )


async def start_report(client: Client, settings: Settings, topic: str = "Solar panels for farms") -> WorkflowHandle:
    """A report requested from #general by the requester, with the settings' policy."""
    return await client.start_workflow(
        ReportGenerationWorkflow.run,
        ReportRequest(topic=topic, origin=ORIGIN, settings=settings.workflow),
        id=f"report-test-{uuid.uuid4()}",
        task_queue=settings.task_queue,
    )


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[str]:
    """Accepts connections and never answers: a Temporal that hangs. Yields its address."""
    connections: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        for writer in connections:
            writer.close()
        server.close()
