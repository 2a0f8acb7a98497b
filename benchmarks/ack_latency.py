"""Ack latency: signed ``/report`` and Approve clicks against the real bot and a bare ack-only Bolt app.

Both apps run at the same time as child processes (same Bolt version and settings, same aiohttp
adapter, signing verified), and requests alternate between them, so both see the same machine
load. A stream of ``/report`` commands keeps the real bot, the worker and Temporal busy meanwhile.
Every measured ``/report`` to the real bot is written to the bot's journal (``bot.journal``: SQLite,
an fsync per commit, in the run's directory), acked "Starting…" with its workflow id, and started
after the ack: each figure counts the acks by what they said, and after the run every acknowledged
``/report`` is checked to have its workflow (a fast ack that lost starts would not count). Every
click sends a real ``approve_draft`` update (the policy asks for 1,000 approvals so drafts stay
pending and clicks by new people are applied, repeated ones refused by the validator). The raw
``start_workflow`` calls the /report ack is also set against run in a pass of their own after each
concurrency's acks: at 50 at once they kept the Temporal server busy for seconds, a load neither
app makes, and the ack figures measured how the machine shared its cores rather than the bot.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import signal
import time
import uuid
from pathlib import Path

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError

from benchmarks.drafts import draft_of, wait_pending
from benchmarks.harness import (
    Child,
    Draft,
    Figure,
    SignedClient,
    bare_child,
    bot_child,
    children,
    click_body,
    compared,
    dev_server,
    log,
    new_trigger_id,
    ratio,
    response_sink,
    slash_body,
    summary,
    temporal_client,
    wait_http,
    worker_child,
)
from benchmarks.slack_tiers import sandbox_args
from bot.gateway import workflow_id_for
from signoff.contracts.workflow_io import ReportRequest, SlackOrigin, WorkflowKind
from signoff.temporal.devserver import free_port
from workflows import ReportGenerationWorkflow

NAME = "ack"
CLICKERS = ("U0APPROV1", "U0APPROV2", "U0OUTSIDE")
STREAM_PER_SECOND = 4
# The raw starts' requester: as the bot's, from a channel of their own.
RAW_ORIGIN = SlackOrigin(team_id="T0SANDBOX", channel_id="C0RANDOM0", requester_id="U0REQUEST")
RAW_MEMO = {"team_id": "T0SANDBOX", "channel_id": "C0RANDOM0", "requester_id": "U0REQUEST"}
# The workflow id a journaled ack names (``bot.gateway.workflow_id_for``).
ACKED_ID = re.compile(r"report-[A-Za-z0-9]+-[A-Za-z0-9]+-[0-9a-f]{16}")
# How long the acknowledged starts get, after the run, to have all been made.
STARTED_WAIT_SECONDS = 180


async def run(tmp: Path, quick: bool, *, worker_paused: bool = False) -> list[Figure]:
    """The figures; ``worker_paused``: the worker stopped (SIGSTOP) while the acks are measured, so the
    workflows the acked reports start wait instead of sharing the machine's cores with the acks
    (``benchmarks.ack_engine_elsewhere``)."""
    bench = f"{NAME}-paused" if worker_paused else NAME
    n1 = 20 if quick else 100  # per (kind, app) at concurrency 1
    n50 = 100 if quick else 500  # per (kind, app) at concurrency 50
    pending = 3 if quick else 8
    task_queue = f"bench-ack-{uuid.uuid4().hex[:6]}"
    sandbox_port, bot_port, bare_port = free_port(), free_port(), free_port()
    api_url = f"http://127.0.0.1:{sandbox_port}/api/"
    async with dev_server(tmp) as server, response_sink(api_url) as sink:
        sandbox = Child("sandbox", ["-m", "signoff.sandbox", "--port", str(sandbox_port), *sandbox_args()], {}, tmp)
        worker = worker_child(tmp, server.address, task_queue, api_url)
        bot = bot_child(
            tmp,
            bot_port,
            server.address,
            task_queue,
            api_url,
            {"SIGNOFF_MAX_REVIEW_ROUNDS": "1", "SIGNOFF_REQUIRED_APPROVALS": "1000"},
        )
        bare = bare_child(tmp, bare_port, api_url)
        async with children(sandbox, worker, bot, bare):
            await wait_http(f"http://127.0.0.1:{sandbox_port}/", sandbox)
            await wait_http(f"http://127.0.0.1:{bot_port}/healthz", bot)
            await wait_http(f"http://127.0.0.1:{bare_port}/healthz", bare)
            urls = {
                "bot": f"http://127.0.0.1:{bot_port}/slack/events",
                "bare": f"http://127.0.0.1:{bare_port}/slack/events",
            }
            client = await temporal_client(server.address)
            http = SignedClient(limit=200)
            try:
                # Drafts to click on, started through the bot's /report like a user would.
                ids = []
                for i in range(pending):
                    trigger = new_trigger_id()
                    _latency, status = await http.post(
                        urls["bot"], slash_body(f"Pending draft {i}", trigger_id=trigger, response_url=sink + "p")
                    )
                    assert status == 200, f"/report answered {status}"
                    ids.append(workflow_id_for(WorkflowKind.REPORT, "T0SANDBOX", "C0GENERAL", f"/report:{trigger}"))
                await wait_pending(client, ids, timeout=180)
                drafts = [await draft_of(client, api_url, workflow_id) for workflow_id in ids]
                log(f"ack: {len(drafts)} drafts pending; measuring")
                if worker_paused:
                    assert worker.process is not None
                    worker.process.send_signal(signal.SIGSTOP)

                stop = asyncio.Event()
                stream_sent = [0]
                # The event loop keeps only weak references to tasks: hold each background post until it ends.
                in_flight: set[asyncio.Future[tuple[float, int]]] = set()

                async def stream() -> None:
                    while not stop.is_set() and stream_sent[0] < 2000:
                        body = slash_body(
                            f"Stream report {stream_sent[0]}", trigger_id=new_trigger_id(), response_url=sink + "s"
                        )
                        posted = asyncio.ensure_future(http.post(urls["bot"], body))
                        in_flight.add(posted)
                        posted.add_done_callback(in_flight.discard)
                        stream_sent[0] += 1
                        await asyncio.sleep(1 / STREAM_PER_SECOND)

                stream_task = asyncio.create_task(stream())
                await asyncio.sleep(2)
                results: dict[tuple[str, str, int], list[float]] = {}
                failures: dict[tuple[str, str, int], int] = {}
                users = itertools.cycle(CLICKERS)

                def body_for(kind: str, serial: int) -> str:
                    if kind == "report":
                        return slash_body(
                            f"Measured report {serial}", trigger_id=new_trigger_id(), response_url=sink + "m"
                        )
                    draft: Draft = drafts[serial % len(drafts)]
                    return click_body(draft, user_id=next(users), response_url=sink + "c")

                # Measured /report acks to the bot by what they said: journaled (with the workflow id),
                # started before the ack (the fallback without a journal), or "Starting…" without an id.
                paths: dict[tuple[int, str], int] = {}
                acked_ids: list[str] = []

                async def raw_start(serial: int) -> tuple[float, int, str]:
                    """What the bot's ack now waits for: one start_workflow (same input, memo, id policy)."""
                    started = time.perf_counter()
                    await client.start_workflow(
                        ReportGenerationWorkflow.run,
                        ReportRequest(topic=f"Raw report {serial}", origin=RAW_ORIGIN),
                        id=f"bench-raw-{uuid.uuid4().hex}",
                        task_queue=task_queue,
                        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                        memo={"kind": "report", "subject": f"Raw report {serial}", **RAW_MEMO},
                    )
                    return time.perf_counter() - started, 200, ""

                async def measure(kind: str, app: str, concurrency: int, serial: int) -> None:
                    if app == "raw":
                        seconds, status, text = await raw_start(serial)
                    else:
                        seconds, status, text = await http.post_reading(urls[app], body_for(kind, serial))
                    key = (kind, app, concurrency)
                    if status == 200:
                        results.setdefault(key, []).append(seconds * 1000)
                        if kind == "report" and app == "bot":
                            named = ACKED_ID.search(text)
                            path = (
                                "first"
                                if "is started" in text
                                else "journaled"
                                if named and "Starting" in text
                                else "after"
                                if "Starting" in text
                                else "other"
                            )
                            paths[(concurrency, path)] = paths.get((concurrency, path), 0) + 1
                            if named:
                                acked_ids.append(named.group(0))
                    else:
                        failures[key] = failures.get(key, 0) + 1

                # Concurrency 1: one request at a time, alternating app and kind.
                started = time.monotonic()
                for i in range(n1):
                    for kind in ("report", "click"):
                        for app in _apps(i):
                            await measure(kind, app, 1, i)
                for i in range(n1):
                    await measure("report", "raw", 1, i)
                log(f"ack: concurrency 1 done in {time.monotonic() - started:.1f} s")

                # Concurrency 50: 50 clients taking interleaved jobs from one queue.
                jobs: asyncio.Queue[tuple[str, str, int]] = asyncio.Queue()
                serial = 0
                for i in range(n50):
                    for kind in ("report", "click"):
                        for app in _apps(i):
                            jobs.put_nowait((kind, app, serial))
                            serial += 1

                async def client_loop() -> None:
                    while True:
                        try:
                            kind, app, number = jobs.get_nowait()
                        except asyncio.QueueEmpty:
                            return
                        await measure(kind, app, 50, number)

                started = time.monotonic()
                await asyncio.wait_for(asyncio.gather(*(client_loop() for _ in range(50))), timeout=300)
                # The raw starts after the acks, not among them: 50 of them at once keep the Temporal
                # server busy for seconds, a load neither app makes, that only measured the machine.
                for _ in range(n50):
                    jobs.put_nowait(("report", "raw", serial))
                    serial += 1
                await asyncio.wait_for(asyncio.gather(*(client_loop() for _ in range(50))), timeout=300)
                log(
                    f"ack: concurrency 50 done in {time.monotonic() - started:.1f} s; {stream_sent[0]} stream reports sent"
                )
                stop.set()
                if worker_paused:
                    assert worker.process is not None
                    worker.process.send_signal(signal.SIGCONT)
                await stream_task
                started_after = await _started(client, acked_ids)
                log(f"ack: {started_after} of {len(acked_ids)} acknowledged /report started")
            finally:
                if worker_paused and worker.process is not None:
                    worker.process.send_signal(signal.SIGCONT)  # a failed run's stop() must reach it
                await http.close()

    figures = []
    for concurrency in (1, 50):
        for kind, label in (("report", "/report"), ("click", "Approve click")):
            bot_stats = summary(results.get((kind, "bot", concurrency), []))
            base_stats = summary(results.get((kind, "bare", concurrency), []))
            r = ratio(bot_stats["p99"], base_stats["p99"])
            met = r <= 1.5
            target = "p99 ≤ 1.5× baseline"
            if concurrency == 50:
                met = met and bot_stats["p99"] <= 300
                target += ", ≤ 300 ms"
            failed = failures.get((kind, "bot", concurrency), 0) + failures.get((kind, "bare", concurrency), 0)
            started_how = (
                f'; acked "Starting…" with the workflow id (journaled) {paths.get((concurrency, "journaled"), 0)}, '
                f'started before the ack {paths.get((concurrency, "first"), 0)}, acked "Starting…" without an id '
                f"{paths.get((concurrency, 'after'), 0)}, other answers {paths.get((concurrency, 'other'), 0)}; "
                f"{started_after} of the {len(acked_ids)} /report acked with an id in the whole run have their workflow"
                if kind == "report"
                else ""
            )
            if kind == "report":
                met = met and started_after == len(acked_ids)
            note = (
                f"{bot_stats['n']} requests to each app; baseline = bare Bolt ack-only app; "
                f"median ratio {ratio(bot_stats['p50'], base_stats['p50']):.2f}×; "
                f"{failed} non-200 answers; {stream_sent[0]} background /report at {STREAM_PER_SECOND}/s"
                if concurrency == 50 and kind == "click"
                else f"{bot_stats['n']} requests to each app; median ratio "
                f"{ratio(bot_stats['p50'], base_stats['p50']):.2f}×; {failed} non-200 answers{started_how}"
            )
            extra: dict[str, object] = {"bot": bot_stats, "bare": base_stats}
            if kind == "report":
                extra["paths"] = {path: n for (c, path), n in paths.items() if c == concurrency}
            figures.append(
                compared(
                    bench,
                    f"{label} ack, concurrency {concurrency}",
                    bot_stats,
                    base_stats,
                    target=target,
                    met=met and failed == 0,
                    note=note,
                    extra=extra,
                )
            )
        # What start-before-ack costs beyond the start itself: the same /report acks against raw starts.
        report_stats = summary(results.get(("report", "bot", concurrency), []))
        raw_stats = summary(results.get(("report", "raw", concurrency), []))
        note = (
            f"baseline = start_workflow from the benchmark (same input size, memo, id policy, task queue), "
            f"{raw_stats['n']} of them in a pass after the acks' at the same concurrency; median ratio "
            f"{ratio(report_stats['p50'], raw_stats['p50']):.2f}×; the ack waits for the journal's write, "
            "not for the start"
        )
        figures.append(
            compared(
                bench,
                f"/report ack vs raw start_workflow, concurrency {concurrency}",
                report_stats,
                raw_stats,
                target="p99 ≤ 1.5× raw start",
                met=ratio(report_stats["p99"], raw_stats["p99"]) <= 1.5,
                note=note,
                extra={"bot": report_stats, "raw": raw_stats},
            )
        )
    return figures


async def _started(client: Client, workflow_ids: list[str]) -> int:
    """How many of ``workflow_ids`` exist, once all do or ``STARTED_WAIT_SECONDS`` passed."""
    missing = set(workflow_ids)
    deadline = time.monotonic() + STARTED_WAIT_SECONDS
    while missing and time.monotonic() < deadline:
        for workflow_id in list(missing):
            try:
                await client.get_workflow_handle(workflow_id).describe()
            except RPCError:
                continue
            missing.discard(workflow_id)
        if missing:
            await asyncio.sleep(1)
    return len(workflow_ids) - len(missing)


def _apps(serial: int) -> tuple[str, ...]:
    """Both apps get each request, in alternating order (the raw starts have a pass of their own)."""
    return ("bot", "bare") if serial % 2 == 0 else ("bare", "bot")
