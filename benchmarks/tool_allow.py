"""Allow → tool ran: a signed Allow click on a tool call vs a raw update that runs one activity.

Plans are parked first (worker running, offline model): each is started (one origin channel
per plan, since the worker paces its posts per channel), its plan approved with a raw
``approve_draft`` update, and left where the executor asks to run ``post_message`` in #random
(the tool-call message with Allow / Always allow / Deny and the note after it are in the thread).
Then, one at a time and alternating:

* tool: the sandbox delivers a click on Allow (signed HTTP, the payload built from the stored
  message, as Slack does) to the bot process, which sends ``allow_tool_call``; the workflow
  notes the decision in the thread, re-renders the tool-call message, resumes the executor and
  runs ``tool_post_message`` (channel lookup, then ``chat.postMessage`` in #random);
* raw: ``execute_update`` from this process on a tiny workflow defined here (run by its own
  worker, a child process), whose update handler only records the message; the workflow then
  runs one activity that posts it in #random through slack_sdk.

Measured from the moment the click (or the update) is sent to the ``chat.postMessage`` in
#random as the Slack sandbox answered it (the message is visible then). Posts into #random are
kept ≥ 1.2 s apart (Slack's ~1 post/s per channel; the worker paces to 1.1 s), so the pacing
never holds a post back, and each plan has finished before the next click.

``python -m benchmarks.tool_allow --baseline-worker ADDRESS TASK_QUEUE API_URL`` is that
child worker.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import activity, workflow

from benchmarks.drafts import bench_channels, draft_of, wait_pending
from benchmarks.harness import (
    BOT_TOKEN,
    TEAM_ID,
    Child,
    Figure,
    bot_child,
    children,
    dev_server,
    log,
    percentile,
    ratio,
    summary,
    temporal_client,
    wait_http,
    worker_child,
)
from benchmarks.slack_tiers import slack_sandbox
from signoff.contracts.workflow_io import ApprovalPolicy, ApproveInput, PlanRequest, SlackOrigin, WorkflowSettings
from signoff.sandbox import SlackSandbox
from signoff.sandbox.directory import DEFAULT_CHANNELS
from signoff.slack import action_ids
from signoff.temporal.devserver import free_port
from workflows import ApprovalWorkflow

NAME = "tool allow"
APPROVER = "U0APPROV1"
REQUESTER = "U0REQUEST"
RANDOM_ID = "C0RANDOM0"
# Slack allows ~1 post/s per channel; the worker paces to one per 1.1 s (signoff/slack/pacing.py).
RANDOM_SPACING = 1.2
BASELINE_WORKFLOW = "BenchToolAllowBaseline"
BASELINE_ACTIVITY = "bench_tool_allow_post"


# ---------------------------------------------------------------------- the baseline's workflow


@dataclass
class BaselinePost:
    channel: str
    text: str


@workflow.defn(name=BASELINE_WORKFLOW, sandboxed=False)
class BaselineWorkflow:
    """Parks until an update hands it a message, then posts it with one activity."""

    def __init__(self) -> None:
        self._post: BaselinePost | None = None

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self._post is not None)
        assert self._post is not None
        return str(
            await workflow.execute_activity(
                BASELINE_ACTIVITY, self._post, start_to_close_timeout=timedelta(seconds=10), result_type=str
            )
        )

    @workflow.update
    async def post(self, post: BaselinePost) -> str:
        self._post = post
        return "ok"

    @workflow.query
    def ready(self) -> bool:
        return True


class BaselineActivities:
    def __init__(self, slack: Any) -> None:
        self._slack = slack

    @activity.defn(name=BASELINE_ACTIVITY)
    async def post(self, post: BaselinePost) -> str:
        response = await self._slack.chat_postMessage(channel=post.channel, text=post.text)
        return str(response["ts"])


async def _serve_baseline(address: str, task_queue: str, api_url: str) -> None:
    from temporalio.worker import Worker

    from signoff.slack.client import slack_client, slack_session

    client = await temporal_client(address)
    async with slack_session() as session:
        activities = BaselineActivities(slack_client(BOT_TOKEN, api_url, session))
        worker = Worker(client, task_queue=task_queue, workflows=[BaselineWorkflow], activities=[activities.post])
        await worker.run()


def _baseline_child(log_dir: Path, address: str, task_queue: str, api_url: str) -> Child:
    args = ["-m", "benchmarks.tool_allow", "--baseline-worker", address, task_queue, api_url]
    return Child("baseline-worker", args, {}, log_dir)


# ---------------------------------------------------------------------- parking plans


@dataclass(frozen=True)
class ParkedCall:
    """A plan waiting on its tool call: where its Allow button is, and what it will post."""

    workflow_id: str
    channel_id: str
    thread_ts: str
    message_ts: str
    marker: str


def _buttons(message: dict[str, Any]) -> list[str]:
    return [
        element.get("action_id", "")
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block.get("elements") or []
    ]


async def _park_plans(
    client: Any, sandbox: SlackSandbox, task_queue: str, prefix: str, channels: list[str], timeout: float
) -> list[ParkedCall]:
    settings = WorkflowSettings(policy=ApprovalPolicy(required_approvals=1))
    markers = [f"{prefix}-{i}" for i in range(len(channels))]
    ids = [f"{prefix}-plan-{i}" for i in range(len(channels))]
    started = time.monotonic()
    semaphore = asyncio.Semaphore(20)

    async def start(workflow_id: str, channel: str, marker: str) -> None:
        request = PlanRequest(
            task=f"Announce the offsite {marker} in #random",
            origin=SlackOrigin(team_id=TEAM_ID, channel_id=channel, requester_id=REQUESTER),
            settings=settings,
        )
        async with semaphore:
            await client.start_workflow(ApprovalWorkflow.run, request, id=workflow_id, task_queue=task_queue)

    await asyncio.gather(*(start(w, c, m) for w, c, m in zip(ids, channels, markers, strict=True)))
    await wait_pending(client, ids, timeout)
    drafts = [await draft_of(client, sandbox.api_url, workflow_id) for workflow_id in ids]
    log(f"{len(ids)} plans pending approval after {time.monotonic() - started:.1f} s")

    async def approve(draft: Any) -> None:
        async with semaphore:
            await client.get_workflow_handle(draft.workflow_id).execute_update(
                ApprovalWorkflow.approve_draft,
                ApproveInput(revision=draft.revision, user_id=APPROVER, team_id=TEAM_ID, member_of=draft.channel_id),
                id=f"approve-{draft.revision}-{APPROVER}",
            )

    await asyncio.gather(*(approve(d) for d in drafts))

    parked = []
    for draft, marker in zip(drafts, markers, strict=True):

        def asking(draft: Any = draft) -> dict[str, Any] | None:
            replies = sandbox.replies(draft.channel_id, draft.thread_ts)
            calls = [m for m in replies if action_ids.TOOL_ALLOW in _buttons(m)]
            # The note after the tool-call message is its turn's last post: the thread is quiet then.
            noted = any("asks to run" in (m.get("text") or "") for m in replies)
            return calls[0] if len(calls) == 1 and noted else None

        message = await sandbox.wait_for(asking, timeout=timeout)
        parked.append(ParkedCall(draft.workflow_id, draft.channel_id, draft.thread_ts, message["ts"], marker))
    log(f"{len(parked)} plans waiting on their tool call after {time.monotonic() - started:.1f} s")
    return parked


# ---------------------------------------------------------------------- observing the sandbox


def _first(sandbox: SlackSandbox, start: int, method: str, match: Any) -> float | None:
    for call in sandbox.calls[start:]:
        if call.method == method and call.ok and match(call.params):
            return call.time
    return None


def _posted_in_random(sandbox: SlackSandbox, start: int, marker: str) -> float | None:
    return _first(
        sandbox,
        start,
        "chat.postMessage",
        lambda p: p.get("channel") == RANDOM_ID and marker in str(p.get("text")) and not p.get("thread_ts"),
    )


async def _observe(sandbox: SlackSandbox, start: int, marker: str, timeout: float = 30.0) -> float:
    return await sandbox.wait_for(
        lambda: _posted_in_random(sandbox, start, marker),
        timeout,
        interval=0.001,
        what=f"a post for {marker} in #random",
    )


def _steps(sandbox: SlackSandbox, start: int, call: ParkedCall, sent: float) -> dict[str, float]:
    """Milliseconds from the click to each Slack call of the tool path (for the notes)."""
    found = {
        "bot's confirmation": _first(
            sandbox, start, "chat.postEphemeral", lambda p: "Allowed tool call" in str(p.get("text"))
        ),
        "'allowed' note in the thread": _first(
            sandbox,
            start,
            "chat.postMessage",
            lambda p: p.get("thread_ts") == call.thread_ts and "allowed" in str(p.get("text")),
        ),
        "tool-call message updated": _first(sandbox, start, "chat.update", lambda p: p.get("ts") == call.message_ts),
        "#random looked up": _first(sandbox, start, "conversations.list", lambda p: True),
    }
    return {step: (at - sent) * 1000 for step, at in found.items() if at is not None}


async def _path_in_history(handle: Any, update: str, until: str) -> tuple[list[str], list[float]]:
    """From the workflow's history: the activities scheduled after the ``update`` was accepted, up
    to and including ``until``, and how long each workflow task on that path took the worker (ms,
    started → completed), the one that accepted the update first."""
    history = await handle.fetch_history()
    activities: list[str] = []
    tasks: list[float] = []
    task_started: float | None = None
    last_task: float | None = None
    accepted = False
    for event in history.events:
        kind = event.WhichOneof("attributes")
        at = event.event_time.ToMilliseconds()
        if kind == "workflow_task_started_event_attributes":
            task_started = at
        elif kind == "workflow_task_completed_event_attributes" and task_started is not None:
            last_task = at - task_started
            if accepted:
                tasks.append(last_task)
        elif kind == "workflow_execution_update_accepted_event_attributes" and not accepted:
            if event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name == update:
                accepted = True
                if last_task is not None:
                    tasks.append(last_task)
        elif kind == "activity_task_scheduled_event_attributes" and accepted:
            activities.append(event.activity_task_scheduled_event_attributes.activity_type.name)
            if activities[-1] == until:
                break
    return activities, tasks


# ---------------------------------------------------------------------- the benchmark


async def run(tmp: Path, quick: bool) -> list[Figure]:
    samples = 5 if quick else 30  # per path
    count = samples + 1  # the first of each path warms it up and is not kept
    task_queue = f"bench-tool-{uuid.uuid4().hex[:6]}"
    baseline_queue = f"bench-tool-raw-{uuid.uuid4().hex[:6]}"
    prefix = f"tool-{uuid.uuid4().hex[:6]}"
    bot_port = free_port()
    tool_ms: list[float] = []
    raw_ms: list[float] = []
    raw_update_ms: list[float] = []
    steps: dict[str, list[float]] = {}
    # One origin channel per plan: the worker paces its posts per channel, as Slack requires.
    channels = bench_channels(count)
    async with (
        dev_server(tmp) as server,
        slack_sandbox(
            channels=[*DEFAULT_CHANNELS, *channels], request_url=f"http://127.0.0.1:{bot_port}/slack/events"
        ) as sandbox,
    ):
        worker = worker_child(tmp, server.address, task_queue, sandbox.api_url)
        bot = bot_child(tmp, bot_port, server.address, task_queue, sandbox.api_url)
        baseline = _baseline_child(tmp, server.address, baseline_queue, sandbox.api_url)
        async with children(worker, bot, baseline):
            await wait_http(f"http://127.0.0.1:{bot_port}/healthz", bot)
            client = await temporal_client(server.address)
            parked = await _park_plans(client, sandbox, task_queue, prefix, [c.id for c in channels], timeout=300)
            raw_handles = []
            for i in range(count):
                handle = await client.start_workflow(
                    BaselineWorkflow.run, id=f"{prefix}-raw-{i}", task_queue=baseline_queue
                )
                raw_handles.append(handle)
            for handle in raw_handles:  # each parked in the baseline worker's cache
                await asyncio.wait_for(handle.query(BaselineWorkflow.ready), timeout=30)
            log(f"{count} baseline workflows waiting")

            load = [os.getloadavg()[0]]
            last_post = 0.0
            for i in range(2 * count):
                await asyncio.sleep(max(0.3, RANDOM_SPACING - (time.time() - last_post)))
                mark = len(sandbox.calls)
                keep = i >= 2
                if (i % 2 == 0) == (i // 2 % 2 == 0):
                    call = parked[i // 2]
                    sent = time.time()
                    result = await sandbox.click_button(
                        APPROVER, call.channel_id, call.message_ts, action_ids.TOOL_ALLOW, via="http"
                    )
                    assert result.acked, f"Allow click answered {result.status} {result.error}"
                    last_post = await _observe(sandbox, mark, call.marker)
                    if keep:
                        tool_ms.append((last_post - sent) * 1000)
                        for step, ms in _steps(sandbox, mark, call, sent).items():
                            steps.setdefault(step, []).append(ms)
                    # The rest of the plan (the tool's note, the executor's last turn, the
                    # summary) finishes before the next click.
                    await asyncio.wait_for(client.get_workflow_handle(call.workflow_id).result(), timeout=60)
                else:
                    handle = raw_handles[i // 2]
                    marker = f"{prefix}-raw-{i // 2}"
                    sent = time.time()
                    await handle.execute_update(
                        BaselineWorkflow.post, BaselinePost(channel=RANDOM_ID, text=f":mega: Baseline {marker}.")
                    )
                    updated = time.time()
                    last_post = await _observe(sandbox, mark, marker)
                    if keep:
                        raw_ms.append((last_post - sent) * 1000)
                        raw_update_ms.append((updated - sent) * 1000)
                    await asyncio.wait_for(handle.result(), timeout=30)
            load.append(os.getloadavg()[0])
            log(f"tool: {len(tool_ms)} Allow clicks, {len(raw_ms)} raw updates")
            # Where the time goes, from the server's histories of the kept samples.
            tool_paths = [
                await _path_in_history(
                    client.get_workflow_handle(c.workflow_id), "allow_tool_call", "tool_post_message"
                )
                for c in parked[1:]
            ]
            raw_paths = [await _path_in_history(h, "post", BASELINE_ACTIVITY) for h in raw_handles[1:]]
            rate_limited = sum(1 for c in sandbox.calls if c.status == 429)

    tool, raw = summary(tool_ms), summary(raw_ms)
    r = ratio(tool["p50"], raw["p50"])
    breakdown = ", ".join(f"{step} {percentile(values, 50):.0f} ms" for step, values in steps.items())
    before_tool = sorted({" → ".join(activities) for activities, _ in tool_paths})
    # The worker's time for each workflow task on the path, by its place on the path.
    tool_task_ms = [[tasks[k] for _, tasks in tool_paths if len(tasks) > k] for k in range(3)]
    tool_tasks = " / ".join(f"{percentile(values, 50):.0f}" for values in tool_task_ms if values)
    raw_task_ms = [ms for _, tasks in raw_paths for ms in tasks]
    return [
        Figure(
            bench=NAME,
            name="Allow click → tool's post in #random",
            unit="ms",
            p50=tool["p50"],
            p99=tool["p99"],
            base_p50=raw["p50"],
            base_p99=raw["p99"],
            ratio=r,
            ratio_of="p50",
            target="≤ 2× raw update → one activity's post",
            met=r <= 2,
            n=tool["n"],
            note=(
                f"{tool['n']} Allow clicks (sandbox → bot over signed HTTP) and {raw['n']} raw updates, alternating, "
                f"one at a time, each on its own parked workflow; posts in #random ≥ {RANDOM_SPACING:g} s apart. "
                f"Medians from the click: {breakdown}, the post {tool['p50']:.0f} ms. "
                f"Baseline: execute_update returned after {percentile(raw_update_ms, 50):.0f} ms (median), "
                f"the activity's post {raw['p50']:.0f} ms. p99 ratio {ratio(tool['p99'], raw['p99']):.2f}×; "
                f"HTTP 429s: {rate_limited}. From the histories, the activities scheduled from the Allow to the "
                f"tool's: {' | '.join(before_tool)}; the workflow tasks on that path (the first accepted the update "
                f"and resumed the executor) took the worker {tool_tasks} ms (medians, started → completed), the "
                f"baseline's one task {percentile(raw_task_ms, 50):.0f} ms. 1-minute load average "
                f"{load[0]:.1f} → {load[1]:.1f} on {os.cpu_count()} CPUs."
            ),
            extra={
                "tool": tool,
                "raw": raw,
                "raw_update": summary(raw_update_ms),
                "steps": steps,
                "activities_before_post": before_tool,
                "tool_workflow_task_ms": [summary(values) for values in tool_task_ms],
                "raw_workflow_task_ms": summary(raw_task_ms),
            },
        )
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tool_allow", description=__doc__)
    parser.add_argument("--baseline-worker", nargs=3, metavar=("ADDRESS", "TASK_QUEUE", "API_URL"), required=True)
    args = parser.parse_args(argv)
    address, task_queue, api_url = args.baseline_worker
    asyncio.run(_serve_baseline(address, task_queue, api_url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
