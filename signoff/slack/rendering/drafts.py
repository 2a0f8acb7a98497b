"""A draft's messages (body split across as many as needed, then the control message with
the decision buttons) and the thread's parent message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    DividerBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from signoff.contracts.mrkdwn import escape, mention, mentions
from signoff.contracts.workflow_io import (
    MAX_EDIT_CHARS,
    DraftState,
    DraftView,
    Phase,
    WorkflowKind,
)
from signoff.slack import action_ids
from signoff.slack.action_ids import ButtonValue
from signoff.slack.rendering.text import (
    MAX_BLOCKS_PER_MESSAGE,
    MAX_BODY_CHARS_PER_MESSAGE,
    MAX_FALLBACK_TEXT_CHARS,
    MAX_SECTION_CHARS,
    PHASE_LABELS,
    context_block,
    fit,
    header_block,
    kind_label,
    markdown_to_mrkdwn,
    mrkdwn_link,
    phase_label,
    section_block,
    split_mrkdwn,
)


@dataclass
class DraftMessage:
    """One chat.postMessage worth of draft: notification text plus blocks."""

    text: str
    blocks: list[Block]


# ---------------------------------------------------------------------------
# Draft messages
# ---------------------------------------------------------------------------

_STATE_LINES = {
    DraftState.APPROVED: ":white_check_mark: *Approved.*",
    DraftState.REJECTED: ":x: *Rejected.*",
    DraftState.EXPIRED: ":alarm_clock: *Expired:* no decision was made before the deadline.",
    DraftState.CANCELLED: ":no_entry_sign: *Cancelled:* the workflow was cancelled.",
}


def state_line(view: DraftView) -> str:
    if view.state == DraftState.SUPERSEDED:
        return f":arrows_counterclockwise: *Superseded* by revision {view.revision + 1}."
    if view.state == DraftState.REVISION_REQUESTED:
        return f":pencil2: *Revision requested;* revision {view.revision + 1} is being written."
    if view.state == DraftState.OPEN:
        return ":raised_hand: *Waiting for a decision.*"
    return _STATE_LINES.get(view.state, f"*{escape(str(view.state))}*")


def quorum_line(approvals: Sequence[str], required: int) -> str:
    line = f"{len(approvals)} of {required} approvals"
    if approvals:
        line += f": {mentions(list(approvals))}"
    return line


def decision_buttons(view: DraftView, block_id: str) -> ActionsBlock:
    """Approve / Edit & approve (or Approve with comment) / Request revision / Reject, each
    carrying which draft it decides.

    Edit & approve shows where edits are allowed and the text fits Slack's form, Approve with
    comment elsewhere; Request revision where revisions are allowed.
    """
    value = ButtonValue(workflow_id=view.workflow_id, revision=view.revision, pool=view.pool_group).encode()
    elements = [
        ButtonElement(
            text=PlainTextObject(text="Approve", emoji=True),
            action_id=action_ids.APPROVE,
            value=value,
            style="primary",
        )
    ]
    if can_edit_here(view):
        elements.append(
            ButtonElement(
                text=PlainTextObject(text="Edit & approve", emoji=True), action_id=action_ids.EDIT_APPROVE, value=value
            )
        )
    else:
        elements.append(
            ButtonElement(
                text=PlainTextObject(text="Approve with comment", emoji=True),
                action_id=action_ids.COMMENT_APPROVE,
                value=value,
            )
        )
    if view.allow_revision:
        elements.append(
            ButtonElement(
                text=PlainTextObject(text="Request revision", emoji=True),
                action_id=action_ids.REQUEST_REVISION,
                value=value,
            )
        )
    elements.append(
        ButtonElement(
            text=PlainTextObject(text="Reject", emoji=True),
            action_id=action_ids.REJECT,
            value=value,
            style="danger",
            # Rejecting ends the workflow; one stray click must not do that.
            confirm=ConfirmObject(
                title="Reject this draft?",
                text=f"Revision {view.revision} will be rejected and the workflow will end.",
                confirm="Reject",
                deny="Keep reviewing",
                style="danger",
            ),
        )
    )
    return ActionsBlock(block_id=block_id, elements=elements)


def routing_blocks(view: DraftView) -> list[Block]:
    """Who has it, beside the decisions: Claim (a pooled request nobody has claimed), Release (a claimed
    one), Delegate (every routed draft), each a section's button so the decision row stays as it was."""
    if not view.routing:
        return []
    value = ButtonValue(workflow_id=view.workflow_id, revision=view.revision, pool=view.pool_group).encode()

    def line(text: str, label: str, action_id: str) -> SectionBlock:
        button = ButtonElement(text=PlainTextObject(text=label, emoji=True), action_id=action_id, value=value)
        return SectionBlock(text=MarkdownTextObject(text=text), accessory=button)

    blocks: list[Block] = []
    if view.claimed_by is not None:
        blocks.append(line(f"Claimed by {mention(view.claimed_by)}: only they decide.", "Release", action_ids.RELEASE))
    elif view.claimable:
        blocks.append(line("Nobody has claimed this yet: claim it to be its one decider.", "Claim", action_ids.CLAIM))
    blocks.append(line("Someone else should decide? Hand it over.", "Delegate", action_ids.DELEGATE))
    return blocks


def can_edit_here(view: DraftView) -> bool:
    """Edits are allowed and the text fits the edit form."""
    return view.allow_edits and 0 < len(view.body) <= MAX_EDIT_CHARS


def _draft_title(view: DraftView) -> str:
    return f"Draft revision {view.revision}: {view.subject}"


def dm_reminder_blocks(text: str, view: DraftView) -> list[Block]:
    """A reminder in a decider's DM: what it is about, then the draft's status and its buttons."""
    return [section_block(text), *_control_tail(view)]


def _control_tail(view: DraftView) -> list[Block]:
    """Everything below the body in the control message: status, quorum, buttons, link."""
    blocks: list[Block] = []
    status = [state_line(view)]
    if view.status_note:
        status.append(view.status_note)
    blocks.append(context_block(*status))
    if view.required_approvals > 1:
        blocks.append(context_block(quorum_line(view.approvals, view.required_approvals)))
    if view.state == DraftState.OPEN:
        if view.allow_edits and not can_edit_here(view):
            blocks.append(
                context_block(
                    f"_This draft is {len(view.body):,} characters; Slack's form holds {MAX_EDIT_CHARS:,}, "
                    "so it cannot be edited here: approve it, or ask for a revision._"
                )
            )
        blocks.append(decision_buttons(view, block_id=f"{action_ids.DECISION_BLOCK}:{view.revision}"))
        blocks += routing_blocks(view)
    if view.workflow_url:
        blocks.append(context_block(mrkdwn_link(view.workflow_url, "Open the workflow in Temporal")))
    return blocks


def fallback_text(text: str) -> str:
    return fit(text, MAX_FALLBACK_TEXT_CHARS)


def draft_messages(view: DraftView) -> list[DraftMessage]:
    """The messages that show one draft; the last one is the control message.

    A normal draft is one message (header, body, status, buttons). A body too
    long for one message goes into as many preceding messages as needed, and
    the control message then carries only the header, a pointer and the controls.
    The split is deterministic, so rebuilding ``[-1]`` later (chat.update) gives
    the same control message layout.
    """
    sections = split_mrkdwn(markdown_to_mrkdwn(view.body)) if view.body.strip() else []
    tail = _control_tail(view)
    title = _draft_title(view)
    body_chars = sum(len(s) for s in sections)
    # header + sections + divider + tail
    if body_chars <= MAX_BODY_CHARS_PER_MESSAGE and 1 + len(sections) + 1 + len(tail) <= MAX_BLOCKS_PER_MESSAGE:
        blocks: list[Block] = [header_block(title)]
        blocks += [section_block(text) for text in sections] or [section_block("_(empty draft)_")]
        blocks.append(DividerBlock())
        blocks += tail
        return [DraftMessage(text=fallback_text(title), blocks=blocks)]

    # Each part: header or part marker + sections + a "part i of n" context.
    per_part = MAX_BLOCKS_PER_MESSAGE - 2
    parts: list[list[str]] = [[]]
    part_chars = 0
    for text in sections:
        if parts[-1] and (len(parts[-1]) >= per_part or part_chars + len(text) > MAX_BODY_CHARS_PER_MESSAGE):
            parts.append([])
            part_chars = 0
        parts[-1].append(text)
        part_chars += len(text)

    messages: list[DraftMessage] = []
    total = len(parts)
    for number, part in enumerate(parts, start=1):
        blocks = [header_block(title)] if number == 1 else []
        blocks += [section_block(text) for text in part]
        blocks.append(context_block(f"Part {number} of {total} of revision {view.revision}"))
        messages.append(DraftMessage(text=fallback_text(f"{title} (part {number} of {total})"), blocks=blocks))
    control: list[Block] = [
        header_block(title),
        section_block(f"The full draft is in the {total} messages above. Read it there, then decide here."),
        DividerBlock(),
        *tail,
    ]
    messages.append(DraftMessage(text=fallback_text(title), blocks=control))
    return messages


# ---------------------------------------------------------------------------
# Thread parent
# ---------------------------------------------------------------------------


def thread_parent(
    kind: WorkflowKind,
    subject: str,
    requester_id: str | None,
    workflow_id: str,
    phase: Phase,
    workflow_url: str | None = None,
) -> tuple[str, list[Block]]:
    """The thread's first message; rebuilt with chat.update as the phase changes."""
    label = kind_label(kind)
    lines = [f"*{label}:* {fit(subject, MAX_SECTION_CHARS - 200)}"]
    if requester_id:
        lines.append(f"Requested by {mention(requester_id)}")
    blocks: list[Block] = [section_block("\n".join(lines))]
    context = [f"*{phase_label(phase)}*", f"`{fit(workflow_id, 500)}`"]
    if workflow_url:
        context.append(mrkdwn_link(workflow_url, "Temporal"))
    blocks.append(context_block(*context))
    if not phase.is_terminal:
        blocks.append(context_block("Progress and the draft for sign-off will appear in this thread."))
    text = fallback_text(f"{label}: {subject} ({PHASE_LABELS.get(phase, ('', str(phase)))[1]})")
    return text, blocks
