"""Temporal for tests: the real time-skipping test server and dev server, from pip packages."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from agents.models.interface import ModelProvider
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from core.contracts import Phase
from infra.settings import Settings
from worker.worker import agents_plugin, build_worker, worker_slack_client

BIN = Path(sys.executable).parent
TEST_SERVER = BIN / "temporal-test-server"

T = TypeVar("T")


async def start_time_skipping() -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(TEST_SERVER))


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


async def eventually(check: Callable[[], Awaitable[T]], timeout: float = 15.0, interval: float = 0.05) -> T:
    """Poll ``check`` until it returns something truthy; fail with the last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = await check()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")
        await asyncio.sleep(interval)


async def wait_for_phase(handle: WorkflowHandle, phase: Phase, timeout: float = 15.0) -> None:
    from workflows.human_loop import HumanReviewedWorkflow

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
