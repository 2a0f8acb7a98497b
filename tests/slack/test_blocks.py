"""Block Kit builders: valid per slack_sdk's models, within Slack's limits, escaped everywhere."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from signoff.contracts.workflow_io import (
    MAX_NOTES_CHARS,
    DecisionKind,
    DecisionRecord,
    DraftState,
    DraftView,
    Phase,
    Progress,
    ReviewRound,
    WorkflowKind,
)
from signoff.slack import action_ids
from signoff.slack.action_ids import ButtonValue, ModalMetadata
from signoff.slack.rendering.drafts import draft_messages, thread_parent
from signoff.slack.rendering.lists import WorkflowRow, help_blocks, home_view, report_list_blocks, status_blocks
from signoff.slack.rendering.modals import reject_modal, revision_modal
from signoff.slack.rendering.text import (
    MAX_BLOCKS_PER_VIEW,
    MAX_BODY_CHARS_PER_MESSAGE,
    fit,
    markdown_to_mrkdwn,
    split_mrkdwn,
)
from tests.support.block_checks import FALLBACK_TEXT, PRIVATE_METADATA, texts, validate_blocks, validate_view
from tests.support.slack import CHANNEL

HOSTILE = "<!channel> <!here> <@U123ABC> & <https://evil.example|click>"
# What must never appear in output built from HOSTILE text: live control sequences.
LIVE_MENTIONS = re.compile(r"<!channel>|<!here>|<@U123ABC>|<https://evil")


def _all_text(dicts: list[dict]) -> str:
    return "\n".join(text for _, text in texts(dicts))


def _no_live_mentions(dicts: list[dict] | dict, fallback: str = "") -> None:
    rendered = _all_text(dicts if isinstance(dicts, list) else [dicts]) + "\n" + fallback
    assert not LIVE_MENTIONS.search(rendered), rendered


def _view(**overrides) -> DraftView:
    values: dict[str, Any] = dict(
        workflow_id="report-q3",
        kind=WorkflowKind.REPORT,
        subject="Q3 revenue",
        revision=2,
        body="## Summary\n\nRevenue **grew** 12%.\n\n- EMEA up\n- APAC flat\n",
        state=DraftState.OPEN,
        approvals=[],
        required_approvals=1,
    )
    values.update(overrides)
    return DraftView(**values)


def _buttons(dicts: list[dict]) -> list[dict]:
    return [e for d in dicts if d["type"] == "actions" for e in d["elements"]]


def _progress(**overrides) -> Progress:
    values: dict[str, Any] = dict(
        workflow_id="report-q3",
        kind=WorkflowKind.REPORT,
        subject="Q3 revenue",
        phase=Phase.PENDING_APPROVAL,
        requester_id="U0REQUESTER",
        approvers=["U0APPROVER1", "U0APPROVER2"],
        required_approvals=2,
        revision=2,
    )
    values.update(overrides)
    return Progress(**values)


# ---------------------------------------------------------------------------
# action_ids payloads
# ---------------------------------------------------------------------------


def test_button_value_round_trip_is_compact():
    value = ButtonValue(workflow_id="report-q3-7f3a", revision=3)
    raw = value.encode()
    assert " " not in raw
    assert ButtonValue.decode(raw) == value


def test_button_value_too_long_is_refused():
    with pytest.raises(ValueError, match="2000"):
        ButtonValue(workflow_id="w" * 2000, revision=1).encode()


@pytest.mark.parametrize(
    "raw, problem",
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"r": 1}', "missing 'w'"),
        ('{"w": "wf"}', "missing 'r'"),
        ('{"w": 7, "r": 1}', "non-empty string"),
        ('{"w": "", "r": 1}', "non-empty string"),
        ('{"w": "wf", "r": "1"}', "whole number"),
        ('{"w": "wf", "r": true}', "whole number"),
        ('{"w": "wf", "r": 1.5}', "whole number"),
        ('{"w": "wf", "r": 0}', "at least 1"),
        ("x" * 2001, "limit"),
    ],
)
def test_button_value_rejects_malformed(raw, problem):
    with pytest.raises(ValueError, match=problem):
        ButtonValue.decode(raw)


def test_modal_metadata_round_trip_and_rejects_malformed():
    metadata = ModalMetadata("report-q3", 2, CHANNEL, "1712345678.000100")
    raw = metadata.encode()
    assert len(raw) <= PRIVATE_METADATA
    assert ModalMetadata.decode(raw) == metadata
    with pytest.raises(ValueError, match="missing 't'"):
        ModalMetadata.decode(json.dumps({"w": "x", "r": 1, "c": "C1"}))
    with pytest.raises(ValueError, match="at least 1"):
        ModalMetadata.decode(json.dumps({"w": "x", "r": -1, "c": "C1", "t": "1.2"}))
    with pytest.raises(ValueError):
        ModalMetadata("w" * 3000, 1, "C1", "1.2").encode()


# ---------------------------------------------------------------------------
# Markdown conversion and splitting
# ---------------------------------------------------------------------------


def test_markdown_to_mrkdwn():
    markdown = (
        "# Title\n## Sub **bold** heading\n\nText with **bold**, *italic*, ~~gone~~ and "
        "`**code**`.\n- one\n* two\n  - nested\n> quoted\n[docs](https://example.com/a?b=1&c=2)"
    )
    assert markdown_to_mrkdwn(markdown).split("\n") == [
        "*Title*",
        "*Sub bold heading*",
        "",
        "Text with *bold*, _italic_, ~gone~ and `**code**`.",
        "• one",
        "• two",
        "  • nested",
        "> quoted",
        "<https://example.com/a?b=1&amp;c=2|docs>",
    ]


def test_markdown_code_fences_are_verbatim_but_escaped():
    out = markdown_to_mrkdwn("```\n## not a heading\n<!channel>\n```")
    assert out == "```\n## not a heading\n&lt;!channel&gt;\n```"


def test_markdown_link_cannot_smuggle_a_mention():
    out = markdown_to_mrkdwn("[hi](https://x.example/<!channel>) [x](javascript:alert(1))")
    assert "<!channel>" not in out
    assert "<javascript" not in out


def _visible(text: str) -> str:
    return "".join(text.split())


def test_split_keeps_every_character_and_limit():
    paragraphs = [f"Paragraph {i}: " + "word " * (i % 97 + 1) for i in range(600)]
    text = "\n\n".join(paragraphs)
    chunks = split_mrkdwn(text, 3000)
    assert len(chunks) > 1
    assert all(0 < len(c) <= 3000 for c in chunks)
    assert _visible("".join(chunks)) == _visible(text)
    # Breaks fall at paragraph ends: no paragraph is cut in two.
    for chunk in chunks:
        assert chunk.startswith("Paragraph ")


def test_split_hard_splits_one_overlong_line_without_breaking_entities():
    line = "&amp;" * 2000  # 10,000 characters, one line, no spaces
    chunks = split_mrkdwn(line, 3000)
    assert len(chunks) >= 4
    assert all(len(c) <= 3000 and c.startswith("&amp;") and c.endswith("&amp;") for c in chunks)
    assert "".join(chunks) == line


def test_split_reopens_a_code_fence_across_chunks():
    code = "\n".join(f"line {i} " + "x" * 60 for i in range(200))
    chunks = split_mrkdwn(f"Intro\n```\n{code}\n```\nOutro", 3000)
    assert len(chunks) > 2
    for chunk in chunks:
        assert len(chunk) <= 3000
        assert chunk.count("```") % 2 == 0, "every chunk's fences are balanced"


def test_fit_cuts_before_escaping():
    out = fit("&" * 200, 150)
    assert len(out) <= 150
    assert re.fullmatch(r"(&amp;)*…", out)


# ---------------------------------------------------------------------------
# Draft messages
# ---------------------------------------------------------------------------


def test_normal_draft_is_one_message_with_buttons():
    messages = draft_messages(_view())
    assert len(messages) == 1
    dicts = validate_blocks(messages[0].blocks)
    assert dicts[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Draft revision 2: Q3 revenue", "emoji": True},
    }
    assert "*Summary*\n\nRevenue *grew* 12%.\n\n• EMEA up\n• APAC flat" in _all_text(dicts)
    buttons = _buttons(dicts)
    assert [b["action_id"] for b in buttons] == [
        action_ids.APPROVE,
        action_ids.COMMENT_APPROVE,
        action_ids.REQUEST_REVISION,
        action_ids.REJECT,
    ]
    assert [b.get("style") for b in buttons] == ["primary", None, None, "danger"]
    assert "confirm" in buttons[3]
    for button in buttons:
        assert ButtonValue.decode(button["value"]) == ButtonValue("report-q3", 2)
    assert messages[0].text == "Draft revision 2: Q3 revenue"


@pytest.mark.parametrize("state", [s for s in DraftState if s != DraftState.OPEN])
def test_buttons_only_when_open(state):
    messages = draft_messages(_view(state=state, status_note="Decided by <@U0APPROVER1>"))
    dicts = validate_blocks(messages[-1].blocks)
    assert _buttons(dicts) == []
    text = _all_text(dicts)
    assert "Decided by <@U0APPROVER1>" in text
    reason = {
        DraftState.SUPERSEDED: "Superseded* by revision 3",
        DraftState.APPROVED: "Approved",
        DraftState.REVISION_REQUESTED: "revision 3 is being written",
        DraftState.REJECTED: "Rejected",
        DraftState.EXPIRED: "Expired",
        DraftState.CANCELLED: "Cancelled",
    }[state]
    assert reason in text


def test_quorum_line_shows_who_approved():
    dicts = validate_blocks(draft_messages(_view(approvals=["U0APPROVER1"], required_approvals=2))[-1].blocks)
    assert "1 of 2 approvals: <@U0APPROVER1>" in _all_text(dicts)
    single = validate_blocks(draft_messages(_view())[-1].blocks)
    assert "approvals" not in _all_text(single)


def test_workflow_link_when_url_set():
    url = "http://localhost:8233/namespaces/default/workflows/report-q3"
    dicts = validate_blocks(draft_messages(_view(workflow_url=url))[-1].blocks)
    assert f"<{url}|" in _all_text(dicts)


def test_mentions_are_escaped_in_draft():
    view = _view(subject=HOSTILE, body=f"# {HOSTILE}\n\n{HOSTILE}\n- {HOSTILE}")
    for message in draft_messages(view):
        _no_live_mentions(validate_blocks(message.blocks), message.text)


def test_100k_body_splits_into_messages_within_limits():
    paragraphs: list[str] = []
    while sum(len(p) + 2 for p in paragraphs) < 100_000:
        i = len(paragraphs)
        paragraphs.append(f"## Section {i}\n\nSentence {i} & more <text>. " * 5)
    body = "\n\n".join(paragraphs)[:100_000]
    # One very long line too, which must be hard split.
    body += "\n\n" + "z" * 7000
    messages = draft_messages(_view(body=body))
    assert len(messages) > 3
    body_text = ""
    for message in messages:
        dicts = validate_blocks(message.blocks)
        assert len(message.text) <= FALLBACK_TEXT
        sections = [d["text"]["text"] for d in dicts if d["type"] == "section"]
        assert sum(len(s) for s in sections) <= MAX_BODY_CHARS_PER_MESSAGE
        if message is not messages[-1]:
            body_text += "\n".join(sections)
    # The control message is last and is the only one with buttons.
    assert _buttons(validate_blocks(messages[-1].blocks))
    assert all(not _buttons(validate_blocks(m.blocks)) for m in messages[:-1])
    assert _visible(body_text) == _visible(markdown_to_mrkdwn(body))


def test_many_short_lines_respect_the_block_limit():
    # Many tiny paragraphs must not produce more than 50 blocks per message.
    body = "\n\n".join(f"p{i}" for i in range(20_000))
    messages = draft_messages(_view(body=body))
    for message in messages:
        validate_blocks(message.blocks)


def test_control_message_is_stable_for_update():
    long_view = _view(body="para\n\n" * 20_000)
    before = draft_messages(long_view)
    after = draft_messages(_view(body=long_view.body, state=DraftState.APPROVED))
    assert len(before) == len(after)
    assert before[:-1][0].blocks[0].to_dict() == after[:-1][0].blocks[0].to_dict()


def test_empty_body_still_valid():
    messages = draft_messages(_view(body="   "))
    assert len(messages) == 1
    validate_blocks(messages[0].blocks)


def test_long_subject_header_fits():
    messages = draft_messages(_view(subject="<&>" * 200))
    for message in messages:
        validate_blocks(message.blocks)
        assert len(message.text) <= FALLBACK_TEXT


# ---------------------------------------------------------------------------
# Thread parent, modals, status, list, help, home
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("phase", list(Phase))
def test_thread_parent_every_phase(phase):
    text, blocks = thread_parent(WorkflowKind.PLAN, HOSTILE, "U0REQUESTER", "plan-1", phase, "http://ui/x")
    dicts = validate_blocks(blocks)
    _no_live_mentions(dicts, text)
    assert "<@U0REQUESTER>" in _all_text(dicts)
    assert len(text) <= FALLBACK_TEXT


def test_thread_parent_without_requester():
    text, blocks = thread_parent(WorkflowKind.REPORT, "x", None, "r-1", Phase.STARTING)
    validate_blocks(blocks)
    assert text.startswith("Report: x")


def test_revision_modal():
    metadata = ModalMetadata("report-q3", 2, CHANNEL, "1712345678.000100")
    d = validate_view(revision_modal(metadata, HOSTILE))
    _no_live_mentions(d)
    assert d["callback_id"] == action_ids.REVISION_MODAL
    assert ModalMetadata.decode(d["private_metadata"]) == metadata
    notes = next(b for b in d["blocks"] if b.get("block_id") == action_ids.NOTES_BLOCK)
    assert notes["optional"] is False
    assert notes["element"]["action_id"] == action_ids.NOTES_INPUT
    assert notes["element"]["multiline"] is True
    assert notes["element"]["max_length"] == MAX_NOTES_CHARS


def test_reject_modal():
    metadata = ModalMetadata("report-q3", 2, CHANNEL, "1712345678.000100")
    d = validate_view(reject_modal(metadata, HOSTILE))
    _no_live_mentions(d)
    assert d["callback_id"] == action_ids.REJECT_MODAL
    reason = next(b for b in d["blocks"] if b.get("block_id") == action_ids.REASON_BLOCK)
    assert reason["optional"] is True
    assert reason["element"]["action_id"] == action_ids.REASON_INPUT


def test_status_blocks():
    at = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    progress = _progress(
        subject=HOSTILE,
        review_rounds=[
            ReviewRound(revision=1, round=1, approved=False, feedback=f"Fix {HOSTILE}"),
            ReviewRound(revision=1, round=2, approved=True, feedback=""),
        ],
        waiting_since=at,
        reminders_sent=2,
        escalated=True,
        approvals=["U0APPROVER1"],
        decisions=[
            DecisionRecord(
                kind=DecisionKind.REQUEST_REVISION,
                user_id="U0APPROVER2",
                revision=1,
                at=at - timedelta(hours=3),
                notes=HOSTILE,
            ),
            DecisionRecord(kind=DecisionKind.APPROVE, user_id="U0APPROVER1", revision=2, at=at),
        ],
    )
    dicts = validate_blocks(status_blocks(progress))
    _no_live_mentions(dicts)
    text = _all_text(dicts)
    for expected in (
        "Waiting for approval",
        "*Revision:* 2",
        "1 of 2 approvals: <@U0APPROVER1>",
        f"<!date^{int(at.timestamp())}^",
        "*Reminders sent:* 2 (escalated)",
        "Revision 1, round 1: :leftwards_arrow_with_hook: changes asked",
        "Revision 1, round 2: :white_check_mark: passed",
        "<@U0APPROVER2> requested a revision of revision 1",
        "<@U0APPROVER1> approved revision 2",
    ):
        assert expected in text


def test_status_blocks_long_logs_are_capped():
    at = datetime(2025, 3, 1, tzinfo=UTC)
    progress = _progress(
        decisions=[
            DecisionRecord(DecisionKind.APPROVE, "U0APPROVER1", i + 1, at, notes="n" * 3000) for i in range(500)
        ],
        review_rounds=[ReviewRound(i, 1, False, "f" * 5000) for i in range(500)],
    )
    dicts = validate_blocks(status_blocks(progress))
    assert "earlier" in _all_text(dicts)


def test_report_list_blocks_rows_and_progress():
    rows: list[Progress | WorkflowRow] = [
        WorkflowRow("r-1", WorkflowKind.REPORT, HOSTILE, Phase.WRITING, "U0REQ", datetime.now(UTC)),
        _progress(),
    ]
    dicts = validate_blocks(report_list_blocks(rows))
    _no_live_mentions(dicts)
    assert "`r-1`" in _all_text(dicts) and "`report-q3`" in _all_text(dicts)
    many = validate_blocks(report_list_blocks([_progress(workflow_id=f"r-{i}") for i in range(500)]))
    assert "more" in _all_text(many)
    empty = validate_blocks(report_list_blocks([]))
    assert "&lt;topic&gt;" in _all_text(empty)


def test_help_blocks_escape_placeholders():
    dicts = validate_blocks(help_blocks())
    text = _all_text(dicts)
    for command in (
        "/report &lt;topic&gt;",
        "/report status [id]",
        "/report list",
        "/report cancel &lt;id&gt;",
        "/report help",
        "/plan &lt;task&gt;",
    ):
        assert command in text
    assert "<topic>" not in text


def test_home_view_pending_and_mine():
    pending = [
        (_progress(subject=HOSTILE), _view(approvals=["U0APPROVER2"], required_approvals=2)),
        (
            _progress(workflow_id="plan-9", kind=WorkflowKind.PLAN),
            _view(workflow_id="plan-9", kind=WorkflowKind.PLAN, revision=1),
        ),
    ]
    d = validate_view(home_view("U0APPROVER1", pending, [_progress(phase=Phase.COMPLETED)]))
    assert d["type"] == "home"
    _no_live_mentions(d)
    values = [ButtonValue.decode(e["value"]) for e in _buttons(d["blocks"])]
    assert ButtonValue("report-q3", 2) in values and ButtonValue("plan-9", 1) in values
    assert "1 of 2 approvals: <@U0APPROVER2>" in _all_text(d["blocks"])


def test_home_view_is_capped():
    pending = [
        (
            _progress(workflow_id=f"r-{i}", subject="s" * 500),
            _view(workflow_id=f"r-{i}", required_approvals=3, workflow_url="http://ui/x"),
        )
        for i in range(300)
    ]
    mine = [_progress(workflow_id=f"m-{i}", subject="m" * 500) for i in range(300)]
    d = validate_view(home_view("U0APPROVER1", pending, mine))
    assert len(d["blocks"]) <= MAX_BLOCKS_PER_VIEW
    assert _all_text(d["blocks"]).count("more") >= 2


def test_home_view_empty():
    d = validate_view(home_view("U0APPROVER1", [], []))
    assert "Nothing waiting" in _all_text(d["blocks"])
