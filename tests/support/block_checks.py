"""Block Kit within Slack's limits: the builders' output, and everything the app (and the
workflows) showed in the sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from signoff.sandbox import SlackSandbox

# Slack's published limits, written out here and never taken from the builders' constants (a wrong
# constant there would otherwise check itself). Blocks: "up to 50 blocks in each message, and 100 blocks
# in modals or Home tabs" (docs.slack.dev/reference/block-kit/blocks); the rest from each block's page.
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
SECTION_TEXT = 3000
HEADER_TEXT = 150
BUTTON_VALUE = 2000
BUTTON_TEXT = 75
ID_CHARS = 255
MODAL_TITLE = 24
PRIVATE_METADATA = 3000
FALLBACK_TEXT = 3000
CONTEXT_ELEMENTS = 10

MESSAGE_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url")
VIEW_METHODS = ("views.open", "views.update", "views.push", "views.publish")


# ---------------------------------------------------------------------------
# Built blocks (slack_sdk models), before they are sent: the builders' tests
# ---------------------------------------------------------------------------


def texts(node: object) -> Iterator[tuple[str, str]]:
    """Every text object's string in a block tree."""
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
            yield node["type"], node["text"]
        for value in node.values():
            yield from texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from texts(item)


def validate_blocks(blocks: list[Block], max_blocks: int = MAX_MESSAGE_BLOCKS) -> list[dict]:
    """Round-trip through slack_sdk's models and check Slack's limits; returns the dicts."""
    assert 0 < len(blocks) <= max_blocks
    dicts = [block.to_dict() for block in blocks]
    # Parsing back with slack_sdk's models gives the same JSON: the builders
    # produced nothing the models don't understand.
    parsed = [Block.parse(d) for d in dicts]
    assert [block.to_dict() for block in parsed if block is not None] == dicts
    block_ids = [d["block_id"] for d in dicts if "block_id" in d]
    assert len(block_ids) == len(set(block_ids)), "block ids must be unique"
    for d in dicts:
        assert len(d.get("block_id", "")) <= ID_CHARS
        if d["type"] == "section":
            assert 0 < len(d["text"]["text"]) <= SECTION_TEXT
        if d["type"] == "header":
            assert 0 < len(d["text"]["text"]) <= HEADER_TEXT
        if d["type"] == "context":
            assert 0 < len(d["elements"]) <= CONTEXT_ELEMENTS
        if d["type"] == "actions":
            for element in d["elements"]:
                assert len(element["action_id"]) <= ID_CHARS
                assert len(element.get("value", "")) <= BUTTON_VALUE
                assert len(element["text"]["text"]) <= BUTTON_TEXT
    return dicts


def validate_view(view: View) -> dict:
    d = view.to_dict()
    assert View(**d).to_dict() == d
    assert len(d["blocks"]) <= MAX_VIEW_BLOCKS
    validate_blocks(view.blocks, max_blocks=MAX_VIEW_BLOCKS)
    if d["type"] == "modal":
        for key in ("title", "submit", "close"):
            if key in d:
                assert 0 < len(d[key]["text"]) <= MODAL_TITLE
        assert len(d.get("private_metadata", "")) <= PRIVATE_METADATA
        assert len(d.get("callback_id", "")) <= ID_CHARS
    return d


# ---------------------------------------------------------------------------
# What reached the sandbox (JSON as sent)
# ---------------------------------------------------------------------------


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
