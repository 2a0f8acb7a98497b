"""The offline executor with signoff's MCP tools (bot/api/mcp.py): it asks for sign-off first (in the
channel the task links, if any), keeps waiting with ``get_signoff`` while the answer is ``pending``
(as the tool's description tells a model to), at most ``MAX_SIGNOFF_POLLS`` times, and reports once
decided."""

from __future__ import annotations

import json

from signoff.models.offline import (
    GET_SIGNOFF_TOOL,
    MAX_SIGNOFF_POLLS,
    SIGNOFF_TOOL,
    follow_up_calls,
    offline_tool_calls,
    signoff_pending,
)

TOOLS = [SIGNOFF_TOOL, GET_SIGNOFF_TOOL, "cancel_signoff"]
PENDING = json.dumps({"id": "api-1", "status": "pending", "thread": None})
APPROVED = json.dumps({"id": "api-1", "status": "approved", "thread": None})


def test_it_asks_for_sign_off_first_in_the_channel_the_task_links() -> None:
    [(tool, arguments)] = offline_tool_calls("Deploy v2 in <#C0APPROVE|approvals>", [*TOOLS, "post_message"])
    assert tool == SIGNOFF_TOOL
    assert arguments["title"] == "Deploy v2"
    assert arguments["channel"] == "C0APPROVE" and arguments["body"]
    [(_, by_name)] = offline_tool_calls("Deploy v2 in #approvals", TOOLS)
    assert "channel" not in by_name


def test_pending_means_get_signoff_with_the_id_and_decided_means_done() -> None:
    assert follow_up_calls([(SIGNOFF_TOOL, PENDING)], TOOLS) == [(GET_SIGNOFF_TOOL, {"id": "api-1"})]
    # As the Agents SDK hands an MCP text part back.
    as_part = json.dumps({"type": "text", "text": PENDING})
    assert follow_up_calls([(GET_SIGNOFF_TOOL, as_part)], TOOLS) == [(GET_SIGNOFF_TOOL, {"id": "api-1"})]
    assert follow_up_calls([(SIGNOFF_TOOL, PENDING), (GET_SIGNOFF_TOOL, APPROVED)], TOOLS) == []
    # Not signoff's answer, or no get_signoff to call: nothing more.
    assert follow_up_calls([("post_message", PENDING)], TOOLS) == []
    assert follow_up_calls([(SIGNOFF_TOOL, PENDING)], [SIGNOFF_TOOL]) == []


def test_it_stops_waiting_after_the_bound() -> None:
    outputs = [(SIGNOFF_TOOL, PENDING)] + [(GET_SIGNOFF_TOOL, PENDING)] * MAX_SIGNOFF_POLLS
    assert follow_up_calls(outputs, TOOLS) == []


def test_an_error_or_other_text_is_not_pending() -> None:
    for output in ("channel: no channel was given", "", "[1, 2]", json.dumps({"status": "pending"})):
        assert signoff_pending(output) is None
