"""The ``signoff`` command line: a component that cannot start says why, in one line, and exits 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from signoff.devserver import free_port
from tests.support.slack import CHANNEL

pytestmark = [pytest.mark.process, pytest.mark.slow]


def _signoff(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "signoff.cli", "--env-file", "/dev/null", *args],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_worker_refuses_to_start_without_what_it_needs() -> None:
    no_token = _signoff("worker", env={"SIGNOFF_DEFAULT_CHANNEL": CHANNEL})
    assert no_token.returncode == 2
    assert "SIGNOFF_DEFAULT_CHANNEL is set but SLACK_BOT_TOKEN is missing" in no_token.stderr

    nowhere = _signoff("worker", env={"TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"})
    assert nowhere.returncode == 2
    assert "cannot reach Temporal at 127.0.0.1:" in nowhere.stderr and "Traceback" not in nowhere.stderr

    bad = _signoff("worker", env={"SIGNOFF_APPROVERS": "bob", "SLACK_BOT_TOKEN": "xoxb-not-printed"})
    assert bad.returncode == 2 and "'bob' is not a Slack user id" in bad.stderr
    assert "xoxb-not-printed" not in bad.stderr + bad.stdout
