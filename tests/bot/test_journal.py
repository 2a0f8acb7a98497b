"""The bot's journal of acknowledged starts (``bot.journal``, ``bot.replay``), in process.

``/report`` is acked with its workflow id while its start is still held back, journaled until the
start ends; a journal that cannot be written falls back to starting before the ack; the starts a
stopped bot left are made once each, an already-started one starting nothing; one that fails is
kept and tried again, and told to the requester only when given up. (As processes, SIGKILL and a
restart: tests/system/test_bot_journal.py.)
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import web
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from bot import replay
from bot.app import build_gateway
from bot.deps import Deps
from bot.gateway import TemporalGateway, workflow_id_for
from bot.journal import Journal, OwedStart, open_journal
from signoff.config.settings import Settings, SettingsError
from signoff.contracts.workflow_io import SlackOrigin, WorkflowKind
from signoff.sandbox import SlackSandbox
from tests.support.bot import bot_client, bot_settings, running_bot
from tests.support.slack import CHANNEL, REQUESTER, TEAM, told
from tests.support.starts import HeldStarts, exists, intercepted
from tests.support.waiting import eventually
from tests.support.web import RecordingApp, serving

ORIGIN = SlackOrigin(team_id=TEAM, channel_id=CHANNEL, requester_id=REQUESTER)


async def test_report_is_acked_with_its_id_before_its_start_and_journaled_until_it_ends(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    held = HeldStarts()
    client = intercepted(time_env.client, held)
    async with running_bot(slack, bot_settings(slack), client) as bot:
        result = await slack.send_slash_command(REQUESTER, "/report", "Held back", channel_id=CHANNEL)
        workflow_id = workflow_id_for(WorkflowKind.REPORT, TEAM, CHANNEL, f"/report:{result.trigger_id}")
        # The start has not been made (it is held), and the ack already names its workflow.
        assert result.acked and workflow_id in (result.body or "") and "Starting a report" in (result.body or "")
        await eventually(lambda: held.waiting == 1)
        [entry] = await bot.deps.journal.owed()
        assert entry.start.workflow_id == workflow_id and entry.start.subject == "Held back"
        held.release.set()
        await eventually(lambda: exists(client, workflow_id))
        await eventually(lambda: bot.deps.follow_ups.owed == 0)
        assert await bot.deps.journal.owed() == []
    await client.get_workflow_handle(workflow_id).terminate("test over")


async def test_a_journal_that_cannot_be_written_starts_before_the_ack(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    settings = bot_settings(slack)
    client = bot_client(time_env.client)
    broken = Journal.in_memory()
    broken.close()  # every write fails
    async with running_bot(slack, settings, client) as bot:
        bot.deps.journal = broken
        result = await slack.send_slash_command(REQUESTER, "/report", "No journal", channel_id=CHANNEL)
        workflow_id = workflow_id_for(WorkflowKind.REPORT, TEAM, CHANNEL, f"/report:{result.trigger_id}")
        assert result.acked and "is started" in (result.body or ""), result
        assert await exists(client, workflow_id)  # made before the ack, as without a journal
    await client.get_workflow_handle(workflow_id).terminate("test over")


def _owed(key: str) -> OwedStart:
    return OwedStart(kind=WorkflowKind.REPORT, subject=f"Owed {key}", origin=ORIGIN, request_key=key)


async def test_replay_makes_each_owed_start_once_and_leaves_a_started_one_alone(
    time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path
) -> None:
    settings = bot_settings(slack)
    client = bot_client(time_env.client)
    gateway = build_gateway(settings, client)
    journal = open_journal(str(tmp_path / "journal.sqlite"))
    try:
        owed = [_owed(f"replay-{n}") for n in range(3)]
        for start in owed:
            await journal.add(start)
        # The first was made before its bot died (it could not forget it in time).
        made = await owed[0].start(gateway)
        run_before = (await client.get_workflow_handle(made.workflow_id).describe()).run_id
        assert await replay.replay_owed(Deps(settings=settings, gateway=gateway, journal=journal)) == []
        for start in owed:
            assert await exists(client, start.workflow_id), start
        assert (await client.get_workflow_handle(made.workflow_id).describe()).run_id == run_before
        assert await journal.owed() == []
        assert slack.ephemerals(REQUESTER) == []  # nobody told "already running"
    finally:
        journal.close()
    for start in owed:
        await client.get_workflow_handle(start.workflow_id).terminate("test over")


async def test_a_replayed_start_that_fails_is_kept_then_told_when_given_up(
    time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = bot_settings(slack)
    # A Temporal that refuses every connection: the start fails, nothing is made.
    nowhere = await Client.connect("127.0.0.1:1", lazy=True)
    gateway = TemporalGateway(nowhere, task_queue=settings.task_queue)
    journal = open_journal(str(tmp_path / "journal.sqlite"))
    deps = Deps(settings=settings, gateway=gateway, journal=journal)
    # A response_url of the sandbox's, as a /report carries.
    async with running_bot(slack, settings, bot_client(time_env.client)):
        answered = await slack.send_slash_command(REQUESTER, "/report", "help", channel_id=CHANNEL)
    start = replace(_owed("fails"), origin=replace(ORIGIN, response_url=answered.response_url))
    try:
        await journal.add(start)
        [left] = await replay.replay_owed(deps)
        assert left.start == start and len(await journal.owed()) == 1  # kept, to try again
        monkeypatch.setattr(replay, "GIVE_UP_AFTER", replay.GIVE_UP_AFTER * 0)
        assert await replay.replay_owed(deps) == []
        message = await told(slack, REQUESTER, "was not started")
        assert "Temporal is unreachable" in message
        assert await journal.owed() == []
    finally:
        journal.close()


async def test_a_given_up_start_is_not_told_to_a_response_url_that_is_not_slacks(
    slack: SlackSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A journal entry edited to point elsewhere (the file is on a disk, not signed): nothing is sent there."""
    settings = bot_settings(slack)
    nowhere = await Client.connect("127.0.0.1:1", lazy=True)
    journal = open_journal(str(tmp_path / "journal.sqlite"))
    deps = Deps(settings=settings, gateway=TemporalGateway(nowhere, task_queue=settings.task_queue), journal=journal)
    elsewhere = RecordingApp()
    app = web.Application()
    app.router.add_post("/hook", elsewhere.handle)
    monkeypatch.setattr(replay, "GIVE_UP_AFTER", replay.GIVE_UP_AFTER * 0)
    try:
        async with serving(app) as base:
            await journal.add(replace(_owed("fails"), origin=replace(ORIGIN, response_url=f"{base}/hook")))
            assert await replay.replay_owed(deps) == []
        assert elsewhere.received == []
        assert await journal.owed() == []  # given up as before: only the message is withheld
    finally:
        journal.close()


async def test_the_journal_setting_names_a_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^SIGNOFF_BOT_JOURNAL='/data/' must name a file"):
        Settings.from_env({"SIGNOFF_BOT_JOURNAL": "/data/"})
    path = tmp_path / "journal.sqlite"
    assert Settings.from_env({"SIGNOFF_BOT_JOURNAL": str(path)}).bot_journal == str(path)
    first = open_journal(str(path))
    try:
        with pytest.raises(SettingsError, match="in use by another bot"):
            open_journal(str(path))
    finally:
        first.close()
    open_journal(str(path)).close()  # free again once the first bot is gone
