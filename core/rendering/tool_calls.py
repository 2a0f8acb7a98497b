"""A tool call's approval message, its full-arguments modal, its deny modal and the run's summary.

The arguments are model output: every value is escaped (a ``<!channel>`` in a message text
is shown, never sent as a ping) and cut to a readable length; the whole value is one click
away, in a modal.
"""

from __future__ import annotations

import json
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

from core import action_ids
from core.action_ids import ButtonValue, ModalMetadata
from core.contracts import MAX_NOTES_CHARS
from core.mrkdwn import agent_words, escape, mentions, truncate
from core.rendering.text import (
    MAX_BLOCKS_PER_VIEW,
    MAX_FALLBACK_TEXT_CHARS,
    MAX_SECTION_CHARS,
    context_block,
    fit,
    mrkdwn_link,
    section_block,
    split_mrkdwn,
)
from core.tool_calls import ToolCallRecord, ToolCallState, ToolCallView

# Each argument's value in the message; the modal shows it whole.
MAX_ARGUMENT_PREVIEW_CHARS = 300
MAX_ARGUMENTS_SHOWN = 8

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


def _argument_lines(arguments: dict[str, Any]) -> tuple[list[str], bool]:
    """One line per argument (escaped, cut), and whether anything was left out."""
    lines = []
    cut = len(arguments) > MAX_ARGUMENTS_SHOWN
    for name, value in list(arguments.items())[:MAX_ARGUMENTS_SHOWN]:
        text = argument_text(value)
        shown = fit(text.replace("\n", " ⏎ "), MAX_ARGUMENT_PREVIEW_CHARS)
        if len(text) > MAX_ARGUMENT_PREVIEW_CHARS:
            cut = True
            shown += f" _({len(text):,} characters)_"
        lines.append(f"*{fit(str(name), 60)}:* {shown}")
    return lines, cut


def tool_call_title(view: ToolCallView | ToolCallRecord) -> str:
    return f"`{fit(view.tool, 80)}` (call {view.call_number}) by {agent_words(view.agent)}"


def tool_call_buttons(workflow_id: str, call_number: int) -> ActionsBlock:
    """Allow / Always allow / Deny, each carrying which call of which workflow it decides."""
    value = ButtonValue(workflow_id=workflow_id, revision=call_number).encode()
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
                # Lets every later call of this tool in this run through without asking.
                confirm=ConfirmObject(
                    title="Always allow this tool?",
                    text="This call and every later call of this tool in this run will run without asking.",
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
    blocks: list[Block] = [
        section_block(f":hammer_and_wrench: {title} wants to run:"),
        section_block("\n".join(lines) if lines else "_no arguments_"),
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
    blocks.append(context_block(" · ".join(status)))
    elements: list[ButtonElement] = []
    if view.state is ToolCallState.PENDING:
        blocks.append(tool_call_buttons(view.workflow_id, view.call_number))
    if cut:
        elements.append(_show_arguments_button(view.workflow_id, view.call_number))
        blocks.append(ActionsBlock(block_id=f"signoff_tool_more_{view.call_number}", elements=elements))
    text = truncate(f"Tool call {view.call_number}: {view.tool} ({view.state.value})", MAX_FALLBACK_TEXT_CHARS)
    return escape(text), blocks


def tool_arguments_modal(record: ToolCallRecord) -> View:
    """Every argument whole, as far as a modal holds (100 blocks of 3,000 characters)."""
    blocks: list[Block] = [section_block(f"{tool_call_title(record)} asked to run with:")]
    for name, value in record.arguments.items():
        blocks.append(section_block(f"*{fit(str(name), 60)}*"))
        for part in split_mrkdwn(escape(argument_text(value)), MAX_SECTION_CHARS):
            blocks.append(section_block(part))
    if len(blocks) > MAX_BLOCKS_PER_VIEW:
        blocks = [*blocks[: MAX_BLOCKS_PER_VIEW - 1], context_block("_The rest is too long to show here._")]
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
