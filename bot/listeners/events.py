"""Events API: ``app_home_opened`` refreshes the viewer's Home tab."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.listeners.home import refresh_home

EVENTS = ("app_home_opened",)


def register(app: AsyncApp, deps: Deps) -> None:
    @app.event("app_home_opened")
    async def home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        # Bolt acks events itself before this runs.
        if event.get("tab", "home") != "home":
            return
        async with deps.follow_ups:
            await refresh_home(deps, client, event["user"])
