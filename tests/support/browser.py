"""Browser tests: Playwright's async API driving Debian's Chromium (never a downloaded browser).

Import the fixtures into a test module (``from tests.support.browser import browser, page``).
``make test`` installs Chromium with scripts/ensure-chromium.sh; without the browser (/usr/bin/chromium, or
SIGNOFF_CHROMIUM) the browser tests are skipped with that reason, and fail in CI (CI set).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

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
