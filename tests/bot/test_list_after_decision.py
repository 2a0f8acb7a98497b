"""`/report list` right after a decision shows the decision, not the phase from before it.

A decision lands, then the workflow posts about it to the thread before it finishes; the list (the
SignoffPhase search attribute, on a namespace where `signoff setup` ran) said "Waiting for approval"
until then. Here Slack refuses the thread's posts, so the workflow stays between the decision and
its end for as long as the test needs: the list must say "Rejected" meanwhile.
"""

from __future__ import annotations

import json

import pytest
from temporalio.client import Client

from signoff.contracts.workflow_io import Phase
from signoff.sandbox import SlackSandbox
from signoff.temporal.devserver import DevServer
from signoff.temporal.search_attributes import register
from tests.support.bot import bot_settings, worker_and_bot
from tests.support.flows import reply_in_thread, start_via_slack, waiting_draft
from tests.support.slack import APPROVER_1, CHANNEL, REQUESTER, told
from tests.support.temporal import fresh_namespace, wait_for_phase
from tests.support.waiting import eventually

pytestmark = [pytest.mark.process, pytest.mark.slow]


async def test_the_list_shows_a_rejection_while_the_workflow_still_posts_about_it(
    dev_server: DevServer, slack: SlackSandbox
) -> None:
    temporal = await fresh_namespace(await Client.connect(dev_server.address))
    assert await register(temporal, temporal.namespace)  # what `signoff setup` does
    async with worker_and_bot(slack, temporal, bot_settings(slack, approvers=[APPROVER_1])) as bot:
        handle = await start_via_slack(slack, bot.client, "Tidal power")
        thread_ts, _ = await waiting_draft(slack, handle)
        await wait_for_phase(handle, Phase.PENDING_APPROVAL)

        # The thread's posts fail (retried) from now on: the workflow cannot finish.
        slack.faults.fail("chat.postMessage", times=10_000, status=500)
        await reply_in_thread(slack, APPROVER_1, thread_ts, "reject: too late")
        await told(slack, APPROVER_1, "Rejected revision 1")

        async def listed_phase() -> str | None:
            before = len(slack.ephemerals(REQUESTER))
            await slack.send_slash_command(REQUESTER, "/report", "list", channel_id=CHANNEL)
            answer = await slack.wait_for(lambda: slack.ephemerals(REQUESTER)[before:])
            shown = json.dumps(answer[0].get("blocks") or [])
            # Visibility may lag a moment behind the workflow: asked again until it shows the rejection.
            return shown if "Rejected" in shown else None

        shown = await eventually(listed_phase, interval=0.2)
        assert "Waiting for approval" not in shown
        assert (await handle.describe()).close_time is None, "the workflow was still posting about it"
        slack.faults.clear()
        assert await handle.result() == "Report rejected: too late"
