"""A retried post looks for itself only from shortly before its activity was first scheduled.

The retry lookup (signoff/activities/slack.py ``_find_posted``) reads at most LOOKUP_MAX_PAGES pages of
LOOKUP_PAGE_SIZE messages, from ``oldest`` = the activity's scheduled time − 2 minutes. Here the
scheduled time is the real one (not ActivityEnvironment's epoch, where ``oldest`` is 0 and every
post counts) and the thread already holds more posts from an hour ago than the lookup reads: only a
window Slack honours lets the retry reach its own post, so it must find it and post nothing twice.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from signoff.activities.slack import LOOKUP_MAX_PAGES, LOOKUP_PAGE_SIZE, SlackActivities, post_metadata
from signoff.contracts.activity_io import DraftPostInput, ThreadNoteInput
from signoff.contracts.workflow_io import DraftState, DraftView, MessageRef, WorkflowKind
from signoff.sandbox import SlackSandbox
from signoff.sandbox.store import Message
from signoff.slack.client import slack_client
from tests.support.slack import CHANNEL
from tests.support.steps import Attempt

TOKEN = "xoxb-sandbox"
# More earlier posts than the lookup ever reads.
EARLIER_POSTS = LOOKUP_MAX_PAGES * LOOKUP_PAGE_SIZE + 1
AN_HOUR = 3600


@pytest.fixture
def acts(sb: SlackSandbox) -> SlackActivities:
    return SlackActivities(slack_client(TOKEN, sb.api_url))


def attempt(number: int, scheduled: datetime) -> Attempt:
    return Attempt(number, scheduled)


def long_thread_from_an_hour_ago(sb: SlackSandbox) -> MessageRef:
    """A thread whose parent and EARLIER_POSTS replies (each with its own key) were posted an hour ago."""
    start_us = int((time.time() - AN_HOUR) * 1_000_000)

    def ts(i: int) -> str:
        return f"{(start_us + i) // 1_000_000}.{(start_us + i) % 1_000_000:06d}"

    parent = ts(0)
    for i in range(EARLIER_POSTS + 1):
        sb.store.insert_message(
            Message(
                channel=CHANNEL,
                ts=ts(i),
                thread_ts=parent,
                user="U0SIGNOFF",
                bot_id="B0SIGNOFF",
                text=f"earlier post {i}",
                blocks=None,
                metadata=post_metadata(f"earlier-{i}"),
                files=None,
                edited_ts=None,
            )
        )
    return MessageRef(channel_id=CHANNEL, ts=parent)


def keys(sb: SlackSandbox, thread: MessageRef) -> list[str]:
    return [m["metadata"]["event_payload"]["key"] for m in sb.replies(CHANNEL, thread.ts)]


async def test_a_retried_note_finds_its_post_past_a_long_thread_of_earlier_posts(
    sb: SlackSandbox, acts: SlackActivities
) -> None:
    thread = long_thread_from_an_hour_ago(sb)
    scheduled = datetime.now(UTC)
    note = ThreadNoteInput(thread=thread, text="Reminder: still waiting", idempotency_key="reminder-1")

    first = await attempt(1, scheduled).run(acts.post_thread_note, note)
    again = await attempt(2, scheduled).run(acts.post_thread_note, note)

    assert again == first
    assert keys(sb, thread).count("reminder-1") == 1
    assert len(sb.calls_to("chat.postMessage")) == 1
    [lookup] = sb.calls_to("conversations.replies")
    assert float(lookup.params["oldest"]) == pytest.approx(scheduled.timestamp() - 120)


async def test_a_retried_draft_finds_its_posted_parts_past_a_long_thread_of_earlier_posts(
    sb: SlackSandbox, acts: SlackActivities
) -> None:
    thread = long_thread_from_an_hour_ago(sb)
    scheduled = datetime.now(UTC)
    view = DraftView(
        workflow_id="report-q3",
        kind=WorkflowKind.REPORT,
        subject="Q3 revenue",
        revision=1,
        body="## Summary\n\nRevenue grew.",
        state=DraftState.OPEN,
        approvals=[],
        required_approvals=1,
    )
    post = DraftPostInput(thread=thread, view=view, idempotency_key="draft-1")

    first = await attempt(1, scheduled).run(acts.post_draft, post)
    posts = len(sb.calls_to("chat.postMessage"))
    again = await attempt(2, scheduled).run(acts.post_draft, post)

    assert again == first
    assert len(sb.calls_to("chat.postMessage")) == posts
    assert len(sb.replies(CHANNEL, thread.ts)) == EARLIER_POSTS + len(first)
