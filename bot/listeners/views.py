"""Modal submissions: revision notes (required), rejection and tool-call denial reasons (optional), Edit & approve."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.listeners.actions import confirmation, send_decision, tool_confirmation
from bot.replies import Where
from core import action_ids
from core.action_ids import ModalMetadata
from core.contracts import MAX_EDIT_CHARS, MAX_NOTES_CHARS, DecisionReceipt

log = logging.getLogger(__name__)


def _raw_value(view: dict[str, Any], block_id: str, action_id: str) -> str:
    state = ((view.get("state") or {}).get("values") or {}).get(block_id) or {}
    return (state.get(action_id) or {}).get("value") or ""


def _value(view: dict[str, Any], block_id: str, action_id: str) -> str:
    return _raw_value(view, block_id, action_id).strip()


OUT_OF_DATE = "This form is out of date; close it and click the button again."

# Sends one decision for the modal's draft: (metadata, user id, team id, text) -> receipt.
Decide = Callable[[ModalMetadata, str, "str | None", str], Awaitable[DecisionReceipt]]


async def _submit(
    deps: Deps,
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    *,
    error_block: str,
    text: str,
    decide: Decide,
    confirm: Callable[[DecisionReceipt], str] = confirmation,
) -> None:
    """Ack the submission, send the decision, and tell the user what happened."""
    try:
        metadata = ModalMetadata.decode(view.get("private_metadata") or "")
    except ValueError as err:
        log.info("undecodable modal metadata: %s", err)
        await ack(response_action="errors", errors={error_block: OUT_OF_DATE})
        return
    await ack()
    where = Where.of_modal(body["user"]["id"], metadata)
    team = (body.get("team") or {}).get("id")
    async with deps.follow_ups:
        await send_decision(deps, client, where, lambda: decide(metadata, where.user_id, team, text), confirm)


def register(app: AsyncApp, deps: Deps) -> None:
    gateway = deps.gateway

    @app.view(action_ids.REVISION_MODAL)
    async def revision_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        notes = _value(view, action_ids.NOTES_BLOCK, action_ids.NOTES_INPUT)
        # Checks that need no I/O answer inline, in the modal, as part of the ack.
        if not notes:
            await ack(response_action="errors", errors={action_ids.NOTES_BLOCK: "Say what should change."})
            return
        if len(notes) > MAX_NOTES_CHARS:
            await ack(
                response_action="errors",
                errors={action_ids.NOTES_BLOCK: f"Notes are limited to {MAX_NOTES_CHARS:,} characters."},
            )
            return
        await _submit(
            deps,
            ack,
            body,
            view,
            client,
            error_block=action_ids.NOTES_BLOCK,
            text=notes,
            decide=lambda draft, user, team, text: gateway.request_revision(
                draft.workflow_id, draft.revision, user, team, text
            ),
        )

    async def reason_submitted(
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        decide: Decide,
        confirm: Callable[[DecisionReceipt], str] = confirmation,
        *,
        required: bool = False,
    ) -> None:
        """A reason (a rejection, a tool call's denial), checked inline, then the decision."""
        reason = _value(view, action_ids.REASON_BLOCK, action_ids.REASON_INPUT)
        if required and not reason:
            await ack(response_action="errors", errors={action_ids.REASON_BLOCK: "Say why: a reason is required."})
            return
        if len(reason) > MAX_NOTES_CHARS:
            await ack(
                response_action="errors",
                errors={action_ids.REASON_BLOCK: f"The reason is limited to {MAX_NOTES_CHARS:,} characters."},
            )
            return
        await _submit(
            deps,
            ack,
            body,
            view,
            client,
            error_block=action_ids.REASON_BLOCK,
            text=reason,
            decide=decide,
            confirm=confirm,
        )

    @app.view(action_ids.REJECT_MODAL)
    async def reject_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await reason_submitted(
            ack,
            body,
            view,
            client,
            lambda draft, user, team, text: gateway.reject(draft.workflow_id, draft.revision, user, team, text),
            required=deps.settings.workflow.policy.reject_reason_required,
        )

    @app.view(action_ids.TOOL_DENY_MODAL)
    async def tool_deny_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await reason_submitted(
            ack,
            body,
            view,
            client,
            lambda call, user, team, text: gateway.deny_tool_call(call.workflow_id, call.revision, user, team, text),
            tool_confirmation,
        )

    @app.view(action_ids.EDIT_APPROVE_MODAL)
    async def edit_approve_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        text = _raw_value(view, action_ids.EDIT_BLOCK, action_ids.EDIT_INPUT)
        comment = _value(view, action_ids.COMMENT_BLOCK, action_ids.COMMENT_INPUT)
        if not text.strip():
            await ack(response_action="errors", errors={action_ids.EDIT_BLOCK: "The text cannot be empty."})
            return
        if len(text) > MAX_EDIT_CHARS:
            await ack(
                response_action="errors",
                errors={action_ids.EDIT_BLOCK: f"The text is limited to {MAX_EDIT_CHARS:,} characters."},
            )
            return
        if len(comment) > MAX_NOTES_CHARS:
            await ack(
                response_action="errors",
                errors={action_ids.COMMENT_BLOCK: f"The comment is limited to {MAX_NOTES_CHARS:,} characters."},
            )
            return
        await _submit(
            deps,
            ack,
            body,
            view,
            client,
            error_block=action_ids.EDIT_BLOCK,
            text=text,
            decide=lambda draft, user, team, edited: gateway.approve(
                draft.workflow_id, draft.revision, user, team, comment=comment, edited_text=edited
            ),
        )

    @app.view(action_ids.COMMENT_APPROVE_MODAL)
    async def comment_approve_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        comment = _value(view, action_ids.COMMENT_BLOCK, action_ids.COMMENT_INPUT)
        if not comment:
            await ack(response_action="errors", errors={action_ids.COMMENT_BLOCK: "Write a comment, or use Approve."})
            return
        if len(comment) > MAX_NOTES_CHARS:
            await ack(
                response_action="errors",
                errors={action_ids.COMMENT_BLOCK: f"The comment is limited to {MAX_NOTES_CHARS:,} characters."},
            )
            return
        await _submit(
            deps,
            ack,
            body,
            view,
            client,
            error_block=action_ids.COMMENT_BLOCK,
            text=comment,
            decide=lambda draft, user, team, text: gateway.approve(
                draft.workflow_id, draft.revision, user, team, comment=text
            ),
        )
