"""Streamed progress against today's phase notes: Slack calls per report, and what Slack's tiers allow of each.

One run, two rounds on the same Temporal dev server and worker (a child process, the offline model, whose
reviewer asks for changes once: two AI review rounds, as a report commonly has): N reports each in a
channel of its own, until each draft waits for a decision.
* streamed: the sandbox streams; each draft's progress is one streamed message (start, appends, stop);
* notes: the sandbox answers ``chat.startStream`` with ``unknown_method``, as a Slack without streaming
  does; the progress goes out as today's phase notes (``chat.postMessage``). The refused start that costs
  is counted apart: today's code makes no such call.
Counted per report, by method, every Slack call the workflow made; the progress's own calls (stream calls,
or the notes: text-only thread replies) set against each other. At Slack's tiers, a progress call's cost is
its share of its method's budget: ``chat.startStream`` and ``chat.stopStream`` Tier 2 (20 a minute per app
and workspace), ``chat.appendStream`` Tier 4 (100), ``chat.postMessage`` about 1 a second per channel.
"""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path

from benchmarks.drafts import bench_channels, start_reports
from benchmarks.harness import Figure, children, dev_server, log, temporal_client, wait_until, worker_child
from benchmarks.slack_tiers import slack_sandbox
from signoff.contracts.workflow_io import ApprovalPolicy, WorkflowSettings
from signoff.sandbox import SlackSandbox
from signoff.sandbox.recording import Call
from signoff.sandbox.tiers import PER_MINUTE_BY_TIER, TIER_BY_METHOD
from tests.support.slack import STREAM_METHODS, text_said

NAME = "streamed progress"
# chat.postMessage: Slack's special limit, about one a second per channel (bursts tolerated).
POSTS_PER_MINUTE_PER_CHANNEL = 60
READY = "is ready for a decision"


def is_note(call: Call) -> bool:
    """A phase note: a text-only reply in a thread (thread parents and drafts carry blocks)."""
    return call.method == "chat.postMessage" and bool(call.params.get("thread_ts")) and not call.params.get("blocks")


async def _park(tmp: Path, address: str, count: int, *, notes: bool) -> tuple[Counter[str], int, int]:
    """(ok calls by method, the progress's calls, refused stream starts) for ``count`` parked reports."""
    channels = bench_channels(count, prefix="C0STREAM" if not notes else "C0NOTES0")
    settings = WorkflowSettings(policy=ApprovalPolicy(decision_deadline=None), max_review_rounds=2)
    task_queue = f"bench-stream-{uuid.uuid4().hex[:6]}"
    async with slack_sandbox(channels=channels) as sandbox:
        if notes:
            sandbox.faults.fail("chat.startStream", times=count, error="unknown_method")
        worker = worker_child(tmp, address, task_queue, sandbox.api_url)
        worker.name = f"worker-{'notes' if notes else 'streamed'}"
        worker.log_file = tmp / f"{worker.name}.log"
        async with children(worker):
            client = await temporal_client(address)
            ids = [f"stream-{'n' if notes else 's'}-{uuid.uuid4().hex[:6]}-{i}" for i in range(count)]
            await start_reports(client, task_queue, ids, settings, channels=[c.id for c in channels])

            def parked() -> bool:
                return sum(1 for c in sandbox.calls if c.ok and READY in text_said(c)) >= count

            await wait_until(parked, timeout=120 + 10 * count, interval=0.2, what="drafts ready for a decision")
        return _counted(sandbox)


def _counted(sandbox: SlackSandbox) -> tuple[Counter[str], int, int]:
    ok = [c for c in sandbox.calls if c.ok]
    by_method = Counter(c.method for c in ok)
    progress = sum(1 for c in ok if c.method in STREAM_METHODS or is_note(c))
    refused = sum(1 for c in sandbox.calls if c.method == "chat.startStream" and not c.ok)
    return by_method, progress, refused


def _per_report(by_method: Counter[str], count: int) -> dict[str, float]:
    return {method: n / count for method, n in sorted(by_method.items())}


def _reports_a_minute(per_report: dict[str, float], methods: tuple[str, ...], *, per_channel: bool) -> float:
    """How many reports a minute the methods' budgets allow (per workspace, or in one channel for posts)."""
    bounds = []
    for method in methods:
        calls = per_report.get(method, 0.0)
        if not calls:
            continue
        if method == "chat.postMessage":
            budget = POSTS_PER_MINUTE_PER_CHANNEL if per_channel else float("inf")
        else:
            budget = PER_MINUTE_BY_TIER[TIER_BY_METHOD[method]]
        bounds.append(budget / calls)
    return min(bounds) if bounds else float("inf")


async def run(tmp: Path, quick: bool) -> list[Figure]:
    count = 3 if quick else 10
    async with dev_server(tmp) as server:
        streamed, streamed_progress, _ = await _park(tmp, server.address, count, notes=False)
        noted, noted_progress, refused = await _park(tmp, server.address, count, notes=True)
    streamed_rate = _per_report(streamed, count)
    noted_rate = _per_report(noted, count)
    log(f"streamed: {streamed_rate}; notes: {noted_rate}; refused starts {refused}")
    stream_calls, note_calls = streamed_progress / count, noted_progress / count
    # Per channel: every post of a report counts against its channel's ≈ 1 a second (the thread's parent,
    # the draft, the notes); the stream's calls count against the workspace's Tier 2 / Tier 4 budgets.
    streamed_bound = min(
        _reports_a_minute(streamed_rate, STREAM_METHODS, per_channel=False),
        _reports_a_minute(streamed_rate, ("chat.postMessage",), per_channel=True),
    )
    noted_bound = _reports_a_minute(noted_rate, ("chat.postMessage",), per_channel=True)
    methods = sorted(set(streamed_rate) | set(noted_rate))
    table = "; ".join(f"`{m}` {streamed_rate.get(m, 0):.1f} vs {noted_rate.get(m, 0):.1f}" for m in methods)
    calls = Figure(
        bench=NAME,
        name="Slack calls per report for its progress (streamed vs phase notes)",
        unit="calls",
        p50=stream_calls,
        base_p50=note_calls,
        ratio=stream_calls / note_calls if note_calls else None,
        ratio_of="mean",
        target="≤ 1×",
        met=stream_calls <= note_calls,
        n=count,
        note=(
            f"{count} reports each way, same run, two AI review rounds each. Per report, every Slack call by "
            f"method (streamed vs notes): {table}. The notes round's sandbox refused {refused} stream starts "
            "(`unknown_method`) to fall back; today's code makes no such call, so they are not counted above."
        ),
        extra={"streamed": streamed_rate, "notes": noted_rate, "refused_starts": refused},
    )
    tiers = Figure(
        bench=NAME,
        name="reports a minute Slack's tiers allow (streamed: per workspace; notes: per channel)",
        unit="reports/min",
        p50=streamed_bound,
        base_p50=noted_bound,
        ratio=streamed_bound / noted_bound if noted_bound else None,
        ratio_of="rate",
        n=count,
        note=(
            "What each way's busiest method allows: the stream's start and stop are Tier 2 (20 a minute per app "
            "and workspace, whatever the channel), its appends Tier 4 (100); a post ≈ 1 a second per channel. "
            f"Streamed: ≤ {streamed_bound:.1f} reports a minute in the whole workspace (its posts allow more per "
            f"channel); notes: ≤ {noted_bound:.1f} a minute in each channel, so notes scale with channels and "
            "streams do not: past 20 drafts a minute across a workspace, stream starts meet 429 (retried after "
            "Retry-After, the progress late, not lost)."
        ),
    )
    return [calls, tiers]
