"""``signoff bot`` killed after acknowledging starts it had not made: the next bot makes them, each once.

The first bot (``tests.support.held_starts_bot``: the command line's bot whose starts never end)
acknowledges a burst of ``/report`` commands and is SIGKILLed with none of them started; one of
them is then started by someone else, as if the bot had made it and died before forgetting it. A
real ``signoff bot`` on the same journal serves only once it has made the others: every acknowledged
report then has exactly one run, the one already started keeps its own, and the requester is told
nothing wrong. A journal that cannot be used stops ``signoff bot`` with one line (exit 2).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest
from dbos import DBOSClient, EnqueueOptions
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError

from bot.gateway import workflow_id_for
from signoff.contracts.engine_messages import QUEUE, WORKFLOW_NAMES
from signoff.contracts.workflow_io import ReportRequest, SlackOrigin, WorkflowKind
from signoff.sandbox import SlackSandbox
from signoff.sandbox.directory import BOT_USER_ID, DEFAULT_USERS, Channel
from signoff.temporal.connection import data_converter
from signoff.temporal.devserver import DevServer, free_port
from tests.support.processes import BotProcess, ChildProcess, signoff_command, signoff_env, wait_until_serving
from tests.support.slack import REQUESTER
from workflows import ReportGenerationWorkflow

pytestmark = [pytest.mark.process, pytest.mark.slow]

BURST_CHANNEL = Channel("C0JOURNAL", "journal", frozenset({REQUESTER, BOT_USER_ID}))
BURST = 10


@pytest.fixture
async def slack_for_journal() -> AsyncIterator[SlackSandbox]:
    sandbox = SlackSandbox(users=list(DEFAULT_USERS), channels=[BURST_CHANNEL])
    await sandbox.start(port=0)
    try:
        yield sandbox
    finally:
        await sandbox.stop()


def _journal_rows(path: Path) -> int:
    with closing(sqlite3.connect(path)) as connection:
        return int(connection.execute("SELECT count(*) FROM owed_starts").fetchone()[0])


async def _runs(client: Client, workflow_id: str) -> list[str]:
    """The run ids of every execution with this workflow id (a second start would add one)."""
    return [execution.run_id async for execution in client.list_workflows(f"WorkflowId = '{workflow_id}'")]


async def _acked_then_killed(slack: SlackSandbox, env: dict[str, str], port: int, log_dir: Path) -> list[str]:
    """A burst of ``/report`` acknowledged by a bot whose starts never end, then SIGKILLed; their workflow ids."""
    held = ChildProcess([str(port)], env, log_dir / "held.log", command=("-m", "tests.support.held_starts_bot"))
    held.start()
    try:
        await wait_until_serving(f"http://127.0.0.1:{port}/healthz", held)
        slack.request_url = f"http://127.0.0.1:{port}/slack/events"
        results = await asyncio.gather(
            *(
                slack.send_slash_command(REQUESTER, "/report", f"Journaled {n}", channel_id=BURST_CHANNEL.id)
                for n in range(BURST)
            )
        )
        assert all(result.acked for result in results), results
        # No goodbye, and none of the acknowledged starts made.
        held.kill()
    finally:
        held.stop()
    return [
        workflow_id_for(WorkflowKind.REPORT, slack.workspace.team_id, BURST_CHANNEL.id, f"/report:{r.trigger_id}")
        for r in results
    ]


def _origin(slack: SlackSandbox) -> SlackOrigin:
    return SlackOrigin(slack.workspace.team_id, BURST_CHANNEL.id, REQUESTER)


@pytest.mark.timeout(180)
async def test_sigkill_after_acking_a_burst_then_restart_starts_each_acked_report_once(
    dev_server: DevServer, slack_for_journal: SlackSandbox, tmp_path: Path
) -> None:
    slack = slack_for_journal
    journal = tmp_path / "journal.sqlite"
    task_queue = f"journal-{uuid.uuid4()}"  # no worker: the workflows only have to exist
    env = {**signoff_env(slack, dev_server.address, task_queue), "SIGNOFF_BOT_JOURNAL": str(journal)}
    port = free_port()
    bot = BotProcess(env, tmp_path / "bot.log", port=port)
    client = await Client.connect(dev_server.address, data_converter=data_converter())
    ids: list[str] = []
    try:
        ids = await _acked_then_killed(slack, env, port, tmp_path)
        for workflow_id in ids:
            assert not await _runs(client, workflow_id)
        # One of them is started meanwhile (the bot made it and was killed before forgetting it).
        already = await client.start_workflow(
            ReportGenerationWorkflow.run,
            ReportRequest(topic="Journaled 0", origin=_origin(slack)),
            id=ids[0],
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        told_before = len(slack.ephemerals(REQUESTER))

        # Serving means the journal's starts were made.
        await bot.start()
        for workflow_id in ids:
            runs = await _runs(client, workflow_id)
            assert len(runs) == 1, f"{workflow_id}: runs {runs}\n{bot.child.output()}"
        assert await _runs(client, ids[0]) == [already.first_execution_run_id]
        assert "Started" in bot.child.output() and "was already started" in bot.child.output(), bot.child.output()
        # Nobody is told "already running" or "not started" about their own acknowledged request.
        assert slack.ephemerals(REQUESTER)[told_before:] == []
        bot.stop()
        assert _journal_rows(journal) == 0
    finally:
        bot.stop()
        for workflow_id in ids:
            with contextlib.suppress(RPCError):
                await client.get_workflow_handle(workflow_id).terminate("test over")


@pytest.mark.timeout(180)
async def test_dbos_sigkill_after_acking_a_burst_then_restart_starts_each_acked_report_once(
    slack_for_journal: SlackSandbox, tmp_path: Path
) -> None:
    """``SIGNOFF_ENGINE=dbos signoff bot``: the same, the workflows enqueued in its SQLite database."""
    slack = slack_for_journal
    journal = tmp_path / "journal.sqlite"
    url = f"sqlite:///{tmp_path / 'dbos.sqlite'}"
    env = {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": slack.signing_secret,
        "SLACK_API_URL": slack.api_url,
        "SIGNOFF_ENGINE": "dbos",
        "SIGNOFF_DATABASE_URL": url,
        "SIGNOFF_BOT_JOURNAL": str(journal),
    }
    port = free_port()
    bot = BotProcess(env, tmp_path / "bot.log", port=port)
    ids = await _acked_then_killed(slack, env, port, tmp_path)
    client = DBOSClient(system_database_url=url)
    try:
        for workflow_id in ids:
            assert await client.list_workflows_async(workflow_ids=[workflow_id]) == []
        # One of them is started meanwhile, with a subject of its own to tell it apart.
        options: EnqueueOptions = {
            "queue_name": QUEUE,
            "workflow_name": WORKFLOW_NAMES[WorkflowKind.REPORT],
            "workflow_id": ids[0],
        }
        await client.enqueue_async(options, ReportRequest(topic="Started before the restart", origin=_origin(slack)))

        await bot.start()
        for workflow_id in ids:
            [found] = await client.list_workflows_async(workflow_ids=[workflow_id], load_input=True)
            assert found.input is not None, found
        [first] = await client.list_workflows_async(workflow_ids=[ids[0]], load_input=True)
        assert first.input is not None and first.input["args"][0].topic == "Started before the restart"
        assert "was already started" in bot.child.output(), bot.child.output()
        bot.stop()
        assert _journal_rows(journal) == 0
    finally:
        bot.stop()
        client.destroy()


@pytest.mark.parametrize(
    ("what", "make"),
    [
        ("not a database", lambda tmp: _written(tmp / "journal.sqlite", b"this is no SQLite file, " * 100)),
        ("in a directory that does not exist", lambda tmp: tmp / "missing" / "journal.sqlite"),
        ("where nothing can be written", lambda tmp: Path("/proc/signoff-journal.sqlite")),
        ("a directory", lambda tmp: tmp),
    ],
)
async def test_an_unusable_journal_stops_the_bot_with_one_line(
    what: str, make: object, slack: SlackSandbox, tmp_path: Path
) -> None:
    assert callable(make)
    path = make(tmp_path)
    env = {
        **signoff_env(slack, "127.0.0.1:1", "journal-refused"),
        "SIGNOFF_BOT_JOURNAL": str(path),
    }
    done = await asyncio.to_thread(signoff_command, "bot", "--port", str(free_port()), env=env)
    assert done.returncode == 2, (what, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "SIGNOFF_BOT_JOURNAL" in lines[0], (what, done.stderr)


def _written(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path
