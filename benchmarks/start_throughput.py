"""Start throughput: reports started per second from signed ``/report`` vs raw ``start_workflow``.

Each round gets a fresh dev server (so neither path inherits the other's backlog) and no
worker: a started workflow just waits for one, so the figure is the bot's start path and the
server's start rate, not the pipeline (which the pending benchmark measures). After a start
the bot sends nothing more (the workflow itself sends the requester the thread's link), so
without a worker nothing else is asked of the server.

Started workflows are counted on the server (visibility, by task queue); the rate is the
count over the time from the first request sent to the last workflow's start time.
Raw: ``start_workflow`` with the same input, memo and id reuse policy, 50 at a time.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy

from benchmarks.harness import (
    TEAM_ID,
    Figure,
    SignedClient,
    bot_child,
    children,
    cpu_seconds,
    dev_server,
    log,
    new_trigger_id,
    percentile,
    ratio,
    response_sink,
    slash_body,
    temporal_client,
    wait_http,
)
from benchmarks.slack_tiers import slack_sandbox
from signoff.contracts.workflow_io import ReportRequest, SlackOrigin, WorkflowSettings
from signoff.temporal.devserver import free_port
from workflows import ReportGenerationWorkflow

NAME = "start throughput"
CONCURRENCY = 50


class CpuMeter:
    """CPU seconds each named process (pid; None: this benchmark process) uses from now on."""

    def __init__(self, **pids: int | None) -> None:
        self.pids = pids
        self.start = {name: cpu_seconds(pid) for name, pid in pids.items()}

    def used(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) - self.start[name] for name, pid in self.pids.items()}


async def _started(
    client: Client, task_queue: str, expected: int, since: float, timeout: float = 90.0
) -> tuple[int, float]:
    """(count, seconds from ``since`` to the last start) from visibility, once the count stops growing."""
    deadline = time.monotonic() + timeout
    last_count, stable_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = (await client.count_workflows(f"TaskQueue = '{task_queue}'")).count
        if count != last_count:
            last_count, stable_since = count, time.monotonic()
        if count >= expected or time.monotonic() - stable_since > 8:
            break
        await asyncio.sleep(0.5)
    latest = since
    async for execution in client.list_workflows(f"TaskQueue = '{task_queue}'"):
        latest = max(latest, execution.start_time.timestamp())
    return last_count, latest - since


async def _warm_up(client: Client) -> None:
    """A fresh dev server is slow for its first seconds; both paths start after the same warm-up."""
    await asyncio.sleep(2)
    for i in range(20):
        await client.start_workflow("Warmup", id=f"warmup-{i}", task_queue="bench-warmup")


async def _raw_round(tmp: Path, requests: int) -> dict:
    async with dev_server(tmp) as server:
        client = await temporal_client(server.address)
        await _warm_up(client)
        task_queue = f"bench-raw-{uuid.uuid4().hex[:6]}"
        semaphore = asyncio.Semaphore(CONCURRENCY)
        latencies: list[float] = []
        failures = 0

        async def one(i: int) -> None:
            nonlocal failures
            origin = SlackOrigin(team_id=TEAM_ID, channel_id="C0GENERAL", requester_id="U0REQUEST")
            async with semaphore:
                started = time.perf_counter()
                try:
                    await client.start_workflow(
                        ReportGenerationWorkflow.run,
                        ReportRequest(
                            topic=f"Throughput topic {i}", origin=origin, settings=WorkflowSettings(max_review_rounds=1)
                        ),
                        id=f"report-{TEAM_ID}-C0GENERAL-raw{i:06d}{uuid.uuid4().hex[:6]}",
                        task_queue=task_queue,
                        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                        memo={
                            "kind": "report",
                            "subject": f"Throughput topic {i}",
                            "team_id": TEAM_ID,
                            "channel_id": "C0GENERAL",
                            "requester_id": "U0REQUEST",
                        },
                        rpc_timeout=timedelta(seconds=5),
                    )
                    latencies.append((time.perf_counter() - started) * 1000)
                except Exception:
                    failures += 1

        assert server.process is not None
        cpu = CpuMeter(server=server.process.pid, driver=None)
        since = time.time()
        await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(requests))), timeout=300)
        count, span = await _started(client, task_queue, requests, since)
        return {
            "count": count,
            "seconds": span,
            "rate": count / span,
            "failures": failures,
            "cpu_s": cpu.used(),
            "p50_ms": percentile(latencies, 50),
            "p99_ms": percentile(latencies, 99),
        }


async def _bot_round(tmp: Path, requests: int) -> dict:
    async with (
        dev_server(tmp) as server,
        slack_sandbox() as sandbox,
        response_sink(sandbox.api_url, sandbox.calls) as sink,
    ):
        task_queue = f"bench-bot-{uuid.uuid4().hex[:6]}"
        port = free_port()
        bot = bot_child(tmp, port, server.address, task_queue, sandbox.api_url, {"SIGNOFF_MAX_REVIEW_ROUNDS": "1"})
        async with children(bot):
            await wait_http(f"http://127.0.0.1:{port}/healthz", bot)
            client = await temporal_client(server.address)
            await _warm_up(client)
            url = f"http://127.0.0.1:{port}/slack/events"
            http = SignedClient(limit=CONCURRENCY)
            latencies: list[float] = []
            failures = 0
            queue: asyncio.Queue[int] = asyncio.Queue()
            for i in range(requests):
                queue.put_nowait(i)

            async def client_loop() -> None:
                nonlocal failures
                while True:
                    try:
                        i = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    body = slash_body(f"Throughput topic {i}", trigger_id=new_trigger_id(), response_url=sink + "t")
                    seconds, status = await http.post(url, body)
                    if status == 200:
                        latencies.append(seconds * 1000)
                    else:
                        failures += 1

            assert server.process is not None
            cpu = CpuMeter(server=server.process.pid, bot=bot.pid, driver=None)
            since = time.time()
            try:
                await asyncio.wait_for(asyncio.gather(*(client_loop() for _ in range(CONCURRENCY))), timeout=300)
            finally:
                await http.close()
            acked = time.time() - since
            count, span = await _started(client, task_queue, requests, since)
            cpu_s = cpu.used()
            await asyncio.sleep(1)
            return {
                "count": count,
                "seconds": span,
                "rate": count / span,
                "failures": failures,
                "acked_in": acked,
                "cpu_s": cpu_s,
                "answers": sink.kinds(),
                "p50_ms": percentile(latencies, 50),
                "p99_ms": percentile(latencies, 99),
            }


async def run(tmp: Path, quick: bool) -> list[Figure]:
    requests = 200 if quick else 2000
    rounds = 1 if quick else 2
    raw, bot = [], []
    for r in range(rounds):
        # Alternate which path goes first, each on its own fresh server.
        order = ("raw", "bot") if r % 2 == 0 else ("bot", "raw")
        for path in order:
            result = await (_raw_round(tmp, requests) if path == "raw" else _bot_round(tmp, requests))
            (raw if path == "raw" else bot).append(result)
            log(f"throughput {path}: {result['count']} started in {result['seconds']:.1f} s = {result['rate']:.0f}/s")
    bot_rate = percentile([b["rate"] for b in bot], 50)
    raw_rate = percentile([b["rate"] for b in raw], 50)
    r = ratio(bot_rate, raw_rate)
    started = sum(b["count"] for b in bot)
    return [
        Figure(
            bench=NAME,
            name=f"reports started/s, {requests:,} at concurrency {CONCURRENCY}",
            unit="/s",
            p50=bot_rate,
            base_p50=raw_rate,
            ratio=r,
            ratio_of="rate",
            target="≥ 0.8× raw start_workflow",
            met=r >= 0.8 and started == requests * rounds,
            n=requests,
            note=(
                f"Median of {rounds} round(s) per path, each on a fresh dev server, no worker. "
                f"/report: {started:,} of {requests * rounds:,} workflows started, "
                f"{sum(b['failures'] for b in bot)} non-200 acks, ack p50/p99 "
                + ", ".join(f"{b['p50_ms']:.0f}/{b['p99_ms']:.0f} ms" for b in bot)
                + "; raw start_workflow call p50/p99 "
                + ", ".join(f"{b['p50_ms']:.0f}/{b['p99_ms']:.0f} ms" for b in raw)
                + f", {sum(b['count'] for b in raw):,} started. Rates per round: /report "
                + ", ".join(f"{b['rate']:.0f}" for b in bot)
                + "; raw "
                + ", ".join(f"{b['rate']:.0f}" for b in raw)
                + ". CPU seconds per 1,000 starts, median of rounds (2 cores shared by all): /report path "
                + _cpu_per_thousand(bot)
                + "; raw path "
                + _cpu_per_thousand(raw)
                + "."
            ),
            extra={"bot_rounds": bot, "raw_rounds": raw},
        )
    ]


def _cpu_per_thousand(rounds: list[dict]) -> str:
    names = list(rounds[0]["cpu_s"])
    parts = []
    for name in names:
        per = [r["cpu_s"][name] * 1000 / max(r["count"], 1) for r in rounds]
        parts.append(f"{name} {percentile(per, 50):.1f}")
    return ", ".join(parts)
