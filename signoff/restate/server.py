"""The Restate server from the npm package ``@restatedev/restate-server`` (package.json; ``make install``
runs ``npm ci`` into node_modules/), run as a child process on a data directory, as
``signoff.temporal.devserver`` runs Temporal's: ``signoff dev --engine restate`` and the tests. Nothing
is downloaded at run time: without node_modules (no npm on the machine) it says so.

The server listens on 127.0.0.1 only, on free ports (its defaults, 8080, 9070 and 5122, are often
taken: 8080 by signoff's own Slack sandbox), over TCP only (no Unix sockets in the data directory,
whose path may be longer than a socket's may be), and sends no telemetry.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import aiohttp

from signoff.config.ports import free_port

# The checkout signoff runs from: package.json and node_modules/ are at its root.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
NPM_PACKAGE = "@restatedev/restate-server"
# Fixed, not the host name (the server's default): the data directory stays usable on another machine.
NODE_NAME = "signoff"
LOG_FILE = "restate-server.log"
# Answered once the server's partition is up (what the bot's queries read).
READY_QUERY = "SELECT id FROM sys_invocation LIMIT 1"
# npm's names for the CPU (the platform packages are restate-server-<os>-<cpu>).
_NPM_CPU = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}


class RestateServerMissing(FileNotFoundError):
    """The Restate server is not installed in node_modules/ (``make install`` without npm)."""


def restate_server_binary(root: Path = PROJECT_ROOT) -> Path:
    """The server's executable: the platform package npm installed (the binary itself, so a signal
    reaches the server, not node's launcher), else node_modules/.bin's launcher, else
    ``restate-server`` on PATH (installed some other way)."""
    cpu = _NPM_CPU.get(platform.machine().lower(), platform.machine().lower())
    modules = root / "node_modules"
    for candidate in (
        modules / "@restatedev" / f"restate-server-{sys.platform}-{cpu}" / "bin" / "restate-server",
        modules / ".bin" / "restate-server",
    ):
        if candidate.is_file():
            return candidate
    found = shutil.which("restate-server")
    if found:
        return Path(found)
    raise RestateServerMissing(
        f"the Restate server is not installed: `make install` puts {NPM_PACKAGE} in node_modules/ "
        "(it needs Node.js and npm)"
    )


# Linux's prctl, looked up here rather than in the forked child (which only calls it).
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None
_PR_SET_PDEATHSIG = 1


def _stop_with_parent() -> None:
    """In the child, before it runs the server: Linux sends it SIGTERM when the process that started
    it dies, however it dies (SIGKILL, a hang killed from outside), so no server is left holding
    the data directory and its ports. Elsewhere the parent's stop() is all there is."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


class RestateServer:
    """One Restate node on ``data_dir`` (its RocksDB under ``data_dir/signoff/``, its log in
    ``data_dir/restate-server.log``): ``await start()``, then ``ingress_url`` and ``admin_url``;
    ``stop()``. Started again on the same directory, it has its deployments and invocations back."""

    def __init__(
        self,
        data_dir: Path,
        *,
        ingress_port: int | None = None,
        admin_port: int | None = None,
        fabric_port: int | None = None,
        binary: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.ingress_port = ingress_port or free_port()
        self.admin_port = admin_port or free_port()
        # Node-to-node (the "message fabric"): unused by one node, but it listens all the same.
        self.fabric_port = fabric_port or free_port()
        # A port found free may be taken before the server binds it: those chosen here may be chosen
        # again, the fabric's always (nobody reaches it), the others only before the first start
        # (after it, callers hold the URLs).
        self._chosen = {"ingress": ingress_port is None, "admin": admin_port is None, "fabric": fabric_port is None}
        self._started_once = False
        self.binary = binary
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        # Where this run's part of the log begins (the file is appended to across runs).
        self._log_start = 0

    @property
    def ingress_url(self) -> str:
        """Where invocations go (``SIGNOFF_RESTATE_URL``)."""
        return f"http://127.0.0.1:{self.ingress_port}"

    @property
    def admin_url(self) -> str:
        """Deployments, invocations and the web UI (``SIGNOFF_RESTATE_ADMIN_URL``)."""
        return f"http://127.0.0.1:{self.admin_port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_FILE

    def _environment(self) -> dict[str, str]:
        # The server reads any RESTATE_* variable as configuration: only the ones set here count.
        inherited = {name: value for name, value in os.environ.items() if not name.startswith("RESTATE_")}
        return {
            **inherited,
            "RESTATE_LISTEN_MODE": "tcp",
            "RESTATE_DISABLE_TELEMETRY": "true",
            "RESTATE_LOG_DISABLE_ANSI_CODES": "true",
            "RESTATE_INGRESS__BIND_ADDRESS": f"127.0.0.1:{self.ingress_port}",
            "RESTATE_ADMIN__BIND_ADDRESS": f"127.0.0.1:{self.admin_port}",
            "RESTATE_BIND_ADDRESS": f"127.0.0.1:{self.fabric_port}",
        }

    async def start(self, timeout: float = 60.0) -> None:
        """Start the server and return once its admin API and its ingress answer as healthy and the
        admin API answers a query.
        Raises ``RestateServerMissing`` when it is not installed, ``RuntimeError`` (with the last
        line of its log) when it exits, ``TimeoutError`` when it does not answer in ``timeout``.
        A port it chose, taken by another process meanwhile, is chosen again (twice at most)."""
        for attempt in range(3):
            try:
                await self._start(timeout)
            except RuntimeError as err:
                if attempt == 2 or "Address in use" not in str(err) or not self._choose_ports_again():
                    raise
            else:
                self._started_once = True
                return

    def _choose_ports_again(self) -> bool:
        """New free ports for those this server may choose again; whether there was one."""
        again = False
        if self._chosen["fabric"]:
            self.fabric_port, again = free_port(), True
        if not self._started_once:
            if self._chosen["ingress"]:
                self.ingress_port, again = free_port(), True
            if self._chosen["admin"]:
                self.admin_port, again = free_port(), True
        return again

    async def _start(self, timeout: float) -> None:
        binary = self.binary or restate_server_binary()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            str(binary),
            "--base-dir",
            str(self.data_dir),
            "--node-name",
            NODE_NAME,
            "--no-logo",
            "--log-filter",
            "warn",
        ]
        self._log = self.log_path.open("ab")
        self._log_start = self._log.tell()
        self.process = subprocess.Popen(  # noqa: ASYNC220 -- Popen returns once the child is spawned; the sync stop() needs a Popen to wait on
            command,
            env=self._environment(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # The server outlives a killed parent otherwise.
            preexec_fn=_stop_with_parent,
        )
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while not await self._healthy(session):
                if self.process.poll() is not None:
                    code = self.process.returncode
                    self.stop()
                    raise RuntimeError(f"the Restate server exited with code {code}: {self._failure()}")
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"the Restate server did not answer on {self.admin_url} after {timeout}s")
                await asyncio.sleep(0.05)

    async def _healthy(self, session: aiohttp.ClientSession) -> bool:
        for url in (f"{self.admin_url}/health", f"{self.ingress_url}/restate/health"):
            try:
                async with session.get(url) as response:
                    if response.status != 200:
                        return False
            except (aiohttp.ClientError, TimeoutError):
                return False
        # Both say healthy before the partition is up: until then the admin API's SQL (the bot's
        # lists and statuses) answers 500, "node lookup for partition 1 failed".
        try:
            async with session.post(
                f"{self.admin_url}/query", json={"query": READY_QUERY}, headers={"Accept": "application/json"}
            ) as response:
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    def _failure(self) -> str:
        """Why this run ended, from its log: the last ``Failed:`` or ``error:`` line (the server
        prints its reason so, on stdout or in its log), else where the log is (at an early exit the
        server does not always flush its log, and another server may write to the same file)."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_start)
                lines = [line.strip() for line in log.read().decode(errors="replace").splitlines() if line.strip()]
        except OSError:
            lines = []
        errors = [line.partition(":")[2].strip() for line in lines if line.startswith(("Failed:", "error:"))]
        return errors[-1] if errors else f"see its log, {self.log_path}"

    def stop(self) -> None:
        """Stop the server (SIGTERM: it flushes its stores), killing it if it takes over 15 s."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._log:
            self._log.close()
            self._log = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
