"""The ``signoff`` command line: a component that cannot start says why, in one line, and exits 2."""

from __future__ import annotations

import pytest

from signoff.devserver import free_port
from tests.support.processes import signoff_command
from tests.support.slack import CHANNEL

pytestmark = [pytest.mark.process, pytest.mark.slow]


def test_worker_refuses_to_start_without_what_it_needs() -> None:
    no_token = signoff_command("worker", env={"SIGNOFF_DEFAULT_CHANNEL": CHANNEL})
    assert no_token.returncode == 2
    assert "SIGNOFF_DEFAULT_CHANNEL is set but SLACK_BOT_TOKEN is missing" in no_token.stderr

    nowhere = signoff_command("worker", env={"TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"})
    assert nowhere.returncode == 2
    assert "cannot reach Temporal at 127.0.0.1:" in nowhere.stderr and "Traceback" not in nowhere.stderr

    bad = signoff_command("worker", env={"SIGNOFF_APPROVERS": "bob", "SLACK_BOT_TOKEN": "xoxb-not-printed"})
    assert bad.returncode == 2 and "'bob' is not a Slack user id" in bad.stderr
    assert "xoxb-not-printed" not in bad.stderr + bad.stdout


def test_malformed_tracing_setting_stops_the_worker_and_the_bot() -> None:
    for command in ("worker", "bot"):
        bad = signoff_command(command, env={"SIGNOFF_TRACING": "jaeger"})
        assert bad.returncode == 2, bad.stderr
        assert "SIGNOFF_TRACING='jaeger' must be off, console or otlp" in bad.stderr and "Traceback" not in bad.stderr
