"""signoff's Restate service endpoint: the SDK's ASGI application (``restate.app``) served by
hypercorn in this process's event loop, where Restate calls it (and discovers its services when it is
registered, ``signoff.restate.admin``).

hypercorn speaks cleartext HTTP/2 with prior knowledge, which Restate uses by default: invocations
stream both ways on one connection (Restate's bidirectional protocol), as the SDK's own test harness
serves them. The port is bound before serving, so a port in use is a one-line ``SettingsError``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Self

import aiohttp
import restate
from hypercorn.asyncio import serve
from hypercorn.config import Config

from signoff.config.ports import bind_port

SERVICE_PORT_SETTING = "SIGNOFF_RESTATE_SERVICE_PORT"
# Restate multiplexes every invocation it runs here on one HTTP/2 connection it keeps open.
_UNLIMITED = 2**31 - 1
# hypercorn's own log, through the process's logging only (its default adds a handler printing each
# line a second time); its "Running on … (CTRL + C to quit)" is not signoff's to say.
_SERVER_LOG = logging.getLogger("hypercorn.error")
_SERVER_LOG.setLevel(logging.WARNING)
log = logging.getLogger(__name__)


def _served(app: Any, stopping: asyncio.Event) -> Any:
    """``app`` answering ASGI's lifespan messages, which the SDK's application refuses (hypercorn
    would log a warning at every start; it has nothing to set up or tear down), and told that its
    requests' connections are gone once ``stopping`` is set.

    An invocation's stream stays open while its run waits (Restate keeps it until the run ends or
    suspends), and the SDK's handler, done or cancelled by hypercorn's shutdown, waits for Restate
    to close its side before it returns: hypercorn would wait for it for ever. ``http.disconnect``
    (what a server sends when a connection drops) ends that wait, and a run still waiting on
    Restate stops without recording anything (``DisconnectedException``); Restate runs it again
    from its journal where it is served next."""

    async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await app(scope, _until_stopping(receive, stopping), send)
            return
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    return application


def _until_stopping(receive: Any, stopping: asyncio.Event) -> Any:
    async def receive_or_disconnect() -> dict[str, Any]:
        if stopping.is_set():
            return {"type": "http.disconnect"}
        message = asyncio.ensure_future(receive())
        stopped = asyncio.ensure_future(stopping.wait())
        try:
            await asyncio.wait({message, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if message.done():
            result: dict[str, Any] = message.result()
            return result
        message.cancel()
        return {"type": "http.disconnect"}

    return receive_or_disconnect


class ServiceEndpoint:
    """``services`` (the SDK's ``Service``, ``VirtualObject`` and ``Workflow`` definitions) served on
    ``host:port`` (a free one when ``port`` is 0): ``await start()`` returns once it answers; ``url``
    is what to register; ``await stop()``."""

    def __init__(
        self,
        services: Iterable[restate.Service | restate.VirtualObject | restate.Workflow],
        port: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        self._stopping = asyncio.Event()
        self.app = _served(restate.app(services), self._stopping)
        self.host = host
        self.port = port
        self._serving: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """The endpoint's URL as Restate reaches it from this machine (listening on every
        interface, it is reached on the loopback one)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    async def start(self, timeout: float = 30.0) -> None:
        sock = bind_port(self.port, SERVICE_PORT_SETTING, self.host)
        self.port = sock.getsockname()[1]
        config = Config()
        # hypercorn takes the bound socket over (and closes it at the end).
        config.bind = [f"fd://{sock.detach()}"]
        config.h2_max_concurrent_streams = _UNLIMITED
        config.keep_alive_max_requests = _UNLIMITED
        # Restate keeps its connection between invocations; hypercorn's default closes it after 5 s idle.
        config.keep_alive_timeout = 3600
        config.accesslog = None
        config.errorlog = _SERVER_LOG
        self._stopping.clear()
        self._serving = asyncio.create_task(serve(self.app, config, mode="asgi", shutdown_trigger=self._stopping.wait))
        deadline = time.monotonic() + timeout
        # The SDK's ASGI application answers /health once it serves.
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while True:
                if self._serving.done():
                    self._serving.result()  # raises what stopped it
                    raise RuntimeError(f"the Restate service endpoint on {self.url} stopped at start")
                try:
                    async with session.get(f"{self.url}/health") as response:
                        if response.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                if time.monotonic() > deadline:
                    await self.stop()
                    raise TimeoutError(f"the Restate service endpoint did not answer on {self.url} after {timeout}s")
                await asyncio.sleep(0.02)

    async def stop(self) -> None:
        """Stop serving (hypercorn lets requests in flight finish for a few seconds)."""
        if self._serving is None:
            return
        self._stopping.set()
        try:
            await self._serving
        except Exception as err:
            # Asked to stop, it stops: an error in hypercorn's shutdown of a connection (h2 frames for a
            # stream it closed already: a KeyError out of its task group) is logged, not the stop's
            # failure; an invocation it cut short Restate runs again from its journal.
            log.warning("the Restate endpoint on %s stopped with an error in hypercorn: %r", self.url, err)
        finally:
            self._serving = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.stop()
