"""The sandbox's web page: a Slack-like channel view over the sandbox's state, live.

Its one job is serving that page: its routes, JSON API and event stream share the
per-user filtering of what a page may see.

``GET /`` serves a static single-page app (``signoff/sandbox/static``) that reads JSON
from ``/ui/api/...`` and acts as one of the workspace's people through the same
methods tests use (``send_slash_command``, ``click_button``, ``submit_view``,
``open_home``...), so what a person does in the page reaches the app exactly as
it would from Slack. Live updates: every committed write in the store is pushed
to open pages over Server-Sent Events (``/ui/events``); the page then re-reads
what it shows. Everything a page may see is filtered by the user it acts as:
channels they are in, their own ephemerals, modals and App Home.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from signoff.sandbox import blocks as block_kit
from signoff.sandbox.delivery import Delivery, DeliveryResult, NoRoute
from signoff.sandbox.directory import APP_ID, BOT_USER_ID, TEAM_DOMAIN, Channel, Directory
from signoff.sandbox.interactions import VERIFICATION_TOKEN, InteractionError
from signoff.sandbox.store import Message, Store
from signoff.sandbox.streams import Streams
from signoff.sandbox.workspace import SlackError, Workspace

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
_CONTENT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
_CLOSE = object()
KEEPALIVE_SECONDS = 15.0


class SandboxActions(Protocol):
    """What the page needs of a ``SlackSandbox``: its state, and acting as its people.

    A protocol rather than an import so that the server (which builds the page) and the
    page do not import each other.
    """

    directory: Directory
    workspace: Workspace
    store: Store
    delivery: Delivery
    deliveries: list[DeliveryResult]
    streams: Streams

    def open_views(self, user: str) -> list[dict[str, Any]]: ...

    def home_view(self, user: str) -> dict[str, Any] | None: ...

    def send_slash_command(
        self, user_id: str, command: str, text: str = ..., channel_id: str = ...
    ) -> Awaitable[DeliveryResult]: ...

    def click_button(
        self, user_id: str, channel_id: str, message_ts: str, action_id: str
    ) -> Awaitable[DeliveryResult]: ...

    def submit_view(
        self, user_id: str, view_id: str, values: dict[str, dict[str, str]] | None = ...
    ) -> Awaitable[DeliveryResult]: ...

    def close_view(self, user_id: str, view_id: str) -> Awaitable[DeliveryResult | None]: ...

    def open_home(self, user_id: str) -> Awaitable[DeliveryResult]: ...

    def post_as_user(
        self, user_id: str, channel: str, text: str, *, thread_ts: str | None = ...
    ) -> Awaitable[tuple[dict[str, Any], DeliveryResult | None]]: ...


class SandboxUI:
    """Routes of the page, its JSON API and its event stream, for one ``SlackSandbox``."""

    def __init__(self, sandbox: SandboxActions) -> None:
        self.sandbox = sandbox
        self._streams: set[asyncio.Queue[object]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        sandbox.store.listeners.append(self._on_change)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self.index),
            web.get("/static/{name}", self.static),
            web.get("/ui/events", self.events),
            web.get("/ui/api/workspace", self.workspace_info),
            web.get("/ui/api/channels/{channel}", self.channel_view),
            web.get("/ui/api/channels/{channel}/threads/{ts}", self.thread_view),
            web.get("/ui/api/views", self.views),
            web.post("/ui/api/post", self.post),
            web.post("/ui/api/click", self.click),
            web.post("/ui/api/submit", self.submit),
            web.post("/ui/api/close", self.close_modal),
            web.post("/ui/api/home", self.home),
        ]

    # -- live updates ------------------------------------------------------------------

    def _on_change(self, kind: str, details: dict[str, Any]) -> None:
        event = {"kind": kind, **details}
        loop = self._loop
        if loop is None or not self._streams:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._publish(event)
        else:
            loop.call_soon_threadsafe(self._publish, event)

    def _publish(self, event: object) -> None:
        for queue in list(self._streams):
            queue.put_nowait(event)

    async def close(self) -> None:
        """End every open event stream (on stop or pause); browsers reconnect by themselves."""
        self._publish(_CLOSE)
        for _ in range(100):
            if not self._streams:
                return
            await asyncio.sleep(0.01)

    async def events(self, request: web.Request) -> web.StreamResponse:
        self._loop = asyncio.get_running_loop()
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )
        await response.prepare(request)
        queue: asyncio.Queue[object] = asyncio.Queue()
        self._streams.add(queue)
        try:
            await response.write(b"retry: 500\nevent: hello\ndata: {}\n\n")
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    await response.write(b": keepalive\n\n")
                    continue
                if event is _CLOSE:
                    break
                await response.write(f"event: change\ndata: {json.dumps(event)}\n\n".encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self._streams.discard(queue)
        with contextlib.suppress(ConnectionResetError):
            await response.write_eof()
        return response

    # -- static ------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.Response:
        return file_response(STATIC / "index.html")

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        path = STATIC / name
        if "/" in name or name.startswith(".") or not path.is_file():
            raise web.HTTPNotFound()
        return file_response(path)

    # -- reading ------------------------------------------------------------------

    async def workspace_info(self, request: web.Request) -> web.Response:
        directory = self.sandbox.directory
        people = [u for u in directory.users.values() if not u.is_bot]
        channels = [
            {
                "id": c.id,
                "name": c.name,
                "is_private": c.is_private,
                "topic": c.topic,
                "members": sorted(c.members),
            }
            for c in directory.channels.values()
            if not c.is_im
        ]
        return web.json_response(
            {
                "team": {"id": directory.team_id, "domain": TEAM_DOMAIN},
                "bot": {"id": BOT_USER_ID, "name": directory.users[BOT_USER_ID].real_name, "app_id": APP_ID},
                "users": [{"id": u.id, "name": u.name, "real_name": u.real_name} for u in people],
                "all_users": {
                    u.id: {"name": u.name, "real_name": u.real_name, "is_bot": u.is_bot}
                    for u in directory.users.values()
                },
                "channels": channels,
                "usergroups": {g.id: {"handle": g.handle, "name": g.name} for g in directory.usergroups.values()},
                "ims": {u.id: directory.im_with(u.id).id for u in people},
            }
        )

    async def channel_view(self, request: web.Request) -> web.Response:
        user, channel = self._viewer(request)
        workspace = self.sandbox.workspace
        messages = [self._render(m) for m in self.sandbox.store.top_level(channel.id)]
        ephemerals = [
            workspace.render_ephemeral(e)
            for e in self.sandbox.store.ephemerals(user)
            if e.channel == channel.id and not e.thread_ts
        ]
        return web.json_response({"channel": channel.id, "messages": messages, "ephemerals": ephemerals})

    async def thread_view(self, request: web.Request) -> web.Response:
        user, channel = self._viewer(request)
        ts = request.match_info["ts"]
        workspace = self.sandbox.workspace
        messages = [self._render(m) for m in self.sandbox.store.thread(channel.id, ts)]
        ephemerals = [
            workspace.render_ephemeral(e)
            for e in self.sandbox.store.ephemerals(user)
            if e.channel == channel.id and e.thread_ts == ts
        ]
        return web.json_response(
            {"channel": channel.id, "thread_ts": ts, "messages": messages, "ephemerals": ephemerals}
        )

    def _render(self, message: Message) -> dict[str, Any]:
        """A message as the Web API renders it; ``streaming`` (the page's own field) while a stream is open."""
        rendered = self.sandbox.workspace.render_message(message)
        if self.sandbox.streams.is_streaming(message.channel, message.ts):
            rendered["streaming"] = True
        return rendered

    async def views(self, request: web.Request) -> web.Response:
        user = self._user(request.query.get("user"))
        return web.json_response({"modals": self.sandbox.open_views(user), "home": self.sandbox.home_view(user)})

    # -- acting ------------------------------------------------------------------

    async def post(self, request: web.Request) -> web.Response:
        """The composer: ``/command args`` is a slash command, anything else a message from the user
        (which the app hears as Slack's ``message`` event where it subscribes and is a member)."""
        body = await json_body(request)
        user = self._user(body.get("user"))
        channel = self._channel(body.get("channel"), user)
        text = str(body.get("text") or "").strip()
        thread_ts = body.get("thread_ts") or None
        if not text:
            raise bad_request("nothing to send")
        if text.startswith("/") and not text.startswith("//"):
            command, _, args = text.partition(" ")
            return await self._deliver(
                lambda: self.sandbox.send_slash_command(user, command, args.strip(), channel_id=channel)
            )
        try:
            message, delivered = await self.sandbox.post_as_user(
                user, channel, text, thread_ts=str(thread_ts) if thread_ts else None
            )
        except SlackError as e:
            raise bad_request(e.code) from None
        # Posted whatever the app answered, as in Slack.
        return web.json_response({"ok": True, "ts": message["ts"], "delivered": bool(delivered and delivered.acked)})

    async def click(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        user = self._user(body.get("user"))
        action_id = str(body.get("action_id") or "")
        if body.get("view_id"):
            return await self._deliver(
                lambda: self._click_in_view(
                    user, str(body["view_id"]), body.get("block_id"), action_id, body.get("value")
                )
            )
        channel = self._channel(body.get("channel"), user)
        ts = str(body.get("ts") or "")
        return await self._deliver(lambda: self.sandbox.click_button(user, channel, ts, action_id))

    async def submit(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        user = self._user(body.get("user"))
        values = body.get("values") or {}
        return await self._deliver(lambda: self.sandbox.submit_view(user, str(body.get("view_id") or ""), values))

    async def close_modal(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        user = self._user(body.get("user"))
        return await self._deliver(lambda: self.sandbox.close_view(user, str(body.get("view_id") or "")))

    async def home(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        user = self._user(body.get("user"))
        return await self._deliver(lambda: self.sandbox.open_home(user))

    async def _click_in_view(
        self, user: str, view_id: str, block_id: object, action_id: str, value: object
    ) -> DeliveryResult:
        """A button in a modal or on the App Home: Slack's block_actions with a ``view`` container."""
        found = self.sandbox.store.get_view(view_id)
        if found is None or found[0] != user or not found[2]:
            raise InteractionError(f"view {view_id} is not shown to {user}")
        view = found[3]
        button = _find_button(view.get("blocks"), block_id, action_id, value)
        if button is None:
            raise InteractionError(f"view {view_id} has no button {action_id!r}")
        button_block_id, element = button
        workspace = self.sandbox.workspace
        person = workspace.user(user)
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": button_block_id,
            "text": element.get("text"),
            "type": "button",
            "action_ts": f"{time.time():.6f}",
        }
        if "value" in element:
            action["value"] = element["value"]
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": person.id, "username": person.name, "name": person.name, "team_id": workspace.team_id},
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "container": {"type": "view", "view_id": view_id},
            "trigger_id": workspace.issue_trigger(person.id),
            "team": {"id": workspace.team_id, "domain": TEAM_DOMAIN},
            "enterprise": None,
            "is_enterprise_install": False,
            "view": view,
            "actions": [action],
        }
        result = await self.sandbox.delivery.send("interactive", payload)
        result.trigger_id = payload["trigger_id"]
        self.sandbox.deliveries.append(result)
        return result

    async def _deliver(self, act: Callable[[], Awaitable[DeliveryResult | None]]) -> web.Response:
        try:
            result = await act()
        except InteractionError as e:
            return web.json_response({"ok": False, "error": str(e)}, status=409)
        except NoRoute as e:
            return web.json_response({"ok": False, "error": f"the app is not connected: {e}"}, status=503)
        except SlackError as e:
            return web.json_response({"ok": False, "error": e.code}, status=400)
        if result is None:  # a modal closed without notify_on_close
            return web.json_response({"ok": True, "acked": None})
        answer: dict[str, Any] = {
            "ok": result.acked,
            "acked": result.acked,
            "status": result.status,
            "payload": result.payload,
        }
        if not result.acked:
            answer["error"] = result.error or f"the app answered HTTP {result.status}"
        return web.json_response(answer)

    # -- who and where ------------------------------------------------------------------

    def _user(self, user_id: object) -> str:
        user = self.sandbox.directory.users.get(user_id) if isinstance(user_id, str) else None
        if user is None or user.is_bot:
            raise bad_request(f"no person {user_id!r} in the sandbox", status=404)
        return user.id

    def _channel(self, channel_ref: object, user: str) -> str:
        try:
            channel = self.sandbox.workspace.channel(channel_ref)
        except SlackError:
            raise bad_request("channel_not_found", status=404) from None
        if user not in channel.members and (channel.is_private or channel.is_im):
            raise bad_request(f"{user} cannot see {channel.id}", status=403)
        return channel.id

    def _viewer(self, request: web.Request) -> tuple[str, Channel]:
        user = self._user(request.query.get("user"))
        channel_id = self._channel(request.match_info["channel"], user)
        return user, self.sandbox.workspace.channel(channel_id)


def _find_button(
    blocks: list[dict[str, Any]] | None, block_id: object, action_id: str, value: object
) -> tuple[str | None, dict[str, Any]] | None:
    candidates = [
        (bid, element)
        for bid, element in block_kit.interactive_elements(blocks)
        if element.get("type") == "button" and element.get("action_id") == action_id
    ]
    for bid, element in candidates:
        if (block_id is None or bid == block_id) and (value is None or element.get("value") == value):
            return bid, element
    return None


def bad_request(message: str, status: int = 400) -> web.HTTPException:
    cls = {400: web.HTTPBadRequest, 403: web.HTTPForbidden, 404: web.HTTPNotFound}[status]
    return cls(text=json.dumps({"ok": False, "error": message}), content_type="application/json")


async def json_body(request: web.Request) -> dict[str, Any]:
    """The body of a request that acts as someone: JSON, from this sandbox's own page.

    Any web page the demo user visits can POST here (a form or ``fetch`` with ``no-cors``), but only
    as a "simple" request: ``text/plain``, a form, no custom headers. Requiring ``application/json``
    makes a browser ask first (CORS preflight, which this server never grants), and a browser's
    ``Origin`` / ``Sec-Fetch-Site`` say where a request came from: another site is refused too.
    """
    _from_this_page(request)
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise bad_request("the body must be JSON") from None
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    return body


def _from_this_page(request: web.Request) -> None:
    if request.content_type != "application/json":
        raise bad_request(f"the body must be application/json, not {request.content_type or 'untyped'}", status=403)
    own = f"{request.scheme}://{request.host}"
    origin = request.headers.get("Origin")
    if origin is not None and origin != own:
        raise bad_request(f"a cross-site request (from {origin[:100]}) cannot act in the sandbox ({own})", status=403)
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        raise bad_request(f"a {site[:30]} request cannot act in the sandbox ({own})", status=403)


def file_response(path: Path) -> web.Response:
    return web.Response(
        body=path.read_bytes(),
        content_type=_CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
        charset="utf-8" if path.suffix in _CONTENT_TYPES else None,
        headers={"Cache-Control": "no-cache"},
    )
