"""Block Kit: the limits Slack enforces, and finding interactive elements.

Validation catches what Slack rejects as ``invalid_blocks`` on the common
paths (too many blocks, over-long text, missing types, duplicate ids); it is
not a full Block Kit schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_ACTION_ID = 255
MAX_BLOCK_ID = 255
MAX_ACTIONS_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000

_TEXT_TYPES = {"plain_text", "mrkdwn"}


class InvalidBlocks(ValueError):
    """The blocks break a Block Kit rule; the message says which."""


def validate(blocks: object, *, max_blocks: int = MAX_MESSAGE_BLOCKS) -> list[dict[str, Any]]:
    """Return the blocks if Slack would accept them, else raise InvalidBlocks."""
    if not isinstance(blocks, list):
        raise InvalidBlocks("blocks must be an array")
    if len(blocks) > max_blocks:
        raise InvalidBlocks(f"no more than {max_blocks} items allowed [json-pointer:/blocks]")
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"/blocks/{index}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise InvalidBlocks(f"missing required field: type [json-pointer:{where}]")
        block_id = block.get("block_id")
        if block_id is not None:
            _check_len(block_id, MAX_BLOCK_ID, f"{where}/block_id")
            if block_id in block_ids:
                raise InvalidBlocks(f"duplicate block_id {block_id!r} [json-pointer:{where}/block_id]")
            block_ids.add(block_id)
        _validate_block(block, where)
    return blocks


def _validate_block(block: dict[str, Any], where: str) -> None:
    kind = block["type"]
    if kind == "section":
        if "text" not in block and "fields" not in block:
            raise InvalidBlocks(f"must provide text or fields [json-pointer:{where}]")
        if "text" in block:
            _check_text(block["text"], MAX_SECTION_TEXT, f"{where}/text")
        fields = block.get("fields", [])
        if len(fields) > MAX_SECTION_FIELDS:
            raise InvalidBlocks(f"no more than {MAX_SECTION_FIELDS} items allowed [json-pointer:{where}/fields]")
        for i, item in enumerate(fields):
            _check_text(item, MAX_FIELD_TEXT, f"{where}/fields/{i}")
        if "accessory" in block:
            _validate_element(block["accessory"], f"{where}/accessory")
    elif kind == "header":
        _check_text(block.get("text"), MAX_HEADER_TEXT, f"{where}/text", plain_only=True)
    elif kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            raise InvalidBlocks(f"missing required field: elements [json-pointer:{where}]")
        if len(elements) > MAX_ACTIONS_ELEMENTS:
            raise InvalidBlocks(f"no more than {MAX_ACTIONS_ELEMENTS} items allowed [json-pointer:{where}/elements]")
        for i, element in enumerate(elements):
            _validate_element(element, f"{where}/elements/{i}")
    elif kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements or len(elements) > MAX_CONTEXT_ELEMENTS:
            raise InvalidBlocks(f"context needs 1 to {MAX_CONTEXT_ELEMENTS} elements [json-pointer:{where}]")
    elif kind == "input":
        if "label" not in block or "element" not in block:
            raise InvalidBlocks(f"input needs label and element [json-pointer:{where}]")
        _check_text(block["label"], 2000, f"{where}/label", plain_only=True)
        _validate_element(block["element"], f"{where}/element")


def _validate_element(element: object, where: str) -> None:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        raise InvalidBlocks(f"missing required field: type [json-pointer:{where}]")
    if "action_id" in element:
        _check_len(element["action_id"], MAX_ACTION_ID, f"{where}/action_id")
    if element["type"] == "button":
        _check_text(element.get("text"), MAX_BUTTON_TEXT, f"{where}/text", plain_only=True)


def _check_text(text: object, limit: int, where: str, *, plain_only: bool = False) -> None:
    if not isinstance(text, dict) or text.get("type") not in _TEXT_TYPES or not isinstance(text.get("text"), str):
        raise InvalidBlocks(f"must be a text object [json-pointer:{where}]")
    if plain_only and text["type"] != "plain_text":
        raise InvalidBlocks(f"must be a plain_text object [json-pointer:{where}]")
    _check_len(text["text"], limit, f"{where}/text")


def _check_len(value: object, limit: int, where: str) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidBlocks(f"must be a non-empty string [json-pointer:{where}]")
    if len(value) > limit:
        raise InvalidBlocks(f"must be less than {limit + 1} characters [json-pointer:{where}]")


def interactive_elements(blocks: list[dict[str, Any]] | None) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """(block_id, element) for every interactive element in the blocks."""
    for block in blocks or []:
        block_id = block.get("block_id")
        if block["type"] == "actions":
            for element in block.get("elements", []):
                yield block_id, element
        elif block["type"] == "section" and "accessory" in block:
            yield block_id, block["accessory"]
        elif block["type"] == "input":
            yield block_id, block["element"]


def find_button(blocks: list[dict[str, Any]] | None, action_id: str) -> tuple[str | None, dict[str, Any]] | None:
    """(block_id, button) of the button with this action_id, or None."""
    for block_id, element in interactive_elements(blocks):
        if element.get("type") == "button" and element.get("action_id") == action_id:
            return block_id, element
    return None


def with_block_ids(blocks: list[dict[str, Any]] | None, make_id: Callable[[], str]) -> list[dict[str, Any]] | None:
    """Slack fills in a block_id on every block that has none; so does the sandbox."""
    if blocks is None:
        return None
    return [block if "block_id" in block else {**block, "block_id": make_id()} for block in blocks]
