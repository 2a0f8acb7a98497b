"""``signoff worker`` (and ``signoff bot``) with ``SIGNOFF_PREFERENCES`` naming a PostgreSQL server that
cannot be reached: one line naming the setting, the password starred, exit 2, before anything starts
(a real process, as an operator runs it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from signoff.temporal.devserver import free_port

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "s3cret-Pa55"


@pytest.mark.process
def test_an_unreachable_preferences_database_stops_the_start_in_one_line(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "SIGNOFF_PREFERENCES": f"postgresql://signoff:{PASSWORD}@127.0.0.1:{port}/preferences",
        # Nothing there either: had the worker started, it would stop at once, not run.
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "signoff.cli", "worker"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(
        "signoff worker: SIGNOFF_PREFERENCES: cannot use the preferences database "
        f"'postgresql://signoff:***@127.0.0.1:{port}/preferences': connection failed"
    ), line
    assert PASSWORD not in result.stderr + result.stdout
