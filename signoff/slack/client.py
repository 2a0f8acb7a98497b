"""The Slack Web API client both processes use: one aiohttp session, no hidden retries.

The worker's calls must not be retried inside slack_sdk (Temporal retries them and
records each attempt; a hidden retry of chat.postMessage can post twice). The bot's
client adds its own retry handlers on top of ``slack_client`` where a retry is safe.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

# slack_sdk's own default per call; with a shared session the session's timeout applies instead.
SLACK_HTTP_TIMEOUT = aiohttp.ClientTimeout(total=30)


@contextlib.asynccontextmanager
async def slack_session() -> AsyncIterator[aiohttp.ClientSession]:
    """One connection pool (and one SSL context) for every Web API call of a process.

    Without a session, slack_sdk opens a new ClientSession (and TLS context and connection)
    for each call. Create it inside the running loop; it is closed on exit.
    """
    async with aiohttp.ClientSession(timeout=SLACK_HTTP_TIMEOUT) as session:
        yield session


def slack_client(
    token: str, base_url: str | None = None, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """An AsyncWebClient without built-in retries, pointed at ``base_url`` when given.

    ``base_url`` is ``settings.slack_api_url`` (the sandbox in tests and demos); ``session``
    one from ``slack_session()`` (without it, each call opens its own).
    """
    kwargs: dict[str, Any] = {"token": token, "retry_handlers": [], "session": session}
    if base_url:
        # slack_sdk joins method names onto base_url with urljoin, which drops
        # the last path segment unless the URL ends with "/".
        kwargs["base_url"] = base_url if base_url.endswith("/") else base_url + "/"
    return AsyncWebClient(**kwargs)
