"""`signoff audit` run as a person runs it: a process of its own, its settings from the environment."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from typing import Any


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        assert self.returncode == 0, self.stderr
        record: dict[str, Any] = json.loads(self.stdout)
        return record


async def signoff_audit_with(environment: dict[str, str], *args: str) -> Run:
    """``signoff audit *args`` with only ``environment`` (and PATH) set; asynchronous, so an engine
    answering it may run in the caller's loop."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "signoff.cli",
        "--env-file",
        "/dev/null",
        "audit",
        *args,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **environment},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return Run(process.returncode, stdout.decode(), stderr.decode())
