"""Temporal, DBOS or Restate: park rate and click → decision applied on each engine, in one run.

Four stacks, one after another, each with a fresh Slack sandbox and the same workflow settings
(one approval, one AI review round, the offline model):
* Temporal: the dev server (SQLite), ``signoff worker`` and ``signoff bot`` as child processes;
* DBOS on SQLite, and DBOS on PostgreSQL (a throw-away server, ``tests/support/postgres.py``):
  ``signoff bot`` with ``SIGNOFF_ENGINE=dbos`` (the engine in its process), as a child process;
* Restate: the Restate server from node_modules (a child process, its data in the run's directory)
  and ``signoff bot`` with ``SIGNOFF_ENGINE=restate`` (serving the engine's endpoint, which Restate
  calls), as a child process.

On each: N reports are started at once through the engine's gateway (what the bot does on
``/report``; each in its own channel, since the worker keeps to Slack's posting rate per channel),
and each is parked when its draft with the Approve button reaches the sandbox: the park rate is
N over the time from the first start to the last draft. Then, one at a time, a signed Approve
click on each draft to the bot (the first one warms up): "applied" is the bot's confirmation to
the clicker (posted once the gateway's decision returned), "draft updated" the workflow's
``chat.update`` of the draft. DBOS and Restate figures are ratios to Temporal's from the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from dbos import DBOSClient

from benchmarks.click_applied import confirmed, draft_updated, observe
from benchmarks.drafts import bench_channels
from benchmarks.harness import (
    BOT_TOKEN,
    SIGNING_SECRET,
    TEAM_ID,
    Child,
    Draft,
    Figure,
    SignedClient,
    bot_child,
    children,
    click_body,
    dev_server,
    find_draft,
    log,
    percentile,
    ratio,
    response_sink,
    temporal_client,
    wait_http,
    worker_child,
)
from bot.dbos_gateway import DbosGateway
from bot.gateway import Gateway, TemporalGateway
from bot.restate_gateway import RestateGateway
from signoff.contracts.workflow_io import ApprovalPolicy, SlackOrigin, WorkflowSettings
from signoff.restate.server import RestateServer, RestateServerMissing
from signoff.sandbox import SlackSandbox
from signoff.sandbox.directory import DEFAULT_CHANNELS
from signoff.sandbox.recording import Call
from signoff.temporal.devserver import free_port
from tests.support.postgres import PostgresServer, PostgresUnavailable, database_url

NAME = "engines"
APPROVER = "U0APPROV1"
SETTINGS = WorkflowSettings(policy=ApprovalPolicy(required_approvals=1), max_review_rounds=1)
BOT_ENV = {"SIGNOFF_MAX_REVIEW_ROUNDS": "1"}


@dataclass
class Stack:
    label: str
    gateway: Gateway
    events_url: str


@dataclass
class Measured:
    count: int
    park_seconds: float  # first start → last draft posted
    start_to_draft: list[float]  # per report, seconds
    applied: list[float]  # click → bot's confirmation, ms
    updated: list[float]  # click → chat.update of the draft, ms
    load: tuple[float, float] = (0.0, 0.0)  # the machine's 1-minute load average before and after

    @property
    def rate(self) -> float:
        return self.count / self.park_seconds


def _drafts_posted(calls: list[Call], ids: set[str]) -> dict[str, tuple[Draft, float]]:
    """Each workflow's draft with its Approve button as the sandbox answered its post, and when."""
    found: dict[str, tuple[Draft, float]] = {}
    for call in calls:
        if call.method != "chat.postMessage" or not call.ok or not call.params.get("thread_ts"):
            continue
        blocks = call.params.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        channel, thread_ts = str(call.params["channel"]), str(call.params["thread_ts"])
        message = {"ts": call.response["ts"], "blocks": blocks}  # type: ignore[index]
        for workflow_id in ids - found.keys():
            draft = find_draft([message], workflow_id, channel, thread_ts)
            if draft is not None:
                found[workflow_id] = (draft, call.time)
    return found


async def _park(
    stack: Stack, sandbox: SlackSandbox, channels: list[str], timeout: float
) -> tuple[list[Draft], Measured]:
    prefix = uuid.uuid4().hex[:6]
    started_at: dict[str, float] = {}

    async def start(index: int, channel: str) -> None:
        origin = SlackOrigin(team_id=TEAM_ID, channel_id=channel, requester_id="U0REQUEST")
        sent = time.time()
        started = await stack.gateway.start_report(f"Benchmark topic {index}", origin, f"{prefix}-{index}")
        started_at[started.workflow_id] = sent

    first = time.time()
    await asyncio.gather(*(start(i, channel) for i, channel in enumerate(channels)))
    ids = set(started_at)
    deadline = time.monotonic() + timeout
    while len(posted := _drafts_posted(sandbox.calls, ids)) < len(ids):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{stack.label}: only {len(posted)} of {len(ids)} drafts posted after {timeout:g} s")
        await asyncio.sleep(0.1)
    last = max(at for _, at in posted.values())
    log(f"{stack.label}: {len(ids)} drafts pending approval {last - first:.1f} s after the first start")
    drafts = sorted((draft for draft, _ in posted.values()), key=lambda d: d.channel_id)
    per_report = [at - started_at[wid] for wid, (_, at) in posted.items()]
    return drafts, Measured(len(ids), last - first, per_report, [], [])


async def _click_each(stack: Stack, sandbox: SlackSandbox, drafts: list[Draft], measured: Measured) -> None:
    http = SignedClient(limit=10)
    try:
        async with response_sink(sandbox.api_url) as sink:
            for i, draft in enumerate(drafts):
                await asyncio.sleep(0.3)  # let the previous approval's follow-up posts settle
                mark = len(sandbox.calls)
                sent = time.time()
                _, status = await http.post(
                    stack.events_url, click_body(draft, user_id=APPROVER, response_url=sink + "c")
                )
                assert status == 200, f"{stack.label}: click answered {status}"
                applied = await observe(sandbox, confirmed, mark, draft)
                updated = await observe(sandbox, draft_updated, mark, draft)
                if i > 0:  # the first click warms up connections and the bot's auth.test
                    measured.applied.append((applied - sent) * 1000)
                    measured.updated.append((updated - sent) * 1000)
    finally:
        await http.close()


async def _measure(stack: Stack, sandbox: SlackSandbox, channels: list[str]) -> Measured:
    load = os.getloadavg()[0]  # these machines are shared: say how busy it was
    drafts, measured = await _park(stack, sandbox, channels, timeout=300)
    await _click_each(stack, sandbox, drafts, measured)
    measured.load = (load, os.getloadavg()[0])
    log(f"{stack.label}: {len(measured.applied)} clicks measured")
    return measured


@contextlib.asynccontextmanager
async def _temporal(tmp: Path, sandbox: SlackSandbox) -> AsyncIterator[Stack]:
    task_queue = f"bench-engines-{uuid.uuid4().hex[:6]}"
    port = free_port()
    async with dev_server(tmp) as server:
        worker = worker_child(tmp, server.address, task_queue, sandbox.api_url)
        bot = bot_child(tmp, port, server.address, task_queue, sandbox.api_url, BOT_ENV)
        async with children(worker, bot):
            await wait_http(f"http://127.0.0.1:{port}/healthz", bot)
            client = await temporal_client(server.address)
            gateway = TemporalGateway(client, task_queue=task_queue, workflow_settings=SETTINGS)
            yield Stack("Temporal", gateway, f"http://127.0.0.1:{port}/slack/events")


@contextlib.asynccontextmanager
async def _engine_bot(tmp: Path, sandbox: SlackSandbox, engine_env: dict[str, str]) -> AsyncIterator[str]:
    """``signoff bot`` running the engine in its process (``engine_env``: which, and where), as a
    child process, once it serves; yields its events URL. It launches DBOS, or serves Restate's
    endpoint and registers it, before it serves Slack."""
    port = free_port()
    env = {
        **engine_env,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": sandbox.api_url,
        **BOT_ENV,
    }
    engine = engine_env["SIGNOFF_ENGINE"]
    bot = Child(
        f"{engine}-bot-{port}", ["-m", "signoff.cli", "--env-file", "/dev/null", "bot", "--port", str(port)], env, tmp
    )
    async with children(bot):
        await wait_http(f"http://127.0.0.1:{port}/healthz", bot, timeout=60)
        yield f"http://127.0.0.1:{port}/slack/events"


@contextlib.asynccontextmanager
async def _dbos(tmp: Path, sandbox: SlackSandbox, label: str, url: str) -> AsyncIterator[Stack]:
    async with _engine_bot(tmp, sandbox, {"SIGNOFF_ENGINE": "dbos", "SIGNOFF_DATABASE_URL": url}) as events_url:
        client = DBOSClient(system_database_url=url)
        try:
            yield Stack(label, DbosGateway(client, workflow_settings=SETTINGS), events_url)
        finally:
            client.destroy()


@contextlib.asynccontextmanager
async def _restate(tmp: Path, sandbox: SlackSandbox) -> AsyncIterator[Stack]:
    # RestateServerMissing: make install found no npm here.
    async with RestateServer(tmp / "restate") as server:
        engine_env = {
            "SIGNOFF_ENGINE": "restate",
            "SIGNOFF_RESTATE_URL": server.ingress_url,
            "SIGNOFF_RESTATE_ADMIN_URL": server.admin_url,
            "SIGNOFF_RESTATE_SERVICE_PORT": str(free_port()),
        }
        async with _engine_bot(tmp, sandbox, engine_env) as events_url:
            gateway = RestateGateway(server.ingress_url, server.admin_url, workflow_settings=SETTINGS)
            try:
                yield Stack("Restate", gateway, events_url)
            finally:
                await gateway.close()


@contextlib.asynccontextmanager
async def _postgres() -> AsyncIterator[str]:
    server = PostgresServer()  # PostgresUnavailable: no server installed here
    try:
        await asyncio.to_thread(server.start)
        yield database_url(server.url, "signoff_bench")
    finally:
        await asyncio.to_thread(server.stop)


async def _run_one(tmp: Path, label: str, count: int) -> Measured:
    channels = bench_channels(count)
    directory = tmp / label.replace(" ", "-").replace("+", "-")
    directory.mkdir()
    async with SlackSandbox(channels=[*DEFAULT_CHANNELS, *channels]) as sandbox:
        ids = [c.id for c in channels]
        if label == "Temporal":
            async with _temporal(directory, sandbox) as stack:
                return await _measure(stack, sandbox, ids)
        if label == "Restate":
            async with _restate(directory, sandbox) as stack:
                return await _measure(stack, sandbox, ids)
        if label == "DBOS + SQLite":
            async with _dbos(directory, sandbox, label, f"sqlite:///{directory / 'dbos.sqlite'}") as stack:
                return await _measure(stack, sandbox, ids)
        async with _postgres() as url, _dbos(directory, sandbox, label, url) as stack:
            return await _measure(stack, sandbox, ids)


def _latency(name: str, values: list[float], base: list[float], note: str) -> Figure:
    """A latency figure: median and p95 (in the p99 columns), set against Temporal's."""
    p50, p95 = percentile(values, 50), percentile(values, 95)
    base_p50, base_p95 = percentile(base, 50), percentile(base, 95)
    return Figure(
        bench=NAME,
        name=name,
        unit="ms",
        p50=p50,
        p99=p95,
        base_p50=base_p50,
        base_p99=base_p95,
        ratio=ratio(p50, base_p50),
        ratio_of="p50 vs Temporal",
        n=len(values),
        tail="p95",
        note=f"{note}p95 ratio {ratio(p95, base_p95):.2f}×.",
        extra={"ms": values, "temporal_ms": base},
    )


def _figures(label: str, measured: Measured, base: Measured) -> list[Figure]:
    def p(values: list[float], q: float) -> float:
        return percentile(values, q)

    return [
        Figure(
            bench=NAME,
            name=f"{label}: park rate, {measured.count} reports at once",
            unit="/s",
            p50=measured.rate,
            base_p50=base.rate,
            ratio=ratio(measured.rate, base.rate),
            ratio_of="rate vs Temporal",
            n=measured.count,
            note=(
                f"All {measured.count} drafts posted {measured.park_seconds:.1f} s after the first start "
                f"(Temporal {base.park_seconds:.1f} s); per report, start → draft median "
                f"{p(measured.start_to_draft, 50):.1f} s, p95 {p(measured.start_to_draft, 95):.1f} s "
                f"(Temporal {p(base.start_to_draft, 50):.1f} s, {p(base.start_to_draft, 95):.1f} s). "
                f"Load average {measured.load[0]:.1f} → {measured.load[1]:.1f} (Temporal {base.load[0]:.1f} → "
                f"{base.load[1]:.1f}) on {os.cpu_count()} CPUs."
            ),
            extra={"start_to_draft_s": measured.start_to_draft, "temporal_start_to_draft_s": base.start_to_draft},
        ),
        _latency(
            f"{label}: click → decision applied (bot's confirmation)",
            measured.applied,
            base.applied,
            f"{len(measured.applied)} signed clicks, one at a time; ",
        ),
        _latency(f"{label}: click → draft message updated (chat.update)", measured.updated, base.updated, ""),
    ]


async def run(tmp: Path, quick: bool) -> list[Figure]:
    count = 6 if quick else 31  # reports per engine; each draft then takes one click (the first warms up)
    temporal = await _run_one(tmp, "Temporal", count)
    figures = [
        Figure(
            bench=NAME,
            name="Temporal (the baseline)",
            unit="",
            note=(
                f"Park rate {temporal.rate:.2f} drafts/s ({count} at once); click → applied median "
                f"{percentile(temporal.applied, 50):.0f} ms, p95 {percentile(temporal.applied, 95):.0f} ms; "
                f"click → draft updated median {percentile(temporal.updated, 50):.0f} ms, "
                f"p95 {percentile(temporal.updated, 95):.0f} ms."
            ),
        )
    ]
    figures += _figures("DBOS + SQLite", await _run_one(tmp, "DBOS + SQLite", count), temporal)
    try:
        postgres = await _run_one(tmp, "DBOS + PostgreSQL", count)
    except PostgresUnavailable as missing:
        log(f"DBOS + PostgreSQL skipped: {missing}")
        figures.append(Figure(bench=NAME, name="DBOS + PostgreSQL: skipped", unit="", note=str(missing)))
    else:
        figures += _figures("DBOS + PostgreSQL", postgres, temporal)
    try:
        restate = await _run_one(tmp, "Restate", count)
    except RestateServerMissing as missing:
        log(f"Restate skipped: {missing}")
        figures.append(Figure(bench=NAME, name="Restate: skipped", unit="", note=str(missing)))
    else:
        figures += _figures("Restate", restate, temporal)
    return figures
