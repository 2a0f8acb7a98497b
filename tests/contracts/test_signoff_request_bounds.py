"""SignoffRequest's input refuses what cannot work (InvalidSignoffRequest naming the field), before a workflow sees it."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from signoff_client import SignoffRequestInput, describe_invalid

from signoff.contracts.workflow_io import MAX_WAIT

REQUESTER = "U0REQUEST"
APPROVER_1 = "U0APPROV1"
APPROVER_2 = "U0APPROV2"
MAX_WAIT_SECONDS = int(MAX_WAIT.total_seconds())
BASE = {"title": "Deploy", "body": "v2.3.1", "requester": REQUESTER}


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"reminder_interval_seconds": 1_000_000_000_000}, "reminder_interval_seconds", "longer than 3650 days"),
        ({"reminder_interval_seconds": 10**30}, "reminder_interval_seconds", "longer than 3650 days"),
        ({"reminder_interval_seconds": 0}, "reminder_interval_seconds", "greater than or equal to 1"),
        ({"reminder_interval_seconds": 0.5}, "reminder_interval_seconds", "fractional part"),
        ({"decision_deadline_seconds": MAX_WAIT_SECONDS + 1}, "decision_deadline_seconds", "longer than 3650 days"),
        ({"decision_deadline_seconds": 10**30}, "decision_deadline_seconds", "longer than 3650 days"),
        ({"decision_deadline_seconds": -5}, "decision_deadline_seconds", "greater than or equal to 1"),
        (
            {"approvers": [APPROVER_1, APPROVER_1], "required_approvals": 2},
            "required_approvals",
            "only 1 approvers are listed",
        ),
        (
            {"approvers": [REQUESTER]},
            "required_approvals",
            "the requester may not approve their own request",
        ),
        (
            {"approvers": [REQUESTER, APPROVER_1], "required_approvals": 2},
            "required_approvals",
            "only 1 of the approvers can approve",
        ),
    ],
)
def test_a_request_that_cannot_work_is_refused_naming_the_field(
    change: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        SignoffRequestInput.model_validate({**BASE, **change})
    message = describe_invalid(refused.value)
    assert field in message and reason in message, message


def test_the_longest_wait_is_taken_and_approvers_are_counted_once() -> None:
    request = SignoffRequestInput.model_validate(
        {
            **BASE,
            "reminder_interval_seconds": MAX_WAIT_SECONDS,
            "decision_deadline_seconds": 1,
            "approvers": [APPROVER_1, APPROVER_2, APPROVER_1],
            "required_approvals": 2,
        }
    )
    assert request.approvers == [APPROVER_1, APPROVER_2]
    assert request.reminder_interval is not None and request.reminder_interval.days == 3650


def test_a_request_taken_before_the_bounds_still_parses_as_it_did() -> None:
    """What a running workflow replays: its recorded input, by the old rules, with no overflow."""
    recorded = SignoffRequestInput.as_recorded(
        {**BASE, "decision_deadline_seconds": 10**30, "approvers": [APPROVER_1, APPROVER_1], "required_approvals": 2}
    )
    assert recorded.approvers == [APPROVER_1, APPROVER_1]
    assert recorded.decision_deadline is not None and recorded.decision_deadline.days == 999_999_999
