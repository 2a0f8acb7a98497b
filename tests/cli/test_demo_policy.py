"""`make demo` keeps its demo policy when a .env copied from .env.example leaves the values empty."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from signoff.cli import _set_in_environment, load_settings
from signoff.dev import DEMO_APPROVERS, DEMO_REMINDER_INTERVAL, demo_settings
from tests.support.paths import ROOT


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No signoff variable set; whatever load_dotenv adds is removed again after the test."""
    for name in list(os.environ):
        if name.startswith(("SIGNOFF_", "SLACK_", "TEMPORAL_", "OPENAI_")):
            monkeypatch.delenv(name)
    before = set(os.environ)
    yield
    for name in set(os.environ) - before:
        del os.environ[name]


def test_empty_values_from_env_example_keep_the_demo_policy(clean_environment: None, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text((ROOT / ".env.example").read_text())
    settings = demo_settings(load_settings(str(env_file)), _set_in_environment())
    policy = settings.workflow.policy
    assert policy.approvers == DEMO_APPROVERS and policy.reminder_interval == DEMO_REMINDER_INTERVAL
    # The other empty values are the defaults, not errors.
    assert policy.required_approvals == 1 and policy.max_reminders == 3 and settings.worker_cache_size == 200


def test_a_value_the_user_set_wins(clean_environment: None, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("SIGNOFF_APPROVERS=U0APPROV2\nSIGNOFF_REMINDER_INTERVAL=\n")
    settings = demo_settings(load_settings(str(env_file)), _set_in_environment())
    assert settings.workflow.policy.approvers == ["U0APPROV2"]
    assert settings.workflow.policy.reminder_interval == DEMO_REMINDER_INTERVAL
