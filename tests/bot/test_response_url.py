"""A signed request whose response_url is not Slack's is refused before any listener runs: nothing is
started or decided, and nothing is ever sent to that URL."""

from __future__ import annotations

import pytest
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from bot.gateway import workflow_id_for
from signoff.contracts.workflow_io import WorkflowKind
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from tests.support.bot import bot_settings, running_bot
from tests.support.forged import block_actions, deliver, deliver_command, slash_command
from tests.support.slack import APPROVER_1, CHANNEL, REQUESTER
from tests.support.web import recording_server


@pytest.mark.parametrize("command", ["/report", "/plan"])
async def test_a_command_whose_response_url_is_not_slacks_is_refused_and_starts_nothing(
    time_env: WorkflowEnvironment, slack: SlackSandbox, command: str
) -> None:
    async with (
        recording_server() as (elsewhere, received),
        running_bot(slack, bot_settings(slack), time_env.client) as bot,
    ):
        payload = slash_command(slack, REQUESTER, command, "Wind farms", response_url=f"{elsewhere}/steal")
        result = await deliver_command(slack, payload)
        assert result.status == 400 and "not Slack's" in (result.body or ""), result
        kind = WorkflowKind.REPORT if command == "/report" else WorkflowKind.PLAN
        workflow_id = workflow_id_for(kind, slack.workspace.team_id, CHANNEL, f"{command}:{payload['trigger_id']}")
        with pytest.raises(RPCError) as missing:
            await bot.client.get_workflow_handle(workflow_id).describe()
        assert missing.value.status == RPCStatusCode.NOT_FOUND
    assert received == []
    assert slack.ephemerals(REQUESTER) == [] and slack.messages(CHANNEL) == []


async def test_a_click_whose_response_url_is_not_slacks_is_refused(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    async with (
        recording_server() as (elsewhere, received),
        running_bot(slack, bot_settings(slack), time_env.client),
    ):
        click = block_actions(slack, APPROVER_1, "1700000000.000100", action_ids.APPROVE, "{}")
        click["response_url"] = f"{elsewhere}/steal?token=secret"
        result = await deliver(slack, click)
        assert result.status == 400, result
    assert received == []
    assert slack.ephemerals(APPROVER_1) == []


async def test_the_sandboxs_own_response_url_is_accepted(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    """SLACK_API_URL's host serves response_urls in the demo and the tests: a command from it is answered."""
    async with running_bot(slack, bot_settings(slack), time_env.client):
        result = await slack.send_slash_command(REQUESTER, "/report", "help")
    assert result.status == 200 and "Signoff commands" in (result.body or ""), result
