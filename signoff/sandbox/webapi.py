"""Slack's Web API over HTTP: ``/api/<method>`` and the file upload URL.

Reads parameters the ways slack_sdk sends them (query string, form body, JSON
body, JSON-encoded fields inside forms), authenticates the token, applies
queued faults and rate limits, dispatches to the workspace, and records every
call. Answers use Slack's shapes: HTTP 200 with ``{"ok": ...}``, or 429 with
``Retry-After``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from signoff.sandbox.directory import BOT_USER_ID, DEFAULT_BOT_SCOPES, Channel
from signoff.sandbox.functions import WORKFLOW_TOKEN_PREFIX, Functions
from signoff.sandbox.ratelimit import RateLimiter
from signoff.sandbox.recording import Call, Faults
from signoff.sandbox.streams import Streams
from signoff.sandbox.tiers import SlackTiers, TierLimiter
from signoff.sandbox.workspace import SlackError, Workspace

# Fields Slack accepts as JSON-encoded strings in form bodies.
_JSON_FIELDS = ("blocks", "metadata", "view", "files", "attachments", "outputs", "chunks")
_TRUE = {"true", "1", "yes"}
_APP_TOKEN_METHODS = {"apps.connections.open"}
# files.completeUploadExternal's channel_id: a conversation id, never a name or a user id.
_CONVERSATION_ID = re.compile(r"^[CGDZ][A-Z0-9]{8,}$")


class Params(dict[str, Any]):
    """Decoded request parameters with Slack's loose typing of scalars (and the token that came with them)."""

    token: str = ""

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in _TRUE

    def integer(self, name: str, default: int, maximum: int) -> int:
        value = self.get(name)
        if value in (None, ""):
            return default
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise SlackError("invalid_arguments") from None
        if number <= 0:
            return default
        return min(number, maximum)

    def text(self, name: str) -> str | None:
        value = self.get(name)
        return None if value in (None, "") else str(value)


class WebApi:
    def __init__(
        self,
        workspace: Workspace,
        *,
        bot_token: str,
        app_token: str,
        faults: Faults,
        calls: list[Call],
        socket_url: Callable[[], str],
        post_limiter: RateLimiter | None,
        tier_limiter: TierLimiter | None = None,
        bot_scopes: frozenset[str] = DEFAULT_BOT_SCOPES,
        functions: Functions | None = None,
        streams: Streams | None = None,
    ) -> None:
        self.workspace = workspace
        self.streams = streams or Streams(workspace)
        self.functions = functions or Functions()
        self.bot_scopes = bot_scopes
        self._bot_token = bot_token
        self._app_token = app_token
        self._faults = faults
        self._calls = calls
        self._socket_url = socket_url
        self._post_limiter = post_limiter
        self._tier_limiter = tier_limiter or TierLimiter(SlackTiers.OFF)
        self._methods: dict[str, Callable[[Params], dict[str, Any]]] = {
            "auth.test": lambda p: self.workspace.auth_test(),
            "apps.connections.open": lambda p: {"url": self._socket_url()},
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.getPermalink": self.chat_get_permalink,
            "chat.scheduleMessage": self.chat_schedule_message,
            "chat.startStream": self.streams.start,
            "chat.appendStream": self.streams.append,
            "chat.stopStream": self.streams.stop,
            "chat.scheduledMessages.list": self.chat_scheduled_messages_list,
            "conversations.history": self.conversations_history,
            "conversations.replies": self.conversations_replies,
            "conversations.list": self.conversations_list,
            "conversations.members": self.conversations_members,
            "conversations.open": self.conversations_open,
            "conversations.setTopic": self.conversations_set_topic,
            "usergroups.users.list": self.usergroups_users_list,
            "views.open": lambda p: {"view": self.workspace.open_view(p.get("trigger_id"), p.get("view"))},
            "views.publish": lambda p: {
                "view": self.workspace.publish_home(p.get("user_id"), p.get("view"), hash=p.text("hash"))
            },
            "files.getUploadURLExternal": self.files_get_upload_url,
            "files.completeUploadExternal": self.files_complete_upload,
            "functions.completeSuccess": lambda p: self.functions.complete_success(p, p.token),
            "functions.completeError": lambda p: self.functions.complete_error(p, p.token),
        }

    def routes(self) -> list[web.RouteDef]:
        return [
            web.route("*", "/api/{method}", self.handle),
            web.post("/upload/v1/{file_id}", self.handle_upload),
        ]

    # -- HTTP ------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            params, token = await _read_params(request)
        except SlackError as e:
            return self._answer(method, {}, 200, {"ok": False, "error": e.code})

        fault = self._faults.take(method)
        if fault is not None:
            if fault.status == 429:
                return self._answer(
                    method, params, 429, {"ok": False, "error": "ratelimited"}, retry_after=fault.retry_after
                )
            if fault.error is not None:
                return self._answer(method, params, 200, {"ok": False, "error": fault.error})
            return self._answer(method, params, fault.status, "Internal Server Error (injected fault)")

        handler = self._methods.get(method)
        if handler is None:
            return self._answer(method, params, 200, {"ok": False, "error": "unknown_method", "req_method": method})
        auth_error = self._check_token(method, token)
        if auth_error:
            return self._answer(method, params, 200, {"ok": False, "error": auth_error})
        params.token = token or ""
        if method == "chat.postMessage" and self._post_limiter is not None:
            retry_after = self._post_limiter.acquire(str(params.get("channel")))
            if retry_after is not None:
                return self._answer(method, params, 429, {"ok": False, "error": "ratelimited"}, retry_after=retry_after)
        retry_after = self._tier_limiter.acquire(method)
        if retry_after is not None:
            return self._answer(method, params, 429, {"ok": False, "error": "ratelimited"}, retry_after=retry_after)
        try:
            body = {"ok": True, **handler(params)}
        except SlackError as e:
            body = {"ok": False, "error": e.code, **e.extra}
        response = self._answer(method, params, 200, body)
        delay = self._faults.take_slow(method, params)
        if delay is not None:
            await asyncio.sleep(delay)
        return response

    async def handle_upload(self, request: web.Request) -> web.Response:
        """The upload URL from files.getUploadURLExternal: raw bytes or a multipart ``file`` field."""
        if request.content_type == "multipart/form-data":
            form = await request.post()
            field = form.get("file") or form.get("filename")
            content = field.file.read() if isinstance(field, web.FileField) else str(field or "").encode()
        else:
            content = await request.read()
        if not self.workspace.receive_upload(request.match_info["file_id"], content):
            return web.Response(status=404, text="file_not_found", content_type="text/plain")
        return web.Response(text=f"OK - {len(content)}", content_type="text/plain")

    def _check_token(self, method: str, token: str | None) -> str | None:
        if not token:
            return "not_authed"
        if token.startswith(WORKFLOW_TOKEN_PREFIX) and method not in _APP_TOKEN_METHODS:
            # A run's workflow token acts as the bot while that run is open (and not for long).
            return self.functions.token_problem(token)
        expected = self._app_token if method in _APP_TOKEN_METHODS else self._bot_token
        if token == expected:
            return None
        if token in (self._app_token, self._bot_token):
            return "not_allowed_token_type"
        return "invalid_auth"

    def _answer(
        self,
        method: str,
        params: dict[str, Any],
        status: int,
        body: dict[str, Any] | str,
        *,
        retry_after: int | None = None,
    ) -> web.Response:
        self._calls.append(Call(method, params, status, body, time.time()))
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        if isinstance(body, str):
            return web.Response(status=status, text=body, content_type="text/plain", headers=headers)
        return web.json_response(body, status=status, headers=headers)

    def _max_limit(self, method: str, own: int) -> int:
        """A read's largest page: the method's own, or less under the distributed app's limits."""
        return self._tier_limiter.tiers.max_limit(method) or own

    # -- chat ------------------------------------------------------------------

    def chat_post_message(self, p: Params) -> dict[str, Any]:
        message = self.workspace.post_message(
            self.workspace.conversation(p.get("channel"), names=True).id,
            text=p.get("text"),
            blocks=p.get("blocks"),
            thread_ts=p.text("thread_ts"),
            metadata=p.get("metadata"),
        )
        return {"channel": message.channel, "ts": message.ts, "message": self.workspace.render_message(message)}

    def chat_update(self, p: Params) -> dict[str, Any]:
        message = self.workspace.update_message(
            self.workspace.conversation(p.get("channel"), member=False).id,
            p.text("ts"),
            text=p.get("text"),
            blocks=p.get("blocks"),
            metadata=p.get("metadata"),
        )
        return {
            "channel": message.channel,
            "ts": message.ts,
            "text": message.text,
            "message": self.workspace.render_message(message),
        }

    def chat_post_ephemeral(self, p: Params) -> dict[str, Any]:
        ephemeral = self.workspace.post_ephemeral(
            p.get("channel"),
            p.get("user"),
            text=p.get("text"),
            blocks=p.get("blocks"),
            thread_ts=p.text("thread_ts"),
            app_call=True,
        )
        return {"message_ts": ephemeral.ts}

    def chat_get_permalink(self, p: Params) -> dict[str, Any]:
        channel = self.workspace.conversation(p.get("channel"), member=False)
        message = self.workspace.message(channel.id, p.text("message_ts"))
        return {"channel": channel.id, "permalink": self.workspace.permalink(channel.id, message)}

    def chat_schedule_message(self, p: Params) -> dict[str, Any]:
        channel = self.workspace.conversation(p.get("channel"), names=True)
        scheduled = self.workspace.schedule_message(
            channel,
            p.get("post_at"),
            text=p.get("text"),
            blocks=p.get("blocks"),
            thread_ts=p.text("thread_ts"),
            metadata=p.get("metadata"),
        )
        return {
            "channel": channel.id,
            "scheduled_message_id": scheduled.id,
            "post_at": scheduled.post_at,
            "message": self.workspace.render_scheduled(scheduled),
        }

    def chat_scheduled_messages_list(self, p: Params) -> dict[str, Any]:
        return self.workspace.scheduled_messages(
            p.get("channel"),
            oldest=p.text("oldest"),
            latest=p.text("latest"),
            limit=p.integer("limit", 100, 100),
            cursor=p.text("cursor"),
        )

    # -- conversations ------------------------------------------------------------------

    def conversations_history(self, p: Params) -> dict[str, Any]:
        return self.workspace.history(
            self.workspace.conversation(p.get("channel")).id,
            limit=p.integer("limit", 100, self._max_limit("conversations.history", 999)),
            oldest=p.text("oldest"),
            latest=p.text("latest"),
            inclusive=p.flag("inclusive"),
            cursor=p.text("cursor"),
            include_metadata=p.flag("include_all_metadata"),
        )

    def conversations_replies(self, p: Params) -> dict[str, Any]:
        return self.workspace.replies(
            self.workspace.conversation(p.get("channel")).id,
            p.text("ts"),
            limit=p.integer("limit", 1000, self._max_limit("conversations.replies", 1000)),
            oldest=p.text("oldest"),
            latest=p.text("latest"),
            inclusive=p.flag("inclusive"),
            cursor=p.text("cursor"),
            include_metadata=p.flag("include_all_metadata"),
        )

    def conversations_list(self, p: Params) -> dict[str, Any]:
        types = set((p.text("types") or "public_channel").split(","))
        channels = []
        for channel in self.workspace.directory.channels.values():
            kind = "im" if channel.is_im else "private_channel" if channel.is_private else "public_channel"
            if kind in types and (kind == "public_channel" or BOT_USER_ID in channel.members):
                channels.append(channel.to_slack(BOT_USER_ID))
        return {"channels": channels, "response_metadata": {"next_cursor": ""}}

    def conversations_members(self, p: Params) -> dict[str, Any]:
        """A conversation's member ids in cursor pages (sorted; the cursor is ``user:<next id>``, base64)."""
        channel = self.workspace.conversation(p.get("channel"), member=False)
        self._require_scope(_READ_SCOPE[_kind(channel)])
        limit = p.integer("limit", 100, 1000)
        members = sorted(channel.members)
        start = 0
        cursor = p.text("cursor")
        if cursor is not None:
            after = _decode_user_cursor(cursor)
            start = next((i for i, user in enumerate(members) if user >= after), len(members))
        page = members[start : start + limit]
        rest = members[start + limit :]
        return {"members": page, "response_metadata": {"next_cursor": _encode_user_cursor(rest[0]) if rest else ""}}

    def conversations_open(self, p: Params) -> dict[str, Any]:
        """Slack's, for the app's DMs: ``users`` (one id: the DM with the app; needs im:write) or ``channel``
        (a DM's id, resumed). Several users would be a group DM (mpim:write), which the sandbox has not."""
        users = [user.strip() for user in (p.text("users") or "").split(",") if user.strip()]
        if p.text("channel") is None and not users:
            raise SlackError("users_list_not_supplied")
        if len(users) > MAX_OPEN_USERS:
            raise SlackError("too_many_users")
        if len(users) > 1:
            self._require_scope("mpim:write")
            raise SlackError("method_not_supported_for_channel_type")
        self._require_scope("im:write")
        if users:
            user = self.workspace.user(users[0])
            if user.is_bot:
                raise SlackError("user_not_found")
            im_id = "D" + user.id[1:]
        else:
            channel = self.workspace.directory.by_id(p.text("channel") or "")
            if channel is None:
                raise SlackError("channel_not_found")
            if not channel.is_im:
                raise SlackError("method_not_supported_for_channel_type")
            im_id = channel.id
        already_open = im_id in self.workspace.directory.channels
        im = self.workspace.directory.im_with("U" + im_id[1:])
        opened: dict[str, Any] = {"channel": im.to_slack(BOT_USER_ID) if p.flag("return_im") else {"id": im.id}}
        if already_open:
            opened |= {"no_op": True, "already_open": True}
        return opened

    def _require_scope(self, scope: str) -> None:
        if scope not in self.bot_scopes:
            raise SlackError("missing_scope", needed=scope, provided=",".join(sorted(self.bot_scopes)))

    def conversations_set_topic(self, p: Params) -> dict[str, Any]:
        channel = self.workspace.set_topic(self.workspace.conversation(p.get("channel")), p.get("topic"))
        return {"channel": channel.to_slack(BOT_USER_ID)}

    # -- user groups ------------------------------------------------------------------

    def usergroups_users_list(self, p: Params) -> dict[str, Any]:
        """Slack's: the bot token needs usergroups:read; an unknown group is no_such_subteam."""
        self._require_scope("usergroups:read")
        if p.text("usergroup") is None:
            raise SlackError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: usergroup"]}
            )
        group = self.workspace.directory.usergroups.get(p.text("usergroup") or "")
        if group is None:
            raise SlackError("no_such_subteam")
        return {"users": list(group.users)}

    # -- files ------------------------------------------------------------------

    def files_get_upload_url(self, p: Params) -> dict[str, Any]:
        file_id, upload_url = self.workspace.start_upload(p.get("filename"), p.get("length"))
        return {"upload_url": upload_url, "file_id": file_id}

    def files_complete_upload(self, p: Params) -> dict[str, Any]:
        channel = p.text("channel_id") or (p.text("channels") or "").split(",")[0] or None
        if channel is not None:
            if not _CONVERSATION_ID.fullmatch(channel):
                raise SlackError(
                    "invalid_arguments",
                    response_metadata={
                        "messages": [
                            f"[ERROR] input must match regex pattern: {_CONVERSATION_ID.pattern} "
                            "[json-pointer:/channel_id]"
                        ]
                    },
                )
            channel = self.workspace.conversation(channel).id  # sharing a file is posting: the app must be in
        files = self.workspace.complete_upload(
            p.get("files"), channel=channel, initial_comment=p.text("initial_comment"), thread_ts=p.text("thread_ts")
        )
        return {"files": files}


# conversations.open's users: "1 to 8 user IDs".
MAX_OPEN_USERS = 8
# The scope a bot token needs to read a conversation of each kind (conversations.members and kin).
_READ_SCOPE = {"public_channel": "channels:read", "private_channel": "groups:read", "im": "im:read"}


def _kind(channel: Channel) -> str:
    return "im" if channel.is_im else "private_channel" if channel.is_private else "public_channel"


def _encode_user_cursor(user_id: str) -> str:
    return base64.b64encode(f"user:{user_id}".encode()).decode()


def _decode_user_cursor(cursor: str) -> str:
    try:
        kind, _, user_id = base64.b64decode(cursor.encode(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise SlackError("invalid_cursor") from None
    if kind != "user" or not user_id:
        raise SlackError("invalid_cursor")
    return user_id


async def _read_params(request: web.Request) -> tuple[Params, str | None]:
    """(params without the token, token) from query string and body."""
    params: dict[str, Any] = dict(request.query)
    if request.body_exists:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except json.JSONDecodeError:
                raise SlackError("invalid_json") from None
            if not isinstance(body, dict):
                raise SlackError("invalid_json")
            params.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key in _JSON_FIELDS:
        value = params.get(key)
        if isinstance(value, str) and value:
            try:
                params[key] = json.loads(value)
            except json.JSONDecodeError:
                raise SlackError("invalid_blocks_format" if key == "blocks" else "invalid_json") from None
    token = params.pop("token", None)
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        token = header.removeprefix("Bearer ").strip()
    return Params(params), token
