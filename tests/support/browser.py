"""Browser tests: Playwright's async API driving Debian's Chromium (never a downloaded browser).

Import the fixtures into a test module (``from tests.support.browser import browser, page``).
``make test`` installs Chromium with scripts/ensure-chromium.sh; without the browser (/usr/bin/chromium, or
SIGNOFF_CHROMIUM) the browser tests are skipped with that reason, and fail in CI (CI set).
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, async_playwright, expect

from tests.support.slack import CHANNEL, REQUESTER

CHROMIUM = Path(os.environ.get("SIGNOFF_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
TIMEOUT_MS = 10_000
SLOW_MS = 20_000  # the agents and the workflow between two clicks

MISSING = f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh (make test does) or set SIGNOFF_CHROMIUM"
# In CI a missing browser is a broken install, not a reason to skip.
IN_CI = bool(os.environ.get("CI"))

HAVE_CHROMIUM = CHROMIUM.exists()
requires_chromium = pytest.mark.skipif(not HAVE_CHROMIUM and not IN_CI, reason=MISSING)

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        if IN_CI:
            pytest.fail(MISSING)
        pytest.skip(MISSING)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(TIMEOUT_MS)
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield opened
    finally:
        await context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


async def open_sandbox(page: Page, url: str, user: str = REQUESTER, channel: str = CHANNEL) -> None:
    """Load the sandbox page as ``user`` and wait until live updates are connected."""
    await page.goto(f"{url}/?user={user}&channel={channel}")
    await expect(page.get_by_test_id("live")).to_have_attribute("data-state", "open")


async def switch_user(page: Page, user: str) -> None:
    await page.get_by_test_id("user-switch").select_option(user)
    await expect(page.get_by_test_id("user-switch")).to_have_value(user)


async def send(page: Page, text: str, *, thread: bool = False) -> None:
    """Type into the composer (the channel's or the open thread's) and press Enter."""
    box = page.get_by_test_id("thread-composer" if thread else "composer")
    await box.fill(text)
    await box.press("Enter")
    await expect(box).to_have_value("")


async def request(page: Page, command: str, kind: str) -> str:
    """The user types ``command`` (``/report …``, ``/plan …``) in the composer; the workflow id the
    workflow's own "Started your ``kind``" ephemeral names."""
    await send(page, command)
    started = page.get_by_test_id("ephemeral").filter(has_text=f"Started your {kind}")
    await expect(started).to_be_visible(timeout=SLOW_MS)
    await expect(started.get_by_test_id("only-you")).to_be_visible()
    workflow_id = re.search(r"\(([^()\s]+)\)", await started.inner_text())
    assert workflow_id, await started.inner_text()
    return workflow_id.group(1)


async def open_thread(page: Page, subject: str) -> Locator:
    """Open the thread of the channel's message about ``subject`` once it has replies; the thread pane."""
    parent = page.get_by_test_id("messages").get_by_test_id("message").filter(has_text=subject).first
    await parent.get_by_test_id("reply-count").click(timeout=SLOW_MS)
    return page.get_by_test_id("thread")


async def the_message(thread: Locator, has: Locator) -> Locator:
    """The one thread message holding ``has``, by its ts (it keeps its place when edited)."""
    found = thread.get_by_test_id("message").filter(has=has)
    await expect(found).to_have_count(1, timeout=SLOW_MS)
    ts = await found.get_attribute("data-ts")
    return thread.locator(f'[data-testid="message"][data-ts="{ts}"]')
