"""The streamed progress on every engine: its Slack calls are activities by name, so Temporal, DBOS and
Restate each make one stopped stream per draft, a revision's rewrite a stream of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from signoff.contracts.workflow_io import Phase
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from tests.support.bot import RunningBot, bot_settings
from tests.support.engines import DBOS_FLOW, phase_of, running_stack
from tests.support.flows import start_via_slack
from tests.support.slack import APPROVER_1, CHANNEL, draft_messages


@pytest.fixture(
    params=[
        "temporal",
        pytest.param("dbos-sqlite", marks=DBOS_FLOW),
        pytest.param("restate", marks=[pytest.mark.process, DBOS_FLOW]),
    ]
)
async def stack(
    request: pytest.FixtureRequest, time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path
) -> AsyncIterator[RunningBot]:
    settings = bot_settings(slack, approvers=[APPROVER_1])
    async with running_stack(
        str(request.param), slack, settings, temporal_client=time_env.client, tmp_path=tmp_path
    ) as bot:
        yield bot


def streams(slack: SlackSandbox, thread_ts: str) -> list[dict[str, Any]]:
    return [m for m in slack.replies(CHANNEL, thread_ts) if any(b["type"] == "plan" for b in m.get("blocks") or [])]


async def test_each_draft_streams_its_agent_steps_once(stack: RunningBot, slack: SlackSandbox) -> None:
    workflow_id = (await start_via_slack(slack, stack.client, "Solar panels for farms", "/report")).id
    progress = await phase_of(stack, workflow_id, Phase.PENDING_APPROVAL)
    assert progress.thread is not None
    ts = progress.thread.ts
    [first] = await slack.wait_for(lambda: [m for m in streams(slack, ts) if "ready for a decision" in m["text"]])
    assert not slack.streams.is_streaming(CHANNEL, first["ts"])

    [draft] = draft_messages(slack, ts)
    await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.REQUEST_REVISION)
    [modal] = await slack.wait_for(lambda: slack.open_views(APPROVER_1))
    await slack.submit_view(APPROVER_1, modal["id"], {action_ids.NOTES_BLOCK: {action_ids.NOTES_INPUT: "Add costs"}})

    done = await slack.wait_for(
        lambda: [m for m in streams(slack, ts) if "Revision 2 is ready for a decision" in m["text"]]
    )
    [second] = done
    [plan] = [b for b in second["blocks"] if b["type"] == "plan"]
    assert plan["tasks"][0]["title"].startswith("Rewriting revision 1 with the notes · ")
    assert len(streams(slack, ts)) == 2 and not slack.streams.is_streaming(CHANNEL, second["ts"])
    assert len(slack.calls_to("chat.startStream")) == 2
