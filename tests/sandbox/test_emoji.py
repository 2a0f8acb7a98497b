"""The sandbox page shows emoji shortcodes as Slack does: every ``:name:`` signoff writes is an emoji
there, none left as the raw shortcode (the usage line's ``:bar_chart:`` was)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page

from signoff.sandbox import SlackSandbox
from tests.support.browser import open_sandbox, requires_chromium
from tests.support.paths import ROOT

pytestmark = [pytest.mark.browser, requires_chromium]

PRODUCT = ("bot", "signoff", "workflows")
SHORTCODE = re.compile(r":([a-z0-9_+-]+):")
# Matches that are not emoji: Sphinx roles in docstrings, and ids with a word between colons.
NOT_EMOJI = {"func", "class", "home", "tool", "dm", "memory"}  # memory: SQLite's ":memory:"


def product_shortcodes() -> set[str]:
    found: set[str] = set()
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            if "sandbox" in path.relative_to(ROOT).parts:  # the demo's Slack, not what signoff writes
                continue
            found.update(SHORTCODE.findall(path.read_text()))
    return found - NOT_EMOJI


def test_the_product_writes_shortcodes() -> None:
    assert {"bar_chart", "warning", "white_check_mark", "octagonal_sign"} <= product_shortcodes()


async def test_every_shortcode_the_product_writes_shows_as_an_emoji(page: Page, slack: SlackSandbox) -> None:
    await open_sandbox(page, slack.url)
    names = sorted(product_shortcodes())
    shown = await page.evaluate(
        "async names => { const Mrkdwn = await import('/static/mrkdwn.js');"
        " return names.map(name => Mrkdwn.emojify(`:${name}:`)); }",
        names,
    )
    raw = [name for name, text in zip(names, shown, strict=True) if text == f":{name}:"]
    assert raw == [], f"shown as raw shortcodes on the sandbox page: {raw}"


async def test_the_usage_line_in_a_section_shows_its_emoji(page: Page, slack: SlackSandbox) -> None:
    await open_sandbox(page, slack.url)
    rendered = await page.evaluate(
        "async text => (await import('/static/mrkdwn.js')).render(text, {}).textContent",
        ":tada: Done.\n:bar_chart: Usage: 1,234 tokens.",
    )
    assert ":bar_chart:" not in rendered and "📊" in rendered
