"""The sandbox tests' fixtures: a sandbox of their own, the bot's Web API client on it, and an app it delivers to."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from signoff.sandbox import SlackSandbox
from tests.support.slack import web_client
from tests.support.web import RecordingApp, serving_events


@pytest.fixture
async def sb() -> AsyncIterator[SlackSandbox]:
    """A fresh sandbox with Slack's defaults (a module that needs other limits overrides this)."""
    async with SlackSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def client(sb: SlackSandbox) -> AsyncWebClient:
    return web_client(sb)


@pytest.fixture
async def app(slack: SlackSandbox) -> AsyncIterator[RecordingApp]:
    """The app the ``slack`` sandbox delivers to over HTTP: it records what it gets."""
    fake = RecordingApp()
    async with serving_events(fake.handle) as url:
        slack.request_url = url
        yield fake
