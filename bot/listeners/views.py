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
from signoff.contracts.workflow_io import MAX_EDIT_CHARS, MAX_NOTES_CHARS, DecisionReceipt
from signoff.slack import action_ids
from signoff.slack.action_ids import ModalMetadata

log = logging.getLogger(__name__)


def _raw_value(view: dict[str, Any], block_id: str, action_id: str) -> str:
    state = ((view.get("state") or {}).get("values") or {}).get(block_id) or {}
    return (state.get(action_id) or {}).get("value") or ""


def _value(view: dict[str, Any], block_id: str, action_id: str) -> str:
    return _raw_value(view, block_id, action_id).strip()


OUT_OF_DATE = "This form is out of date; close it and click the button again."


def field_error(text: str, limit: int, what: str, *, empty: str | None = None) -> str | None:
    """Why a form field is refused inline, or None: ``empty`` when it must say something, else its
    length over ``limit`` ("{what} limited to …")."""
    if empty is not None and not text.strip():
        return empty
    if len(text) > limit:
        return f"{what} limited to {limit:,} characters."
    return None


async def refused_inline(ack: AsyncAck, problems: dict[str, str | None]) -> bool:
    """Answer the submission with the first problem (block id → message), in the form; True if any."""
    for block_id, problem in problems.items():
        if problem is not None:
            await ack(response_action="errors", errors={block_id: problem})
            return True
    return False


# Sends one decision for the modal's draft: (metadata, user id, team id, text, member_of) -> receipt.
Decide = Callable[[ModalMetadata, str, "str | None", str, "str | None"], Awaitable[DecisionReceipt]]


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
        await send_decision(
            deps,
            client,
            where,
            metadata.workflow_id,
            lambda member_of: decide(metadata, where.user_id, team, text, member_of),
            confirm,
            pool=metadata.pool,
        )


def register(app: AsyncApp, deps: Deps) -> None:
    gateway = deps.gateway

    @app.view(action_ids.REVISION_MODAL)
    async def revision_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        notes = _value(view, action_ids.NOTES_BLOCK, action_ids.NOTES_INPUT)
        # Checks that need no I/O answer inline, in the modal, as part of the ack.
        problem = field_error(notes, MAX_NOTES_CHARS, "Notes are", empty="Say what should change.")
        if await refused_inline(ack, {action_ids.NOTES_BLOCK: problem}):
            return
        await _submit(
            deps,
            ack,
            body,
            view,
            client,
            error_block=action_ids.NOTES_BLOCK,
            text=notes,
            decide=lambda draft, user, team, text, member_of: gateway.request_revision(
                draft.workflow_id, draft.revision, user, team, text, member_of=member_of
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
        empty = "Say why: a reason is required." if required else None
        problem = field_error(reason, MAX_NOTES_CHARS, "The reason is", empty=empty)
        if await refused_inline(ack, {action_ids.REASON_BLOCK: problem}):
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

    @app.view(action_ids.DELEGATE_MODAL)
    async def delegate_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        state = ((view.get("state") or {}).get("values") or {}).get(action_ids.DELEGATE_TO_BLOCK) or {}
        to_user = (state.get(action_ids.DELEGATE_TO_INPUT) or {}).get("selected_user") or ""
        if await refused_inline(ack, {action_ids.DELEGATE_TO_BLOCK: None if to_user else "Choose a person."}):
            return

        async def delegate(
            draft: ModalMetadata, user: str, team: str | None, reason: str, member_of: str | None
        ) -> DecisionReceipt:
            # The delegate must be allowed to decide: on a pooled request, a member of its channel.
            to_member_of = (
                member_of if member_of and await deps.membership.is_member(client, member_of, to_user) else None
            )
            return await gateway.delegate(
                draft.workflow_id,
                draft.revision,
                user,
                team,
                to_user,
                reason,
                member_of=member_of,
                to_member_of=to_member_of,
            )

        await reason_submitted(ack, body, view, client, delegate)

    @app.view(action_ids.REJECT_MODAL)
    async def reject_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await reason_submitted(
            ack,
            body,
            view,
            client,
            lambda draft, user, team, text, member_of: gateway.reject(
                draft.workflow_id, draft.revision, user, team, text, member_of=member_of
            ),
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
            lambda call, user, team, text, member_of: gateway.deny_tool_call(
                call.workflow_id, call.revision, user, team, text, member_of=member_of
            ),
            tool_confirmation,
        )

    @app.view(action_ids.EDIT_APPROVE_MODAL)
    async def edit_approve_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        text = _raw_value(view, action_ids.EDIT_BLOCK, action_ids.EDIT_INPUT)
        comment = _value(view, action_ids.COMMENT_BLOCK, action_ids.COMMENT_INPUT)
        problems = {
            action_ids.EDIT_BLOCK: field_error(text, MAX_EDIT_CHARS, "The text is", empty="The text cannot be empty."),
            action_ids.COMMENT_BLOCK: field_error(comment, MAX_NOTES_CHARS, "The comment is"),
        }
        if await refused_inline(ack, problems):
            return
        await _submit(
            deps,
            ack,
            body,
            view,
            client,
            error_block=action_ids.EDIT_BLOCK,
            text=text,
            decide=lambda draft, user, team, edited, member_of: gateway.approve(
                draft.workflow_id, draft.revision, user, team, comment=comment, edited_text=edited, member_of=member_of
            ),
        )

    @app.view(action_ids.COMMENT_APPROVE_MODAL)
    async def comment_approve_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        comment = _value(view, action_ids.COMMENT_BLOCK, action_ids.COMMENT_INPUT)
        problem = field_error(comment, MAX_NOTES_CHARS, "The comment is", empty="Write a comment, or use Approve.")
        if await refused_inline(ack, {action_ids.COMMENT_BLOCK: problem}):
            return
        await _submit(
            deps,
            ack,
            body,
            view,
            client,
            error_block=action_ids.COMMENT_BLOCK,
            text=comment,
            decide=lambda draft, user, team, text, member_of: gateway.approve(
                draft.workflow_id, draft.revision, user, team, comment=text, member_of=member_of
            ),
        )
