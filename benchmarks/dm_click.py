"""DM reminder click → applied: Approve clicked on a reminder in the approver's DM with the app, against the
same click on the draft in the thread.

Drafts are parked first (worker running, offline model, one AI review round), each with its own named
approver and channel (the worker paces its posts per conversation, and every DM is one), and a short
reminder interval so each approver gets the reminder in their DM with the draft's buttons. Then, one
at a time and alternating, a draft is approved by a signed ``block_actions`` click either on the DM
reminder (its channel the DM, its message the reminder) or on the draft's control message in the thread.
Both go through the bot's same listener and the workflow's same validated update.

Measured from the click sent to the bot's confirmation to the clicker (``chat.postEphemeral``, sent right
after its ``execute_update`` returned): the decision applied.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from benchmarks.drafts import draft_of, wait_pending
from benchmarks.harness import (
    TEAM_ID,
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
from signoff.contracts.workflow_io import ApprovalPolicy, ReportRequest, SlackOrigin, WorkflowSettings
from signoff.sandbox import SlackSandbox
from signoff.sandbox.directory import BOT_USER_ID, DEFAULT_CHANNELS, DEFAULT_USERS, Channel, User
from signoff.slack import action_ids
from signoff.slack.action_ids import ButtonValue
from signoff.temporal.devserver import free_port
from workflows import ReportGenerationWorkflow

NAME = "DM click→applied"
# Long enough that every draft is parked before its first reminder; the DM arrives one interval after.
REMINDER_INTERVAL = timedelta(seconds=30)
OBSERVE_SECONDS = 150.0


def confirmed(sandbox: SlackSandbox, start_index: int, channel: str, user: str) -> float | None:
    for call in sandbox.calls[start_index:]:
        if (
            call.method == "chat.postEphemeral"
            and call.params.get("channel") == channel
            and call.params.get("user") == user
        ):
            return call.time
    return None


def dm_reminder(sandbox: SlackSandbox, draft: Draft, user: str) -> Draft | None:
    """The reminder in ``user``'s DM with ``draft``'s Approve button, as a click on it carries."""
    dm = sandbox.workspace.directory.im_with(user).id
    for message in sandbox.messages(dm):
        for block in message.get("blocks") or []:
            if block["type"] != "actions":
                continue
            for element in block["elements"]:
                if element.get("action_id") != action_ids.APPROVE:
                    continue
                if ButtonValue.decode(element["value"]).workflow_id == draft.workflow_id:
                    return replace(
                        draft, channel_id=dm, message_ts=message["ts"], thread_ts=None, block_id=block["block_id"]
                    )  # type: ignore[arg-type]
    return None


async def run(tmp: Path, quick: bool) -> list[Figure]:
    samples = 4 if quick else 15  # per path
    count = 2 * samples + 2
    task_queue = f"bench-dm-{uuid.uuid4().hex[:6]}"
    bot_port = free_port()
    approvers = [User(f"U0DMBENCH{i:03d}", f"approver-{i}", f"Approver {i}") for i in range(count)]
    members = frozenset({u.id for u in DEFAULT_USERS} | {u.id for u in approvers} | {BOT_USER_ID})
    channels = [Channel(f"C0DMBENCH{i:03d}", f"dm-bench-{i}", members) for i in range(count)]
    dm_applied: list[float] = []
    thread_applied: list[float] = []
    async with (
        dev_server(tmp) as server,
        slack_sandbox(users=[*DEFAULT_USERS, *approvers], channels=[*DEFAULT_CHANNELS, *channels]) as sandbox,
        response_sink(sandbox.api_url, sandbox.calls) as sink,
    ):
        worker = worker_child(tmp, server.address, task_queue, sandbox.api_url)
        bot = bot_child(tmp, bot_port, server.address, task_queue, sandbox.api_url, {"SIGNOFF_MAX_REVIEW_ROUNDS": "1"})
        async with children(worker, bot):
            await wait_http(f"http://127.0.0.1:{bot_port}/healthz", bot)
            url = f"http://127.0.0.1:{bot_port}/slack/events"
            client = await temporal_client(server.address)
            prefix = f"dm-{uuid.uuid4().hex[:6]}"
            ids = [f"{prefix}-{i}" for i in range(count)]
            started = time.monotonic()
            for i, workflow_id in enumerate(ids):
                policy = ApprovalPolicy(
                    approvers=[approvers[i].id], reminder_interval=REMINDER_INTERVAL, decision_deadline=None
                )
                origin = SlackOrigin(team_id=TEAM_ID, channel_id=channels[i].id, requester_id="U0REQUEST")
                await client.start_workflow(
                    ReportGenerationWorkflow.run,
                    ReportRequest(
                        topic=f"DM benchmark {i}",
                        origin=origin,
                        settings=WorkflowSettings(policy=policy, max_review_rounds=1),
                    ),
                    id=workflow_id,
                    task_queue=task_queue,
                )
            await wait_pending(client, ids, timeout=300)
            drafts = [await draft_of(client, sandbox.api_url, workflow_id) for workflow_id in ids]
            log(f"{count} drafts pending approval after {time.monotonic() - started:.1f} s")
            in_dms = [
                await sandbox.wait_for(
                    lambda d=draft, u=approver.id: dm_reminder(sandbox, d, u),
                    OBSERVE_SECONDS,
                    what=f"the DM reminder of {draft.workflow_id}",
                )
                for draft, approver in zip(drafts, approvers, strict=True)
            ]
            log(f"every approver reminded by DM after {time.monotonic() - started:.1f} s")
            http = SignedClient(limit=10)
            try:
                # The first pair warms both paths up and is not kept.
                for i in range(count):
                    user = approvers[i].id
                    await asyncio.sleep(0.3)  # let the previous approval's follow-up posts settle
                    by_dm = (i % 2 == 0) == (i // 2 % 2 == 0)
                    clicked = in_dms[i] if by_dm else drafts[i]
                    mark = len(sandbox.calls)
                    sent = time.time()
                    _, status = await http.post(url, click_body(clicked, user_id=user, response_url=sink + "c"))
                    assert status == 200, f"click answered {status}"
                    applied = await sandbox.wait_for(
                        lambda c=clicked.channel_id, u=user, m=mark: confirmed(sandbox, m, c, u),
                        OBSERVE_SECONDS,
                        interval=0.001,
                        what=f"the confirmation to {user}",
                    )
                    if i >= 2:
                        (dm_applied if by_dm else thread_applied).append((applied - sent) * 1000)
            finally:
                await http.close()
            log(f"dm click: {len(dm_applied)} DM clicks, {len(thread_applied)} thread clicks")

    dm, thread = summary(dm_applied), summary(thread_applied)
    r = ratio(dm["p50"], thread["p50"])
    return [
        Figure(
            bench=NAME,
            name="DM reminder click → decision applied (bot's confirmation)",
            unit="ms",
            p50=dm["p50"],
            p99=dm["p99"],
            base_p50=thread["p50"],
            base_p99=thread["p99"],
            ratio=r,
            ratio_of="p50",
            target="≈ 1× the same click in the thread (≤ 1.3×)",
            met=r <= 1.3,
            n=dm["n"],
            note=(
                f"{dm['n']} clicks on DM reminders and {thread['n']} on drafts in their threads, alternating, one at "
                "a time, each draft with its own approver and channel; the same listener and validated update. "
                f"p99 ratio {ratio(dm['p99'], thread['p99']):.2f}×."
            ),
            extra={"dm": dm, "thread": thread},
        )
    ]
