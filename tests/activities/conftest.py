"""The Slack sandbox the worker's activity tests post through."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from signoff.sandbox import SlackSandbox


@pytest.fixture
async def sb() -> AsyncIterator[SlackSandbox]:
    """A fresh sandbox per test; its bot token is the default, ``xoxb-sandbox`` (each module's TOKEN)."""
    async with SlackSandbox() as sandbox:
        yield sandbox
