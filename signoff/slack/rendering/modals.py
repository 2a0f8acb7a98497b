"""The modals a decision opens: revision notes, a rejection reason, and Edit & approve."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    InputBlock,
    PlainTextInputElement,
    PlainTextObject,
    UserSelectElement,
)
from slack_sdk.models.views import View

from signoff.contracts.mrkdwn import truncate
from signoff.contracts.workflow_io import MAX_EDIT_CHARS, MAX_NOTES_CHARS
from signoff.slack import action_ids
from signoff.slack.action_ids import ModalMetadata
from signoff.slack.rendering.text import MAX_MODAL_TITLE_CHARS, fit, section_block

# ---------------------------------------------------------------------------
# Modals
# ---------------------------------------------------------------------------


def _modal_title(text: str) -> PlainTextObject:
    return PlainTextObject(text=truncate(text, MAX_MODAL_TITLE_CHARS))


def revision_modal(metadata: ModalMetadata, subject: str) -> View:
    """Asks what should change; the notes go to the writer agent verbatim."""
    return View(
        type="modal",
        callback_id=action_ids.REVISION_MODAL,
        title=_modal_title("Request revision"),
        submit=_modal_title("Send to the writer"),
        close=_modal_title("Cancel"),
        private_metadata=metadata.encode(),
        blocks=[
            section_block(f"Revision {metadata.revision} of *{fit(subject, 2000)}*"),
            InputBlock(
                block_id=action_ids.NOTES_BLOCK,
                label=PlainTextObject(text="What should change?"),
                element=PlainTextInputElement(
                    action_id=action_ids.NOTES_INPUT,
                    multiline=True,
                    min_length=1,
                    max_length=MAX_NOTES_CHARS,
                    placeholder=PlainTextObject(text="e.g. Add the Q3 numbers and shorten the summary"),
                ),
                optional=False,
            ),
        ],
    )


def delegate_modal(metadata: ModalMetadata, subject: str) -> View:
    """Whom to hand the request to, and why (optional); the workflow checks the delegate may decide."""
    return View(
        type="modal",
        callback_id=action_ids.DELEGATE_MODAL,
        title=_modal_title("Delegate"),
        submit=_modal_title("Delegate"),
        close=_modal_title("Cancel"),
        private_metadata=metadata.encode(),
        blocks=[
            section_block(f"Hand revision {metadata.revision} of *{fit(subject, 2000)}* to someone else."),
            InputBlock(
                block_id=action_ids.DELEGATE_TO_BLOCK,
                label=PlainTextObject(text="Delegate to"),
                element=UserSelectElement(action_id=action_ids.DELEGATE_TO_INPUT),
                optional=False,
            ),
            InputBlock(
                block_id=action_ids.REASON_BLOCK,
                label=PlainTextObject(text="Reason"),
                element=PlainTextInputElement(
                    action_id=action_ids.REASON_INPUT, multiline=True, max_length=MAX_NOTES_CHARS
                ),
                optional=True,
            ),
        ],
    )


def reject_modal(metadata: ModalMetadata, subject: str, *, reason_required: bool = False) -> View:
    """Confirms a rejection and lets the approver say why (required where the policy says so)."""
    return View(
        type="modal",
        callback_id=action_ids.REJECT_MODAL,
        title=_modal_title("Reject draft"),
        submit=_modal_title("Reject"),
        close=_modal_title("Cancel"),
        private_metadata=metadata.encode(),
        blocks=[
            section_block(
                f"Reject revision {metadata.revision} of *{fit(subject, 2000)}*? "
                "The workflow ends and nothing is published."
            ),
            InputBlock(
                block_id=action_ids.REASON_BLOCK,
                label=PlainTextObject(text="Reason"),
                element=PlainTextInputElement(
                    action_id=action_ids.REASON_INPUT,
                    multiline=True,
                    max_length=MAX_NOTES_CHARS,
                ),
                optional=not reason_required,
            ),
        ],
    )


def edit_approve_modal(metadata: ModalMetadata, subject: str, text: str) -> View:
    """The draft's text to edit, and an optional comment; submitting approves the edited text."""
    return View(
        type="modal",
        callback_id=action_ids.EDIT_APPROVE_MODAL,
        title=_modal_title("Edit & approve"),
        submit=_modal_title("Approve the edit"),
        close=_modal_title("Cancel"),
        private_metadata=metadata.encode(),
        blocks=[
            section_block(
                f"Revision {metadata.revision} of *{fit(subject, 2000)}*. "
                "Your edited text is what gets approved; the thread says you edited it."
            ),
            InputBlock(
                block_id=action_ids.EDIT_BLOCK,
                label=PlainTextObject(text="Text"),
                element=PlainTextInputElement(
                    action_id=action_ids.EDIT_INPUT,
                    multiline=True,
                    min_length=1,
                    max_length=MAX_EDIT_CHARS,
                    initial_value=text[:MAX_EDIT_CHARS],
                ),
                optional=False,
            ),
            InputBlock(
                block_id=action_ids.COMMENT_BLOCK,
                label=PlainTextObject(text="Comment"),
                element=PlainTextInputElement(
                    action_id=action_ids.COMMENT_INPUT, multiline=True, max_length=MAX_NOTES_CHARS
                ),
                optional=True,
            ),
        ],
    )


def comment_approve_modal(metadata: ModalMetadata, subject: str) -> View:
    """Approve with a comment that goes in the thread and the audit log."""
    return View(
        type="modal",
        callback_id=action_ids.COMMENT_APPROVE_MODAL,
        title=_modal_title("Approve"),
        submit=_modal_title("Approve"),
        close=_modal_title("Cancel"),
        private_metadata=metadata.encode(),
        blocks=[
            section_block(f"Approve revision {metadata.revision} of *{fit(subject, 2000)}*."),
            InputBlock(
                block_id=action_ids.COMMENT_BLOCK,
                label=PlainTextObject(text="Comment"),
                element=PlainTextInputElement(
                    action_id=action_ids.COMMENT_INPUT, multiline=True, min_length=1, max_length=MAX_NOTES_CHARS
                ),
                optional=False,
            ),
        ],
    )
