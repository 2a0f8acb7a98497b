"""The modals a decision opens: revision notes and a rejection reason."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    InputBlock,
    PlainTextInputElement,
    PlainTextObject,
)
from slack_sdk.models.views import View

from core import action_ids
from core.action_ids import ModalMetadata
from core.contracts import (
    MAX_NOTES_CHARS,
)
from core.mrkdwn import truncate
from core.rendering.text import MAX_MODAL_TITLE_CHARS, fit, section_block

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


def reject_modal(metadata: ModalMetadata, subject: str) -> View:
    """Confirms a rejection and lets the approver say why (optional)."""
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
                optional=True,
            ),
        ],
    )
