"""Temporal going away: the dev server restarted on its SQLite file, and Temporal unreachable or hanging
when a click arrives.

(`/report` while Temporal is unreachable or hangs is tests/bot/test_flow.py
::test_temporal_unreachable_when_report_arrives and tests/bot/test_http.py
::test_report_acks_fast_while_temporal_hangs; a click with no worker is
tests/bot/test_flow.py::test_click_while_no_worker_runs_is_not_recorded.)
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import Client

from bot.gateway import TemporalGateway
from signoff.contracts.workflow_io import Phase
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from signoff.slack.action_ids import ButtonValue
from signoff.temporal.connection import data_converter
from signoff.temporal.devserver import DevServer, free_port
from tests.support.bot import bot_client, bot_settings, running_bot, worker_and_bot
from tests.support.flows import start_via_slack, waiting_draft
from tests.support.slack import (
    APPROVER_1,
    APPROVER_2,
    CHANNEL,
    assert_nothing_doubled,
    thread_texts,
    told,
)
from tests.support.temporal import silent_server
from workflows.human_loop import HumanReviewedWorkflow

REMINDER = re.compile(r"Reminder (\d+):")


def reminders(slack: SlackSandbox, thread_ts: str) -> list[int]:
    return [int(m.group(1)) for t in thread_texts(slack, thread_ts) if (m := REMINDER.search(t))]


# Its own dev server, started twice, with a worker and bot processes around it: ~19 s alone.
@pytest.mark.timeout(180)
@pytest.mark.process
@pytest.mark.slow
async def test_dev_server_restarted_with_drafts_pending(slack: SlackSandbox, tmp_path: Path) -> None:
    server = DevServer(tmp_path / "temporal.sqlite3", port=free_port())
    await server.start()
    try:
        settings = bot_settings(
            slack,
            approvers=[APPROVER_1, APPROVER_2],
            reminder_interval=timedelta(seconds=2),
            max_reminders=1000,
            decision_deadline=None,
        )
        client = await Client.connect(server.address)
        gateway = TemporalGateway(
            bot_client(client),
            task_queue=settings.task_queue,
            workflow_settings=settings.workflow,
            # Generous: a fresh dev server on a loaded machine can take seconds to answer a start;
            # while it is stopped, calls are refused at once whatever the timeout.
            rpc_timeout=timedelta(seconds=5),
            update_timeout=timedelta(seconds=5),
        )
        async with worker_and_bot(slack, client, settings, gateway=gateway) as bot:
            handles = [await start_via_slack(slack, bot.client, topic) for topic in ("Heat pumps", "Tidal power")]
            drafts = [await waiting_draft(slack, handle) for handle in handles]
            await slack.wait_for(lambda: all(reminders(slack, ts) for ts, _ in drafts), timeout=15)
            before = [asdict(await h.query(HumanReviewedWorkflow.progress)) for h in handles]

            server.stop()
            reminded = [max(reminders(slack, ts)) for ts, _ in drafts]
            # A click while Temporal is down: acked at once, told, nothing recorded.
            (_, draft_a), (_, draft_b) = drafts
            asked = len(slack.ephemerals(APPROVER_1))
            result = await slack.click_button(APPROVER_1, CHANNEL, draft_a["ts"], action_ids.APPROVE)
            assert result.acked, result  # within Slack's 3 s, which the sandbox enforces as Slack does
            # "not recorded" (the update's deadline passed) or "unreachable" (the client gave up
            # first): which comes first depends on the client's reconnect timing; both say nothing changed.
            answer = await told(slack, APPROVER_1, "no_entry_sign", after=asked)
            assert "not recorded" in answer or "nothing was changed" in answer, answer

            await server.start()
            # The same drafts, still waiting, with nothing decided (reminders aside).
            for handle, earlier in zip(handles, before, strict=True):
                now = asdict(await handle.query(HumanReviewedWorkflow.progress))
                assert now["phase"] is Phase.PENDING_APPROVAL and now["decisions"] == []
                for field in ("workflow_id", "subject", "revision", "approvals", "thread", "waiting_since"):
                    assert now[field] == earlier[field], field
            # Reminders keep coming, numbered on from before the restart.
            await slack.wait_for(
                lambda: all(max(reminders(slack, ts)) > n for (ts, _), n in zip(drafts, reminded, strict=True)),
                timeout=30,
            )
            # And approvals work: by click, through the same bot.
            await slack.click_button(APPROVER_1, CHANNEL, draft_a["ts"], action_ids.APPROVE)
            await told(slack, APPROVER_1, "Recorded your approval of revision 1")
            await slack.click_button(APPROVER_2, CHANNEL, draft_b["ts"], action_ids.APPROVE)
            await told(slack, APPROVER_2, "Recorded your approval of revision 1")
            for handle in handles:
                await handle.result()
                assert await handle.query(HumanReviewedWorkflow.get_status) == Phase.APPROVED.value
        for ts, _ in drafts:
            numbers = reminders(slack, ts)
            assert numbers == list(range(1, len(numbers) + 1)), f"reminders lost or doubled: {numbers}"
        assert_nothing_doubled(slack)
    finally:
        server.stop()


@pytest.mark.parametrize("temporal", ["refusing connections", pytest.param("hanging", marks=pytest.mark.slow)])
async def test_click_while_temporal_is_unreachable(slack: SlackSandbox, temporal: str) -> None:
    settings = bot_settings(slack, approvers=[APPROVER_1])
    async with contextlib.AsyncExitStack() as stack:
        if temporal == "refusing connections":
            address = f"127.0.0.1:{free_port()}"
        else:
            address = await stack.enter_async_context(silent_server())
        client = await Client.connect(address, lazy=True, data_converter=data_converter())
        gateway = TemporalGateway(
            client,
            task_queue=settings.task_queue,
            rpc_timeout=timedelta(seconds=1),
            update_timeout=timedelta(seconds=1),
        )
        async with running_bot(slack, settings, client, gateway=gateway):
            posted = slack.workspace.post_message(CHANNEL, text="a stand-in draft")
            value = ButtonValue(workflow_id="report-T0SANDBOX-C0GENERAL-0123456789abcdef", revision=1).encode()
            result = await slack.click_button_raw(APPROVER_1, CHANNEL, posted.ts, action_ids.APPROVE, value)
            assert result.acked, result  # within Slack's 3 s, which the sandbox enforces as Slack does
            answer = await told(slack, APPROVER_1, "no_entry_sign")
            assert "not recorded" in answer or "nothing was changed" in answer, answer
            # The cause named is Temporal, not the worker.
            assert "Temporal" in answer and "worker" not in answer, answer
            # Revision and rejection open their modal without Temporal; the submission is refused the same way.
            await slack.click_button_raw(APPROVER_1, CHANNEL, posted.ts, action_ids.REJECT, value)
            [modal] = await slack.wait_for(lambda: slack.open_views(APPROVER_1))
            asked = len(slack.ephemerals(APPROVER_1))
            submitted = await slack.submit_view(APPROVER_1, modal["id"], {})
            assert submitted.acked
            answer = await told(slack, APPROVER_1, "no_entry_sign", after=asked)
            assert "not recorded" in answer or "nothing was changed" in answer, answer
