"""The preference store down while signoff runs (a PostgreSQL server that stopped answering): a
``/signoff`` command says its choice was not saved and changes nothing, the Home still opens, and a
DM reminder is not sent to someone whose opt-out cannot be read (the thread has the reminder). The
password in the URL is in none of what anyone is told or the log."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from signoff.activities.table import activity_table
from signoff.contracts.activity_io import SLACK_POST_DM_REMINDER, DmReminderInput
from signoff.contracts.workflow_io import DraftState, DraftView, MessageRef, WorkflowKind
from signoff.sandbox import SlackSandbox
from signoff.slack.client import slack_client
from signoff.temporal.devserver import free_port
from tests.support.bot import bot_client, bot_settings, running_bot
from tests.support.slack import APPROVER_1, CHANNEL, ephemeral_texts, told

PASSWORD = "s3cret-Pa55"
NOT_SAVED = "That could not be saved just now"


async def test_an_unavailable_store_is_said_and_changes_nothing(
    time_env: WorkflowEnvironment, slack: SlackSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    down = f"postgresql://signoff:{PASSWORD}@127.0.0.1:{free_port()}/preferences"
    settings = dataclasses.replace(bot_settings(slack, approvers=[APPROVER_1]), preferences=down)
    until = datetime.now(UTC).date() + timedelta(days=2)
    async with running_bot(slack, settings, bot_client(time_env.client)):
        await slack.send_slash_command(APPROVER_1, "/signoff", "dm off")
        await told(slack, APPROVER_1, NOT_SAVED)
        seen = len(ephemeral_texts(slack, APPROVER_1))
        await slack.send_slash_command(APPROVER_1, "/signoff", f"away until {until}")
        assert "nothing changed" in await told(slack, APPROVER_1, NOT_SAVED, after=seen)
        await slack.open_home(APPROVER_1)
        await slack.wait_for(lambda: slack.home_view(APPROVER_1))

    worker = activity_table(settings, slack_client(slack.bot_token, slack.api_url))
    thread = await slack_client(slack.bot_token, slack.api_url).chat_postMessage(channel=CHANNEL, text="A request")
    view = DraftView("request-1", WorkflowKind.REQUEST, "Vendor contract", 1, "The contract.", DraftState.OPEN)
    reminder = DmReminderInput(APPROVER_1, "Reminder 1", view, MessageRef(CHANNEL, str(thread["ts"])), CHANNEL)
    assert await worker[SLACK_POST_DM_REMINDER](reminder) == "undelivered"
    assert not slack.messages(slack.workspace.directory.im_with(APPROVER_1).id)

    told_them = " ".join(ephemeral_texts(slack, APPROVER_1))
    assert "127.0.0.1" not in told_them and PASSWORD not in told_them
    assert "signoff:***@127.0.0.1" in caplog.text and PASSWORD not in caplog.text
