"""A tool call's approval message, its full-arguments modal, its deny modal and the run's summary.

The arguments are model output: every value is escaped (a ``<!channel>`` in a message text
is shown, never sent as a ping) and invisible characters are named. A value longer than the
message shows is cut with a count ("showing 240 of 1,310 characters") and the message offers
"Show full arguments": a modal with the exact JSON the tool runs with.
"""

from __future__ import annotations

import json
import unicodedata
from bisect import bisect_right
from itertools import accumulate
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    InputBlock,
    PlainTextInputElement,
    PlainTextObject,
)
from slack_sdk.models.views import View

from signoff.contracts.mrkdwn import agent_words, escape, mentions, truncate
from signoff.contracts.tool_calls import ToolCallRecord, ToolCallState, ToolCallView
from signoff.contracts.workflow_io import MAX_NOTES_CHARS
from signoff.slack import action_ids
from signoff.slack.action_ids import ButtonValue, ModalMetadata
from signoff.slack.rendering.text import (
    MAX_BLOCKS_PER_VIEW,
    MAX_FALLBACK_TEXT_CHARS,
    MAX_SECTION_CHARS,
    context_block,
    fit,
    mrkdwn_link,
    section_block,
)

# Each argument's value in the message, in characters as shown (escaped, line breaks marked);
# the modal shows it whole.
MAX_ARGUMENT_PREVIEW_CHARS = 300
MAX_ARGUMENTS_SHOWN = 8
LINE_BREAK = " ⏎ "
# Characters a reader cannot see, or that reorder or hide what follows (bidi overrides, zero-width
# and tag characters), and lone surrogates: named in the message, \u-escaped in the JSON.
_HIDDEN_CATEGORIES = frozenset({"Cf", "Cs", "Co", "Zl", "Zp", "Cc"})
_SHOWN_AS_IS = frozenset("\n\t")
# Room for "```\n" and "\n```" around each piece of the JSON in the modal.
_CODE_FENCES = 8

_STATE_LINES = {
    ToolCallState.PENDING: ":raised_hand: *Waiting for a decision.*",
    ToolCallState.ALLOWED: ":white_check_mark: *Allowed.*",
    ToolCallState.DENIED: ":no_entry: *Denied:* the call was not made.",
    ToolCallState.EXPIRED: ":alarm_clock: *Timed out:* no decision before the deadline; the call was not made.",
    ToolCallState.CANCELLED: ":no_entry_sign: *Cancelled:* the workflow was cancelled; the call was not made.",
    ToolCallState.DONE: ":white_check_mark: *Done.*",
    ToolCallState.FAILED: ":warning: *Failed.*",
}


def argument_text(value: Any) -> str:
    """An argument as a person reads it: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=1)


def _hidden(char: str) -> bool:
    return char not in _SHOWN_AS_IS and unicodedata.category(char) in _HIDDEN_CATEGORIES


def _shown_char(char: str) -> str:
    """One character as the message shows it: escaped, a line break marked, a hidden one named."""
    if char == "\n":
        return LINE_BREAK
    if _hidden(char):
        return f"[U+{ord(char):04X}]"
    return escape(char)


def argument_preview(text: str, limit: int = MAX_ARGUMENT_PREVIEW_CHARS) -> tuple[str, int]:
    """The longest start of ``text`` whose shown form (escaped, marked) fits ``limit`` with its cut
    mark, and how many of ``text``'s characters that is (``len(text)`` when it is all there)."""
    pieces = [_shown_char(char) for char in text]
    ends = list(accumulate(len(piece) for piece in pieces))
    if not ends or ends[-1] <= limit:
        return "".join(pieces), len(text)
    kept = bisect_right(ends, limit - 1)
    return "".join(pieces[:kept]) + "…", kept


def _argument_lines(arguments: dict[str, Any]) -> tuple[list[str], bool]:
    """One line per argument (escaped, cut with a count), and whether anything was left out."""
    lines = []
    cut = False
    for name, value in list(arguments.items())[:MAX_ARGUMENTS_SHOWN]:
        text = argument_text(value)
        shown, kept = argument_preview(text)
        if kept < len(text):
            cut = True
            shown += f" _(cut: showing {kept:,} of {len(text):,} characters; see Show full arguments)_"
        lines.append(f"*{fit(str(name), 60)}:* {shown}")
    if len(arguments) > MAX_ARGUMENTS_SHOWN:
        cut = True
        left = len(arguments) - MAX_ARGUMENTS_SHOWN
        lines.append(f"_(cut: {left:,} more argument{'s' if left > 1 else ''} not shown; see Show full arguments)_")
    return lines, cut


def arguments_json(arguments: dict[str, Any]) -> str:
    """The arguments exactly as the tool gets them, as readable JSON: indented, letters as they are,
    hidden characters as \\u escapes (``json.loads`` gives the arguments back)."""
    text = json.dumps(arguments, ensure_ascii=False, indent=2)
    return "".join(_json_escape(char) if _hidden(char) else char for char in text)


def _json_escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _json_pieces(text: str, size: int) -> list[str]:
    """``text`` in pieces each at most ``size`` characters once escaped, cut after a line break or a
    space in a piece's second half when there is one; joined, they are ``text``."""
    pieces = []
    start = 0
    while start < len(text):
        ends = list(accumulate(len(escape(char)) for char in text[start : start + size]))
        end = start + bisect_right(ends, size)
        if end < len(text):
            half = start + (end - start) // 2
            gap = max(text.rfind("\n", half, end), text.rfind(" ", half, end))
            end = gap + 1 if gap >= 0 else end
        pieces.append(text[start:end])
        start = end
    return pieces


def tool_call_title(view: ToolCallView | ToolCallRecord) -> str:
    return f"`{fit(view.tool, 80)}` (call {view.call_number}) by {agent_words(view.agent)}"


def always_allow_words(tool: str, target: str | None) -> str:
    """What Always allow covers (plain text; ``target`` None: the whole tool, ``""``: no channel)."""
    where = f" in {truncate(target, 80)}" if target else ""
    if target is None:
        return f"This call and every later call of {truncate(tool, 80)} in this run will run without asking."
    return (
        f"This call and every later {truncate(tool, 80)} call{where} in this run will run without asking; "
        "calls to any other channel still ask."
    )


def tool_call_buttons(
    workflow_id: str, call_number: int, tool: str = "", target: str | None = None, pool: str | None = None
) -> ActionsBlock:
    """Allow / Always allow / Deny, each carrying which call of which workflow it decides (and ``pool``,
    the user group whose members decide, so the bot checks membership there)."""
    value = ButtonValue(workflow_id=workflow_id, revision=call_number, pool=pool).encode()
    title = f"Always allow in {truncate(target, 60)}?" if target else "Always allow this tool?"
    return ActionsBlock(
        block_id=f"{action_ids.TOOL_DECISION_BLOCK}_{call_number}",
        elements=[
            ButtonElement(
                text=PlainTextObject(text="Allow", emoji=True),
                action_id=action_ids.TOOL_ALLOW,
                value=value,
                style="primary",
            ),
            ButtonElement(
                text=PlainTextObject(text="Always allow", emoji=True),
                action_id=action_ids.TOOL_ALWAYS_ALLOW,
                value=value,
                # Lets later calls of this tool (to this channel) in this run through without asking.
                confirm=ConfirmObject(
                    title=title,
                    text=always_allow_words(tool or "this tool", target),
                    confirm="Always allow",
                    deny="Cancel",
                ),
            ),
            ButtonElement(
                text=PlainTextObject(text="Deny", emoji=True),
                action_id=action_ids.TOOL_DENY,
                value=value,
                style="danger",
            ),
        ],
    )


def _show_arguments_button(workflow_id: str, call_number: int) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text="Show full arguments", emoji=True),
        action_id=action_ids.TOOL_SHOW_ARGUMENTS,
        value=ButtonValue(workflow_id=workflow_id, revision=call_number).encode(),
    )


def tool_call_message(view: ToolCallView) -> tuple[str, list[Block]]:
    """The approval message: who wants to call what, with which arguments, and the buttons."""
    title = tool_call_title(view)
    lines, cut = _argument_lines(view.arguments)
    # One section each: eight arguments of 300 characters would not fit one section's 3,000.
    blocks: list[Block] = [
        section_block(f":hammer_and_wrench: {title} wants to run:"),
        *(section_block(line) for line in lines or ["_no arguments_"]),
    ]
    state_line = _STATE_LINES.get(view.state, f"*{escape(str(view.state))}*")
    # A decided call's note says it all ("Allowed by …"): keep the state's emoji, not its words twice.
    status = [f"{state_line.split(' ', 1)[0]} {view.status_note}" if view.status_note else state_line]
    if view.required_approvals > 1 and view.state is ToolCallState.PENDING:
        approvals = f"{len(view.approvals)} of {view.required_approvals} approvals"
        if view.approvals:
            approvals += f": {mentions(list(view.approvals))}"
        status.append(approvals)
    if view.workflow_url:
        status.append(mrkdwn_link(view.workflow_url, "Temporal"))
    context = [" · ".join(status)]
    pending = view.state is ToolCallState.PENDING
    if pending and view.always_allow_target is not None:
        where = f" in {fit(view.always_allow_target, 80)}" if view.always_allow_target else ""
        context.append(f"_Always allow_: `{fit(view.tool, 80)}`{where} for this run; other channels still ask.")
    blocks.append(context_block(*context))
    elements: list[ButtonElement] = []
    if pending:
        blocks.append(
            tool_call_buttons(view.workflow_id, view.call_number, view.tool, view.always_allow_target, view.pool_group)
        )
    if cut:
        elements.append(_show_arguments_button(view.workflow_id, view.call_number))
        blocks.append(ActionsBlock(block_id=f"signoff_tool_more_{view.call_number}", elements=elements))
    text = truncate(f"Tool call {view.call_number}: {view.tool} ({view.state.value})", MAX_FALLBACK_TEXT_CHARS)
    return escape(text), blocks


def _modal_pieces(arguments: dict[str, Any]) -> list[str]:
    return _json_pieces(arguments_json(arguments), MAX_SECTION_CHARS - _CODE_FENCES)


def arguments_fit_modal(arguments: dict[str, Any]) -> bool:
    """Whether "Show full arguments" shows every character of ``arguments`` (a modal's blocks hold them)."""
    return len(_modal_pieces(arguments)) <= MAX_BLOCKS_PER_VIEW - 1


def tool_arguments_modal(record: ToolCallRecord) -> View:
    """The exact JSON the call runs with, as far as a modal holds (100 blocks of 3,000 characters),
    with a count of what does not fit."""
    text = arguments_json(record.arguments)
    pieces = _modal_pieces(record.arguments)
    blocks: list[Block] = [
        section_block(
            f"{tool_call_title(record)} runs with exactly these arguments (JSON; characters you could not see are written as \\u escapes):"
        )
    ]
    room = MAX_BLOCKS_PER_VIEW - len(blocks)
    left_out = ""
    if len(pieces) > room:
        pieces = pieces[: room - 1]
        left = len(text) - sum(len(piece) for piece in pieces)
        left_out = (
            f":warning: Not shown: the last {left:,} of {len(text):,} characters of the JSON "
            "(more than a Slack modal holds). The call runs with all of them."
        )
    blocks.extend(section_block(f"```\n{escape(piece)}\n```") for piece in pieces)
    if left_out:
        blocks.append(context_block(left_out))
    return View(type="modal", title=PlainTextObject(text="Tool call arguments"), blocks=blocks)


def tool_deny_modal(metadata: ModalMetadata, tool: str) -> View:
    """Deny, with an optional reason that goes back to the agent."""
    return View(
        type="modal",
        callback_id=action_ids.TOOL_DENY_MODAL,
        private_metadata=metadata.encode(),
        title=PlainTextObject(text="Deny tool call"),
        submit=PlainTextObject(text="Deny"),
        close=PlainTextObject(text="Cancel"),
        blocks=[
            section_block(f"Deny `{fit(tool, 80)}` (call {metadata.revision})? The agent is told, with your reason."),
            InputBlock(
                block_id=action_ids.REASON_BLOCK,
                label=PlainTextObject(text="Reason for the agent"),
                optional=True,
                element=PlainTextInputElement(
                    action_id=action_ids.REASON_INPUT, multiline=True, max_length=MAX_NOTES_CHARS
                ),
            ),
        ],
    )
