"""What an approver sees of a tool call is what runs: cuts are counted, the full view is exact JSON."""

from __future__ import annotations

import html
import json

from signoff.contracts.tool_calls import ToolCallRecord, ToolCallState, ToolCallView
from signoff.slack import action_ids
from signoff.slack.rendering.tool_calls import argument_preview, tool_arguments_modal, tool_call_message
from tests.support.block_checks import validate_blocks, validate_view
from tests.support.slack import LIVE_BROADCAST

# 279 characters, 12 of them line breaks; the link and the broadcast come last.
AGENDA = "".join(f"Item {n}: see below.\n" for n in range(1, 13))
LINK = " Details: https://evil.example/pay <!channel>"
SNEAKY = AGENDA + ("Lunch is at noon. " * 20)[: 279 - len(AGENDA) - len(LINK)] + LINK


def view(arguments: dict, **extra: object) -> ToolCallView:
    return ToolCallView("plan-1", 3, "ExecutorAgent", "post_message", arguments, ToolCallState.PENDING, **extra)  # type: ignore[arg-type]


def actions(blocks: list[dict]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def modal_json(modal: dict) -> str:
    """The JSON the modal shows, as Slack renders it (fences off, entities decoded)."""
    pieces = [b["text"]["text"] for b in modal["blocks"][1:] if b["type"] == "section"]
    assert all(p.startswith("```\n") and p.endswith("\n```") for p in pieces)
    return html.unescape("".join(p[4:-4] for p in pieces))


def test_a_short_text_made_long_by_escaping_and_line_breaks_is_cut_with_a_count_and_the_button() -> None:
    assert len(SNEAKY) == 279 and SNEAKY.count("\n") == 12
    _, blocks = tool_call_message(view({"channel": "#random", "text": SNEAKY}))
    rendered = validate_blocks(blocks)
    shown = json.dumps(rendered)
    assert "showing" in shown and "of 279 characters" in shown
    assert action_ids.TOOL_SHOW_ARGUMENTS in actions(rendered)
    assert not LIVE_BROADCAST.search(shown)


def test_a_preview_counts_the_characters_it_shows() -> None:
    preview, kept = argument_preview("a<b\nc" * 100, limit=50)
    assert len(preview) <= 50 and preview.endswith("…") and 0 < kept < 500
    assert preview[:-1] == argument_preview(("a<b\nc" * 100)[:kept], limit=10_000)[0]
    assert argument_preview("short") == ("short", 5)


def test_every_argument_shown_whole_needs_no_cut_mark() -> None:
    _, blocks = tool_call_message(view({"channel": "#random", "text": "Lunch at 12 <!here>"}))
    shown = json.dumps(validate_blocks(blocks))
    assert "Lunch at 12 &lt;!here&gt;" in shown and "showing" not in shown
    assert not LIVE_BROADCAST.search(shown)


def test_hidden_characters_are_named_in_the_message() -> None:
    # A right-to-left override and an invisible tag character would make the text read otherwise.
    _, blocks = tool_call_message(view({"channel": "#random", "text": "pay \u202emoc.live\U000e0041"}))
    shown = json.dumps(validate_blocks(blocks), ensure_ascii=False)
    assert "[U+202E]" in shown and "[U+E0041]" in shown and "\u202e" not in shown


def test_the_modal_holds_exactly_the_arguments_that_run() -> None:
    arguments = {
        "channel": "<#C0RANDOM0|random>",
        "text": SNEAKY + " & <@U0APPROV1> \u202e\U000e0041 " + "word " * 1_500 + "\ud800 é 日本",
    }
    modal = validate_view(
        tool_arguments_modal(ToolCallRecord(3, "ExecutorAgent", "post_message", arguments, ToolCallState.PENDING))
    )
    assert json.loads(modal_json(modal)) == arguments
    raw = json.dumps(modal)
    assert not LIVE_BROADCAST.search(raw) and "<@U0APPROV1>" not in raw


def test_what_does_not_fit_a_modal_is_counted() -> None:
    arguments = {"channel": "#random", "markdown": "<&>" * 100_000}
    modal = validate_view(
        tool_arguments_modal(ToolCallRecord(1, "ExecutorAgent", "share_document", arguments, ToolCallState.PENDING))
    )
    assert len(modal["blocks"]) == 100
    whole = json.dumps(arguments, ensure_ascii=False, indent=2)
    shown = modal_json({"blocks": modal["blocks"][:-1]})
    assert whole.startswith(shown)
    note = modal["blocks"][-1]["elements"][0]["text"]
    assert f"the last {len(whole) - len(shown):,} of {len(whole):,} characters" in note


def test_always_allow_says_it_covers_this_channel_only() -> None:
    _, blocks = tool_call_message(view({"channel": "#random", "text": "Hi"}, always_allow_target="#random"))
    rendered = validate_blocks(blocks)
    shown = json.dumps(rendered)
    assert "`post_message` in #random for this run" in shown
    [always] = [
        e
        for b in rendered
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_ids.TOOL_ALWAYS_ALLOW
    ]
    assert "#random" in always["confirm"]["title"]["text"]
    assert "post_message call in #random" in always["confirm"]["text"]["text"]
    assert "other channel" in always["confirm"]["text"]["text"]
