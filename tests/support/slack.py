"""The sandbox's Slack as the tests see it: who is who, and what everyone was shown.

The ids are the sandbox's seeded workspace (signoff/sandbox/directory.py): one team, four people,
#general and #approvals, and the @leads user group.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from signoff.activities.slack import POST_EVENT_TYPE
from signoff.contracts.workflow_io import SlackOrigin
from signoff.sandbox import SlackSandbox
from signoff.sandbox.recording import Call

TEAM = "T0SANDBOX"
CHANNEL = "C0GENERAL"  # #general: everyone, the bot included
APPROVALS_CHANNEL = "C0APPROVE"  # #approvals: the requester, both approvers and the bot
REQUESTER = "U0REQUEST"
APPROVER_1 = "U0APPROV1"
APPROVER_2 = "U0APPROV2"
APPROVER_3 = "U0APPROV3"  # named in approver lists only; not a member of the sandbox's workspace
OUTSIDER = "U0OUTSIDE"
LEADS = "S0LEADS"  # a user group, for escalations

# A request from the requester in #general, as the bot would pass it to a workflow.
ORIGIN = SlackOrigin(team_id=TEAM, channel_id=CHANNEL, requester_id=REQUESTER)


def deploy_request(**fields: Any) -> dict[str, Any]:
    """A SignoffRequest as any caller sends it (plain JSON): the requester asks both approvers in
    #general; ``fields`` add to it or replace its own."""
    return {
        "title": "Deploy payments-api v2.3.1",
        "body": "## Changes\n- Retry idempotency keys\n\nRollback: `deploy v2.3.0`",
        "channel": CHANNEL,
        "requester": REQUESTER,
        "approvers": [APPROVER_1, APPROVER_2],
        "metadata": {"change": "CHG-1042"},
        **fields,
    }


# A broadcast Slack would turn into a ping. Escaped forms (&lt;!channel&gt;) do not match.
LIVE_BROADCAST = re.compile(r"<!(channel|here|everyone)(\|[^>]*)?>")


def web_client(slack: SlackSandbox) -> AsyncWebClient:
    """The bot's Web API client (slack_sdk's), pointed at the sandbox."""
    return AsyncWebClient(base_url=slack.api_url, token=slack.bot_token)


# ---------------------------------------------------------------------------
# Messages and their buttons
# ---------------------------------------------------------------------------


def button_pairs(message_or_view: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(action id, value) of each button on a message or a view, in order."""
    return [
        (element["action_id"], element.get("value", ""))
        for block in message_or_view.get("blocks") or []
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def buttons(message: Mapping[str, Any]) -> list[str]:
    """The action ids of a message's buttons, in order ([] once a draft is decided)."""
    return [action_id for action_id, _ in button_pairs(message)]


def is_draft(message_or_params: Mapping[str, Any]) -> bool:
    """A draft's first or control message: its header names the revision.

    Takes a stored message or a chat.postMessage call's params (whose blocks may be a JSON string).
    """
    blocks = message_or_params.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return any(block["type"] == "header" and "Draft revision" in block["text"]["text"] for block in blocks)


def stored(slack: SlackSandbox, channel: str, ts: str) -> dict[str, Any]:
    """The message the sandbox holds at ``ts`` in ``channel``; the test fails if there is none."""
    message = slack.message(channel, ts)
    assert message is not None, f"no message {ts} in {channel}"
    return message


def home_of(slack: SlackSandbox, user: str) -> dict[str, Any]:
    """The App Home the app published for ``user``; the test fails if there is none."""
    view = slack.home_view(user)
    assert view is not None, f"no Home published for {user}"
    return view


def draft_messages(slack: SlackSandbox, thread_ts: str, channel: str = CHANNEL) -> list[dict]:
    """The drafts in a thread, oldest first (with their buttons while they wait for a decision)."""
    return [message for message in slack.replies(channel, thread_ts) if is_draft(message)]


def open_drafts(slack: SlackSandbox, thread_ts: str, channel: str = CHANNEL) -> list[dict]:
    """The drafts in a thread that still have their decision buttons."""
    return [message for message in draft_messages(slack, thread_ts, channel) if buttons(message)]


def draft_posts(slack: SlackSandbox) -> list[Call]:
    """chat.postMessage calls that carried a draft, whatever Slack answered."""
    return [call for call in slack.calls_to("chat.postMessage") if is_draft(call.params)]


def thread_texts(slack: SlackSandbox, thread_ts: str, channel: str = CHANNEL) -> list[str]:
    return [message.get("text") or "" for message in slack.replies(channel, thread_ts)]


def everything_in(slack: SlackSandbox, channel: str = CHANNEL) -> list[dict]:
    """Every stored message of ``channel``: top level and thread replies."""
    messages = []
    for parent in slack.messages(channel):
        messages.append(parent)
        messages.extend(slack.replies(channel, parent["ts"]))
    return messages


def text_input_modal(
    title: str,
    label: str,
    *,
    block_id: str,
    callback_id: str | None = None,
    private_metadata: str | None = None,
    multiline: bool = False,
) -> dict[str, Any]:
    """A modal with one text input (action id ``text``), as the small apps in the sandbox tests open."""
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "text"}
    if multiline:
        element["multiline"] = True
    view: dict[str, Any] = {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Send"},
        "blocks": [
            {"type": "input", "block_id": block_id, "label": {"type": "plain_text", "text": label}, "element": element}
        ],
    }
    if callback_id is not None:
        view["callback_id"] = callback_id
    if private_metadata is not None:
        view["private_metadata"] = private_metadata
    return view


# ---------------------------------------------------------------------------
# What one person was told
# ---------------------------------------------------------------------------


def ephemeral_texts(slack: SlackSandbox, user: str) -> list[str]:
    """What ``user`` was shown ephemerally, oldest first: each one's text and blocks."""
    return [str(e.get("text") or "") + json.dumps(e.get("blocks") or []) for e in slack.ephemerals(user)]


async def answer_to(slack: SlackSandbox, user: str, text: str) -> str:
    """What ``user`` is told, only them, when they type ``/report text`` in #general."""
    before = len(ephemeral_texts(slack, user))
    await slack.send_slash_command(user, "/report", text, channel_id=CHANNEL)
    return await slack.wait_for(lambda: next(iter(ephemeral_texts(slack, user)[before:]), None), timeout=15)


async def told(slack: SlackSandbox, user: str, fragment: str, after: int = 0, timeout: float = 15) -> str:
    """Wait until ``user`` was shown (ephemerally) something containing ``fragment``, among messages after ``after``."""

    def seen() -> str | None:
        return next((t for t in ephemeral_texts(slack, user)[after:] if fragment in t), None)

    try:
        return await slack.wait_for(seen, timeout=timeout)
    except TimeoutError:
        raise AssertionError(f"{user} was not told {fragment!r}; they saw {ephemeral_texts(slack, user)}") from None


def workflow_id_in(confirmation: str) -> str:
    """The workflow id in the bot's "Started your …" confirmation: ``(`report-…`)``."""
    return confirmation.split("(`", 1)[1].split("`)", 1)[0]


# ---------------------------------------------------------------------------
# Nothing doubled, nobody pinged
# ---------------------------------------------------------------------------


STREAM_METHODS = ("chat.startStream", "chat.appendStream", "chat.stopStream")


def text_said(call: Call) -> str:
    """The text a call put in a thread: a post's ``text``, or a streamed message's markdown (the start, an
    append, the stop: the report's progress ends with "… is ready for a decision" in its stop)."""
    if call.method == "chat.postMessage":
        return str(call.params.get("text") or "")
    if call.method not in STREAM_METHODS:
        return ""
    chunks = call.params.get("chunks") or []
    markdown = [str(c.get("text", "")) for c in chunks if isinstance(c, dict) and c.get("type") == "markdown_text"]
    return str(call.params.get("markdown_text") or "") + "".join(markdown)


def post_keys(slack: SlackSandbox, channel: str = CHANNEL) -> Counter[str]:
    """How many stored messages carry each signoff idempotency key: every value must be 1."""
    keys: Counter[str] = Counter()
    for message in everything_in(slack, channel):
        metadata = message.get("metadata") or {}
        if metadata.get("event_type") == POST_EVENT_TYPE:
            keys[metadata["event_payload"]["key"]] += 1
    return keys


def assert_nothing_doubled(slack: SlackSandbox, channel: str = CHANNEL) -> Counter[str]:
    keys = post_keys(slack, channel)
    assert keys, "no signoff posts at all"
    doubled = {key: n for key, n in keys.items() if n > 1}
    assert not doubled, f"posted more than once: {doubled}"
    return keys


def all_recorded_text(slack: SlackSandbox) -> str:
    """Everything anyone could see: stored messages, ephemerals, views and every recorded call's params."""
    parts = [json.dumps(call.params, ensure_ascii=False) for call in slack.calls]
    for channel in (CHANNEL, APPROVALS_CHANNEL):
        parts.extend(json.dumps(m, ensure_ascii=False) for m in everything_in(slack, channel))
    parts.extend(json.dumps(e, ensure_ascii=False) for e in slack.ephemerals())
    return "\n".join(parts)


def assert_no_live_broadcast(slack: SlackSandbox) -> None:
    text = all_recorded_text(slack)
    match = LIVE_BROADCAST.search(text)
    assert match is None, (
        f"an unescaped {match.group(0)} reached Slack: …{text[max(0, match.start() - 200) : match.end() + 50]}…"
    )
