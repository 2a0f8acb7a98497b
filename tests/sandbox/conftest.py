"""The sandbox tests' fixtures: a sandbox of their own, and the bot's Web API client on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import SlackSandbox
from tests.support.slack import web_client


@pytest.fixture
async def sb() -> AsyncIterator[SlackSandbox]:
    """A fresh sandbox with Slack's defaults (a module that needs other limits overrides this)."""
    async with SlackSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def client(sb: SlackSandbox) -> AsyncWebClient:
    return web_client(sb)
