"""A tool call's approval message and modals: model arguments shown safely, within Slack's limits."""

from __future__ import annotations

import json

from signoff.contracts.tool_calls import ToolCallRecord, ToolCallState, ToolCallView
from signoff.slack import action_ids
from signoff.slack.action_ids import ButtonValue, ModalMetadata
from signoff.slack.rendering.tool_calls import (
    MAX_ARGUMENT_PREVIEW_CHARS,
    tool_arguments_modal,
    tool_call_message,
    tool_deny_modal,
)
from tests.support.block_checks import validate_blocks, validate_view

HOSTILE = "<!channel> ping <@U0APPROV1> & <https://evil.example|click>"


def view(arguments: dict, state: ToolCallState = ToolCallState.PENDING, **extra: object) -> ToolCallView:
    return ToolCallView(
        workflow_id="plan-1",
        call_number=3,
        agent="ExecutorAgent",
        tool="post_message",
        arguments=arguments,
        state=state,
        **extra,  # type: ignore[arg-type]
    )


def action_values(blocks: list[dict]) -> dict[str, str]:
    return {e["action_id"]: e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]}


def test_pending_message_has_the_three_buttons_for_this_call() -> None:
    text, blocks = tool_call_message(view({"channel": "#random", "text": "Hello"}))
    rendered = validate_blocks(blocks)
    values = action_values(rendered)
    assert list(values) == [action_ids.TOOL_ALLOW, action_ids.TOOL_ALWAYS_ALLOW, action_ids.TOOL_DENY]
    assert {ButtonValue.decode(v) for v in values.values()} == {ButtonValue("plan-1", 3)}
    assert "post_message" in json.dumps(rendered) and "#random" in json.dumps(rendered)
    assert "Tool call 3" in text


def test_mentions_and_links_in_arguments_never_ping() -> None:
    text, blocks = tool_call_message(view({"channel": "#random", "text": HOSTILE}))
    rendered = json.dumps(validate_blocks(blocks))
    assert "<!channel>" not in rendered and "<@U0APPROV1>" not in rendered and "<https://" not in rendered
    assert "&lt;!channel&gt;" in rendered
    assert "<" not in text


def test_huge_arguments_stay_within_block_kit_limits_and_are_one_click_away() -> None:
    huge = "x" * 50_000
    many = {f"arg{i}": i for i in range(20)}
    for arguments in ({"channel": "#random", "text": huge}, many, {"nested": {"deep": [huge]}}):
        _, blocks = tool_call_message(view(arguments))
        rendered = validate_blocks(blocks)
        # Cut in the message, whole behind "Show full arguments".
        assert action_ids.TOOL_SHOW_ARGUMENTS in action_values(rendered)
        assert len(json.dumps(rendered)) < 12_000


def test_short_arguments_need_no_full_view() -> None:
    _, blocks = tool_call_message(view({"channel": "#random", "text": "x" * MAX_ARGUMENT_PREVIEW_CHARS}))
    assert action_ids.TOOL_SHOW_ARGUMENTS not in action_values(validate_blocks(blocks))


def test_decided_message_has_no_decision_buttons() -> None:
    for state in (ToolCallState.ALLOWED, ToolCallState.DENIED, ToolCallState.EXPIRED, ToolCallState.CANCELLED):
        _, blocks = tool_call_message(view({"channel": "#random"}, state, status_note="Denied by <@U0APPROV2>."))
        rendered = validate_blocks(blocks)
        assert not {action_ids.TOOL_ALLOW, action_ids.TOOL_DENY} & set(action_values(rendered))
    assert "Timed out" in json.dumps(validate_blocks(tool_call_message(view({}, ToolCallState.EXPIRED))[1]))


def test_quorum_shows_who_allowed_so_far() -> None:
    _, blocks = tool_call_message(view({"channel": "#random"}, approvals=["U0APPROV1"], required_approvals=2))
    assert "1 of 2 approvals: <@U0APPROV1>" in json.dumps(validate_blocks(blocks))


def test_full_arguments_modal_holds_long_values_whole_and_stays_valid() -> None:
    long_text = "word " * 2_000
    record = ToolCallRecord(
        3, "ExecutorAgent", "post_message", {"text": long_text, "x": HOSTILE}, ToolCallState.PENDING
    )
    modal = validate_view(tool_arguments_modal(record))
    shown = "".join(b["text"]["text"] for b in modal["blocks"] if b["type"] == "section")
    assert shown.count("word") == 2_000
    assert "<!channel>" not in json.dumps(modal)
    enormous = ToolCallRecord(1, "A", "post_message", {"text": "y" * 1_000_000}, ToolCallState.PENDING)
    assert len(validate_view(tool_arguments_modal(enormous))["blocks"]) <= 100


def test_deny_modal_carries_the_call_and_an_optional_reason() -> None:
    metadata = ModalMetadata("plan-1", 3, "C0GENERAL", "1.2")
    modal = validate_view(tool_deny_modal(metadata, "post_message"))
    assert modal["callback_id"] == action_ids.TOOL_DENY_MODAL
    assert ModalMetadata.decode(modal["private_metadata"]) == metadata
    [reason] = [b for b in modal["blocks"] if b["type"] == "input"]
    assert reason["optional"] is True and reason["block_id"] == action_ids.REASON_BLOCK
