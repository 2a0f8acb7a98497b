"""The Workflow Builder step in a real browser: a "workflow" started on the sandbox's Workflows page runs
the app's "Request sign-off" step; the approver approves in the thread; the run shows the step's outputs.

The real bot (signed HTTP from the sandbox) and worker run against the time-skipping Temporal test server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Locator, Page, expect
from temporalio.testing import WorkflowEnvironment

from signoff.sandbox import SlackSandbox
from tests.support.bot import bot_client, bot_settings, running_bot
from tests.support.browser import SLOW_MS, open_sandbox, open_thread, requires_chromium, switch_user
from tests.support.slack import APPROVER_1, CHANNEL, REQUESTER
from tests.support.temporal import running_worker

pytestmark = [pytest.mark.browser, pytest.mark.slow, requires_chromium]


@pytest.fixture
async def bot(time_env: WorkflowEnvironment, slack: SlackSandbox) -> AsyncIterator[None]:
    settings = bot_settings(slack)
    async with running_worker(time_env.client, settings), running_bot(slack, settings, bot_client(time_env.client)):
        yield


async def run_workflow(page: Page, url: str, title: str, approvers: tuple[str, ...] = (), channel: str = "") -> Locator:
    """Run a workflow with the step from the Workflows page, as the requester; its run on the page."""
    await page.goto(f"{url}/workflows?user={REQUESTER}")
    await page.get_by_test_id("workflow-title").fill(title)
    await page.get_by_test_id("workflow-body").fill("Retry idempotency keys")
    for approver in approvers:
        await page.get_by_test_id(f"approver-{approver}").check()
    if channel:
        await page.get_by_test_id("workflow-channel").select_option(channel)
    await page.get_by_test_id("workflow-run").click()
    return page.get_by_test_id("workflow-runs").locator("li").first


async def test_a_workflow_runs_the_step_and_shows_its_outputs_after_an_approval(
    bot: None, slack: SlackSandbox, page: Page
) -> None:
    # The requester runs a workflow whose step asks Avery to sign off in #general.
    run = await run_workflow(page, slack.url, "Ship payments-api v2.3.1", (APPROVER_1,), CHANNEL)
    await expect(run.get_by_test_id("run-status")).to_have_text("running")
    await expect(page.get_by_test_id("workflow-notice")).to_be_hidden()

    # Avery approves in the thread the step started.
    await open_sandbox(page, slack.url, REQUESTER, CHANNEL)
    await switch_user(page, APPROVER_1)
    thread = await open_thread(page, "Ship payments-api v2.3.1")
    await thread.get_by_role("button", name="Approve", exact=True).first.click(timeout=SLOW_MS)
    await expect(page.get_by_test_id("ephemeral").filter(has_text="Recorded your approval")).to_be_visible()

    # Back on the Workflows page: the step completed with its outputs.
    await page.get_by_test_id("workflows-link").click()
    run = page.get_by_test_id("workflow-runs").locator("li").first
    await expect(run.get_by_test_id("run-status")).to_have_text("completed", timeout=SLOW_MS)
    await expect(run.get_by_test_id("output-outcome")).to_have_text("approved")
    await expect(run.get_by_test_id("output-decided_by")).to_have_text(APPROVER_1)
    await expect(run.get_by_test_id("output-text")).to_have_text("Retry idempotency keys")


async def test_a_step_without_approvers_or_channel_fails_with_the_reason_on_the_page(
    bot: None, slack: SlackSandbox, page: Page
) -> None:
    run = await run_workflow(page, slack.url, "Nobody to ask")
    await expect(run.get_by_test_id("run-status")).to_have_text("failed", timeout=SLOW_MS)
    await expect(run.get_by_test_id("run-error")).to_contain_text("needs approvers or a channel")
