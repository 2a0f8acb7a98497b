"""``signoff bot`` stopped while requests arrive: nothing it acknowledged is lost.

SIGTERM during a burst of ``/report`` commands and Approve clicks (signed HTTP, from the sandbox):
every acknowledged command has its workflow and every acknowledged click its recorded decision,
and the bot exits 0 once drained. (SIGKILL right after acknowledged ``/report`` commands: the next
bot starts them from its journal, tests/system/test_bot_journal.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from dbos import DBOSClient
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from bot.gateway import workflow_id_for
from signoff.contracts.workflow_io import WorkflowKind
from signoff.sandbox import DeliveryResult, SlackSandbox
from signoff.sandbox.directory import BOT_USER_ID, DEFAULT_USERS, Channel, User
from signoff.slack import action_ids
from signoff.temporal.connection import data_converter
from signoff.temporal.devserver import DevServer
from tests.support.flows import start_via_slack, waiting_draft
from tests.support.processes import BotProcess, signoff_env
from tests.support.slack import REQUESTER
from tests.support.temporal import running_worker, worker_settings
from tests.support.waiting import eventually
from workflows.human_loop import HumanReviewedWorkflow

pytestmark = [pytest.mark.process, pytest.mark.slow]

# Five people who all must approve, so 4 drafts take 20 distinct decisions (none a repeat).
CLICKERS = [User(f"U0DRAIN{n:02d}", f"drainer{n}", f"Drainer {n}") for n in range(5)]
MEMBERS = frozenset({REQUESTER, BOT_USER_ID, *(user.id for user in CLICKERS)})
# A channel per draft (the worker posts about once a second per channel), one for the burst.
DRAFT_CHANNELS = [Channel(f"C0DRAFT{n:02d}", f"drafts-{n}", MEMBERS) for n in range(4)]
BURST_CHANNEL = Channel("C0BURST00", "burst", MEMBERS)
BURST = 20


@pytest.fixture
async def slack_for_drain() -> AsyncIterator[SlackSandbox]:
    sandbox = SlackSandbox(users=[*DEFAULT_USERS, *CLICKERS], channels=[*DRAFT_CHANNELS, BURST_CHANNEL])
    await sandbox.start(port=0)
    try:
        yield sandbox
    finally:
        await sandbox.stop()


def _bot_env(slack: SlackSandbox, dev_server: DevServer, task_queue: str) -> dict[str, str]:
    return {
        **signoff_env(slack, dev_server.address, task_queue),
        "SIGNOFF_APPROVERS": ",".join(user.id for user in CLICKERS),
        "SIGNOFF_REQUIRED_APPROVALS": str(len(CLICKERS)),
        "SIGNOFF_MAX_REVIEW_ROUNDS": "1",
    }


def _report_handle(client: Client, slack: SlackSandbox, result: DeliveryResult, channel: str) -> WorkflowHandle:
    workflow_id = workflow_id_for(WorkflowKind.REPORT, slack.workspace.team_id, channel, f"/report:{result.trigger_id}")
    return client.get_workflow_handle(workflow_id)


async def _exists(handle: WorkflowHandle) -> bool:
    try:
        await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def _exit_code(bot: BotProcess, timeout: float) -> int:
    process = bot.child.process
    assert process is not None
    await eventually(lambda: process.poll() is not None, timeout=timeout)
    return process.returncode


def _burst(slack: SlackSandbox, count: int) -> list[asyncio.Future[DeliveryResult]]:
    """``count`` /report commands at once, in the burst channel."""
    return [
        asyncio.ensure_future(slack.send_slash_command(REQUESTER, "/report", f"Burst {n}", channel_id=BURST_CHANNEL.id))
        for n in range(count)
    ]


async def _sigterm_during(
    bot: BotProcess, requests: list[asyncio.Future[DeliveryResult]], after: int
) -> tuple[int, str]:
    """SIGTERM once ``after`` of ``requests`` are answered (the rest still under way); once every
    request is answered and the bot has exited: (its exit code, its log)."""
    await eventually(lambda: sum(request.done() for request in requests) >= after, timeout=30, interval=0.005)
    assert bot.child.process is not None
    bot.child.process.send_signal(signal.SIGTERM)
    await asyncio.gather(*requests)
    return await _exit_code(bot, timeout=40), bot.child.output()


async def _terminate(handles: list[WorkflowHandle]) -> None:
    """Nothing of a test left running on the shared dev server."""
    for handle in handles:
        with contextlib.suppress(RPCError):
            await handle.terminate("test over")


# A bot process, a burst of slash commands and a drain on SIGTERM: ~12 s alone.
@pytest.mark.timeout(180)
async def test_sigterm_during_a_burst_loses_nothing_acknowledged(
    dev_server: DevServer, slack_for_drain: SlackSandbox, tmp_path: Path
) -> None:
    slack = slack_for_drain
    approvers = [user.id for user in CLICKERS]
    settings = worker_settings(slack, approvers=approvers, required_approvals=len(approvers))
    bot = BotProcess(_bot_env(slack, dev_server, settings.task_queue), tmp_path / "bot.log")
    await bot.start()
    try:
        slack.request_url = bot.events_url
        client = await Client.connect(dev_server.address, data_converter=data_converter())
        async with running_worker(await Client.connect(dev_server.address), settings):
            handles = [
                await start_via_slack(slack, client, f"Drain draft {n}", channel=channel.id, confirmed=False)
                for n, channel in enumerate(DRAFT_CHANNELS)
            ]
            drafts = [
                (handle, channel, (await waiting_draft(slack, handle, channel.id))[1])
                for handle, channel in zip(handles, DRAFT_CHANNELS, strict=True)
            ]

            reports = _burst(slack, BURST)
            clicks = [
                (
                    handle,
                    user.id,
                    asyncio.ensure_future(slack.click_button(user.id, channel.id, draft["ts"], action_ids.APPROVE)),
                )
                for handle, channel, draft in drafts
                for user in CLICKERS
            ]
            # SIGTERM while the burst is under way: some acknowledged, their work still queued or running.
            code, log = await _sigterm_during(bot, [*reports, *(click for _, _, click in clicks)], after=10)

            acked_reports = [task.result() for task in reports if task.result().acked]
            for result in acked_reports:
                handle = _report_handle(client, slack, result, BURST_CHANNEL.id)
                assert await _exists(handle), f"/report acked ({result.body}) but no workflow {handle.id}:\n{log}"
            recorded = 0
            for handle, user, click in clicks:
                if not click.result().acked:
                    continue
                progress = await handle.query(HumanReviewedWorkflow.progress)
                assert user in [decision.user_id for decision in progress.decisions], (
                    f"{user}'s click on {handle.id} was acked and its decision lost:\n{log}"
                )
                recorded += 1
            print(
                f"\nburst: {len(acked_reports)}/{BURST} /report acked, {recorded}/{len(clicks)} clicks acked and recorded"
            )
            # The burst is worth something only if SIGTERM met acknowledged work.
            assert acked_reports and recorded, log
            assert code == 0, log
            assert "draining" in log and "Drained in" in log, log
            await _terminate(
                [_report_handle(client, slack, result, BURST_CHANNEL.id) for result in acked_reports] + handles
            )
    finally:
        bot.stop()


async def test_dbos_bot_drains_acknowledged_starts_on_sigterm(slack_for_drain: SlackSandbox, tmp_path: Path) -> None:
    """``SIGNOFF_ENGINE=dbos signoff bot``: the same drain, before the engine in its process stops."""
    slack = slack_for_drain
    url = f"sqlite:///{tmp_path / 'dbos.sqlite'}"
    env = {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": slack.signing_secret,
        "SLACK_API_URL": slack.api_url,
        "SIGNOFF_ENGINE": "dbos",
        "SIGNOFF_DATABASE_URL": url,
    }
    bot = BotProcess(env, tmp_path / "bot.log")
    await bot.start()
    try:
        slack.request_url = bot.events_url
        reports = _burst(slack, 10)
        code, log = await _sigterm_during(bot, reports, after=3)
    finally:
        bot.stop()
    client = DBOSClient(system_database_url=url)
    try:
        for task in reports:
            result = task.result()
            if not result.acked:
                continue
            workflow_id = workflow_id_for(
                WorkflowKind.REPORT, slack.workspace.team_id, BURST_CHANNEL.id, f"/report:{result.trigger_id}"
            )
            assert await client.list_workflows_async(workflow_ids=[workflow_id]), f"acked, no workflow: {result.body}"
    finally:
        client.destroy()
    assert code == 0 and "Drained in" in log, log
