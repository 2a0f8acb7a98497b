"""App Home, /report list and /report status need Temporal visibility: these run on the real dev server."""

from __future__ import annotations

import json

import pytest
from temporalio.client import Client

from signoff.contracts.workflow_io import Phase
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from signoff.slack.action_ids import ButtonValue
from signoff.temporal.devserver import DevServer
from tests.support.block_checks import assert_valid_everything
from tests.support.bot import bot_settings, worker_and_bot
from tests.support.flows import start_via_slack
from tests.support.forged import deliver, home_actions
from tests.support.slack import APPROVALS_CHANNEL, APPROVER_1, REQUESTER, button_pairs
from tests.support.temporal import wait_for_phase
from tests.support.waiting import eventually

pytestmark = pytest.mark.process


async def test_home_list_and_status_from_visibility(dev_server: DevServer, slack: SlackSandbox) -> None:
    settings = bot_settings(slack, approvers=[APPROVER_1])
    async with worker_and_bot(slack, await Client.connect(dev_server.address), settings) as bot:
        handle = await start_via_slack(slack, bot.client, "Battery storage", channel=APPROVALS_CHANNEL)
        await wait_for_phase(handle, Phase.PENDING_APPROVAL)

        # The approver's Home lists the draft with its buttons (visibility may lag a moment).
        async def listed() -> list[tuple[str, str]]:
            await slack.open_home(APPROVER_1)
            view = await slack.wait_for(lambda: slack.home_view(APPROVER_1))
            return [b for b in button_pairs(view) if ButtonValue.decode(b[1]).workflow_id == handle.id]

        ours = await eventually(listed, interval=0.2)
        # The Home offers Approve, Approve with comment, Request revision and Reject (Edit & approve: in the thread).
        assert [a for a, _ in ours] == list(action_ids.DECISION_ACTIONS_WITHOUT_EDITS)

        # Approving from the Home: acked, told in the app's DM, the Home refreshed without it.
        published = len(slack.calls_to("views.publish"))
        result = await deliver(slack, home_actions(slack, APPROVER_1, action_ids.APPROVE, ours[0][1]))
        assert result.acked, result
        dm = "D" + APPROVER_1[1:]
        await slack.wait_for(
            lambda: any("Recorded your approval" in (m.get("text") or "") for m in slack.messages(dm)), timeout=15
        )
        await handle.result()
        await slack.wait_for(lambda: len(slack.calls_to("views.publish")) > published)
        assert handle.id not in json.dumps(slack.home_view(APPROVER_1))

        # The requester's Home lists their request with its status.
        await slack.open_home(REQUESTER)
        requester_view = await slack.wait_for(lambda: slack.home_view(REQUESTER))
        assert "Your requests" in json.dumps(requester_view) and "Battery storage" in json.dumps(requester_view)

        # /report status with no id: the latest in this channel.
        await slack.send_slash_command(REQUESTER, "/report", "status", channel_id=APPROVALS_CHANNEL)
        await slack.wait_for(
            lambda: any("Battery storage" in json.dumps(e.get("blocks") or []) for e in slack.ephemerals(REQUESTER)),
            timeout=15,
        )

        # /report list answers from visibility.
        await slack.send_slash_command(REQUESTER, "/report", "list", channel_id=APPROVALS_CHANNEL)
        await slack.wait_for(
            lambda: any("open workflow" in (e.get("text") or "") for e in slack.ephemerals(REQUESTER)), timeout=15
        )
    assert_valid_everything(slack)
