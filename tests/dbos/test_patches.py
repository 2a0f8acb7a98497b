"""Workflow changes on DBOS are versioned as on Temporal: a patch's marker, and a pinned application version.

Real processes of ``tests/dbos/patch_probe.py`` on one SQLite database: the old code (no patch check)
parks run A past its branch and is killed; the new code parks run C past the patch and is killed;
then the new code recovers both, starts B, and finishes all three. A recovered run takes the branch
it took before (A the old one, C the new one), a new run the new one. Without the marker, A would be
recovered onto the new branch and fail (DBOS: the step recorded is not the one expected).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from signoff.dbos.engine import DbosDurable
from tests.support.processes import ChildProcess
from tests.support.waiting import eventually
from workflows.patches import ACTION_FIRST_PATCH, PATCHES_BEFORE_DBOS

pytestmark = [pytest.mark.process, pytest.mark.slow]

PROCESS_TIMEOUT = 90.0  # a hang, not a bound: DBOS and the Agents SDK take seconds to import here


class Probe:
    """``python -m tests.dbos.patch_probe`` as real processes, one after another."""

    def __init__(self, database: str, log: Path, *, old_code: bool = False) -> None:
        self.env = {"SIGNOFF_DATABASE_URL": database, **({"PROBE_CODE": "old"} if old_code else {})}
        self.log = log

    def _process(self, *args: str) -> ChildProcess:
        return ChildProcess(
            list(args),
            self.env,
            self.log,
            command=("-m", "tests.dbos.patch_probe"),
            stdout_file=self.log.with_suffix(".stdout"),
        )

    async def park(self, workflow_id: str) -> None:
        """Start ``workflow_id``, and kill the process once the run is past its branch."""
        child = self._process("--park", workflow_id)
        child.start()

        def parked() -> bool:
            assert child.running(), child.output()
            return f"parked {workflow_id}" in child.stdout()

        try:
            await eventually(parked, timeout=PROCESS_TIMEOUT)
        finally:
            child.kill()

    async def finish(self, *workflow_ids: str) -> dict[str, str]:
        child = self._process("--finish", *workflow_ids)
        child.start()
        try:
            await eventually(lambda: not child.running(), timeout=PROCESS_TIMEOUT)
        finally:
            child.stop()
        assert child.process is not None and child.process.returncode == 0, child.output()
        return dict(json.loads(child.stdout()))


# Three child processes in turn, each importing DBOS and the Agents SDK: ~13 s alone.
@pytest.mark.timeout(180)
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
