"""Pure Block Kit builders for every message, modal and App Home the app shows.

Nothing here does I/O, so the same functions serve the Bolt listeners and the
Temporal activities (which rebuild a draft's control message when its state
changes) and are tested on ``.to_dict()`` alone.

Every piece of user or model text goes through ``workflows.mrkdwn.escape`` before
it is placed in a text object, so a subject such as ``<!channel>`` is shown
literally and pings nobody; the only real mentions are the ones built here with
``workflows.mrkdwn.mention`` from Slack ids.

Slack rejects a payload that breaks one of its limits (``invalid_blocks``), and
a draft is model output of any length, so the builders keep every limit by
construction: long bodies are split into as many messages as needed and long
lists are cut with an "and N more" line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot import action_ids
from bot.action_ids import ButtonValue, ModalMetadata
from workflows.models import (
    MAX_NOTES_CHARS,
    DecisionKind,
    DecisionRecord,
    DraftState,
    Phase,
    Progress,
    ReviewRound,
    WorkflowKind,
)
from workflows.mrkdwn import escape, mention, mentions, truncate

# Slack's Block Kit limits (https://api.slack.com/reference/block-kit).
MAX_BLOCKS_PER_MESSAGE = 50
MAX_BLOCKS_PER_VIEW = 100
MAX_SECTION_CHARS = 3000
MAX_CONTEXT_TEXT_CHARS = 3000
MAX_CONTEXT_ELEMENTS = 10
MAX_HEADER_CHARS = 150
MAX_BUTTON_TEXT_CHARS = 75
MAX_MODAL_TITLE_CHARS = 24
MAX_FALLBACK_TEXT_CHARS = 3000

# Our own limit on body text per message, well under 50 full sections: Slack
# collapses very long messages behind "Show more" and a reader scrolling a thread
# is better served by several messages of readable size.
MAX_BODY_CHARS_PER_MESSAGE = 12_000

# Room kept in each body section for a code fence closed at the end of one
# section and reopened at the start of the next ("\n```" + "```\n").
_FENCE_RESERVE = 8

# How much of a list the status and home views show before "and N more".
MAX_LIST_ROWS = 40
MAX_DECISION_LOG_ROWS = 20
MAX_REVIEW_ROUND_ROWS = 20
MAX_HOME_PENDING = 15
MAX_HOME_MINE = 30
# A reviewer's feedback or a decision's notes shown inline in a status line.
MAX_INLINE_NOTES_CHARS = 280

KIND_LABELS = {
    WorkflowKind.REPORT: "Report",
    WorkflowKind.PLAN: "Plan",
}

PHASE_LABELS: dict[Phase, tuple[str, str]] = {
    Phase.STARTING: (":hourglass_flowing_sand:", "Starting"),
    Phase.RESEARCHING: (":mag:", "Researching"),
    Phase.WRITING: (":memo:", "Writing the draft"),
    Phase.REVIEWING: (":eyes:", "Reviewing the draft"),
    Phase.PLANNING: (":clipboard:", "Planning"),
    Phase.PENDING_APPROVAL: (":raised_hand:", "Waiting for approval"),
    Phase.REVISING: (":pencil2:", "Revising the draft"),
    Phase.EXECUTING: (":gear:", "Executing the plan"),
    Phase.APPROVED: (":white_check_mark:", "Approved"),
    Phase.COMPLETED: (":tada:", "Completed"),
    Phase.REJECTED: (":x:", "Rejected"),
    Phase.EXPIRED: (":alarm_clock:", "Expired"),
    Phase.CANCELLED: (":no_entry_sign:", "Cancelled"),
    Phase.FAILED: (":warning:", "Failed"),
}

DECISION_VERBS = {
    DecisionKind.APPROVE: "approved",
    DecisionKind.REQUEST_REVISION: "requested a revision of",
    DecisionKind.REJECT: "rejected",
}

# Commands listed by ``help_blocks``; escaped when rendered (``<topic>`` would
# otherwise be read by Slack as a link).
HELP_COMMANDS = (
    ("/report <topic>", "Research and write a report on a topic; the draft comes back here for sign-off."),
    ("/report status [id]", "Where a workflow is: phase, revision, review rounds, decisions."),
    ("/report list", "Your recent workflows and their status."),
    ("/report cancel <id>", "Cancel a running workflow."),
    ("/report help", "This message."),
    ("/plan <task>", "Plan a task; the plan is executed only after it is approved."),
)


# ---------------------------------------------------------------------------
# Data the builders take
# ---------------------------------------------------------------------------


@dataclass
class DraftView:
    """Everything needed to render one draft revision and its decision controls."""

    workflow_id: str
    kind: WorkflowKind
    subject: str
    revision: int
    # Model markdown; converted and escaped here.
    body: str
    state: DraftState
    approvals: list[str] = field(default_factory=list)
    required_approvals: int = 1
    # Slack mrkdwn the caller made safe (e.g. "Approved by <@U1>").
    status_note: str = ""
    workflow_url: str | None = None


@dataclass
class DraftMessage:
    """One chat.postMessage worth of draft: notification text plus blocks."""

    text: str
    blocks: list[Block]


@dataclass
class WorkflowRow:
    """One line of ``/report list`` when a full ``Progress`` is not at hand (e.g. from visibility)."""

    workflow_id: str
    kind: WorkflowKind
    subject: str
    phase: Phase
    requester_id: str | None = None
    started_at: datetime | None = None


# ---------------------------------------------------------------------------
# Small text helpers
# ---------------------------------------------------------------------------


def fit(text: str, limit: int) -> str:
    """Escape ``text`` and cut it so the *escaped* result is at most ``limit`` characters.

    Cutting before escaping keeps entities such as ``&amp;`` whole.
    """
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    keep = limit
    while keep > 0:
        escaped = escape(truncate(text, keep))
        if len(escaped) <= limit:
            return escaped
        # Shrink in proportion to the overshoot; entities make it non-linear.
        keep = min(keep - 1, keep * limit // len(escaped))
    return ""


def cut_mrkdwn(text: str, limit: int) -> str:
    """Cut already-safe mrkdwn without breaking an entity or a ``<…>`` link/mention."""
    if len(text) <= limit:
        return text
    cut = _safe_cut(text, limit - 1)
    return text[:cut] + "…"


def _safe_cut(text: str, cut: int) -> int:
    """Move ``cut`` back so it does not fall inside ``&amp;``-style entities or ``<…>``."""
    amp = text.rfind("&", max(0, cut - 5), cut)
    if amp > 0 and ";" not in text[amp:cut]:
        cut = amp
    lt = text.rfind("<", 0, cut)
    if lt > 0 and text.rfind(">", lt, cut) == -1:
        cut = lt
    return cut


def phase_label(phase: Phase) -> str:
    emoji, label = PHASE_LABELS.get(phase, (":grey_question:", str(phase)))
    return f"{emoji} {label}"


def kind_label(kind: WorkflowKind) -> str:
    return KIND_LABELS.get(kind, str(kind).title())


def _slack_date(at: datetime) -> str:
    """A date Slack renders in the reader's own timezone, with a UTC fallback."""
    if at.tzinfo is None:
        # Workflow timestamps are UTC (workflow.now()); a naive one is UTC too.
        at = at.replace(tzinfo=UTC)
    fallback = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def _link(url: str, label: str) -> str:
    # The URL is ours (settings + workflow id) but the id is user-influenced:
    # escape the control characters and the "|" that would end the URL early.
    return f"<{escape(url).replace('|', '%7C')}|{escape(label)}>"


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=cut_mrkdwn(text, MAX_SECTION_CHARS)))


def _context(*texts: str) -> ContextBlock:
    return ContextBlock(
        elements=[
            MarkdownTextObject(text=cut_mrkdwn(text, MAX_CONTEXT_TEXT_CHARS))
            for text in texts[:MAX_CONTEXT_ELEMENTS]
        ]
    )


def _header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=fit(text, MAX_HEADER_CHARS), emoji=True))


# ---------------------------------------------------------------------------
# Markdown → Slack mrkdwn
# ---------------------------------------------------------------------------

_FENCE = re.compile(r"^\s*```")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_QUOTE = re.compile(r"^(\s*)&gt;\s?")
_INLINE_CODE = re.compile(r"(`[^`\n]+`)")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_ITALIC = re.compile(r"(?<![*\w])\*(?=[^\s*])([^*\n]*?[^\s*])\*(?![*\w])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
# Escaped text contains no "<" or ">", so a URL can't smuggle a control sequence;
# "|" would end the URL early, so it is not allowed in one.
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s)|]+)\)")
_BOLD_MARK = "\x00"


def _inline(text: str) -> str:
    """Inline markdown → mrkdwn for text outside code spans (already escaped)."""
    text = _LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1)}>", text)
    # Bold first into a placeholder so the italic pattern doesn't see its stars.
    text = _BOLD.sub(lambda m: f"{_BOLD_MARK}{m.group(1) or m.group(2)}{_BOLD_MARK}", text)
    text = _ITALIC.sub(lambda m: f"_{m.group(1)}_", text)
    text = _STRIKE.sub(lambda m: f"~{m.group(1)}~", text)
    return text.replace(_BOLD_MARK, "*")


def _inline_outside_code(line: str) -> str:
    parts = _INLINE_CODE.split(line)
    # Odd indexes are the `code` spans: their content is shown verbatim.
    return "".join(part if i % 2 else _inline(part) for i, part in enumerate(parts))


def markdown_to_mrkdwn(markdown: str) -> str:
    """Convert the model's markdown to Slack mrkdwn, escaping it first.

    Headings become bold lines, ``**x**`` becomes ``*x*``, ``*x*`` becomes
    ``_x_``, list bullets become "•", links become ``<url|text>``; fenced code is
    kept verbatim (Slack renders ``` fences itself).
    """
    out: list[str] = []
    in_fence = False
    for raw_line in escape(markdown.replace("\r\n", "\n").replace("\r", "\n")).split("\n"):
        if _FENCE.match(raw_line):
            in_fence = not in_fence
            out.append(raw_line.strip())
            continue
        if in_fence:
            out.append(raw_line)
            continue
        line = raw_line.rstrip()
        heading = _HEADING.match(line)
        if heading:
            # The whole heading becomes bold, so bold inside it is dropped.
            title = re.sub(r"\*\*|__", "", heading.group(1)).strip("* ")
            out.append(f"*{_inline_outside_code(title)}*" if title else "")
            continue
        if _RULE.match(line):
            out.append("──────────")
            continue
        quote = _QUOTE.match(line)
        if quote:
            line = f"{quote.group(1)}> {line[quote.end():]}"
        bullet = _BULLET.match(line)
        if bullet:
            line = f"{bullet.group(1)}• {line[bullet.end():]}"
        out.append(_inline_outside_code(line))
    return "\n".join(out)


def _hard_split(line: str, size: int) -> list[str]:
    """Split one overlong line, preferring spaces, never inside an entity or a link."""
    pieces: list[str] = []
    while len(line) > size:
        cut = size
        space = line.rfind(" ", size // 2, size)
        if space > 0:
            cut = space + 1
        cut = _safe_cut(line, cut) or size
        pieces.append(line[:cut])
        line = line[cut:]
    pieces.append(line)
    return pieces


def split_mrkdwn(text: str, limit: int = MAX_SECTION_CHARS) -> list[str]:
    """Split mrkdwn into chunks of at most ``limit`` characters.

    Breaks at a blank line (paragraph) when one is in the second half of a
    chunk, else at a line end; a single line longer than a chunk is hard split.
    A code fence open across a break is closed and reopened so both halves
    render as code. No non-whitespace character is lost or reordered.
    """
    budget = limit - _FENCE_RESERVE
    # (text, inside a fence before this line, inside a fence after it)
    items: list[tuple[str, bool, bool]] = []
    in_fence = False
    for line in text.split("\n"):
        before = in_fence
        if _FENCE.match(line):
            in_fence = not in_fence
        for piece in _hard_split(line, budget):
            items.append((piece, before, in_fence))
    chunks: list[str] = []
    start = 0
    while start < len(items):
        length = 0
        end = start
        paragraph_break: int | None = None
        while end < len(items):
            add = len(items[end][0]) + (1 if end > start else 0)
            if end > start and length + add > budget:
                break
            length += add
            if not items[end][0].strip() and length >= budget // 2:
                paragraph_break = end
            end += 1
        stop, next_start = end, end
        if end < len(items) and paragraph_break is not None and paragraph_break > start:
            stop, next_start = paragraph_break, paragraph_break + 1
        chunk_items = items[start:stop]
        body = "\n".join(piece for piece, _, _ in chunk_items).strip("\n")
        if body.strip():
            if chunk_items[0][1]:
                body = "```\n" + body
            if chunk_items[-1][2]:
                body += "\n```"
            chunks.append(body)
        start = next_start
    return chunks


# ---------------------------------------------------------------------------
# Draft messages
# ---------------------------------------------------------------------------

_STATE_LINES = {
    DraftState.APPROVED: ":white_check_mark: *Approved.*",
    DraftState.REJECTED: ":x: *Rejected.*",
    DraftState.EXPIRED: ":alarm_clock: *Expired:* no decision was made before the deadline.",
    DraftState.CANCELLED: ":no_entry_sign: *Cancelled:* the workflow was cancelled.",
}


def _state_line(view: DraftView) -> str:
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


def decision_buttons(workflow_id: str, revision: int, block_id: str) -> ActionsBlock:
    """Approve / Request revision / Reject, each carrying which draft it decides."""
    value = ButtonValue(workflow_id=workflow_id, revision=revision).encode()
    return ActionsBlock(
        block_id=block_id,
        elements=[
            ButtonElement(
                text=PlainTextObject(text="Approve", emoji=True),
                action_id=action_ids.APPROVE,
                value=value,
                style="primary",
            ),
            ButtonElement(
                text=PlainTextObject(text="Request revision", emoji=True),
                action_id=action_ids.REQUEST_REVISION,
                value=value,
            ),
            ButtonElement(
                text=PlainTextObject(text="Reject", emoji=True),
                action_id=action_ids.REJECT,
                value=value,
                style="danger",
                # Rejecting ends the workflow; one stray click must not do that.
                confirm=ConfirmObject(
                    title="Reject this draft?",
                    text=f"Revision {revision} will be rejected and the workflow will end.",
                    confirm="Reject",
                    deny="Keep reviewing",
                    style="danger",
                ),
            ),
        ],
    )


def _draft_title(view: DraftView) -> str:
    return f"Draft revision {view.revision}: {view.subject}"


def _control_tail(view: DraftView) -> list[Block]:
    """Everything below the body in the control message: status, quorum, buttons, link."""
    blocks: list[Block] = []
    status = [_state_line(view)]
    if view.status_note:
        status.append(view.status_note)
    blocks.append(_context(*status))
    if view.required_approvals > 1:
        blocks.append(_context(quorum_line(view.approvals, view.required_approvals)))
    if view.state == DraftState.OPEN:
        blocks.append(
            decision_buttons(
                view.workflow_id,
                view.revision,
                block_id=f"{action_ids.DECISION_BLOCK}:{view.revision}",
            )
        )
    if view.workflow_url:
        blocks.append(_context(_link(view.workflow_url, "Open the workflow in Temporal")))
    return blocks


def _fallback(text: str) -> str:
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
    if (
        body_chars <= MAX_BODY_CHARS_PER_MESSAGE
        and 1 + len(sections) + 1 + len(tail) <= MAX_BLOCKS_PER_MESSAGE
    ):
        blocks: list[Block] = [_header(title)]
        blocks += [_section(text) for text in sections] or [_section("_(empty draft)_")]
        blocks.append(DividerBlock())
        blocks += tail
        return [DraftMessage(text=_fallback(title), blocks=blocks)]

    # Each part: header or part marker + sections + a "part i of n" context.
    per_part = MAX_BLOCKS_PER_MESSAGE - 2
    parts: list[list[str]] = [[]]
    part_chars = 0
    for text in sections:
        if parts[-1] and (
            len(parts[-1]) >= per_part or part_chars + len(text) > MAX_BODY_CHARS_PER_MESSAGE
        ):
            parts.append([])
            part_chars = 0
        parts[-1].append(text)
        part_chars += len(text)

    messages: list[DraftMessage] = []
    total = len(parts)
    for number, part in enumerate(parts, start=1):
        blocks = [_header(title)] if number == 1 else []
        blocks += [_section(text) for text in part]
        blocks.append(_context(f"Part {number} of {total} of revision {view.revision}"))
        messages.append(
            DraftMessage(text=_fallback(f"{title} (part {number} of {total})"), blocks=blocks)
        )
    control: list[Block] = [
        _header(title),
        _section(
            f"The full draft is in the {total} messages above. "
            "Read it there, then decide here."
        ),
        DividerBlock(),
        *tail,
    ]
    messages.append(DraftMessage(text=_fallback(title), blocks=control))
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
    blocks: list[Block] = [_section("\n".join(lines))]
    context = [f"*{phase_label(phase)}*", f"`{fit(workflow_id, 500)}`"]
    if workflow_url:
        context.append(_link(workflow_url, "Temporal"))
    blocks.append(_context(*context))
    if not phase.is_terminal:
        blocks.append(_context("Progress and the draft for sign-off will appear in this thread."))
    text = _fallback(f"{label}: {subject} ({PHASE_LABELS.get(phase, ('', str(phase)))[1]})")
    return text, blocks


# ---------------------------------------------------------------------------
# Modals
# ---------------------------------------------------------------------------


def _modal_title(text: str) -> PlainTextObject:
    return PlainTextObject(text=truncate(text, MAX_MODAL_TITLE_CHARS))


def revision_modal(metadata: ModalMetadata, subject: str) -> View:
    """Asks what should change; the notes go to the writer agent verbatim."""
    return View(
        type="modal",
        callback_id=action_ids.REVISION_MODAL,
        title=_modal_title("Request revision"),
        submit=_modal_title("Send to the writer"),
        close=_modal_title("Cancel"),
        private_metadata=metadata.encode(),
        blocks=[
            _section(f"Revision {metadata.revision} of *{fit(subject, 2000)}*"),
            InputBlock(
                block_id=action_ids.NOTES_BLOCK,
                label=PlainTextObject(text="What should change?"),
                element=PlainTextInputElement(
                    action_id=action_ids.NOTES_INPUT,
                    multiline=True,
                    min_length=1,
                    max_length=MAX_NOTES_CHARS,
                    placeholder=PlainTextObject(
                        text="e.g. Add the Q3 numbers and shorten the summary"
                    ),
                ),
                optional=False,
            ),
        ],
    )


def reject_modal(metadata: ModalMetadata, subject: str) -> View:
    """Confirms a rejection and lets the approver say why (optional)."""
    return View(
        type="modal",
        callback_id=action_ids.REJECT_MODAL,
        title=_modal_title("Reject draft"),
        submit=_modal_title("Reject"),
        close=_modal_title("Cancel"),
        private_metadata=metadata.encode(),
        blocks=[
            _section(
                f"Reject revision {metadata.revision} of *{fit(subject, 2000)}*? "
                "The workflow ends and nothing is published."
            ),
            InputBlock(
                block_id=action_ids.REASON_BLOCK,
                label=PlainTextObject(text="Reason"),
                element=PlainTextInputElement(
                    action_id=action_ids.REASON_INPUT,
                    multiline=True,
                    max_length=MAX_NOTES_CHARS,
                ),
                optional=True,
            ),
        ],
    )


# ---------------------------------------------------------------------------
# /report status, list, help
# ---------------------------------------------------------------------------


def _review_round_line(review: ReviewRound) -> str:
    verdict = ":white_check_mark: passed" if review.approved else ":leftwards_arrow_with_hook: changes asked"
    line = f"Revision {review.revision}, round {review.round}: {verdict}"
    if review.feedback:
        line += f" — {fit(review.feedback, MAX_INLINE_NOTES_CHARS)}"
    return line


def _decision_line(decision: DecisionRecord) -> str:
    verb = DECISION_VERBS.get(decision.kind, escape(str(decision.kind)))
    line = f"{_slack_date(decision.at)} {mention(decision.user_id)} {verb} revision {decision.revision}"
    if decision.notes:
        line += f": {fit(decision.notes, MAX_INLINE_NOTES_CHARS)}"
    return line


def _capped_lines(lines: list[str], cap: int, newest_last: bool = False) -> list[str]:
    """At most ``cap`` lines plus a note of how many were left out."""
    if len(lines) <= cap:
        return lines
    hidden = len(lines) - cap
    if newest_last:
        return [f"_…and {hidden} earlier_", *lines[-cap:]]
    return [*lines[:cap], f"_…and {hidden} more_"]


def _sections_for(title: str, lines: list[str]) -> list[Block]:
    return [_section(chunk) for chunk in split_mrkdwn(f"*{title}*\n" + "\n".join(lines))]


def status_blocks(progress: Progress) -> list[Block]:
    """The answer to ``/report status``: where the workflow is and who decided what."""
    blocks: list[Block] = [_header(f"{kind_label(progress.kind)}: {progress.subject}")]
    facts = [
        f"*Phase:* {phase_label(progress.phase)}",
        f"*Workflow:* `{fit(progress.workflow_id, 500)}`",
    ]
    if progress.requester_id:
        facts.append(f"*Requested by:* {mention(progress.requester_id)}")
    if progress.revision:
        facts.append(f"*Revision:* {progress.revision}")
    if progress.approvers:
        facts.append(f"*Approvers:* {mentions(progress.approvers)}")
    if progress.revision and (progress.approvals or progress.phase == Phase.PENDING_APPROVAL):
        facts.append(f"*Approvals:* {quorum_line(progress.approvals, progress.required_approvals)}")
    if progress.waiting_since is not None:
        facts.append(f"*Waiting since:* {_slack_date(progress.waiting_since)}")
    if progress.reminders_sent or progress.escalated:
        reminders = f"*Reminders sent:* {progress.reminders_sent}"
        if progress.escalated:
            reminders += " (escalated)"
        facts.append(reminders)
    if progress.outcome:
        facts.append(f"*Outcome:* {fit(progress.outcome, 1000)}")
    blocks.append(_section("\n".join(facts)))
    if progress.review_rounds:
        lines = [_review_round_line(r) for r in progress.review_rounds]
        blocks += _sections_for(
            "Review rounds", _capped_lines(lines, MAX_REVIEW_ROUND_ROWS, newest_last=True)
        )
    if progress.decisions:
        lines = [_decision_line(d) for d in progress.decisions]
        blocks += _sections_for(
            "Decisions", _capped_lines(lines, MAX_DECISION_LOG_ROWS, newest_last=True)
        )
    return blocks[:MAX_BLOCKS_PER_MESSAGE]


def _as_row(item: Progress | WorkflowRow) -> WorkflowRow:
    if isinstance(item, WorkflowRow):
        return item
    return WorkflowRow(
        workflow_id=item.workflow_id,
        kind=item.kind,
        subject=item.subject,
        phase=item.phase,
        requester_id=item.requester_id,
    )


def _row_line(row: WorkflowRow) -> str:
    line = (
        f"*{kind_label(row.kind)}:* {fit(row.subject, 200)} · {phase_label(row.phase)} · "
        f"`{fit(row.workflow_id, 200)}`"
    )
    if row.started_at is not None:
        line += f" · {_slack_date(row.started_at)}"
    return line


def report_list_blocks(rows: Sequence[Progress | WorkflowRow]) -> list[Block]:
    """The answer to ``/report list``."""
    blocks: list[Block] = [_header("Your workflows")]
    if not rows:
        blocks.append(_section(escape("Nothing yet. Start one with /report <topic> or /plan <task>.")))
        return blocks
    lines = [_row_line(_as_row(row)) for row in rows[:MAX_LIST_ROWS]]
    blocks += [_section(chunk) for chunk in split_mrkdwn("\n".join(lines))]
    if len(rows) > MAX_LIST_ROWS:
        blocks.append(_context(f"…and {len(rows) - MAX_LIST_ROWS} more"))
    blocks.append(_context(escape("Details: /report status <id>")))
    return blocks


def help_blocks() -> list[Block]:
    lines = [f"`{escape(command)}` {escape(what)}" for command, what in HELP_COMMANDS]
    return [
        _header("Signoff: AI drafts, human sign-off"),
        _section("\n".join(lines)),
        _context(
            "Drafts are posted in a thread with *Approve*, *Request revision* and *Reject*; "
            "the workflow waits durably for the decision."
        ),
    ]


# ---------------------------------------------------------------------------
# App Home
# ---------------------------------------------------------------------------


def _pending_blocks(index: int, progress: Progress, draft: DraftView) -> list[Block]:
    line = (
        f"*{kind_label(progress.kind)}:* {fit(progress.subject, 500)} · revision {draft.revision}"
    )
    if progress.requester_id:
        line += f" · requested by {mention(progress.requester_id)}"
    if progress.waiting_since is not None:
        line += f"\nWaiting since {_slack_date(progress.waiting_since)}"
    blocks: list[Block] = [_section(line)]
    context = []
    if draft.required_approvals > 1:
        context.append(quorum_line(draft.approvals, draft.required_approvals))
    if draft.workflow_url:
        context.append(_link(draft.workflow_url, "Temporal"))
    if draft.state != DraftState.OPEN:
        context.append(_state_line(draft))
    if context:
        blocks.append(_context(*context))
    if draft.state == DraftState.OPEN:
        # One view holds many of these; block ids must be unique within it.
        blocks.append(
            decision_buttons(
                draft.workflow_id,
                draft.revision,
                block_id=f"{action_ids.DECISION_BLOCK}:home:{index}",
            )
        )
    return blocks


def home_view(
    user_id: str,
    pending: Sequence[tuple[Progress, DraftView]],
    mine: Sequence[Progress],
) -> View:
    """App Home: drafts waiting for this user's decision, then their own requests."""
    blocks: list[Block] = [
        _header("Signoff"),
        _section(f"Hi {mention(user_id)}. Drafts waiting for you and your own requests."),
        _header(f"Waiting for your decision ({len(pending)})"),
    ]
    if not pending:
        blocks.append(_context("Nothing waiting for you."))
    for index, (progress, draft) in enumerate(pending[:MAX_HOME_PENDING]):
        blocks += _pending_blocks(index, progress, draft)
        blocks.append(DividerBlock())
    if len(pending) > MAX_HOME_PENDING:
        blocks.append(_context(f"…and {len(pending) - MAX_HOME_PENDING} more"))

    blocks.append(_header(f"Your requests ({len(mine)})"))
    if not mine:
        blocks.append(_context(escape("None yet. Try /report <topic>.")))
    else:
        lines = [_row_line(_as_row(p)) for p in mine[:MAX_HOME_MINE]]
        blocks += [_section(chunk) for chunk in split_mrkdwn("\n".join(lines))]
    if len(mine) > MAX_HOME_MINE:
        blocks.append(_context(f"…and {len(mine) - MAX_HOME_MINE} more"))
    return View(type="home", blocks=blocks[:MAX_BLOCKS_PER_VIEW])
