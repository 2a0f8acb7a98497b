"""Click → applied: a signed Approve click through the bot vs a raw ``execute_update`` on the same server.

Drafts are parked first (worker running, offline model, one AI review round). Then, one at a
time and alternating, a draft is approved either by a signed ``block_actions`` click to the bot
or by ``execute_update(approve_draft)`` from this process. Both paths end in the same workflow
code, which re-renders the draft message (``chat.update`` with "Approved by ...").

Measured from the moment the click (or the update) is sent:
* applied: the bot's confirmation to the clicker (``chat.postEphemeral``, sent right after its
  ``execute_update`` returned) vs ``execute_update`` returning in this process;
* draft updated: the workflow's ``chat.update`` of the draft seen by the Slack sandbox, for both.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

from benchmarks.drafts import bench_channels, park_drafts
from benchmarks.harness import (
    Draft,
    Figure,
    SignedClient,
    bot_child,
    children,
    click_body,
    dev_server,
    log,
    ratio,
    response_sink,
    summary,
    temporal_client,
    wait_http,
    worker_child,
)
from benchmarks.slack_tiers import slack_sandbox
from signoff.contracts.workflow_io import ApprovalPolicy, ApproveInput, WorkflowSettings
from signoff.sandbox import SlackSandbox
from signoff.sandbox.directory import DEFAULT_CHANNELS
from signoff.temporal.devserver import free_port
from workflows import ReportGenerationWorkflow

NAME = "click→applied"
APPROVER = "U0APPROV1"


def draft_updated(sandbox: SlackSandbox, start_index: int, draft: Draft) -> float | None:
    for call in sandbox.calls[start_index:]:
        if (
            call.method == "chat.update"
            and call.params.get("ts") == draft.message_ts
            and "Approved by" in str(call.params.get("blocks"))
        ):
            return call.time
    return None


def confirmed(sandbox: SlackSandbox, start_index: int, draft: Draft) -> float | None:
    for call in sandbox.calls[start_index:]:
        if call.method == "chat.postEphemeral" and call.params.get("thread_ts") == draft.thread_ts:
            return call.time
    return None


# Past Slack's one-minute window: under --slack-tiers a chat.update may wait for the next one, and
# the worker's retry after it.
OBSERVE_SECONDS = 150.0


async def observe(
    sandbox: SlackSandbox, check, start_index: int, draft: Draft, timeout: float = OBSERVE_SECONDS
) -> float:
    return await sandbox.wait_for(
        lambda: check(sandbox, start_index, draft),
        timeout,
        interval=0.001,
        what=f"{check.__name__} for {draft.workflow_id}",
    )


async def run(tmp: Path, quick: bool) -> list[Figure]:
    samples = 5 if quick else 30  # per path
    task_queue = f"bench-click-{uuid.uuid4().hex[:6]}"
    bot_port = free_port()
    settings = WorkflowSettings(policy=ApprovalPolicy(required_approvals=1), max_review_rounds=1)
    click_applied: list[float] = []
    click_draft: list[float] = []
    raw_applied: list[float] = []
    raw_draft: list[float] = []
    # One channel per draft: the worker paces its posts per channel, as Slack requires.
    channels = bench_channels(2 * samples + 2)
    async with (
        dev_server(tmp) as server,
        slack_sandbox(channels=[*DEFAULT_CHANNELS, *channels]) as sandbox,
        response_sink(sandbox.api_url, sandbox.calls) as sink,
    ):
        worker = worker_child(tmp, server.address, task_queue, sandbox.api_url)
        bot = bot_child(tmp, bot_port, server.address, task_queue, sandbox.api_url, {"SIGNOFF_MAX_REVIEW_ROUNDS": "1"})
        async with children(worker, bot):
            await wait_http(f"http://127.0.0.1:{bot_port}/healthz", bot)
            url = f"http://127.0.0.1:{bot_port}/slack/events"
            client = await temporal_client(server.address)
            drafts = await park_drafts(
                client,
                sandbox.api_url,
                task_queue,
                f"click-{uuid.uuid4().hex[:6]}",
                2 * samples + 2,
                settings,
                timeout=300,
                channels=[c.id for c in channels],
            )
            http = SignedClient(limit=10)
            try:
                # The first pair warms both paths up (connections, Bolt's auth.test) and is not kept.
                for i in range(2 * samples + 2):
                    draft = drafts[i]
                    await asyncio.sleep(0.3)  # let the previous approval's follow-up posts settle
                    mark = len(sandbox.calls)
                    if (i % 2 == 0) == (i // 2 % 2 == 0):
                        sent = time.time()
                        _, status = await http.post(url, click_body(draft, user_id=APPROVER, response_url=sink + "c"))
                        assert status == 200, f"click answered {status}"
                        applied = await observe(sandbox, confirmed, mark, draft)
                        updated = await observe(sandbox, draft_updated, mark, draft)
                        if i >= 2:
                            click_applied.append((applied - sent) * 1000)
                            click_draft.append((updated - sent) * 1000)
                    else:
                        handle = client.get_workflow_handle(draft.workflow_id)
                        sent = time.time()
                        await handle.execute_update(
                            ReportGenerationWorkflow.approve_draft,
                            # What the bot carries for a member of the draft's channel (signoff/contracts/access.py).
                            ApproveInput(
                                revision=draft.revision,
                                user_id=APPROVER,
                                team_id="T0SANDBOX",
                                member_of=draft.channel_id,
                            ),
                            id=f"approve-{draft.revision}-{APPROVER}",
                        )
                        applied = time.time()
                        updated = await observe(sandbox, draft_updated, mark, draft)
                        if i >= 2:
                            raw_applied.append((applied - sent) * 1000)
                            raw_draft.append((updated - sent) * 1000)
            finally:
                await http.close()
            log(f"click: {len(click_applied)} clicks, {len(raw_applied)} raw updates")

    ca, cd, ra, rd = summary(click_applied), summary(click_draft), summary(raw_applied), summary(raw_draft)
    r1 = ratio(ca["p50"], ra["p50"])
    r2 = ratio(cd["p50"], rd["p50"])
    return [
        Figure(
            bench=NAME,
            name="click → decision applied (bot's confirmation)",
            unit="ms",
            p50=ca["p50"],
            p99=ca["p99"],
            base_p50=ra["p50"],
            base_p99=ra["p99"],
            ratio=r1,
            ratio_of="p50",
            target="≤ 2× raw execute_update",
            met=r1 <= 2,
            n=ca["n"],
            note=(
                f"{ca['n']} clicks and {ra['n']} raw updates, alternating, one at a time. The click figure "
                "includes Bolt's ack, the bot's execute_update and its chat.postEphemeral to the clicker; "
                f"p99 ratio {ratio(ca['p99'], ra['p99']):.2f}×."
            ),
            extra={"click": ca, "raw": ra},
        ),
        Figure(
            bench=NAME,
            name="click → draft message updated (chat.update)",
            unit="ms",
            p50=cd["p50"],
            p99=cd["p99"],
            base_p50=rd["p50"],
            base_p99=rd["p99"],
            ratio=r2,
            ratio_of="p50",
            target="≤ 2× raw update → chat.update",
            met=r2 <= 2,
            n=cd["n"],
            note=(
                "Baseline: raw execute_update sent → the same workflow's chat.update of the draft. "
                f"p99 ratio {ratio(cd['p99'], rd['p99']):.2f}×."
            ),
            extra={"click": cd, "raw": rd},
        ),
    ]
