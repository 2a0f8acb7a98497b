"""The ``response_url`` Slack includes with slash commands and interactions.

The app POSTs JSON (``text``, ``blocks``, ``response_type``,
``replace_original``, ``delete_original``, ``thread_ts``) and Slack posts an
ephemeral or in-channel message, or replaces/deletes the message the
interaction came from. Like Slack, a URL works five times within 30 minutes.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from signoff.sandbox.recording import Call
from signoff.sandbox.workspace import SlackError, Workspace

MAX_USES = 5
LIFETIME_SECONDS = 30 * 60


class ResponseUrls:
    def __init__(self, workspace: Workspace, base_url: Callable[[], str], calls: list[Call]) -> None:
        self.workspace = workspace
        self._base_url = base_url
        self._calls = calls

    def issue(self, *, channel: str, user: str, message_ts: str | None = None, is_ephemeral: bool = False) -> str:
        """A response URL for an interaction by ``user`` in ``channel`` (on message ``message_ts``, if any)."""
        token = secrets.token_urlsafe(18)
        self.workspace.store.insert_response_url(
            token, {"channel": channel, "user": user, "message_ts": message_ts, "is_ephemeral": is_ephemeral}
        )
        return f"{self._base_url()}/response/{token}"

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/response/{token}", self.handle)]

    async def handle(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.text())
        except json.JSONDecodeError:
            return self._answer({}, 400, "invalid_payload")
        if not isinstance(body, dict):
            return self._answer({}, 400, "invalid_payload")
        record = self.workspace.store.use_response_url(request.match_info["token"])
        if record is None:
            return self._answer(body, 404, "invalid_token")
        if time.time() - record.created > LIFETIME_SECONDS:
            return self._answer(body, 404, "expired_url")
        if record.uses > MAX_USES:
            return self._answer(body, 404, "used_url")
        try:
            self._apply(record.context, body)
        except SlackError as e:
            return self._answer(body, 400, e.code)
        return self._answer(body, 200, {"ok": True})

    def _apply(self, context: dict[str, Any], body: dict[str, Any]) -> None:
        channel, user, message_ts = context["channel"], context["user"], context["message_ts"]
        blocks = body.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        on_message = message_ts is not None
        if on_message and _flag(body.get("delete_original")):
            self._delete_original(channel, message_ts, context["is_ephemeral"])
        elif on_message and _flag(body.get("replace_original")):
            self._replace_original(channel, message_ts, context["is_ephemeral"], body.get("text"), blocks)
        elif body.get("response_type") == "in_channel":
            self.workspace.post_message(channel, text=body.get("text"), blocks=blocks, thread_ts=body.get("thread_ts"))
        else:
            self.workspace.post_ephemeral(
                channel, user, text=body.get("text"), blocks=blocks, thread_ts=body.get("thread_ts")
            )

    def _delete_original(self, channel: str, ts: str, is_ephemeral: bool) -> None:
        if is_ephemeral:
            if not self.workspace.store.delete_ephemeral(channel, ts):
                raise SlackError("message_not_found")
        else:
            self.workspace.delete_message(channel, ts)

    def _replace_original(self, channel: str, ts: str, is_ephemeral: bool, text: object, blocks: object) -> None:
        if is_ephemeral:
            ephemeral = self.workspace.store.get_ephemeral(channel, ts)
            if ephemeral is None:
                raise SlackError("message_not_found")
            self.workspace.replace_ephemeral(ephemeral, text=text, blocks=blocks)
        else:
            self.workspace.update_message(channel, ts, text=text if text is not None else "", blocks=blocks or [])

    def _answer(self, params: dict[str, Any], status: int, body: dict[str, Any] | str) -> web.Response:
        self._calls.append(Call("response_url", params, status, body, time.time()))
        if isinstance(body, str):
            return web.Response(status=status, text=body, content_type="text/plain")
        return web.json_response(body, status=status)


def _flag(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")
