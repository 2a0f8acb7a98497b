"""Block Kit limits, labels and the text helpers every builder uses: escaping cuts, links,
dates, and model markdown turned into Slack mrkdwn split to fit sections.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from slack_sdk.models.blocks import (
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from signoff.contracts.mrkdwn import escape, truncate
from signoff.contracts.workflow_io import (
    DecisionKind,
    Phase,
    WorkflowKind,
)

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
    WorkflowKind.REQUEST: "Sign-off request",
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
    Phase.STOPPED: (":octagonal_sign:", "Stopped (token budget)"),
}

DECISION_VERBS = {
    DecisionKind.APPROVE: "approved",
    DecisionKind.REQUEST_REVISION: "requested a revision of",
    DecisionKind.REJECT: "rejected",
}


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
    cut = safe_cut(text, limit - 1)
    return text[:cut] + "…"


def safe_cut(text: str, cut: int) -> int:
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


def slack_date(at: datetime) -> str:
    """A date Slack renders in the reader's own timezone, with a UTC fallback."""
    if at.tzinfo is None:
        # Workflow timestamps are UTC (workflow.now()); a naive one is UTC too.
        at = at.replace(tzinfo=UTC)
    fallback = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def mrkdwn_link(url: str, label: str) -> str:
    # The URL is ours (settings + workflow id) but the id is user-influenced:
    # escape the control characters and the "|" that would end the URL early.
    return f"<{escape(url).replace('|', '%7C')}|{escape(label)}>"


def section_block(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=cut_mrkdwn(text, MAX_SECTION_CHARS)))


def context_block(*texts: str) -> ContextBlock:
    return ContextBlock(
        elements=[
            MarkdownTextObject(text=cut_mrkdwn(text, MAX_CONTEXT_TEXT_CHARS)) for text in texts[:MAX_CONTEXT_ELEMENTS]
        ]
    )


def header_block(text: str) -> HeaderBlock:
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
            line = f"{quote.group(1)}> {line[quote.end() :]}"
        bullet = _BULLET.match(line)
        if bullet:
            line = f"{bullet.group(1)}• {line[bullet.end() :]}"
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
        cut = safe_cut(line, cut) or size
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
