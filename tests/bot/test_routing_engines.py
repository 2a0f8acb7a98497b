"""Claim through the engine seam on DBOS (SQLite) and Restate: the new inputs travel as each engine's
messages (pickled, or JSON on the wire) to the same validators as on Temporal (tests/bot/test_routing_flow.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from bot.gateway import GatewayError
from signoff.contracts.workflow_io import HandoffKind, Phase
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from tests.support.bot import RunningBot, bot_settings
from tests.support.engines import phase_of, running_stack
from tests.support.flows import start_via_slack, thread_of
from tests.support.slack import APPROVER_1, APPROVER_2, CHANNEL, draft_messages, told


@pytest.fixture(params=["dbos-sqlite", pytest.param("restate", marks=pytest.mark.process)])
async def stack(
    request: pytest.FixtureRequest, time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path
) -> AsyncIterator[RunningBot]:
    settings = bot_settings(slack)  # no approvers named: the channel is the pool
    async with running_stack(
        str(request.param), slack, settings, temporal_client=time_env.client, tmp_path=tmp_path
    ) as bot:
        yield bot


async def test_the_claimer_is_the_one_decider(stack: RunningBot, slack: SlackSandbox) -> None:
    started = await start_via_slack(
        slack, stack.client, "Office move", confirmed=False, started=lambda wid: _exists(stack, wid)
    )
    workflow_id = started.id
    progress = await phase_of(stack, workflow_id, Phase.PENDING_APPROVAL)
    [draft] = await slack.wait_for(lambda: draft_messages(slack, thread_of(progress)) or None, timeout=30)
    await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.CLAIM)
    await told(slack, APPROVER_1, "You claimed revision 1", timeout=30)
    await slack.wait_for(
        lambda: any(action_ids.RELEASE in str(m.get("blocks")) for m in draft_messages(slack, thread_of(progress))),
        timeout=30,
    )
    await slack.click_button(APPROVER_2, CHANNEL, draft["ts"], action_ids.APPROVE)
    await told(slack, APPROVER_2, "only they decide", timeout=30)
    await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)
    await told(slack, APPROVER_1, "Recorded your approval", timeout=30)
    done = await phase_of(stack, workflow_id, Phase.APPROVED)
    assert [(h.kind, h.user_id) for h in done.handoffs] == [(HandoffKind.CLAIM, APPROVER_1)]


async def _exists(stack: RunningBot, workflow_id: str) -> bool:
    try:
        await stack.deps.gateway.progress(workflow_id)
        return True
    except GatewayError:
        return False
