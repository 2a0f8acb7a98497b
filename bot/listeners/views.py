"""Modal submissions: revision notes (required) and rejection reasons (optional)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import action_ids
from bot.action_ids import ModalMetadata
from bot.deps import Deps
from bot.gateway import GatewayError
from bot.listeners.actions import confirmation
from bot.listeners.home import refresh_home
from bot.replies import Where, tell
from workflows.models import MAX_NOTES_CHARS

log = logging.getLogger(__name__)


def _value(view: dict[str, Any], block_id: str, action_id: str) -> str:
    state = ((view.get("state") or {}).get("values") or {}).get(block_id) or {}
    return ((state.get(action_id) or {}).get("value") or "").strip()


def register(app: AsyncApp, deps: Deps) -> None:
    gateway = deps.gateway

    @app.view(action_ids.REVISION_MODAL)
    async def revision_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient) -> None:
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
        try:
            metadata = ModalMetadata.decode(view.get("private_metadata") or "")
        except ValueError as err:
            log.info("undecodable modal metadata: %s", err)
            await ack(response_action="errors", errors={action_ids.NOTES_BLOCK: "This form is out of date; close it and click the button again."})
            return
        await ack()
        where = Where.of_modal(body["user"]["id"], metadata)
        team = (body.get("team") or {}).get("id")
        try:
            receipt = await gateway.request_revision(metadata.workflow_id, metadata.revision, where.user_id, team, notes)
        except GatewayError as err:
            await tell(client, where, f":no_entry_sign: {err}")
            return
        await tell(client, where, confirmation(receipt))
        if where.home:
            await refresh_home(deps, client, where.user_id)

    @app.view(action_ids.REJECT_MODAL)
    async def reject_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient) -> None:
        reason = _value(view, action_ids.REASON_BLOCK, action_ids.REASON_INPUT)
        if len(reason) > MAX_NOTES_CHARS:
            await ack(
                response_action="errors",
                errors={action_ids.REASON_BLOCK: f"The reason is limited to {MAX_NOTES_CHARS:,} characters."},
            )
            return
        try:
            metadata = ModalMetadata.decode(view.get("private_metadata") or "")
        except ValueError as err:
            log.info("undecodable modal metadata: %s", err)
            await ack(response_action="errors", errors={action_ids.REASON_BLOCK: "This form is out of date; close it and click the button again."})
            return
        await ack()
        where = Where.of_modal(body["user"]["id"], metadata)
        team = (body.get("team") or {}).get("id")
        try:
            receipt = await gateway.reject(metadata.workflow_id, metadata.revision, where.user_id, team, reason)
        except GatewayError as err:
            await tell(client, where, f":no_entry_sign: {err}")
            return
        await tell(client, where, confirmation(receipt))
        if where.home:
            await refresh_home(deps, client, where.user_id)
