"""A duration or a port that cannot work stops ``signoff`` at start: one line naming it, exit 2."""

from __future__ import annotations

import pytest

from signoff.temporal.devserver import free_port
from tests.support.processes import signoff_command

pytestmark = [pytest.mark.process, pytest.mark.slow]

BOT_ENV = {"SLACK_BOT_TOKEN": "xoxb-not-printed", "SLACK_SIGNING_SECRET": "not-printed"}


@pytest.mark.parametrize("raw", ["1000000000000", "1000000000000d"])
def test_signoff_bot_refuses_a_reminder_interval_that_would_overflow(raw: str) -> None:
    # Temporal is nowhere: the setting is refused before anything connects.
    env = {**BOT_ENV, "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}", "SIGNOFF_REMINDER_INTERVAL": raw}
    result = signoff_command("bot", env=env)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert (
        line == f"signoff: SIGNOFF_REMINDER_INTERVAL={raw!r} is longer than 3650 days, the longest wait signoff takes"
    )


@pytest.mark.parametrize("port", ["70000", "0", "-1", "http"])
def test_signoff_bot_refuses_a_port_out_of_range(port: str) -> None:
    result = signoff_command("bot", "--port", port, env=BOT_ENV)
    assert result.returncode == 2, result.stderr
    assert f"--port={port!r} is not a port number (1-65535)" in result.stderr
    assert "Traceback" not in result.stderr
