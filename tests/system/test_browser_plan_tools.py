"""The demo's plan with a tool call, clicked through the sandbox page in a real browser.

The real bot (signed HTTP from the sandbox) and worker, with the offline model, run
against the time-skipping Temporal test server, under the demo's policy (Avery and Blake
approve). In #general the requester types ``/plan Announce the offsite in #random``; the
plan lands in its thread; Avery approves it; the executor asks to post in #random (a
tool-call message with Allow / Always allow / Deny); Avery allows it; the buttons go,
"Allowed by @Avery Approver" stays, and the announcement is in #random.

The decided thread is saved as ``plan-tools.png`` in the test's tmp_path; with
``SIGNOFF_UPDATE_SCREENSHOT=1`` it also replaces docs/screenshot-plan-tools.png.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Locator, Page, expect
from temporalio.testing import WorkflowEnvironment

from signoff.sandbox import SlackSandbox
from tests.support.bot import bot_client, bot_settings, running_bot
from tests.support.browser import (
    SLOW_MS,
    open_sandbox,
    open_thread,
    request,
    requires_chromium,
    switch_user,
    the_message,
)
from tests.support.paths import ROOT
from tests.support.slack import APPROVER_1, APPROVER_2, REQUESTER
from tests.support.temporal import running_worker
from tests.support.waiting import eventually

pytestmark = [pytest.mark.browser, pytest.mark.slow, requires_chromium]

DOCS_SCREENSHOT = ROOT / "docs" / "screenshot-plan-tools.png"
TASK = "Announce the offsite in #random"


async def test_plan_tool_call_allowed_in_the_browser(
    time_env: WorkflowEnvironment, slack: SlackSandbox, page: Page, tmp_path: Path
) -> None:
    settings = bot_settings(slack, approvers=[APPROVER_1, APPROVER_2])
    client = bot_client(time_env.client)
    async with running_worker(time_env.client, settings), running_bot(slack, settings, client):
        # The requester asks for a plan from #general's composer.
        await open_sandbox(page, slack.url, REQUESTER)
        await request(page, f"/plan {TASK}", "plan")

        # The plan lands in its thread with the decision buttons.
        thread = await open_thread(page, "Announce the offsite")
        plan = await the_message(thread, page.get_by_role("button", name="Approve", exact=True))
        await expect(plan.get_by_role("button", name="Approve", exact=True)).to_be_visible()

        # An approver approves the plan: the executor asks to post in #random.
        asks = page.get_by_test_id("block-section").filter(has_text=re.compile(r"post_message.*wants to run"))
        await expect(thread.get_by_test_id("message").filter(has=asks)).to_have_count(0)
        await switch_user(page, APPROVER_1)
        await plan.get_by_role("button", name="Approve", exact=True).click()
        await expect(plan).to_contain_text("Approved by @Avery Approver", timeout=SLOW_MS)
        await expect(plan.get_by_role("button")).to_have_count(0)
        tool_call = await the_message(thread, asks)
        await expect(tool_call).to_contain_text("🛠️ post_message (call 1) by the executor agent wants to run:")
        await expect(tool_call).not_to_contain_text(":hammer_and_wrench:")  # emoji, not shortcodes
        await expect(tool_call).to_contain_text("channel: #random")
        await expect(tool_call).to_contain_text("Announce the offsite")
        await expect(tool_call.get_by_test_id("block-context")).to_contain_text("Waiting for a decision.")
        decision = tool_call.get_by_test_id("block-button")
        await expect(decision).to_have_text(["Allow", "Always allow", "Deny"])
        await expect(tool_call.get_by_role("button", name="Show full arguments")).to_have_count(0)

        # Allow: the call runs, its buttons go and the message says who allowed it.
        await tool_call.get_by_role("button", name="Allow", exact=True).click()
        await expect(page.get_by_test_id("ephemeral").filter(has_text="Allowed tool call 1")).to_be_visible()
        await expect(tool_call.get_by_role("button")).to_have_count(0, timeout=SLOW_MS)
        await expect(tool_call.get_by_test_id("block-context")).to_contain_text("Allowed by @Avery Approver")
        await expect(thread.get_by_test_id("message").filter(has_text="The plan was executed")).to_be_visible(
            timeout=SLOW_MS
        )

        # The requester sees the same decided thread.
        await switch_user(page, REQUESTER)
        await expect(tool_call.get_by_test_id("block-context")).to_contain_text("Allowed by @Avery Approver")
        await expect(tool_call.get_by_role("button")).to_have_count(0)
        # The page re-renders the thread while it polls: scrolling to a node it has just replaced fails,
        # so it is tried again on the node that replaced it.
        await eventually(lambda: _scrolled_to(tool_call))
        shot = tmp_path / "plan-tools.png"
        await page.screenshot(path=str(shot))
        if os.environ.get("SIGNOFF_UPDATE_SCREENSHOT"):
            DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
            shutil.copyfile(shot, DOCS_SCREENSHOT)

        # The announcement is in #random.
        await page.get_by_test_id("channel-random").click()
        await expect(page.get_by_test_id("channel-title")).to_have_text("#random")
        announcement = page.get_by_test_id("messages").get_by_test_id("message").filter(has_text="Announce the offsite")
        await expect(announcement).to_have_count(1)
        await expect(announcement).to_be_visible()
        await expect(announcement).to_contain_text("📣 Announce the offsite.")
        await expect(announcement.get_by_test_id("message-author")).to_have_text("signoff")


async def _scrolled_to(locator: Locator) -> bool:
    try:
        await locator.scroll_into_view_if_needed(timeout=2_000)
    except PlaywrightError as err:
        if "not attached to the DOM" not in str(err):
            raise
        return False
    return True
