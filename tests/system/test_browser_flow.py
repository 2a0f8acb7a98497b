"""The whole signoff flow clicked through the sandbox page in a real browser.

The real bot (signed HTTP from the sandbox) and worker run against the
time-skipping Temporal test server. A requester types ``/report …`` in the
composer and watches the thread fill in; an approver sends the draft back
through the modal (first refused inline); a reminder arrives (the interval is
shortened to seconds); the outsider is refused; another approver approves
revision 2.

The final thread is saved as ``thread.png`` in the test's tmp_path; with
``SIGNOFF_UPDATE_SCREENSHOT=1`` it also replaces docs/screenshot-thread.png.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, expect
from temporalio.testing import WorkflowEnvironment

from signoff.contracts.workflow_io import Phase
from signoff.sandbox import SlackSandbox
from tests.support.bot import bot_client, bot_settings, running_bot
from tests.support.browser import SLOW_MS, open_sandbox, open_thread, request, requires_chromium, switch_user
from tests.support.paths import ROOT
from tests.support.slack import APPROVER_1, APPROVER_2, OUTSIDER, REQUESTER
from tests.support.temporal import running_worker
from workflows.human_loop import HumanReviewedWorkflow

pytestmark = [pytest.mark.browser, pytest.mark.slow, requires_chromium]

DOCS_SCREENSHOT = ROOT / "docs" / "screenshot-thread.png"
REMINDER = timedelta(seconds=3)  # the agents and the workflow between two clicks


async def draft(page: Page, revision: int) -> Locator:
    """The thread message whose header names this revision (it keeps its place when edited)."""
    header = page.get_by_role("heading", name=re.compile(rf"^Draft revision {revision}\b"))
    found = page.get_by_test_id("thread").get_by_test_id("message").filter(has=header)
    await expect(found).to_have_count(1, timeout=SLOW_MS)
    ts = await found.get_attribute("data-ts")
    return page.get_by_test_id("thread").locator(f'[data-testid="message"][data-ts="{ts}"]')


async def test_report_revise_remind_refuse_and_approve_in_the_browser(
    time_env: WorkflowEnvironment, slack: SlackSandbox, page: Page, tmp_path: Path
) -> None:
    # Reminders every few seconds of real time (the time-skipping server's clock runs in real
    # time unless a client waits on a result), never an escalation or a deadline mid-test.
    settings = bot_settings(
        slack,
        approvers=[APPROVER_1, APPROVER_2],
        reminder_interval=REMINDER,
        max_reminders=1000,
        decision_deadline=None,
    )
    client = bot_client(time_env.client)
    async with running_worker(time_env.client, settings), running_bot(slack, settings, client):
        # The requester asks for a report from the composer, as a slash command.
        await open_sandbox(page, slack.url, REQUESTER)
        handle = client.get_workflow_handle(await request(page, "/report Solar panels for farms", "report"))

        # The thread fills in live: the parent, then draft 1 with its decision buttons.
        thread = await open_thread(page, "Solar panels for farms")
        draft_1 = await draft(page, 1)
        await expect(draft_1.get_by_role("button", name="Approve", exact=True)).to_be_visible(timeout=SLOW_MS)

        # An approver sends it back through the modal: blank notes are refused inline.
        await switch_user(page, APPROVER_1)
        await draft_1.get_by_role("button", name="Request revision").click()
        modal = page.get_by_test_id("modal")
        notes = modal.locator("textarea, input[type=text]").first
        await notes.fill("   ")
        await modal.get_by_test_id("modal-submit").click()
        await expect(modal.get_by_test_id("input-error")).not_to_be_empty()
        await expect(modal.get_by_test_id("input-error")).to_be_visible()
        await notes.fill("Add maintenance costs")
        await modal.get_by_test_id("modal-submit").click()
        await expect(modal).to_have_count(0)
        await expect(page.get_by_test_id("ephemeral").filter(has_text="Sent revision 1 back")).to_be_visible()

        # Revision 2 arrives live; revision 1 loses its buttons.
        draft_2 = await draft(page, 2)
        await expect(draft_2.get_by_role("button", name="Approve", exact=True)).to_be_visible(timeout=SLOW_MS)
        await expect(draft_1.get_by_role("button")).to_have_count(0)

        # Nobody decides for a while (the interval is shortened): a reminder lands in the thread.
        reminder = thread.get_by_test_id("message").filter(has_text=re.compile(r"Reminder \d+: revision 2")).first
        await expect(reminder).to_be_visible(timeout=SLOW_MS)
        await expect(reminder.get_by_test_id("mention")).to_have_text(["@Avery Approver", "@Blake Approver"])

        # The outsider sees the thread but may not approve: only they are told so.
        await switch_user(page, OUTSIDER)
        await draft_2.get_by_role("button", name="Approve", exact=True).click()
        refusal = page.get_by_test_id("ephemeral").filter(has_text="not one of the approvers")
        await expect(refusal).to_be_visible()
        assert await handle.query(HumanReviewedWorkflow.get_status) == Phase.PENDING_APPROVAL.value

        # The second approver approves revision 2; everyone sees the final state.
        await switch_user(page, APPROVER_2)
        await expect(page.get_by_test_id("ephemeral")).to_have_count(0)
        await draft_2.get_by_role("button", name="Approve", exact=True).click()
        await expect(
            page.get_by_test_id("ephemeral").filter(has_text="Recorded your approval of revision 2")
        ).to_be_visible()
        await expect(draft_2).to_contain_text("Approved by @Blake Approver", timeout=SLOW_MS)
        await expect(draft_2.get_by_role("button")).to_have_count(0)
        report = await handle.result()
        assert "maintenance" in report.lower()

        await switch_user(page, REQUESTER)
        await expect(draft_2).to_contain_text("Approved by @Blake Approver")
        await expect(draft_2.get_by_role("button")).to_have_count(0)
        shot = tmp_path / "thread.png"
        await page.screenshot(path=str(shot))
        if os.environ.get("SIGNOFF_UPDATE_SCREENSHOT"):
            DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
            shutil.copyfile(shot, DOCS_SCREENSHOT)
