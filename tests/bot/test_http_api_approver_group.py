"""A SignoffRequest through the HTTP API names the user group that decides (``approver_group``, S…): its
members are the pool whatever the worker's SIGNOFF_APPROVERS, read with usergroups.users.list as for
the setting; a handle or a group beside named approvers is refused naming the field, nothing posted.
On Temporal only: the field travels in the request's JSON, the same on every engine."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from signoff.contracts.workflow_io import ApprovalPolicy, WorkflowSettings
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from signoff.slack.action_ids import ButtonValue
from tests.support.api import ApiStack
from tests.support.slack import APPROVER_1, APPROVER_2, CHANNEL, LEADS, REQUESTER, button_pairs, draft_messages, told

ASK: dict[str, Any] = {
    "title": "Rotate the signing keys",
    "body": "Old keys stop working in 24 h.",
    "channel": CHANNEL,
    "requester": REQUESTER,
    "approver_group": LEADS,
}


@pytest.fixture
def api_engine() -> str:
    return "temporal"


async def test_the_named_group_decides_and_a_bad_group_is_refused(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    # The worker names approvers (Blake among them); the request's group (@leads: Avery) replaces them.
    workflow = WorkflowSettings(policy=ApprovalPolicy(approvers=[APPROVER_2]))
    with time_env.auto_time_skipping_disabled():
        async with api(workflow=workflow) as (caller, _):
            handle = await caller.create({**ASK, "approver_group": "@leads"})
            both = await caller.create({**ASK, "approvers": [APPROVER_1]})
            assert slack.messages(CHANNEL) == []

            created = await caller.create(ASK)
            assert created.status == 201, created.body
            [draft] = await slack.wait_for(lambda: draft_messages(slack, created.body["thread"]["ts"]) or None)
            assert {ButtonValue.decode(value).pool for _, value in button_pairs(draft)} == {LEADS}
            await slack.click_button(APPROVER_2, CHANNEL, draft["ts"], action_ids.APPROVE)
            await told(slack, APPROVER_2, "Only members of <!subteam^S0LEADS> may decide on this request.")
            await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)
            decided = await caller.read(created.body["id"], wait=30)
    assert handle.status == 422 and handle.body["field"] == "approver_group", handle.body
    assert "S0123ABCD" in handle.body["detail"]
    assert both.status == 422 and "approver_group" in both.body["detail"], both.body
    assert decided.body["status"] == "approved" and decided.body["result"]["decided_by"] == [APPROVER_1]
    assert [call.params.get("usergroup") for call in slack.calls_to("usergroups.users.list")][:1] == [LEADS]
