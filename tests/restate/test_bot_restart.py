"""The bot (with the engine's endpoint in its process) restarted between the draft and the click, on
Restate: the parked run survives the stop (nothing is cancelled or posted), and a new gateway, which
keeps nothing between calls, decides it through the ingress. The endpoint is served again at the
same URL, the deployment Restate pinned the run to, which replays it from its journal: no step runs
twice (one thread, one draft)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from signoff.config.ports import free_port
from signoff.config.settings import Engine, Settings
from signoff.contracts.workflow_io import Phase
from signoff.restate.server import RestateServer
from signoff.restate.stack import engine_with_gateway
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from tests.restate.conftest import require_npm
from tests.support.bot import RunningBot, bot_client, bot_settings, running_bot
from tests.support.engines import phase_of
from tests.support.flows import start_via_slack
from tests.support.slack import APPROVER_1, CHANNEL, draft_messages, thread_texts, told


@contextlib.asynccontextmanager
async def bot_on(slack: SlackSandbox, settings: Settings, time_env: WorkflowEnvironment) -> AsyncIterator[RunningBot]:
    """``signoff bot`` on Restate: the engine's endpoint served and registered, the bot in front."""
    async with (
        engine_with_gateway(settings) as gateway,
        running_bot(slack, settings, bot_client(time_env.client), gateway=gateway) as bot,
    ):
        yield bot


def restate_settings(slack: SlackSandbox, server: RestateServer) -> Settings:
    """The bot's settings on ``server``, its endpoint on a port of its own (the same at every restart)."""
    return replace(
        bot_settings(slack, approvers=[APPROVER_1]).on_local_restate(server.ingress_url, server.admin_url),
        engine=Engine.RESTATE,
        restate_service_port=free_port(),
    )


@dataclass(frozen=True)
class Parked:
    workflow_id: str
    thread_ts: str
    draft: dict[str, Any]


async def parked_report(slack: SlackSandbox, bot: RunningBot, topic: str) -> Parked:
    """``/report topic``, once its run waits at its draft."""
    handle = await start_via_slack(slack, bot.client, topic, confirmed=False, started=bot.deps.gateway._started)
    progress = await phase_of(bot, handle.id, Phase.PENDING_APPROVAL)
    assert progress.thread is not None
    thread_ts = progress.thread.ts
    [draft] = await slack.wait_for(lambda: draft_messages(slack, thread_ts) or None)
    return Parked(handle.id, thread_ts, draft)


@pytest.mark.timeout(180)
@pytest.mark.process
async def test_a_bot_restarted_between_draft_and_click_decides_the_parked_run(
    time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path
) -> None:
    require_npm()
    async with RestateServer(tmp_path / "restate") as server:
        settings = restate_settings(slack, server)
        async with bot_on(slack, settings, time_env) as first:
            parked = await parked_report(slack, first, "Solar panels for farms")
        thread_ts = parked.thread_ts
        texts_when_stopped = thread_texts(slack, thread_ts)

        async with bot_on(slack, settings, time_env) as second:
            assert second.deps.gateway is not first.deps.gateway
            # Still parked, as the stop left it: the stop cancelled nothing.
            assert (await second.deps.gateway.progress(parked.workflow_id)).phase is Phase.PENDING_APPROVAL
            assert thread_texts(slack, thread_ts) == texts_when_stopped
            await slack.click_button(APPROVER_1, CHANNEL, parked.draft["ts"], action_ids.APPROVE)
            await told(slack, APPROVER_1, "Recorded your approval")
            final = await phase_of(second, parked.workflow_id, Phase.APPROVED, timeout=60)

    assert [d.user_id for d in final.decisions] == [APPROVER_1]
    assert len(draft_messages(slack, thread_ts)) == 1
    assert len([m for m in slack.messages(CHANNEL) if m.get("thread_ts") in (None, m["ts"])]) == 1
