"""What an attempt at a step leaves in a Restate run's journal: read back on replay (after a crash or
a suspension), it is the same ``StepFailed`` the live attempt raised, its cause included, as DBOS
gives back a step's pickled error."""

from __future__ import annotations

import threading

from temporalio.exceptions import ApplicationError

from signoff.contracts.activity_io import SLACK_PERMANENT_ERROR
from signoff.restate.engine import AttemptOutcome, JsonSerde

JOURNAL = JsonSerde[AttemptOutcome](AttemptOutcome)


def replayed(outcome: AttemptOutcome) -> AttemptOutcome:
    read = JOURNAL.deserialize(JOURNAL.serialize(outcome))
    assert read is not None
    return read


def test_a_failure_read_back_from_the_journal_is_the_same_step_failure_with_its_cause() -> None:
    refused = ApplicationError(
        "chat.postMessage failed: not_in_channel", "not_in_channel", type=SLACK_PERMANENT_ERROR, non_retryable=True
    )
    failure = replayed(AttemptOutcome.failed("slack_start_thread", refused)).step_failure()

    assert (failure.step, failure.error_type, failure.message) == (
        "slack_start_thread",
        SLACK_PERMANENT_ERROR,
        "chat.postMessage failed: not_in_channel",
    )
    assert tuple(failure.details) == ("not_in_channel",) and failure.non_retryable and not failure.cancelled
    assert isinstance(failure.cause, ApplicationError)
    assert (failure.cause.type, failure.cause.details) == (SLACK_PERMANENT_ERROR, ("not_in_channel",))


def test_an_error_that_does_not_pickle_keeps_its_words() -> None:
    class Locked(Exception):
        def __init__(self) -> None:
            super().__init__("a lock is held")
            self.lock = threading.Lock()  # a lock does not pickle

    failure = replayed(AttemptOutcome.failed("model_call", Locked())).step_failure()

    assert (failure.step, failure.error_type, failure.message, failure.cause) == (
        "model_call",
        "Locked",
        "a lock is held",
        None,
    )


def test_a_value_is_kept_as_json() -> None:
    assert replayed(AttemptOutcome(value='{"ts": "1.2"}')) == AttemptOutcome(value='{"ts": "1.2"}')
