"""The worker posts only to Slack's response_urls (or the configured SLACK_API_URL's host): a workflow
started by any Temporal client with a response_url pointing elsewhere never makes the worker send
a request there; the requester is told by DM instead, and the log names the host only."""

from __future__ import annotations

import logging
import uuid

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from signoff.activities.slack import SlackActivities
from signoff.contracts.activity_io import EphemeralInput
from signoff.contracts.workflow_io import ReportRequest, SlackOrigin
from signoff.sandbox import SlackSandbox
from signoff.slack.client import slack_client
from tests.support.slack import REQUESTER, TEAM
from tests.support.steps import Attempt
from tests.support.temporal import running_worker, with_agents_plugin, worker_settings
from tests.support.web import recording_server
from workflows import ReportGenerationWorkflow

WATERCOOLER = "C0WATERCO"  # #watercooler: everyone but the app


async def test_an_ephemeral_is_not_sent_to_a_response_url_that_is_not_slacks(
    slack: SlackSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    acts = SlackActivities(slack_client(slack.bot_token, slack.api_url))
    async with recording_server() as (elsewhere, received):
        told = EphemeralInput(
            channel_id=WATERCOOLER,
            user_id=REQUESTER,
            text="Invite me.",
            dm_if_refused=True,
            response_url=f"{elsewhere}/steal?token=secret",
        )
        with caplog.at_level(logging.WARNING):
            assert await Attempt().run(acts.post_ephemeral, told) == "dm"
    assert received == []
    assert [m["text"] for m in slack.messages(REQUESTER)] == ["Invite me."]
    [warning] = [r.getMessage() for r in caplog.records if "not Slack's" in r.getMessage()]
    assert elsewhere in warning and "steal" not in warning and "secret" not in warning


async def test_a_workflow_started_with_a_foreign_response_url_sends_it_nothing(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    """Slack refuses the thread and the ephemeral in a channel the app is not in; the workflow would
    answer through the command's response_url, which here is not Slack's: a DM instead."""
    settings = worker_settings(slack)
    async with recording_server() as (elsewhere, received), running_worker(time_env.client, settings):
        origin = SlackOrigin(
            team_id=TEAM, channel_id=WATERCOOLER, requester_id=REQUESTER, response_url=f"{elsewhere}/steal"
        )
        handle = await with_agents_plugin(time_env.client, settings).start_workflow(
            ReportGenerationWorkflow.run,
            ReportRequest(topic="Wind farms", origin=origin, settings=settings.workflow),
            id=f"report-test-{uuid.uuid4()}",
            task_queue=settings.task_queue,
        )
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    assert received == []
    assert slack.calls_to("response_url") == []
    [dm] = [m["text"] for m in slack.messages(REQUESTER)]
    assert f"(`{handle.id}`)" in dm and "Invite me" in dm
