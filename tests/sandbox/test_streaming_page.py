"""A streamed message on the sandbox's page, in a real browser: its plan and tasks update live, it shows as
typing while the stream is open, and no longer once stopped."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect
from slack_sdk.models.messages.chunk import MarkdownTextChunk, PlanUpdateChunk, TaskUpdateChunk

from signoff.sandbox import SlackSandbox
from tests.support.browser import open_sandbox, open_thread, requires_chromium
from tests.support.slack import CHANNEL, REQUESTER, TEAM, web_client

pytestmark = [pytest.mark.browser, requires_chromium]


async def test_a_stream_shows_its_tasks_live_and_stops_typing(sb: SlackSandbox, page: Page) -> None:
    client = web_client(sb)
    parent = await client.chat_postMessage(channel=CHANNEL, text="Report on solar panels")
    await client.chat_postMessage(channel=CHANNEL, text="started", thread_ts=parent["ts"])
    await open_sandbox(page, sb.url)
    thread = await open_thread(page, "Report on solar panels")

    started = await client.chat_startStream(
        channel=CHANNEL,
        thread_ts=parent["ts"],
        recipient_user_id=REQUESTER,
        recipient_team_id=TEAM,
        task_display_mode="plan",
        chunks=[
            PlanUpdateChunk(title="Preparing the draft"),
            TaskUpdateChunk(id="r", title="Researching", status="in_progress"),
        ],
    )
    streamed = thread.locator(f'[data-testid="message"][data-ts="{started["ts"]}"]')
    await expect(streamed.get_by_test_id("plan-title")).to_have_text("Preparing the draft")
    await expect(streamed.get_by_test_id("task-card")).to_have_attribute("data-status", "in_progress")
    await expect(streamed.get_by_test_id("streaming")).to_be_visible()

    await client.chat_stopStream(
        channel=CHANNEL,
        ts=started["ts"],
        chunks=[
            PlanUpdateChunk(title="Draft ready · 4 s"),
            TaskUpdateChunk(id="r", title="Researching · 4 s", status="complete"),
            MarkdownTextChunk(text="Revision 1 is ready for a decision."),
        ],
    )
    await expect(streamed.get_by_test_id("task-title")).to_have_text("Researching · 4 s")
    await expect(streamed.get_by_test_id("task-card")).to_have_attribute("data-status", "complete")
    await expect(streamed.get_by_test_id("block-markdown")).to_contain_text("Revision 1 is ready for a decision.")
    await expect(streamed.get_by_test_id("streaming")).to_have_count(0)
