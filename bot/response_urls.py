"""Requests whose ``response_url`` is not Slack's are refused before any listener runs.

A slash command's response_url goes into the workflow's input (``SlackOrigin.response_url``), where
the worker later posts to it; Bolt's ``respond`` posts to it too. Slack only ever sends its own
(``signoff.slack.response_urls``), so a request carrying another is forged (a leaked signing secret, or a
proxy rewriting bodies): it gets a 400 and nothing is started or decided. The worker checks the
URL again, since a Temporal client can start a workflow without the bot.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.response import BoltResponse

from signoff.slack.response_urls import is_slack_response_url, redacted

log = logging.getLogger(__name__)

FOREIGN_RESPONSE_URL = "the request's response_url is not Slack's"


def response_urls(body: dict[str, Any]) -> list[str]:
    """Every response_url a request carries: a command's or a click's, and a modal submission's list."""
    found = [body["response_url"]] if isinstance(body.get("response_url"), str) else []
    for item in body.get("response_urls") or []:
        if isinstance(item, dict) and isinstance(item.get("response_url"), str):
            found.append(item["response_url"])
    return found


def refuse_foreign_response_urls(
    slack_api_url: str | None,
) -> Callable[[dict[str, Any], Callable[[], Awaitable[None]]], Awaitable[BoltResponse | None]]:
    """A global Bolt middleware (it runs after Bolt has verified the request's signature)."""

    async def check_response_urls(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        foreign = [url for url in response_urls(body) if not is_slack_response_url(url, slack_api_url)]
        if foreign:
            log.warning("Refused a request whose response_url is not Slack's (%s)", redacted(foreign[0]))
            return BoltResponse(status=400, body=FOREIGN_RESPONSE_URL)
        await next()
        return None

    return check_response_urls
