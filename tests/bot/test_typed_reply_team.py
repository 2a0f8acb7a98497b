"""A typed answer counts for the workspace of the person who typed it (the message's ``user_team``), not
the envelope's ``team_id``: in a Slack Connect channel the envelope names the receiving workspace."""

from __future__ import annotations

import pytest
from temporalio.testing import WorkflowEnvironment

from bot.typed_replies import thread_reply
from signoff.contracts.workflow_io import Phase
from signoff.sandbox import SlackSandbox
from tests.support.bot import bot_settings, worker_and_bot
from tests.support.flows import start_via_slack, waiting_draft
from tests.support.slack import APPROVER_1, CHANNEL, told
from workflows.human_loop import HumanReviewedWorkflow

OTHER_TEAM = "T0ELSEWHERE"


@pytest.mark.parametrize(
    ("fields", "team"),
    [
        ({"team": "T0SANDBOX"}, "T0SANDBOX"),
        ({"team": "T0SANDBOX", "user_team": OTHER_TEAM, "source_team": OTHER_TEAM}, OTHER_TEAM),
        ({}, None),
    ],
)
def test_the_reply_carries_its_authors_team(fields: dict[str, str], team: str | None) -> None:
    event = {"type": "message", "user": APPROVER_1, "channel": CHANNEL, "ts": "2.0", "thread_ts": "1.0", "text": "x"}
    reply = thread_reply({**event, **fields})
    assert reply is not None and reply.team_id == team


async def test_a_reply_typed_by_someone_of_another_workspace_is_refused(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    # No approvers named: Avery, a member of #general, could decide; typing from another workspace, not.
    async with worker_and_bot(slack, time_env.client, bot_settings(slack)) as bot:
        handle = await start_via_slack(slack, bot.client, "Shared-channel pricing")
        thread_ts, _ = await waiting_draft(slack, handle)
        message = slack.workspace.post_message(CHANNEL, text="approve", thread_ts=thread_ts, user=APPROVER_1)
        event = slack.interactions.message_event(message)
        # As Slack sends an external author's message in a Slack Connect channel (the envelope keeps ours).
        event.update(team=OTHER_TEAM, user_team=OTHER_TEAM, source_team=OTHER_TEAM)
        delivered = await slack.interactions.send_event(event)
        assert delivered.acked, delivered
        await told(slack, APPROVER_1, "belongs to another Slack workspace")
        state = await handle.query(HumanReviewedWorkflow.progress)
        assert (state.phase, state.approvals, state.decisions) == (Phase.PENDING_APPROVAL, [], [])
