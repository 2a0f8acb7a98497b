"""Durations, approvers and ports are refused at start when they cannot work, never inside a workflow."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from signoff.config.settings import Settings, SettingsError
from signoff.contracts.workflow_io import MAX_WAIT
from tests.support.slack import APPROVER_1, APPROVER_2


@pytest.mark.parametrize("name", ["SIGNOFF_REMINDER_INTERVAL", "SIGNOFF_DECISION_DEADLINE"])
@pytest.mark.parametrize(
    ("raw", "message"),
    [
        # Seconds past any timestamp: once parsed, waiting_since + this overflowed in the workflow.
        ("1000000000000", "is longer than 3650 days"),
        # Past what a timedelta holds: a traceback at start.
        ("1000000000000d", "is longer than 3650 days"),
        ("3651d", "is longer than 3650 days"),
        # Under a microsecond became 0 and a 1 ms timer loop; anything under a second is refused.
        ("0.0000001", "is shorter than 1s"),
        ("500ms", "is shorter than 1s"),
        ("9" * 400, "is longer than 3650 days"),
    ],
)
def test_a_duration_out_of_bounds_is_named(name: str, raw: str, message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(f"{name}={raw!r} {message}")) as refused:
        Settings.from_env({name: raw})
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("name", ["SIGNOFF_REMINDER_INTERVAL", "SIGNOFF_DECISION_DEADLINE"])
def test_the_bounds_themselves_are_taken(name: str) -> None:
    policy = Settings.from_env({name: "3650d"}).workflow.policy
    assert getattr(policy, name.removeprefix("SIGNOFF_").lower()) == MAX_WAIT
    policy = Settings.from_env({name: "1s"}).workflow.policy
    assert getattr(policy, name.removeprefix("SIGNOFF_").lower()) == timedelta(seconds=1)


def test_an_approver_listed_twice_is_one_approver() -> None:
    policy = Settings.from_env({"SIGNOFF_APPROVERS": f"{APPROVER_1},{APPROVER_2}, {APPROVER_1}"}).workflow.policy
    assert policy.approvers == [APPROVER_1, APPROVER_2]
    # Two approvals cannot come from one person listed twice.
    with pytest.raises(SettingsError, match="SIGNOFF_REQUIRED_APPROVALS=2 but only 1 approvers"):
        Settings.from_env({"SIGNOFF_APPROVERS": f"{APPROVER_1},{APPROVER_1}", "SIGNOFF_REQUIRED_APPROVALS": "2"})
