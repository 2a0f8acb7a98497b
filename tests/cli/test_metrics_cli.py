"""--metrics-port / SIGNOFF_METRICS_PORT: a malformed value or a port in use stops the process at
start with one line and exit 2, before it serves or connects anything."""

from __future__ import annotations

import socket

import pytest

from signoff.temporal.devserver import free_port
from tests.support.processes import signoff_command

pytestmark = [pytest.mark.process, pytest.mark.slow]

BOT_ENV = {"SLACK_BOT_TOKEN": "xoxb-not-printed", "SLACK_SIGNING_SECRET": "not-printed"}


def test_a_metrics_port_in_use_stops_worker_and_bot_with_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # Temporal is nowhere: the port is checked first, so that is not what they say.
        nowhere = {"TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"}
        for command, env in (("worker", nowhere), ("bot", {**nowhere, **BOT_ENV})):
            result = signoff_command(command, "--metrics-port", str(port), env=env)
            assert result.returncode == 2, (command, result.stderr)
            assert f"port {port}" in result.stderr and "in use" in result.stderr, (command, result.stderr)
            assert "Traceback" not in result.stderr and "cannot reach Temporal" not in result.stderr, result.stderr
            assert "not-printed" not in result.stderr + result.stdout

        # The same from the environment.
        result = signoff_command("bot", env={**nowhere, **BOT_ENV, "SIGNOFF_METRICS_PORT": str(port)})
        assert result.returncode == 2 and f"port {port}" in result.stderr and "in use" in result.stderr, result.stderr


@pytest.mark.parametrize("command", ["worker", "bot"])
def test_a_malformed_metrics_port_is_refused_with_exit_2(command: str) -> None:
    for args, env in (
        (("--metrics-port", "ninety"), {}),
        (("--metrics-port", "70000"), {}),
        ((), {"SIGNOFF_METRICS_PORT": "9464x"}),
    ):
        result = signoff_command(command, *args, env={**BOT_ENV, **env})
        assert result.returncode == 2, result.stderr
        assert "is not a port number (1-65535)" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_the_bots_own_port_in_use_stops_it_with_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # Temporal is nowhere: the bot starts lazily against it, then cannot listen.
        nowhere = {"TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"}
        result = signoff_command("bot", "--port", str(port), env={**nowhere, **BOT_ENV})
    assert result.returncode == 2, result.stderr
    assert f"cannot listen on port {port}" in result.stderr and "Traceback" not in result.stderr, result.stderr
