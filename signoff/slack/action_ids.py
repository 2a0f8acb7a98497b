"""Identifiers shared by the Block Kit builders, the Bolt listeners and the app manifest.

Slack routes a click or a modal submission back to the app by these strings, so
the builder that renders a button and the listener that handles it must agree on
them exactly; keeping them in one module makes a mismatch an import error rather
than a silently ignored click.

The payload carried by a button (``value``) or a modal (``private_metadata``) is
plain text Slack echoes back untouched, so it is encoded here as compact JSON and
checked strictly on the way back in: anything a user could tamper with or an old
message could still carry is rejected with a ``ValueError`` naming the problem.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

# Buttons on the draft's control message.
APPROVE = "signoff_approve"
EDIT_APPROVE = "signoff_edit_approve"
# Where the text cannot be edited here: approve with a comment.
COMMENT_APPROVE = "signoff_comment_approve"
REQUEST_REVISION = "signoff_request_revision"
REJECT = "signoff_reject"
# In the order a draft shows them (Edit & approve or Approve with comment, and Request revision
# only where allowed).
DECISION_ACTIONS = (APPROVE, EDIT_APPROVE, REQUEST_REVISION, REJECT)
DECISION_ACTIONS_WITHOUT_EDITS = (APPROVE, COMMENT_APPROVE, REQUEST_REVISION, REJECT)
# Routing buttons on the draft (runs that took ROUTING_PATCH): Claim a pooled request, Release a
# claim, Delegate (opens DELEGATE_MODAL). Same ButtonValue as the decision buttons.
CLAIM = "signoff_claim"
RELEASE = "signoff_release"
DELEGATE = "signoff_delegate"
# The Inbox's (App Home) link to a request's thread: a URL button, which Slack still reports.
OPEN_THREAD = "signoff_open_thread"
# Buttons on a tool call's approval message (the value is a ButtonValue whose revision is the
# call's number in its run).
TOOL_ALLOW = "signoff_tool_allow"
TOOL_ALWAYS_ALLOW = "signoff_tool_always_allow"
TOOL_DENY = "signoff_tool_deny"
TOOL_SHOW_ARGUMENTS = "signoff_tool_show_arguments"
TOOL_DECISION_BLOCK = "signoff_tool_decision"
# Any other action id: a button from another version of the app, or a forged one.
ANY_OTHER_ACTION = re.compile(r".*", re.DOTALL)

# The actions block holding those buttons; its block_id is suffixed with the
# revision so Slack never merges the state of two drafts' controls.
DECISION_BLOCK = "signoff_decision"

# Modal callback ids (``view_submission`` routing).
REVISION_MODAL = "signoff_revision_modal"
REJECT_MODAL = "signoff_reject_modal"
EDIT_APPROVE_MODAL = "signoff_edit_approve_modal"
COMMENT_APPROVE_MODAL = "signoff_comment_approve_modal"
TOOL_DENY_MODAL = "signoff_tool_deny_modal"
DELEGATE_MODAL = "signoff_delegate_modal"

# Inputs inside those modals: state.values[BLOCK][INPUT]["value"].
NOTES_BLOCK = "signoff_notes_block"
NOTES_INPUT = "signoff_notes_input"
REASON_BLOCK = "signoff_reason_block"
REASON_INPUT = "signoff_reason_input"
EDIT_BLOCK = "signoff_edit_block"
EDIT_INPUT = "signoff_edit_input"
COMMENT_BLOCK = "signoff_comment_block"
COMMENT_INPUT = "signoff_comment_input"
DELEGATE_TO_BLOCK = "signoff_delegate_to_block"
DELEGATE_TO_INPUT = "signoff_delegate_to_input"

# Slack's documented limits for the two places these payloads travel.
MAX_BUTTON_VALUE_CHARS = 2000
MAX_PRIVATE_METADATA_CHARS = 3000


def _dumps(payload: dict[str, Any]) -> str:
    # Compact separators: every character counts against Slack's limits.
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def _loads_object(raw: str, what: str, limit: int) -> dict[str, Any]:
    if not isinstance(raw, str):
        raise ValueError(f"{what} must be a string, got {type(raw).__name__}")
    if len(raw) > limit:
        raise ValueError(f"{what} is {len(raw)} characters, over Slack's limit of {limit}")
    try:
        payload = json.loads(raw)
    except json.JSONDecodeError as err:
        raise ValueError(f"{what} is not valid JSON: {err.msg}") from None
    if not isinstance(payload, dict):
        raise ValueError(f"{what} must be a JSON object")
    return payload


def _require_str(payload: dict[str, Any], key: str, what: str) -> str:
    if key not in payload:
        raise ValueError(f"{what} is missing {key!r}")
    value = payload[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what}: {key!r} must be a non-empty string")
    return value


def _require_revision(payload: dict[str, Any], key: str, what: str) -> int:
    if key not in payload:
        raise ValueError(f"{what} is missing {key!r}")
    value = payload[key]
    # bool is an int subclass; ``true`` is not a revision.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{what}: {key!r} must be a whole number")
    if value < 1:
        raise ValueError(f"{what}: {key!r} must be at least 1, got {value}")
    return value


_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")


def _optional_group(payload: dict[str, Any], key: str, what: str) -> str | None:
    if key not in payload:
        return None
    value = payload[key]
    if not isinstance(value, str) or not _GROUP_ID.match(value):
        raise ValueError(f"{what}: {key!r} must be a user group id")
    return value


@dataclass(frozen=True)
class ButtonValue:
    """What a decision button carries: which workflow and which draft revision it decides."""

    workflow_id: str
    revision: int
    # The user group whose members decide (a pooled request's SIGNOFF_APPROVER_GROUP), else None.
    pool: str | None = None

    def encode(self) -> str:
        payload: dict[str, Any] = {"w": self.workflow_id, "r": self.revision}
        if self.pool is not None:
            payload["p"] = self.pool
        raw = _dumps(payload)
        if len(raw) > MAX_BUTTON_VALUE_CHARS:
            raise ValueError(
                f"button value is {len(raw)} characters, over Slack's limit of "
                f"{MAX_BUTTON_VALUE_CHARS}; the workflow id is too long"
            )
        return raw

    @classmethod
    def decode(cls, raw: str) -> ButtonValue:
        what = "button value"
        payload = _loads_object(raw, what, MAX_BUTTON_VALUE_CHARS)
        return cls(
            workflow_id=_require_str(payload, "w", what),
            revision=_require_revision(payload, "r", what),
            pool=_optional_group(payload, "p", what),
        )


@dataclass(frozen=True)
class ModalMetadata:
    """What a decision modal carries in ``private_metadata`` from the click to the submission.

    The channel and message let the submission handler update the control
    message and answer the user in the right place.
    """

    workflow_id: str
    revision: int
    channel_id: str
    message_ts: str
    # The button's pool (``ButtonValue.pool``), carried to the submission.
    pool: str | None = None

    def encode(self) -> str:
        payload: dict[str, Any] = {
            "w": self.workflow_id,
            "r": self.revision,
            "c": self.channel_id,
            "t": self.message_ts,
        }
        if self.pool is not None:
            payload["p"] = self.pool
        raw = _dumps(payload)
        if len(raw) > MAX_PRIVATE_METADATA_CHARS:
            raise ValueError(
                f"private_metadata is {len(raw)} characters, over Slack's limit of {MAX_PRIVATE_METADATA_CHARS}"
            )
        return raw

    @classmethod
    def decode(cls, raw: str) -> ModalMetadata:
        what = "modal private_metadata"
        payload = _loads_object(raw, what, MAX_PRIVATE_METADATA_CHARS)
        return cls(
            workflow_id=_require_str(payload, "w", what),
            revision=_require_revision(payload, "r", what),
            channel_id=_require_str(payload, "c", what),
            message_ts=_require_str(payload, "t", what),
            pool=_optional_group(payload, "p", what),
        )
