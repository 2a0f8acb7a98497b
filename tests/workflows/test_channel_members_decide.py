"""With no approvers named, only members of the request's channel decide: the validators refuse a decision
the bot did not find the person a member for (time-skipping server, a JSON-only caller's SignoffRequest)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from signoff.contracts.access import NOT_A_MEMBER
from signoff.contracts.tool_calls import ToolDecisionInput
from signoff.contracts.workflow_io import ApproveInput, Phase, RejectInput, RevisionInput
from signoff.sandbox import SlackSandbox
from tests.support.slack import APPROVER_1, OUTSIDER, REQUESTER
from tests.support.waiting import eventually
from tests.workflows.test_plan_tools import approved_plan, pending_tool_calls
from tests.workflows.test_signoff_request import DEPLOY, caller
from workflows import ApprovalWorkflow, SignoffRequestWorkflow

PROJECT = "G0PROJECT"  # private: the requester, Avery, Blake and the app; not Oscar
ANYONE_IN_THE_CHANNEL = {**DEPLOY, "channel": PROJECT, "approvers": None}


async def _waiting(child: WorkflowHandle) -> bool:
    try:
        return await child.query(SignoffRequestWorkflow.get_status) == Phase.PENDING_APPROVAL.value
    except Exception:  # not started yet
        return False


async def refused(child: WorkflowHandle, update: Any, decision: Any) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await child.execute_update(update, decision)
    return str(getattr(failed.value.cause, "message", failed.value.cause))


async def test_a_non_member_is_refused_and_a_member_decides(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with caller(time_env, slack) as ask:
        parent, child = await ask({k: v for k, v in ANYONE_IN_THE_CHANNEL.items() if v is not None})
        await eventually(lambda: _waiting(child))
        # Not checked (an older client leaves member_of out), or checked against another channel.
        for member_of in (None, "C0GENERAL"):
            attempts = [
                (SignoffRequestWorkflow.approve_draft, ApproveInput(1, OUTSIDER, member_of=member_of)),
                (SignoffRequestWorkflow.request_draft_revision, RevisionInput(1, OUTSIDER, "x", member_of=member_of)),
                (SignoffRequestWorkflow.reject_draft, RejectInput(1, OUTSIDER, "no", member_of=member_of)),
            ]
            for update, decision in attempts:
                assert await refused(child, update, decision) == NOT_A_MEMBER
        # The requester never decides, member or not.
        requester = ApproveInput(1, REQUESTER, member_of=PROJECT)
        assert "someone else" in await refused(child, SignoffRequestWorkflow.approve_draft, requester)
        state = await child.query(SignoffRequestWorkflow.progress)
        assert (state.phase, state.decisions, state.approvals) == (Phase.PENDING_APPROVAL, [], [])
        assert state.channel_id == PROJECT

        await child.execute_update(SignoffRequestWorkflow.approve_draft, ApproveInput(1, APPROVER_1, member_of=PROJECT))
        result = await parent.result()
    assert result["outcome"] == "approved" and result["decided_by"] == [APPROVER_1]


@pytest.mark.parametrize("member_of", [None, "C0RANDOM0"])
async def test_a_tool_call_refuses_a_non_member_too(
    time_env: WorkflowEnvironment, slack: SlackSandbox, member_of: str | None
) -> None:
    async with approved_plan(time_env, slack, "Announce the offsite in #random") as (handle, ts):
        await eventually(lambda: pending_tool_calls(slack, ts))
        before = asdict(await handle.query(ApprovalWorkflow.progress))
        for update in (ApprovalWorkflow.allow_tool_call, ApprovalWorkflow.deny_tool_call):
            decision = ToolDecisionInput(call_number=1, user_id=OUTSIDER, member_of=member_of)
            assert await refused(handle, update, decision) == NOT_A_MEMBER
        assert asdict(await handle.query(ApprovalWorkflow.progress)) == before
        await handle.cancel()
