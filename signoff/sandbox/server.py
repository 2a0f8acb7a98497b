"""``SlackSandbox``: the sandbox's pieces wired to one aiohttp server.

One port serves the Web API (``/api/<method>``), file uploads, response URLs
and the Socket Mode WebSocket. Tests drive it through the methods here:
recorded calls, stored state, fault injection, and acting as users. While it
runs, a background task posts scheduled messages when their time comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from aiohttp import web

from signoff.sandbox.delivery import Delivery, DeliveryResult, NoRoute, Via
from signoff.sandbox.directory import (
    APP_ID,
    DEFAULT_BOT_SCOPES,
    DEFAULT_CHANNELS,
    DEFAULT_USERGROUPS,
    DEFAULT_USERS,
    Channel,
    Directory,
    User,
    UserGroup,
)
from signoff.sandbox.functions import FunctionExecution, Functions
from signoff.sandbox.interactions import DEFAULT_BOT_EVENTS, Interactions
from signoff.sandbox.ratelimit import RateLimiter
from signoff.sandbox.recording import Call, Faults
from signoff.sandbox.response_url import ResponseUrls
from signoff.sandbox.socket_mode import SocketModeHub
from signoff.sandbox.store import Store
from signoff.sandbox.streams import STREAM_LIFETIME, Streams
from signoff.sandbox.tiers import SlackTiers, TierLimiter
from signoff.sandbox.web import SandboxUI
from signoff.sandbox.webapi import WebApi
from signoff.sandbox.workflow_runs import WorkflowRunsUI
from signoff.sandbox.workspace import Workspace

T = TypeVar("T")

log = logging.getLogger(__name__)

# How often the running sandbox looks for scheduled messages whose time has come.
SCHEDULED_POLL_SECONDS = 1.0


LOOPBACK_NAMES = frozenset({"localhost"})


def host_it_serves(host: str) -> bool:
    """Whether a request's ``Host`` names this machine by address or as ``localhost``.

    DNS rebinding: a page on ``evil.example`` whose name later resolves to 127.0.0.1 makes requests
    that are same-origin for the browser (Origin and Host both ``evil.example``), so the page's own
    Origin check lets them through and the well-known sandbox token reads every channel. Such a
    request always carries the attacker's name in ``Host``; an IP address cannot be rebound.
    """
    try:
        name = urlsplit("//" + host).hostname  # drops the port and an IPv6 address's brackets, lowercases
    except ValueError:  # a malformed port or bracket
        return False
    if name is None:
        return False
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@web.middleware
async def only_hosts_it_serves(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if not host_it_serves(request.host):
        return web.json_response(
            {"ok": False, "error": "invalid_host", "detail": "the sandbox answers only to an IP address or localhost"},
            status=421,
        )
    return await handler(request)


class SlackSandbox:
    def __init__(
        self,
        db_path: str | None = None,
        *,
        bot_token: str = "xoxb-sandbox",
        signing_secret: str = "sandbox-signing-secret",
        app_token: str = "xapp-sandbox",
        request_url: str | None = None,
        team_id: str = "T0SANDBOX",
        users: Sequence[User] = DEFAULT_USERS,
        channels: Sequence[Channel] = DEFAULT_CHANNELS,
        usergroups: Sequence[UserGroup] = DEFAULT_USERGROUPS,
        post_rate_per_channel: float | None = None,
        burst: int = 1,
        slack_tiers: SlackTiers | str = SlackTiers.OFF,
        tier_clock: Callable[[], float] = time.monotonic,
        ack_timeout: float = 3.0,
        trigger_ttl: float | None = 3.0,
        wall_clock: Callable[[], float] = time.time,
        bot_events: Iterable[str] = DEFAULT_BOT_EVENTS,
        bot_scopes: Iterable[str] = DEFAULT_BOT_SCOPES,
        stream_lifetime: float | None = STREAM_LIFETIME,
        stream_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot_token = bot_token
        self.signing_secret = signing_secret
        self.app_token = app_token
        self.calls: list[Call] = []
        self.deliveries: list[DeliveryResult] = []
        self.faults = Faults()
        self._host = "127.0.0.1"
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._scheduler: asyncio.Task[None] | None = None

        self.store = Store(db_path)
        self.directory = Directory.build(team_id, list(users), list(channels), list(usergroups))
        self.workspace = Workspace(
            self.store, self.directory, lambda: self.url, trigger_ttl=trigger_ttl, now=wall_clock
        )
        self.socket_mode = SocketModeHub(lambda: self.url.replace("http://", "ws://", 1))
        self.delivery = Delivery(
            self.socket_mode, signing_secret=signing_secret, request_url=request_url, ack_timeout=ack_timeout
        )
        self.response_urls = ResponseUrls(self.workspace, lambda: self.url, self.calls)
        self.interactions = Interactions(self.workspace, self.delivery, self.response_urls, bot_events)
        limiter = RateLimiter(post_rate_per_channel, burst) if post_rate_per_channel else None
        self.functions = Functions(now=wall_clock)
        self.streams = Streams(self.workspace, lifetime=stream_lifetime, clock=stream_clock)
        self.webapi = WebApi(
            self.workspace,
            bot_token=bot_token,
            app_token=app_token,
            faults=self.faults,
            calls=self.calls,
            socket_url=self.socket_mode.issue_url,
            post_limiter=limiter,
            tier_limiter=TierLimiter(SlackTiers(slack_tiers), tier_clock),
            bot_scopes=frozenset(bot_scopes),
            functions=self.functions,
            streams=self.streams,
        )
        self.ui = SandboxUI(self)
        self.workflow_runs = WorkflowRunsUI(self)

    # -- lifecycle ------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("the sandbox is not started")
        return f"http://{self._host}:{self._port}"

    @property
    def api_url(self) -> str:
        """What to pass as slack_sdk's ``base_url``."""
        return self.url + "/api/"

    @property
    def bot_events(self) -> frozenset[str]:
        """The app's bot event subscriptions: which people's posts reach it as ``message`` events."""
        return self.interactions.bot_events

    @bot_events.setter
    def bot_events(self, value: Iterable[str]) -> None:
        self.interactions.bot_events = frozenset(value)

    @property
    def request_url(self) -> str | None:
        return self.delivery.request_url

    @request_url.setter
    def request_url(self, value: str | None) -> None:
        self.delivery.request_url = value

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(middlewares=[only_hosts_it_serves])
        app.add_routes(
            self.webapi.routes()
            + self.response_urls.routes()
            + self.socket_mode.routes()
            + self.ui.routes()
            + self.workflow_runs.routes()
        )
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        self._host = host
        await self._listen(port)
        self._scheduler = asyncio.create_task(self._deliver_scheduled_forever())

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scheduler
            self._scheduler = None
        await self.ui.close()
        await self.socket_mode.close_all()
        await self.delivery.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._site = None
        self.store.close()

    async def pause(self) -> None:
        """Refuse connections (as if Slack were unreachable) until resume(); drops open connections."""
        if self._site is None:
            raise RuntimeError("the sandbox is not listening")
        await self.ui.close()
        await self.socket_mode.close_all()
        await self._site.stop()
        self._site = None
        assert self._runner is not None and self._runner.server is not None
        for connection in list(self._runner.server.connections):
            connection.close()

    async def resume(self) -> None:
        """Listen again on the same port."""
        if self._site is not None:
            return
        assert self._port is not None
        await self._listen(self._port)

    async def _listen(self, port: int) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, self._host, port, reuse_address=True)
        await self._site.start()
        self._port = self._runner.addresses[0][1]

    async def _deliver_scheduled_forever(self) -> None:
        """Post scheduled messages as their time comes (also while paused: Slack keeps its schedule)."""
        while True:
            try:
                self.workspace.deliver_scheduled()
            except Exception:  # a bad row must not stop the schedule
                log.exception("posting scheduled messages failed")
            await asyncio.sleep(SCHEDULED_POLL_SECONDS)

    async def __aenter__(self) -> SlackSandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- what happened ------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages in a channel, oldest first, with metadata."""
        channel_id = self.workspace.channel(channel).id
        return [self.workspace.render_message(m) for m in self.store.top_level(channel_id)]

    def replies(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """Replies in a thread (without the parent), oldest first."""
        channel_id = self.workspace.channel(channel).id
        return [self.workspace.render_message(m) for m in self.store.thread(channel_id, thread_ts) if m.ts != thread_ts]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        found = self.store.get_message(self.workspace.channel(channel).id, ts)
        return self.workspace.render_message(found) if found else None

    def scheduled(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Scheduled messages not yet posted (of one channel, or all), soonest first."""
        channel_id = self.workspace.channel(channel).id if channel is not None else None
        return [dataclasses.asdict(s) for s in self.store.scheduled(channel_id)]

    def ephemerals(self, user: str | None = None) -> list[dict[str, Any]]:
        return [self.workspace.render_ephemeral(e) for e in self.store.ephemerals(user)]

    def home_view(self, user: str) -> dict[str, Any] | None:
        return self.store.home_view(user)

    def open_views(self, user: str) -> list[dict[str, Any]]:
        """The user's open modal stack, bottom first."""
        return self.store.open_views(user)

    async def wait_for(
        self,
        predicate: Callable[[], T | Literal[False] | None],
        timeout: float = 10,
        interval: float = 0.01,
        *,
        what: str | None = None,
    ) -> T:
        """Poll ``predicate`` until it returns something truthy; return that, or raise TimeoutError
        (naming ``what`` was awaited, else the predicate)."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                recent = ", ".join(f"{c.method}->{c.status}" for c in self.calls[-10:]) or "none"
                raise TimeoutError(
                    f"{what or getattr(predicate, '__name__', predicate)!s} still {value!r} after {timeout}s; "
                    f"last Web API calls: {recent}"
                )
            await asyncio.sleep(interval)

    # -- acting as users ------------------------------------------------------------------

    async def send_slash_command(
        self, user_id: str, command: str, text: str = "", channel_id: str = "C0GENERAL", *, via: Via = "auto"
    ) -> DeliveryResult:
        return self._delivered(
            await self.interactions.slash_command(user_id, command, text, channel_id=channel_id, via=via)
        )

    async def click_button(
        self,
        user_id: str,
        channel_id: str,
        message_ts: str,
        action_id: str,
        value: str | None = None,
        *,
        via: Via = "auto",
    ) -> DeliveryResult:
        return self._delivered(
            await self.interactions.click_button(user_id, channel_id, message_ts, action_id, value, via=via)
        )

    async def click_button_raw(
        self,
        user_id: str,
        channel_id: str,
        message_ts: str,
        action_id: str,
        value: str | None = None,
        *,
        block_id: str | None = None,
        message: dict[str, Any] | None = None,
        is_ephemeral: bool = False,
        via: Via = "auto",
    ) -> DeliveryResult:
        return self._delivered(
            await self.interactions.click_button_raw(
                user_id,
                channel_id,
                message_ts,
                action_id,
                value,
                block_id=block_id,
                message=message,
                is_ephemeral=is_ephemeral,
                via=via,
            )
        )

    async def submit_view(
        self, user_id: str, view_id: str, values: dict[str, dict[str, str]] | None = None, *, via: Via = "auto"
    ) -> DeliveryResult:
        return self._delivered(await self.interactions.submit_view(user_id, view_id, values, via=via))

    async def close_view(self, user_id: str, view_id: str, *, via: Via = "auto") -> DeliveryResult | None:
        result = await self.interactions.close_view(user_id, view_id, via=via)
        return self._delivered(result) if result is not None else None

    async def open_home(self, user_id: str, *, via: Via = "auto") -> DeliveryResult:
        return self._delivered(await self.interactions.open_home(user_id, via=via))

    async def post_as_user(
        self, user_id: str, channel: str, text: str, *, thread_ts: str | None = None, via: Via = "auto"
    ) -> tuple[dict[str, Any], DeliveryResult | None]:
        """``user_id`` types ``text`` in ``channel`` (in the thread ``thread_ts``): the stored message, and
        the ``message`` event's delivery to the app (None when it is not subscribed or not a member)."""
        message, result = await self.interactions.post_as_user(user_id, channel, text, thread_ts=thread_ts, via=via)
        if result is not None:
            self._delivered(result)
        return self.workspace.render_message(message), result

    async def send_event(self, event: dict[str, Any], *, via: Via = "auto") -> DeliveryResult:
        return self._delivered(await self.interactions.send_event(event, via=via))

    # -- Workflow Builder ------------------------------------------------------------------

    async def run_workflow_step(
        self, user_id: str, inputs: dict[str, Any], callback_id: str = "request_signoff", *, via: Via = "auto"
    ) -> tuple[FunctionExecution, DeliveryResult | None]:
        """A workflow started by ``user_id`` reaches the app's step ``callback_id``: Slack sends the app
        ``function_executed`` (``ValueError``: inputs Workflow Builder would not pass). The run stays open
        until the app completes it (``functions.completeSuccess`` / ``completeError``)."""
        self.workspace.user(user_id)
        execution = self.functions.start(callback_id, user_id, inputs)
        try:
            delivered = await self.send_event(self.functions.event(execution, APP_ID), via=via)
        except NoRoute as e:
            log.info("function_executed for %s not delivered: %s", execution.id, e)
            return execution, None
        return execution, delivered

    def function_execution(self, execution_id: str) -> FunctionExecution | None:
        return self.functions.executions.get(execution_id)

    async def request_socket_reconnect(self) -> None:
        """Send Slack's ``disconnect`` (refresh_requested) to connected Socket Mode clients."""
        await self.socket_mode.request_reconnect()

    def _delivered(self, result: DeliveryResult) -> DeliveryResult:
        self.deliveries.append(result)
        return result
