"""Bot and worker on separate hosts, sharing what people set with ``/signoff`` through PostgreSQL
(``SIGNOFF_PREFERENCES=postgresql://…``, the real server): an away set through the bot's ``/signoff
away`` is what the worker's ``load_away`` activity reads as a request opens, and a ``/signoff dm off``
is what its DM reminder activity honours. The two sides share no object and no connection, each has
settings of its own, and each runs in a working directory of its own, as on two machines (a file
either wrote there would be invisible to the other)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from signoff.activities.table import activity_table
from signoff.config.settings import Settings
from signoff.contracts.activity_io import LOAD_AWAY, SLACK_POST_DM_REMINDER, AwayNotice, AwayQuery, DmReminderInput
from signoff.contracts.workflow_io import DraftState, DraftView, MessageRef, WorkflowKind
from signoff.sandbox import SlackSandbox
from signoff.slack.client import slack_client
from tests.support.bot import bot_client, bot_settings, running_bot
from tests.support.preferences import new_database
from tests.support.slack import APPROVER_1, APPROVER_2, CHANNEL, OUTSIDER, told


def _host_settings(slack: SlackSandbox, preferences: str) -> Settings:
    """One host's settings, read on that host: the same SIGNOFF_PREFERENCES, nothing else shared."""
    return dataclasses.replace(bot_settings(slack, approvers=[APPROVER_1, APPROVER_2]), preferences=preferences)


@pytest.mark.process
async def test_what_the_bot_stores_on_one_host_the_worker_reads_on_another(
    time_env: WorkflowEnvironment,
    slack: SlackSandbox,
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    preferences = new_database(postgres_url)
    bot_host, worker_host = tmp_path / "bot-host", tmp_path / "worker-host"
    bot_host.mkdir()
    worker_host.mkdir()
    until = datetime.now(UTC).date() + timedelta(days=3)

    monkeypatch.chdir(bot_host)
    async with running_bot(slack, _host_settings(slack, preferences), bot_client(time_env.client)):
        await slack.send_slash_command(APPROVER_1, "/signoff", f"away until {until} to <@{OUTSIDER}|oscar>")
        await told(slack, APPROVER_1, f"You are away until {until}")
        await slack.send_slash_command(APPROVER_2, "/signoff", "dm off")
        await told(slack, APPROVER_2, "DM reminders are off")

    monkeypatch.chdir(worker_host)
    worker = activity_table(_host_settings(slack, preferences), slack_client(slack.bot_token, slack.api_url))
    # As a request for both opens: approver 1 is away, to Oscar.
    away = await worker[LOAD_AWAY](AwayQuery([APPROVER_1, APPROVER_2], datetime.now(UTC).date().isoformat()))
    assert away == [AwayNotice(APPROVER_1, until.isoformat(), OUTSIDER)]

    # A reminder round: approver 2 turned DMs off on the bot's host, approver 1 did not.
    thread = await slack_client(slack.bot_token, slack.api_url).chat_postMessage(channel=CHANNEL, text="A request")
    view = DraftView("request-1", WorkflowKind.REQUEST, "Vendor contract", 1, "The contract.", DraftState.OPEN)

    def reminder(user: str) -> DmReminderInput:
        return DmReminderInput(user, "Reminder 1", view, MessageRef(CHANNEL, str(thread["ts"])), CHANNEL)

    assert await worker[SLACK_POST_DM_REMINDER](reminder(APPROVER_2)) == "off"
    assert await worker[SLACK_POST_DM_REMINDER](reminder(APPROVER_1)) == "dm"
    # Nothing was kept in either host's directory: the hosts shared the database only.
    assert list(bot_host.iterdir()) == list(worker_host.iterdir()) == []
