"""`/report status`, `/report list`, `/report help` and the App Home."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    DividerBlock,
    PlainTextObject,
)
from slack_sdk.models.views import View

from signoff.contracts.mrkdwn import escape, mention, mentions
from signoff.contracts.tool_calls import ToolCallRecord
from signoff.contracts.usage import usage_line
from signoff.contracts.workflow_io import (
    DecisionRecord,
    DraftState,
    DraftView,
    Phase,
    Progress,
    ReviewRound,
    WorkflowKind,
)
from signoff.slack import action_ids
from signoff.slack.rendering.drafts import decision_buttons, quorum_line, state_line
from signoff.slack.rendering.text import (
    DECISION_VERBS,
    MAX_BLOCKS_PER_MESSAGE,
    MAX_BLOCKS_PER_VIEW,
    MAX_DECISION_LOG_ROWS,
    MAX_HOME_MINE,
    MAX_HOME_PENDING,
    MAX_INLINE_NOTES_CHARS,
    MAX_LIST_ROWS,
    MAX_REVIEW_ROUND_ROWS,
    context_block,
    fit,
    header_block,
    kind_label,
    mrkdwn_link,
    phase_label,
    section_block,
    slack_date,
    split_mrkdwn,
)

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
    line = f"{slack_date(decision.at)} {mention(decision.user_id)} {verb} revision {decision.revision}"
    if decision.edited:
        line += " (with their edit)"
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
    return [section_block(chunk) for chunk in split_mrkdwn(f"*{title}*\n" + "\n".join(lines))]


def status_blocks(progress: Progress) -> list[Block]:
    """The answer to ``/report status``: where the workflow is and who decided what."""
    blocks: list[Block] = [header_block(f"{kind_label(progress.kind)}: {progress.subject}")]
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
        facts.append(f"*Waiting since:* {slack_date(progress.waiting_since)}")
    if progress.reminders_sent or progress.escalated:
        reminders = f"*Reminders sent:* {progress.reminders_sent}"
        if progress.escalated:
            reminders += " (escalated)"
        facts.append(reminders)
    if progress.outcome:
        facts.append(f"*Outcome:* {fit(progress.outcome, 1000)}")
    if progress.usage.requests or progress.usage.total_tokens:
        facts.append(f"*Usage:* {escape(usage_line(progress.usage))}")
    blocks.append(section_block("\n".join(facts)))
    if progress.review_rounds:
        lines = [_review_round_line(r) for r in progress.review_rounds]
        blocks += _sections_for("Review rounds", _capped_lines(lines, MAX_REVIEW_ROUND_ROWS, newest_last=True))
    if progress.decisions:
        lines = [_decision_line(d) for d in progress.decisions]
        blocks += _sections_for("Decisions", _capped_lines(lines, MAX_DECISION_LOG_ROWS, newest_last=True))
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
        f"*{kind_label(row.kind)}:* {fit(row.subject, 200)} · {phase_label(row.phase)} · `{fit(row.workflow_id, 200)}`"
    )
    if row.started_at is not None:
        line += f" · {slack_date(row.started_at)}"
    return line


def report_list_blocks(rows: Sequence[Progress | WorkflowRow]) -> list[Block]:
    """The answer to ``/report list``."""
    blocks: list[Block] = [header_block("Your workflows")]
    if not rows:
        blocks.append(section_block(escape("Nothing yet. Start one with /report <topic> or /plan <task>.")))
        return blocks
    lines = [_row_line(_as_row(row)) for row in rows[:MAX_LIST_ROWS]]
    blocks += [section_block(chunk) for chunk in split_mrkdwn("\n".join(lines))]
    if len(rows) > MAX_LIST_ROWS:
        blocks.append(context_block(f"…and {len(rows) - MAX_LIST_ROWS} more"))
    blocks.append(context_block(escape("Details: /report status <id>")))
    return blocks


def help_blocks() -> list[Block]:
    lines = [f"`{escape(command)}` {escape(what)}" for command, what in HELP_COMMANDS]
    return [
        header_block("Signoff: AI drafts, human sign-off"),
        section_block("\n".join(lines)),
        context_block(
            "Drafts are posted in a thread with *Approve*, *Request revision* and *Reject*; "
            "the workflow waits durably for the decision."
        ),
    ]


# ---------------------------------------------------------------------------
# App Home
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WaitingToolCall:
    """A tool call the viewer may allow or deny, for the Inbox."""

    progress: Progress
    call: ToolCallRecord


def _open_thread(link: str | None) -> ButtonElement | None:
    """One click to the thread (Slack opens the URL; the click is acked and nothing else)."""
    if not link:
        return None
    return ButtonElement(text=PlainTextObject(text="Open thread"), action_id=action_ids.OPEN_THREAD, url=link)


def _pending_blocks(index: int, progress: Progress, draft: DraftView, link: str | None = None) -> list[Block]:
    line = f"*{fit(progress.subject, 500)}* · revision {draft.revision}"
    if progress.requester_id:
        line += f" · requested by {mention(progress.requester_id)}"
    if progress.waiting_since is not None:
        line += f"\nWaiting since {slack_date(progress.waiting_since)}"
    if progress.deadline is not None:
        line += f" · deadline {slack_date(progress.deadline)}"
    section = section_block(line)
    section.accessory = _open_thread(link)
    blocks: list[Block] = [section]
    context = []
    if draft.required_approvals > 1:
        context.append(quorum_line(draft.approvals, draft.required_approvals))
    if draft.workflow_url:
        context.append(mrkdwn_link(draft.workflow_url, "Temporal"))
    if draft.state != DraftState.OPEN:
        context.append(state_line(draft))
    if context:
        blocks.append(context_block(*context))
    if draft.state == DraftState.OPEN:
        # One view holds many of these; block ids must be unique within it.
        blocks.append(
            decision_buttons(
                draft,
                block_id=f"{action_ids.DECISION_BLOCK}:home:{index}",
            )
        )
    return blocks


def _tool_call_blocks(waiting: WaitingToolCall, link: str | None) -> list[Block]:
    progress, call = waiting.progress, waiting.call
    line = f"`{escape(call.tool)}` (call {call.call_number}) in *{fit(progress.subject, 500)}*"
    if call.asked_at is not None:
        line += f"\nAsked {slack_date(call.asked_at)}"
    section = section_block(line)
    section.accessory = _open_thread(link)
    return [section]


# The Inbox's groups, in order: what a person decides on, by what it is.
INBOX_GROUPS = (
    (WorkflowKind.REPORT, "Reports"),
    (WorkflowKind.PLAN, "Plans"),
    (WorkflowKind.REQUEST, "Requests"),
)


def _oldest_first(progress: Progress) -> datetime:
    return progress.waiting_since or datetime.max.replace(tzinfo=UTC)


def home_view(
    user_id: str,
    pending: Sequence[tuple[Progress, DraftView]],
    mine: Sequence[Progress | WorkflowRow],
    tool_calls: Sequence[WaitingToolCall] = (),
    links: Mapping[str, str] | None = None,
    *,
    away: str | None = None,
) -> View:
    """App Home: the Inbox (what waits for this user's decision, grouped by what it is, oldest first,
    with its deadline and a link to its thread), then their own requests. ``links``: each thread's
    permalink by workflow id."""
    links = links or {}
    waiting = len(pending) + len(tool_calls)
    blocks: list[Block] = [
        header_block("Signoff"),
        section_block(f"Hi {mention(user_id)}. What waits for your decision, oldest first, and your own requests."),
    ]
    if away:
        # The viewer is away (/signoff away): what happens to their requests meanwhile (safe mrkdwn).
        blocks.append(context_block(away))
    blocks.append(header_block(f"Waiting for your decision ({waiting})"))
    if not waiting:
        blocks.append(context_block("Nothing waiting for you."))
    shown = 0
    index = 0
    for kind, label in INBOX_GROUPS:
        group = sorted((item for item in pending if item[0].kind is kind), key=lambda item: _oldest_first(item[0]))
        if not group:
            continue
        blocks.append(context_block(f"*{label}* ({len(group)})"))
        for progress, draft in group:
            if shown >= MAX_HOME_PENDING:
                break
            blocks += _pending_blocks(index, progress, draft, links.get(progress.workflow_id))
            blocks.append(DividerBlock())
            shown += 1
            index += 1
    if tool_calls:
        blocks.append(context_block(f"*Tool calls* ({len(tool_calls)})"))
        for item in sorted(tool_calls, key=lambda t: t.call.asked_at or datetime.max.replace(tzinfo=UTC)):
            if shown >= MAX_HOME_PENDING:
                break
            blocks += _tool_call_blocks(item, links.get(item.progress.workflow_id))
            shown += 1
    if waiting > shown:
        blocks.append(context_block(f"…and {waiting - shown} more"))

    blocks.append(header_block(f"Your requests ({len(mine)})"))
    if not mine:
        blocks.append(context_block(escape("None yet. Try /report <topic>.")))
    else:
        lines = [_row_line(_as_row(p)) for p in mine[:MAX_HOME_MINE]]
        blocks += [section_block(chunk) for chunk in split_mrkdwn("\n".join(lines))]
    if len(mine) > MAX_HOME_MINE:
        blocks.append(context_block(f"…and {len(mine) - MAX_HOME_MINE} more"))
    return View(type="home", blocks=blocks[:MAX_BLOCKS_PER_VIEW])
