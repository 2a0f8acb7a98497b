"""Workflow changes on DBOS are versioned as on Temporal: a patch's marker, and a pinned application version.

Real processes of ``tests/dbos/patch_probe.py`` on one SQLite database: the old code (no patch check)
parks run A past its branch and is killed; the new code parks run C past the patch and is killed;
then the new code recovers both, starts B, and finishes all three. A recovered run takes the branch
it took before (A the old one, C the new one), a new run the new one. Without the marker, A would be
recovered onto the new branch and fail (DBOS: the step recorded is not the one expected).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT
from tests.support.waiting import eventually
from worker.dbos_engine import PATCHES_BEFORE_DBOS, DbosDurable
from workflows.tool_approvals import ACTION_FIRST_PATCH

pytestmark = [pytest.mark.process, pytest.mark.slow]

PROCESS_TIMEOUT = 90.0  # a hang, not a bound: DBOS and the Agents SDK take seconds to import here


class Probe:
    """``python -m tests.dbos.patch_probe`` as a real process."""

    def __init__(self, database: str, log: Path, *, old_code: bool = False) -> None:
        self.env = {key: value for key, value in os.environ.items() if not key.startswith(("SIGNOFF_", "DBOS"))}
        self.env["SIGNOFF_DATABASE_URL"] = database
        if old_code:
            self.env["PROBE_CODE"] = "old"
        self.log = log
        self.stdout = log.with_suffix(".stdout")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *args: str) -> None:
        with self.stdout.open("wb") as out, self.log.open("ab") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.dbos.patch_probe", *args], cwd=ROOT, env=self.env, stdout=out, stderr=err
            )

    async def park(self, workflow_id: str) -> None:
        """Start ``workflow_id``, and kill the process once the run is past its branch."""
        self.start("--park", workflow_id)

        def parked() -> bool:
            assert self.process is not None and self.process.poll() is None, self.log.read_text(errors="replace")
            return f"parked {workflow_id}" in self.stdout.read_text()

        try:
            await eventually(parked, timeout=PROCESS_TIMEOUT)
        finally:
            self.kill()

    async def finish(self, *workflow_ids: str) -> dict[str, str]:
        self.start("--finish", *workflow_ids)
        try:
            await eventually(
                lambda: self.process is not None and self.process.poll() is not None, timeout=PROCESS_TIMEOUT
            )
        finally:
            self.kill()
        assert self.process is not None and self.process.returncode == 0, self.log.read_text(errors="replace")
        return dict(json.loads(self.stdout.read_text()))

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


async def test_a_recovered_run_keeps_the_branch_it_took(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'probe.sqlite'}"
    await Probe(database, tmp_path / "old.log", old_code=True).park("A")
    await Probe(database, tmp_path / "new.log").park("C")

    results = await Probe(database, tmp_path / "finish.log").finish("A", "C", "B")

    assert results == {"A": "old-branch", "C": "new-branch", "B": "new-branch"}


def test_only_the_patches_from_before_the_engine_are_checked_without_a_marker() -> None:
    durable = DbosDurable(None, {}, None)  # type: ignore[arg-type]
    assert all(durable.patched(patch) for patch in PATCHES_BEFORE_DBOS)
    # A later patch through the synchronous check would be true for runs that passed it before.
    with pytest.raises(RuntimeError, match="patched_async"):
        durable.patched(ACTION_FIRST_PATCH)
