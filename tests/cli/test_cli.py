"""The ``signoff`` command line: a component that cannot start says why, in one line, and exits 2."""

from __future__ import annotations

import pytest

from signoff.temporal.devserver import free_port
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


def test_a_bad_engine_or_database_url_stops_any_component_at_start() -> None:
    engine = signoff_command("worker", env={"SIGNOFF_ENGINE": "nomad"})
    assert engine.returncode == 2
    assert "SIGNOFF_ENGINE='nomad' is not an engine; use one of temporal, dbos, restate" in engine.stderr

    database = signoff_command("bot", env={"SIGNOFF_DATABASE_URL": "mysql://signoff:hunter22@db/signoff"})
    assert database.returncode == 2 and "SIGNOFF_DATABASE_URL='mysql://signoff:***@db/signoff'" in database.stderr
    assert "hunter22" not in database.stderr + database.stdout and "Traceback" not in database.stderr


def test_dbos_components_refuse_what_cannot_work(tmp_path: object) -> None:
    # A worker beside the bot shares workflows only through PostgreSQL.
    sqlite_worker = signoff_command(
        "worker", env={"SIGNOFF_ENGINE": "dbos", "SIGNOFF_DATABASE_URL": f"sqlite:///{tmp_path}/dbos.sqlite"}
    )
    assert sqlite_worker.returncode == 2
    assert "needs PostgreSQL" in sqlite_worker.stderr and "Traceback" not in sqlite_worker.stderr

    # An unreachable database stops the bot before it listens, without its password.
    unreachable = signoff_command(
        "bot",
        env={
            "SIGNOFF_ENGINE": "dbos",
            "SIGNOFF_DATABASE_URL": f"postgresql://signoff:hunter22@127.0.0.1:{free_port()}/signoff",
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": "secret",
        },
    )
    assert unreachable.returncode == 2, unreachable.stderr
    assert "cannot use the PostgreSQL database at 127.0.0.1:" in unreachable.stderr
    assert "hunter22" not in unreachable.stderr + unreachable.stdout and "Traceback" not in unreachable.stderr


def test_malformed_tracing_setting_stops_the_worker_and_the_bot() -> None:
    for command in ("worker", "bot"):
        bad = signoff_command(command, env={"SIGNOFF_TRACING": "jaeger"})
        assert bad.returncode == 2, bad.stderr
        assert "SIGNOFF_TRACING='jaeger' must be off, console or otlp" in bad.stderr and "Traceback" not in bad.stderr
