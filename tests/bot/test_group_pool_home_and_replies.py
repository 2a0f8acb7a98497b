"""A user group as the pool (SIGNOFF_APPROVER_GROUP) everywhere a decision is made, by the one rule
(signoff/contracts/access.py): a member of the group who is not in the request's channel finds it in
their App Home and decides there; a member types ``approve`` in the thread; a channel member outside
the group is offered nothing; a claimer going away hands it to another member. On DBOS (SQLite): the Home lists without Temporal's visibility, which the
time-skipping server has not; the rule is the engines' same."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from bot.server import EVENTS_PATH
from signoff.contracts.workflow_io import Phase
from signoff.sandbox import SlackSandbox
from signoff.sandbox.directory import UserGroup
from signoff.slack import action_ids
from signoff.slack.action_ids import ButtonValue
from signoff.temporal.devserver import DevServer
from tests.support.api import KEYS, ApiCaller
from tests.support.block_checks import assert_valid_everything
from tests.support.bot import RunningBot, bot_settings, worker_and_bot
from tests.support.engines import phase_of, running_stack
from tests.support.flows import start_via_slack, thread_of
from tests.support.forged import deliver, home_actions
from tests.support.slack import (
    APPROVALS_CHANNEL,
    APPROVER_1,
    APPROVER_2,
    LEADS,
    OUTSIDER,
    REQUESTER,
    answer_to,
    button_pairs,
    draft_messages,
    told,
)
from tests.support.waiting import eventually

# @leads: Avery (in #approvals) and Oscar (not in #approvals). Blake is in #approvals, not in @leads.
GROUP = UserGroup(LEADS, "leads", "Leads", (APPROVER_1, OUTSIDER))


@pytest.fixture
async def slack() -> AsyncIterator[SlackSandbox]:
    async with SlackSandbox(usergroups=[GROUP]) as sandbox:
        yield sandbox


@pytest.fixture
async def stack(time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path) -> AsyncIterator[RunningBot]:
    settings = bot_settings(slack, approver_group=LEADS, required_approvals=2, decision_deadline=None)
    async with running_stack("dbos-sqlite", slack, settings, temporal_client=time_env.client, tmp_path=tmp_path) as bot:
        yield bot
    assert_valid_everything(slack)


@pytest.fixture
async def claimable(time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path) -> AsyncIterator[RunningBot]:
    settings = bot_settings(slack, approver_group=LEADS, decision_deadline=None)
    settings = dataclasses.replace(settings, preferences=str(tmp_path / "preferences.sqlite"))
    async with running_stack("dbos-sqlite", slack, settings, temporal_client=time_env.client, tmp_path=tmp_path) as bot:
        yield bot


async def home_buttons(slack: SlackSandbox, user: str, workflow_id: str) -> list[tuple[str, str]]:
    """The decision buttons ``user``'s freshly published Home shows for ``workflow_id``."""
    published = len(slack.calls_to("views.publish"))
    await slack.open_home(user)
    await slack.wait_for(lambda: len(slack.calls_to("views.publish")) > published)
    view = slack.home_view(user)
    assert view is not None
    return [pair for pair in button_pairs(view) if ButtonValue.decode(pair[1]).workflow_id == workflow_id]


async def test_a_group_member_decides_from_the_home_and_by_a_typed_reply(
    stack: RunningBot, slack: SlackSandbox
) -> None:
    workflow_id = (await start_via_slack(slack, stack.client, "Firewall change", channel=APPROVALS_CHANNEL)).id
    ts = thread_of(await phase_of(stack, workflow_id, Phase.PENDING_APPROVAL))

    # Oscar is not in #approvals but is in @leads: his Home offers the draft, its buttons naming the group.
    buttons = await home_buttons(slack, OUTSIDER, workflow_id)
    assert [action for action, _ in buttons][:1] == [action_ids.APPROVE]
    assert ButtonValue.decode(buttons[0][1]).pool == LEADS
    # Blake is in #approvals but not in @leads: nothing for him to decide.
    assert await home_buttons(slack, APPROVER_2, workflow_id) == []
    # And /report list shows it to Oscar: a member of its pool may see it, as a channel member may.
    assert "Firewall change" in await answer_to(slack, OUTSIDER, "list")

    # A group member may see it too: Approve with comment opens its form, named for the request.
    opened = len(slack.calls_to("views.open"))
    comment = home_actions(slack, OUTSIDER, action_ids.COMMENT_APPROVE, buttons[0][1])
    assert (await deliver(slack, comment)).acked
    await slack.wait_for(lambda: len(slack.calls_to("views.open")) > opened)
    assert "Firewall change" in str(slack.calls_to("views.open")[-1].params)

    result = await deliver(slack, home_actions(slack, OUTSIDER, action_ids.APPROVE, buttons[0][1]))
    assert result.acked, result
    dm = slack.workspace.directory.im_with(OUTSIDER).id
    await slack.wait_for(lambda: any("Recorded your approval" in str(m.get("text")) for m in slack.messages(dm)))

    # Avery, in @leads, types it in the thread: the same rule, checked against the group.
    await slack.post_as_user(APPROVER_1, APPROVALS_CHANNEL, "approve", thread_ts=ts)
    await told(slack, APPROVER_1, "Recorded your approval of revision 1 (2 of 2)")
    done = await phase_of(stack, workflow_id, Phase.APPROVED)
    assert done.approvals == [OUTSIDER, APPROVER_1]


@pytest.mark.process
async def test_on_temporal_visibility_a_group_member_s_home_keeps_pooled_drafts_from_other_channels(
    dev_server: DevServer, slack: SlackSandbox
) -> None:
    """Visibility lists the pooled drafts without their group; the Home keeps them for a member of the
    deployment's group (from channels they are not in) and applies the rule to each one's progress."""
    settings = bot_settings(slack, approver_group=LEADS, decision_deadline=None)
    async with worker_and_bot(slack, await Client.connect(dev_server.address), settings) as bot:
        assert await bot.deps.gateway.lists_by_search_attributes()
        workflow_id = (await start_via_slack(slack, bot.client, "Firewall change", channel=APPROVALS_CHANNEL)).id
        # Visibility may lag a moment behind the start.
        buttons = await eventually(lambda: home_buttons(slack, OUTSIDER, workflow_id), interval=0.2)
        assert ButtonValue.decode(buttons[0][1]).pool == LEADS


async def test_a_claimer_going_away_hands_it_to_another_member_of_the_group(
    claimable: RunningBot, slack: SlackSandbox
) -> None:
    workflow_id = (await start_via_slack(slack, claimable.client, "Firewall change", channel=APPROVALS_CHANNEL)).id
    ts = thread_of(await phase_of(claimable, workflow_id, Phase.PENDING_APPROVAL))
    [draft] = await slack.wait_for(lambda: draft_messages(slack, ts, APPROVALS_CHANNEL) or None)
    await slack.click_button(APPROVER_1, APPROVALS_CHANNEL, draft["ts"], action_ids.CLAIM)
    await told(slack, APPROVER_1, "You claimed revision 1")

    # Oscar is in @leads (not in #approvals): the delegation is checked against the group.
    until = datetime.now(UTC).date() + timedelta(days=3)
    await slack.send_slash_command(APPROVER_1, "/signoff", f"away until {until} to <@{OUTSIDER}|oscar>")
    await told(slack, APPROVER_1, "1 waiting request(s) handed over")
    assert (await claimable.deps.gateway.progress(workflow_id)).deciders == [OUTSIDER]


@pytest.mark.process
async def test_on_temporal_visibility_a_group_an_api_request_names_finds_its_members_homes(
    dev_server: DevServer, slack: SlackSandbox, tmp_path: Path
) -> None:
    """A group named by the request alone (not the deployment's): visibility lists it from the memo the
    API sets, so Oscar, in @leads and not in #approvals, finds it in his Home and decides there."""
    settings = dataclasses.replace(bot_settings(slack, decision_deadline=None), api_keys=KEYS)
    client = await Client.connect(dev_server.address)
    async with (
        running_stack("temporal", slack, settings, temporal_client=client, tmp_path=tmp_path) as bot,
        aiohttp.ClientSession() as session,
    ):
        assert await bot.deps.gateway.lists_by_search_attributes()
        caller = ApiCaller(session, bot.url.removesuffix(EVENTS_PATH))
        created = await caller.create(
            {
                "title": "Rotate the keys",
                "body": "Old keys stop in 24 h.",
                "channel": APPROVALS_CHANNEL,
                "requester": REQUESTER,
                "approver_group": LEADS,
            }
        )
        assert created.status == 201, created.body
        # Visibility may lag a moment behind the start.
        buttons = await eventually(lambda: home_buttons(slack, OUTSIDER, created.body["id"]), interval=0.2)
        assert ButtonValue.decode(buttons[0][1]).pool == LEADS
        # /report list from visibility alone: the memo's group lets him see it there too.
        assert "Rotate the keys" in await answer_to(slack, OUTSIDER, "list")
