"""Who sees a request and who decides it, on every surface (signoff/contracts/access.py), on the real dev server (the
lists are visibility queries): with no approvers named, a draft in a private channel belongs to its members.
Oscar is not in #project-private; Avery is."""

from __future__ import annotations

import json

import pytest
from temporalio.client import Client

from signoff.contracts.access import NOT_A_MEMBER
from signoff.contracts.workflow_io import Phase
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from signoff.slack.action_ids import ButtonValue
from signoff.temporal.devserver import DevServer
from tests.support.bot import bot_settings, worker_and_bot
from tests.support.flows import start_via_slack, waiting_draft
from tests.support.forged import block_actions, deliver, home_actions
from tests.support.slack import APPROVER_1, OUTSIDER, REQUESTER, answer_to, button_pairs, ephemeral_texts, told
from tests.support.waiting import eventually
from workflows.human_loop import HumanReviewedWorkflow

pytestmark = pytest.mark.process

PROJECT = "G0PROJECT"
SUBJECT = "Quarterly hiring plan for the platform team"


async def home_of(slack: SlackSandbox, user: str) -> str:
    """``user``'s Home, freshly published after they open it (as JSON text)."""
    published = [c for c in slack.calls_to("views.publish") if c.params.get("user_id") == user]
    await slack.open_home(user)
    await slack.wait_for(
        lambda: len([c for c in slack.calls_to("views.publish") if c.params.get("user_id") == user]) > len(published),
        timeout=15,
    )
    return json.dumps(slack.home_view(user))


def dm_texts(slack: SlackSandbox, user: str) -> list[str]:
    return [str(m.get("text") or "") for m in slack.messages("D" + user[1:])]


async def test_a_non_member_sees_and_decides_nothing_of_a_private_channels_draft(
    dev_server: DevServer, slack: SlackSandbox
) -> None:
    settings = bot_settings(slack)  # no approvers named: the members of the request's channel decide
    async with worker_and_bot(slack, await Client.connect(dev_server.address), settings) as bot:
        handle = await start_via_slack(slack, bot.client, SUBJECT, channel=PROJECT)
        _, draft = await waiting_draft(slack, handle, channel=PROJECT)
        approve = next(value for action, value in button_pairs(draft) if action == action_ids.APPROVE)
        assert ButtonValue.decode(approve).workflow_id == handle.id

        # A member's Home lists it (once visibility has it), with its buttons; /report list shows it to them.
        await eventually(lambda: _listed(slack, APPROVER_1, handle.id), interval=0.2)
        assert SUBJECT in await answer_to(slack, APPROVER_1, "list")

        # Oscar's Home, /report list and /report status <id> show nothing of it: status answers as for no such id.
        oscar_home = await home_of(slack, OUTSIDER)
        assert handle.id not in oscar_home and SUBJECT not in oscar_home
        assert SUBJECT not in await answer_to(slack, OUTSIDER, "list")
        nothing = await answer_to(slack, OUTSIDER, "status report-T0SANDBOX-G0PROJECT-0000000000000000")
        status = await answer_to(slack, OUTSIDER, f"status {handle.id}")
        assert status == nothing and SUBJECT not in status and REQUESTER not in status

        # A forged click with the draft's real button: from Oscar's Home, and as if on a message in a
        # channel he is in. Each is refused and told to him only; nothing changes.
        await deliver(slack, home_actions(slack, OUTSIDER, action_ids.APPROVE, approve))
        await slack.wait_for(lambda: any(NOT_A_MEMBER in t for t in dm_texts(slack, OUTSIDER)), timeout=15)
        result = await deliver(slack, block_actions(slack, OUTSIDER, draft["ts"], action_ids.APPROVE, approve))
        assert result.acked, result
        await told(slack, OUTSIDER, NOT_A_MEMBER)
        # The forms that would show the draft's subject or text do not open for him either.
        for action in (action_ids.REJECT, action_ids.EDIT_APPROVE):
            await deliver(slack, home_actions(slack, OUTSIDER, action, approve))
        await slack.wait_for(lambda: sum("cannot see that request" in t for t in dm_texts(slack, OUTSIDER)) == 2)
        assert slack.open_views(OUTSIDER) == []
        state = await handle.query(HumanReviewedWorkflow.progress)
        assert (state.phase, state.approvals, state.decisions) == (Phase.PENDING_APPROVAL, [], [])
        assert not any(NOT_A_MEMBER in t for u in (REQUESTER, APPROVER_1) for t in ephemeral_texts(slack, u))

        # A member decides.
        await deliver(
            slack, block_actions(slack, APPROVER_1, draft["ts"], action_ids.APPROVE, approve, channel_id=PROJECT)
        )
        await told(slack, APPROVER_1, "Recorded your approval")
        await handle.result()


async def _listed(slack: SlackSandbox, user: str, workflow_id: str) -> bool:
    return workflow_id in await home_of(slack, user)
