"""Edit & approve clicked through the sandbox page in a real browser.

The real bot (signed HTTP from the sandbox) and worker run against the time-skipping Temporal
test server. The requester types ``/report …`` in the composer; an approver opens the draft's
Edit & approve form, finds the draft's text in it, is refused inline for an empty text, types
two lines at the end, adds a comment and submits: the draft is approved, the thread says who
edited it and how much and quotes the comment, and the report is the edited text.

The final thread is saved as ``edit-approve.png`` in the test's tmp_path.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect
from temporalio.testing import WorkflowEnvironment

from signoff.contracts.workflow_io import Phase
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
from tests.support.slack import APPROVER_1, APPROVER_2, REQUESTER
from tests.support.temporal import running_worker
from workflows.human_loop import HumanReviewedWorkflow

pytestmark = [pytest.mark.browser, pytest.mark.slow, requires_chromium]

ADDED = "\n## Budget\n- Panels and inverters: 40,000 EUR per farm"
COMMENT = "Added the budget we agreed on"


async def test_edit_and_approve_a_report_in_the_browser(
    time_env: WorkflowEnvironment, slack: SlackSandbox, page: Page, tmp_path: Path
) -> None:
    settings = bot_settings(slack, approvers=[APPROVER_1, APPROVER_2])
    client = bot_client(time_env.client)
    async with running_worker(time_env.client, settings), running_bot(slack, settings, client):
        # The requester asks for a report from the composer.
        await open_sandbox(page, slack.url, REQUESTER)
        handle = client.get_workflow_handle(await request(page, "/report Solar panels for farms", "report"))

        # The draft lands in its thread with Edit & approve among its buttons.
        thread = await open_thread(page, "Solar panels for farms")
        draft = await the_message(thread, page.get_by_role("heading", name=re.compile(r"^Draft revision 1\b")))
        edit_button = draft.get_by_role("button", name="Edit & approve")
        await expect(edit_button).to_be_visible(timeout=SLOW_MS)
        original = await handle.query(HumanReviewedWorkflow.current_draft)

        # An approver opens the form: the draft's whole text is in it, the comment is empty.
        await switch_user(page, APPROVER_1)
        await edit_button.click()
        modal = page.get_by_test_id("modal")
        await expect(modal.get_by_test_id("modal-title")).to_have_text("Edit & approve")
        text = modal.get_by_role("textbox", name="Text", exact=True)
        comment = modal.get_by_role("textbox", name=re.compile(r"^Comment"))
        await expect(text).to_have_value(original)
        await expect(comment).to_have_value("")
        assert await text.evaluate("node => node.tagName") == "TEXTAREA"

        # A text of only spaces is refused inline, under the text, and the form stays open.
        await text.fill("   ")
        await modal.get_by_test_id("modal-submit").click()
        text_block = modal.get_by_test_id("block-input").filter(
            has=page.get_by_role("textbox", name="Text", exact=True)
        )
        error = text_block.get_by_test_id("input-error")
        await expect(error).to_have_text("The text cannot be empty.")
        await expect(modal).to_have_count(1)
        assert (await handle.query(HumanReviewedWorkflow.progress)).decisions == []

        # The approver puts the text back, types two lines at its end, and says why.
        await text.fill(original)
        await text.press("Control+End")
        await text.press_sequentially(ADDED)
        await expect(text).to_have_value(original + ADDED)
        await comment.fill(COMMENT)
        await modal.get_by_test_id("modal-submit").click()
        await expect(modal).to_have_count(0)
        await expect(
            page.get_by_test_id("ephemeral").filter(has_text="Recorded your approval of revision 1")
        ).to_be_visible()

        # Everyone sees the draft approved, the comment quoted and the edit noted.
        await expect(draft).to_contain_text("Approved by @Avery Approver", timeout=SLOW_MS)
        await expect(draft.get_by_role("button")).to_have_count(0)
        await expect(draft).to_contain_text("Panels and inverters: 40,000 EUR per farm")  # it shows what was approved
        approval = thread.get_by_test_id("message").filter(has_text="approved revision 1.")
        await expect(approval).to_contain_text("@Avery Approver approved revision 1.")
        await expect(approval.locator("blockquote")).to_have_text(COMMENT)
        edited_note = thread.get_by_test_id("message").filter(has_text="edited revision 1 before approving")
        await expect(edited_note).to_contain_text(
            f"@Avery Approver edited revision 1 before approving: 2 lines added "
            f"({len(original):,} → {len(original + ADDED):,} characters)"
        )
        assert await handle.result() == original + ADDED
        assert await handle.query(HumanReviewedWorkflow.get_status) == Phase.APPROVED.value

        await switch_user(page, REQUESTER)
        await expect(edited_note).to_be_visible()
        await page.screenshot(path=str(tmp_path / "edit-approve.png"))
