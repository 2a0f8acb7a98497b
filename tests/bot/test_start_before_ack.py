"""``/report`` is acked with its workflow id at once (the start journaled, ``tests/bot/test_journal.py``)
and started after, and a start whose deadline passed is looked up by its id before anyone is told anything.

The answer of a start can be lost after the engine took it (a timeout, a dropped connection): the
tests start workflows for real (the time-skipping Temporal server, DBOS on SQLite) through clients
that lose the answer, and check what the requester is told.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOSClient, EnqueueOptions
from sqlalchemy.exc import OperationalError
from temporalio.client import Client, Interceptor, OutboundInterceptor, StartWorkflowInput, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from bot.dbos_gateway import DbosGateway
from bot.gateway import MaybeStarted, TemporalGateway, Unreachable, workflow_id_for
from signoff.config.settings import Engine, Settings
from signoff.contracts.workflow_io import SlackOrigin, WorkflowKind
from signoff.dbos.stack import engine_with_gateway
from signoff.sandbox import SlackSandbox
from tests.support.bot import bot_client, bot_settings, running_bot
from tests.support.slack import CHANNEL, REQUESTER, TEAM, told
from tests.support.starts import exists, intercepted
from tests.support.waiting import eventually

ORIGIN = SlackOrigin(team_id=TEAM, channel_id=CHANNEL, requester_id=REQUESTER)
# Short, so a lost answer is noticed quickly; the overall bound is this plus a second.
RPC_TIMEOUT = timedelta(milliseconds=100)


class _LoseStartAnswers(Interceptor):
    """A Temporal client whose starts reach the server (``sent``) or not, and whose answer never comes back."""

    def __init__(self, *, sent: bool) -> None:
        self.sent = sent

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        sent = self.sent

        class Lost(OutboundInterceptor):
            async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
                if sent:
                    await super().start_workflow(input)
                await asyncio.Event().wait()  # the answer never arrives (the gateway's deadline ends this)
                raise AssertionError("unreachable")

        return Lost(next)


def _losing(client: Client, *, sent: bool) -> Client:
    return intercepted(client, _LoseStartAnswers(sent=sent))


async def test_a_start_whose_answer_was_lost_but_started_is_reported_started(time_env: WorkflowEnvironment) -> None:
    gateway = TemporalGateway(_losing(time_env.client, sent=True), task_queue="no-worker", rpc_timeout=RPC_TIMEOUT)
    started = await gateway.start_report("Solar panels", ORIGIN, "lost-answer-started")
    assert started.workflow_id == workflow_id_for(WorkflowKind.REPORT, TEAM, CHANNEL, "lost-answer-started")
    assert await exists(time_env.client, started.workflow_id)
    await time_env.client.get_workflow_handle(started.workflow_id).terminate("test over")


async def test_a_start_that_never_reached_temporal_is_reported_not_started(time_env: WorkflowEnvironment) -> None:
    gateway = TemporalGateway(_losing(time_env.client, sent=False), task_queue="no-worker", rpc_timeout=RPC_TIMEOUT)
    with pytest.raises(Unreachable, match="nothing was changed"):
        await gateway.start_report("Solar panels", ORIGIN, "lost-answer-not-started")
    workflow_id = workflow_id_for(WorkflowKind.REPORT, TEAM, CHANNEL, "lost-answer-not-started")
    assert not await exists(time_env.client, workflow_id)


async def test_report_whose_start_answer_was_lost_tells_the_requester_nothing_wrong(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    settings = bot_settings(slack)
    client = _losing(time_env.client, sent=True)
    gateway = TemporalGateway(client, task_queue=settings.task_queue, rpc_timeout=RPC_TIMEOUT)
    async with running_bot(slack, settings, client, gateway=gateway) as bot:
        result = await slack.send_slash_command(REQUESTER, "/report", "Solar panels", channel_id=CHANNEL)
        assert result.acked, result
        workflow_id = workflow_id_for(WorkflowKind.REPORT, TEAM, CHANNEL, f"/report:{result.trigger_id}")
        assert "Starting a report" in (result.body or "") and workflow_id in (result.body or ""), result
        # Settled (looked up by its id after the lost answer): it started, and nobody is told otherwise.
        await eventually(lambda: bot.deps.follow_ups.owed == 0)
        assert "not started" not in str(slack.ephemerals(REQUESTER))
    assert await exists(time_env.client, workflow_id)
    await time_env.client.get_workflow_handle(workflow_id).terminate("test over")


async def test_report_is_acked_with_its_workflow_id_then_started(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    settings = bot_settings(slack)
    client = bot_client(time_env.client)
    async with running_bot(slack, settings, client):
        result = await slack.send_slash_command(REQUESTER, "/plan", "Tidy the wiki", channel_id=CHANNEL)
        workflow_id = workflow_id_for(WorkflowKind.PLAN, TEAM, CHANNEL, f"/plan:{result.trigger_id}")
        body = result.body or ""
        assert result.acked and "Planning _Tidy the wiki_" in body and workflow_id in body, result
        assert "temporal-ui.test" in body and "I'll send you the link to its thread" in body
        # No worker runs: nothing but the bot can have started it.
        await eventually(lambda: exists(client, workflow_id))
        await client.get_workflow_handle(workflow_id).terminate("test over")


async def test_report_acks_starting_and_tells_a_failed_start_after(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    settings = bot_settings(slack)
    client = _losing(time_env.client, sent=False)
    gateway = TemporalGateway(client, task_queue=settings.task_queue, rpc_timeout=RPC_TIMEOUT)
    async with running_bot(slack, settings, client, gateway=gateway):
        result = await slack.send_slash_command(REQUESTER, "/report", "Solar panels", channel_id=CHANNEL)
        assert result.acked and "Starting a report on _Solar panels_" in (result.body or ""), result
        message = await told(slack, REQUESTER, "was not started")
        assert "nothing was changed" in message


# ---------------------------------------------------------------------------- DBOS


class _LosingDbosClient(DBOSClient):
    """A DBOS client whose enqueue is written (``written``) and never answers, or fails at once."""

    def __init__(self, url: str, *, written: bool) -> None:
        super().__init__(system_database_url=url)
        self.written = written

    async def enqueue_async(self, options: EnqueueOptions, *args: Any, **kwargs: Any) -> Any:
        if not self.written:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        await super().enqueue_async(options, *args, **kwargs)
        await asyncio.Event().wait()


@pytest.fixture
async def dbos_settings(slack: SlackSandbox, tmp_path: Path) -> AsyncIterator[Settings]:
    settings = replace(bot_settings(slack), engine=Engine.DBOS, database_url=f"sqlite:///{tmp_path / 'dbos.sqlite'}")
    async with engine_with_gateway(settings):
        yield settings


async def test_dbos_a_start_whose_answer_was_lost_but_written_is_reported_started(dbos_settings: Settings) -> None:
    assert dbos_settings.database_url is not None
    client = _LosingDbosClient(dbos_settings.database_url, written=True)
    try:
        gateway = DbosGateway(client, call_timeout=RPC_TIMEOUT)
        started = await gateway.start_report("Solar panels", ORIGIN, "dbos-lost-answer")
        assert started.workflow_id == workflow_id_for(WorkflowKind.REPORT, TEAM, CHANNEL, "dbos-lost-answer")
        assert await client.list_workflows_async(workflow_ids=[started.workflow_id])
    finally:
        client.destroy()


async def test_dbos_a_start_that_failed_unwritten_is_reported_not_started(dbos_settings: Settings) -> None:
    assert dbos_settings.database_url is not None
    client = _LosingDbosClient(dbos_settings.database_url, written=False)
    try:
        gateway = DbosGateway(client, call_timeout=RPC_TIMEOUT)
        with pytest.raises(Exception, match="nothing was changed") as raised:
            await gateway.start_report("Solar panels", ORIGIN, "dbos-failed")
        assert not isinstance(raised.value, MaybeStarted)
        workflow_id = workflow_id_for(WorkflowKind.REPORT, TEAM, CHANNEL, "dbos-failed")
        assert await client.list_workflows_async(workflow_ids=[workflow_id]) == []
    finally:
        client.destroy()


async def test_dbos_a_start_still_being_written_is_reported_as_maybe_started(dbos_settings: Settings) -> None:
    assert dbos_settings.database_url is not None
    release = asyncio.Event()

    class StillWriting(DBOSClient):
        async def enqueue_async(self, options: EnqueueOptions, *args: Any, **kwargs: Any) -> Any:
            await release.wait()  # a write that outlives the deadline: it may land after any lookup
            return await super().enqueue_async(options, *args, **kwargs)

    client = StillWriting(system_database_url=dbos_settings.database_url)
    try:
        gateway = DbosGateway(client, call_timeout=RPC_TIMEOUT)
        with pytest.raises(MaybeStarted, match="/report status report-"):
            await gateway.start_report("Solar panels", ORIGIN, "dbos-still-writing")
        release.set()
        workflow_id = workflow_id_for(WorkflowKind.REPORT, TEAM, CHANNEL, "dbos-still-writing")
        # And it did start, after the deadline: "not started" would have been wrong.
        await eventually(lambda: client.list_workflows_async(workflow_ids=[workflow_id]), timeout=10)
    finally:
        client.destroy()
