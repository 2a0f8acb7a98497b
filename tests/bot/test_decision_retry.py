"""A refused decision can be taken again with new input, on every engine; a double click stays one
decision. On DBOS the decision id (``{action}-{revision}-{user}``) used to be the message's: the first
answer under it (a refusal) was replayed to every later attempt, forever."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from signoff.contracts.workflow_io import DecisionKind, Phase
from signoff.sandbox import SlackSandbox
from tests.support.bot import RunningBot, bot_settings
from tests.support.engines import phase_of, running_stack
from tests.support.flows import reply_in_thread, start_via_slack
from tests.support.postgres import database_url
from tests.support.slack import APPROVER_1, APPROVER_2, told
from tests.support.waiting import eventually


@pytest.fixture(
    params=[
        "temporal",
        "dbos-sqlite",
        pytest.param("dbos-postgres", marks=pytest.mark.process),
        pytest.param("restate", marks=pytest.mark.process),
    ]
)
async def stack(
    request: pytest.FixtureRequest, time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path
) -> AsyncIterator[RunningBot]:
    engine = str(request.param)
    if engine == "dbos-postgres":
        server: str = request.getfixturevalue("postgres_url")
        engine = "dbos-postgres:" + database_url(server, f"retry_{uuid.uuid4().hex[:8]}")
    # Two approvals needed, so the round stays open after one; the default reminders and deadline
    # (a day, a week) are far off on DBOS's real clock.
    settings = bot_settings(slack, approvers=[APPROVER_1, APPROVER_2], required_approvals=2)
    async with running_stack(engine, slack, settings, temporal_client=time_env.client, tmp_path=tmp_path) as bot:
        yield bot


async def test_a_refused_revision_request_can_be_made_again_with_notes(stack: RunningBot, slack: SlackSandbox) -> None:
    workflow_id = (await start_via_slack(slack, stack.client, "Solar panels for farms")).id
    progress = await phase_of(stack, workflow_id, Phase.PENDING_APPROVAL)
    assert progress.thread is not None
    thread_ts = progress.thread.ts

    await reply_in_thread(slack, APPROVER_1, thread_ts, "revise:")
    await told(slack, APPROVER_1, "Revision notes cannot be empty")
    # The same decision (revise, revision 1, this approver), now with notes: taken, not the refusal again.
    await reply_in_thread(slack, APPROVER_1, thread_ts, "revise: add Q3")
    await told(slack, APPROVER_1, "Sent revision 1 back to the writer with your notes")

    async def revision_two() -> bool:
        return (await stack.deps.gateway.progress(workflow_id)).revision == 2

    await eventually(revision_two)
    [revise] = (await stack.deps.gateway.progress(workflow_id)).decisions
    assert (revise.kind, revise.user_id, revise.revision, revise.notes) == (
        DecisionKind.REQUEST_REVISION,
        APPROVER_1,
        1,
        "add Q3",
    )


async def test_a_double_click_is_one_decision(stack: RunningBot, slack: SlackSandbox) -> None:
    workflow_id = (await start_via_slack(slack, stack.client, "Wind farms")).id
    await phase_of(stack, workflow_id, Phase.PENDING_APPROVAL)
    gateway = stack.deps.gateway
    first, second = await asyncio.gather(
        gateway.approve(workflow_id, 1, APPROVER_1, None), gateway.approve(workflow_id, 1, APPROVER_1, None)
    )
    assert first == second and first.approvals == [APPROVER_1] and not first.quorum_met
    progress = await gateway.progress(workflow_id)
    assert [(d.kind, d.user_id) for d in progress.decisions] == [(DecisionKind.APPROVE, APPROVER_1)]
