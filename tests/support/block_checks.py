"""Check that everything the app (and the workflows) showed in the sandbox is valid Block Kit."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from sandbox import SlackSandbox

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MESSAGE_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url")
VIEW_METHODS = ("views.open", "views.update", "views.push", "views.publish")


def _decoded(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def check_blocks(blocks: Any, limit: int, where: str) -> None:
    blocks = _decoded(blocks)
    assert isinstance(blocks, list), f"{where}: blocks is not a list"
    assert len(blocks) <= limit, f"{where}: {len(blocks)} blocks, over {limit}"
    ids = [b.get("block_id") for b in blocks if b.get("block_id")]
    assert len(ids) == len(set(ids)), f"{where}: duplicate block ids {ids}"
    for raw in blocks:
        block = Block.parse(raw)
        assert block is not None, f"{where}: unknown block {raw}"
        block.validate_json()


def check_view(view: Any, where: str) -> None:
    view = _decoded(view)
    parsed = View(**view)
    parsed.validate_json()
    check_blocks(view.get("blocks") or [], MAX_VIEW_BLOCKS, where)


def assert_valid_everything(slack: SlackSandbox) -> int:
    """Validate every message, modal and Home view sent to the sandbox; returns how many were checked."""
    checked = 0
    for call in slack.calls:
        where = f"{call.method} at {call.time}"
        if call.method in MESSAGE_METHODS and call.params.get("blocks"):
            check_blocks(call.params["blocks"], MAX_MESSAGE_BLOCKS, where)
            checked += 1
        elif call.method in VIEW_METHODS and call.params.get("view"):
            check_view(call.params["view"], where)
            checked += 1
        if call.method in MESSAGE_METHODS + VIEW_METHODS:
            assert call.ok, f"{where} failed: {call.response}"
    for delivery in slack.deliveries:
        payload = delivery.payload or {}
        if payload.get("blocks"):
            check_blocks(payload["blocks"], MAX_MESSAGE_BLOCKS, f"ack of {delivery.kind}")
            checked += 1
        if payload.get("view"):
            check_view(payload["view"], f"ack of {delivery.kind}")
            checked += 1
    return checked
