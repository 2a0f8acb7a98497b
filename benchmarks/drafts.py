"""Getting drafts to the point where they wait for a human, and finding their Approve buttons."""

from __future__ import annotations

import asyncio
import time

import aiohttp
from temporalio.client import Client

from benchmarks.harness import TEAM_ID, Draft, find_draft, log
from signoff.contracts.workflow_io import Phase, ReportRequest, SlackOrigin, WorkflowSettings
from signoff.sandbox.directory import BOT_USER_ID, DEFAULT_USERS, Channel
from workflows import ReportGenerationWorkflow

# Who looks at a thread for its draft (a member of every benchmark channel).
VIEWER = "U0APPROV1"


def bench_channels(count: int, prefix: str = "C0BENCH") -> list[Channel]:
    """Channels everyone (and the bot) is in: drafts spread over them, as a team's would be.

    The worker keeps to Slack's ~1 post/s per channel, so drafts crowded into one channel
    park at that rate whatever else the system can do.
    """
    members = frozenset({u.id for u in DEFAULT_USERS} | {BOT_USER_ID})
    return [Channel(f"{prefix}{i:03d}", f"bench-{i}", members) for i in range(count)]


async def start_reports(
    client: Client,
    task_queue: str,
    ids: list[str],
    settings: WorkflowSettings,
    *,
    channels: list[str] | None = None,
    concurrency: int = 20,
    requester: str = "U0REQUEST",
    first_index: int = 0,
) -> None:
    """Start report workflows directly (as the bot's gateway does, without Slack in front)."""
    semaphore = asyncio.Semaphore(concurrency)
    channels = channels or ["C0GENERAL"]

    async def one(index: int, workflow_id: str) -> None:
        origin = SlackOrigin(team_id=TEAM_ID, channel_id=channels[index % len(channels)], requester_id=requester)
        async with semaphore:
            await client.start_workflow(
                ReportGenerationWorkflow.run,
                ReportRequest(topic=f"Benchmark topic {index}", origin=origin, settings=settings),
                id=workflow_id,
                task_queue=task_queue,
            )

    await asyncio.gather(*(one(i, wid) for i, wid in enumerate(ids, start=first_index)))


async def wait_pending(client: Client, ids: list[str], timeout: float) -> dict[str, float]:
    """Poll until every workflow is pending approval; returns when each was first seen so."""
    seen: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(seen) < len(ids):
        for workflow_id in ids:
            if workflow_id in seen:
                continue
            handle = client.get_workflow_handle(workflow_id)
            try:
                phase = await handle.query(ReportGenerationWorkflow.get_status)
            except Exception:
                continue
            if phase == Phase.PENDING_APPROVAL.value:
                seen[workflow_id] = time.time()
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(seen)} of {len(ids)} drafts pending after {timeout:g} s")
        if len(seen) < len(ids):
            await asyncio.sleep(0.5)
    return seen


async def draft_of(client: Client, api_url: str, workflow_id: str, timeout: float = 30.0) -> Draft:
    """The pending draft's control message, read back from the Slack stand-in like a user would see it.

    The workflow is 'pending approval' as soon as its gate opens, just before the draft is posted
    (a click racing the post is valid), and the worker paces its posts per channel: poll. Read through
    the sandbox's page (a person looking at the thread), not the app's conversations.replies: the
    benchmark's looking must not spend the app's rate-limit budget under --slack-tiers.
    """
    progress = await client.get_workflow_handle(workflow_id).query(ReportGenerationWorkflow.progress)
    assert progress.thread is not None, f"{workflow_id} has no thread"
    return await draft_in_thread(api_url, workflow_id, progress.thread.channel_id, progress.thread.ts, timeout)


async def draft_in_thread(api_url: str, workflow_id: str, channel: str, ts: str, timeout: float = 30.0) -> Draft:
    """The control message with ``workflow_id``'s Approve button in the thread ``channel``/``ts``."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(
                f"{api_url.rstrip('/').removesuffix('/api')}/ui/api/channels/{channel}/threads/{ts}",
                params={"user": VIEWER},
            ) as response:
                body = await response.json()
            draft = find_draft(body.get("messages") or [], workflow_id, channel, ts)
            if draft is not None:
                return draft
            if time.monotonic() > deadline:
                raise RuntimeError(f"no Approve button found for {workflow_id} within {timeout:g} s")
            await asyncio.sleep(0.2)


async def park_drafts(
    client: Client,
    api_url: str,
    task_queue: str,
    prefix: str,
    count: int,
    settings: WorkflowSettings,
    timeout: float,
    channels: list[str] | None = None,
) -> list[Draft]:
    ids = [f"{prefix}-{i}" for i in range(count)]
    started = time.monotonic()
    await start_reports(client, task_queue, ids, settings, channels=channels)
    await wait_pending(client, ids, timeout)
    log(f"{count} drafts pending approval after {time.monotonic() - started:.1f} s")
    return [await draft_of(client, api_url, workflow_id) for workflow_id in ids]
