"""SignoffRequest's JSON contract as pydantic models: the field names are the wire names.

signoff's worker validates every request with these same models, so what passes here passes there.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

# The longest wait any duration may ask for (a reminder interval, a decision deadline): ten years,
# so a draft's clock plus it stays far inside what a timestamp holds and no timer overflows.
MAX_WAIT = timedelta(days=3650)
# The shortest: a reminder interval under a second would loop on its own timer.
MIN_WAIT = timedelta(seconds=1)
MAX_TITLE_CHARS = 150
MAX_BODY_CHARS = 100_000
MAX_APPROVERS = 50
MAX_WAIT_SECONDS = int(MAX_WAIT.total_seconds())
MIN_WAIT_SECONDS = int(MIN_WAIT.total_seconds())
# Validation context for a request a running workflow took before the bounds (see ``as_recorded``).
_RECORDED = "recorded"
# What a timedelta holds at most: a recorded value beyond it is capped here (the gate caps the wait).
_TIMEDELTA_MAX_SECONDS = timedelta.max.days * 86400

_CONVERSATION_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_USER_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")

Outcome = Literal["approved", "rejected", "revision_requested", "expired"]


class SignoffRequestInput(BaseModel):
    """What a caller asks (JSON). Unknown fields are refused, so a typo is not silently ignored."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(max_length=MAX_TITLE_CHARS)
    # Markdown; long bodies are split across messages like drafts.
    body: str = Field(max_length=MAX_BODY_CHARS)
    # A conversation id (C…/G…); default: the worker's SIGNOFF_DEFAULT_CHANNEL.
    channel: str | None = None
    # The Slack user asking; may never approve.
    requester: str | None = None
    # Slack user ids; default: the worker's SIGNOFF_APPROVERS.
    approvers: list[str] | None = Field(default=None, max_length=MAX_APPROVERS)
    # A Slack user group id (S…) whose members decide, nobody being named (one of them may claim it);
    # default: the worker's SIGNOFF_APPROVER_GROUP when no approvers are named, else the channel's members.
    approver_group: str | None = None
    required_approvals: int = Field(default=1, ge=1)
    # From 1 second to ten years (MAX_WAIT): a longer wait would overflow the workflow's timer.
    reminder_interval_seconds: int | None = Field(default=None, ge=MIN_WAIT_SECONDS)
    decision_deadline_seconds: int | None = Field(default=None, ge=MIN_WAIT_SECONDS)
    never_expires: bool = False
    allow_edits: bool = False
    allow_revision: bool = True
    # Echoed back in the result, untouched.
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("title", "body")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("channel")
    @classmethod
    def _channel_id(cls, value: str | None) -> str | None:
        if value is not None and not _CONVERSATION_ID.match(value):
            raise ValueError(f"{value!r} is not a conversation id like C0123ABCD (a #name is not accepted)")
        return value

    @field_validator("requester")
    @classmethod
    def _requester_id(cls, value: str | None) -> str | None:
        if value is not None and not _USER_ID.match(value):
            raise ValueError(f"{value!r} is not a Slack user id like U0123ABCD")
        return value

    @field_validator("approvers")
    @classmethod
    def _approver_ids(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        for approver in value or []:
            if not _USER_ID.match(approver):
                raise ValueError(f"{approver!r} is not a Slack user id like U0123ABCD")
        if value is None or _recorded(info):
            return value
        # Listed twice is still one person: counted once towards the quorum.
        return list(dict.fromkeys(value))

    @field_validator("approver_group")
    @classmethod
    def _group_id(cls, value: str | None) -> str | None:
        if value is not None and not _USER_GROUP_ID.match(value):
            raise ValueError(f"{value!r} is not a Slack user group id like S0123ABCD (a @handle is not accepted)")
        return value

    @field_validator("reminder_interval_seconds", "decision_deadline_seconds")
    @classmethod
    def _at_most_the_longest_wait(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and value > MAX_WAIT_SECONDS and not _recorded(info):
            raise ValueError(f"{value} seconds is longer than {MAX_WAIT.days} days ({MAX_WAIT_SECONDS} seconds)")
        return value

    @model_validator(mode="after")
    def _enough_approvers(self, info: ValidationInfo) -> SignoffRequestInput:
        if self.approvers is not None and self.required_approvals > len(self.approvers):
            raise ValueError(
                f"required_approvals is {self.required_approvals} but only {len(self.approvers)} approvers are listed"
            )
        if self.approvers and not _recorded(info):
            others = [approver for approver in self.approvers if approver != self.requester]
            if self.required_approvals > len(others):
                raise ValueError(
                    f"required_approvals is {self.required_approvals} but only {len(others)} of the approvers "
                    "can approve: the requester may not approve their own request"
                )
        if self.approver_group is not None and self.approvers:
            raise ValueError("approvers and approver_group contradict each other: a group decides when nobody is named")
        if self.never_expires and self.decision_deadline_seconds is not None:
            raise ValueError("never_expires and decision_deadline_seconds contradict each other")
        return self

    @classmethod
    def as_recorded(cls, request: Any) -> SignoffRequestInput:
        """``request`` by the rules before the bounds (no upper bound on the waits, approvers as
        listed, no requester check): what a workflow started before them took, kept on replay."""
        return cls.model_validate(request, context={_RECORDED: True})

    @property
    def reminder_interval(self) -> timedelta | None:
        return _wait(self.reminder_interval_seconds)

    @property
    def decision_deadline(self) -> timedelta | None:
        return _wait(self.decision_deadline_seconds)


def _recorded(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get(_RECORDED))


def _wait(seconds: int | None) -> timedelta | None:
    # Only a request taken before the bounds can exceed a timedelta; capped, the gate caps it further.
    return timedelta(seconds=min(seconds, _TIMEDELTA_MAX_SECONDS)) if seconds else None


def describe_invalid(err: ValidationError) -> str:
    """A validation error as one sentence naming each field, for the caller's failure."""
    problems = []
    for error in err.errors():
        field = ".".join(str(part) for part in error["loc"]) or "request"
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{field}: {message}")
    return "Invalid SignoffRequest: " + "; ".join(problems)


class DecisionEntry(BaseModel):
    """One decision in the audit log."""

    user_id: str
    kind: Literal["approve", "request_revision", "reject"]
    # ISO-8601, UTC.
    at: str
    comment: str = ""
    edited: bool = False
    revision: int = 1


class ThreadLink(BaseModel):
    channel: str
    ts: str


class SignoffResult(BaseModel):
    """What the caller gets back (JSON)."""

    outcome: Outcome
    decided_by: list[str]
    # The rejection reason, the revision notes, or the approvers' comments.
    notes: str
    # The approved text: the body, or the approver's edit. Empty unless approved.
    text: str
    edited: bool
    decisions: list[DecisionEntry]
    thread: ThreadLink | None
    metadata: dict[str, Any]
