"""The bot's Prometheus metrics, and its liveness and readiness answers.

Importing this module creates the metric objects (in prometheus-client's default registry) and
nothing else. What feeds them:

* ``InstrumentedApp``: the ack latency of every request, by kind (command, action, view, event),
  measured around Bolt's dispatch, which returns when the listener acked (both transports use it);
* ``SlackCallCounter``: a retry handler first in the Web API client's list that never retries, it
  only counts Slack's errors and 429s (Bolt copies it into the client it makes per request);
* ``bot.gateway``: commands started, decisions recorded or refused, Temporal call latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.client import Client

from bot.follow_ups import FollowUps

# Slack wants an ack within 3 s; the buckets resolve the fast path (≈ 15 ms) and the limit.
_ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
_ENGINE_CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

ACK_SECONDS = Histogram(
    "signoff_bot_ack_seconds",
    "From a Slack request's arrival to its ack, by kind (command, action, view, event, other).",
    ["kind"],
    buckets=_ACK_BUCKETS,
)
COMMANDS_STARTED = Counter(
    "signoff_bot_commands_started", "Workflows started by a slash command, by kind (report, plan).", ["kind"]
)
STARTS_AFTER_ACK = Counter(
    "signoff_bot_starts_after_ack",
    "Slash-command starts made without the journal (it could not be written) that did not end within the "
    'wait before the ack, by kind (report, plan): acked "Starting…" and finished after the ack, where a '
    "crash of the bot can still lose them.",
    ["kind"],
)
DECISIONS = Counter(
    "signoff_bot_decisions",
    "Decisions sent to a workflow, by outcome: recorded, refused (by its validator), failed (not recorded).",
    ["outcome"],
)
REFUSALS = Counter(
    "signoff_bot_refusals",
    "Decisions a workflow's validator refused (not an approver, stale revision…), by update.",
    ["update"],
)
REFUSED_WHILE_DRAINING = Counter(
    "signoff_bot_refused_while_draining", "Slack requests answered 503 (not acked) while the bot shut down."
)
SLACK_API_ERRORS = Counter(
    "signoff_bot_slack_api_errors", "Slack Web API calls that failed, by Slack's error code.", ["error"]
)
SLACK_RATE_LIMITED = Counter("signoff_bot_slack_rate_limited", "Slack Web API answers with HTTP 429.")
TEMPORAL_CALL_SECONDS = Histogram(
    "signoff_bot_temporal_call_seconds",
    "One bounded Temporal call of the gateway, by outcome: ok, unreachable (no answer in time, no "
    "connection), error (any other: a refused update, an unknown workflow…).",
    ["outcome"],
    buckets=_ENGINE_CALL_BUCKETS,
)
DBOS_CALL_SECONDS = Histogram(
    "signoff_bot_dbos_call_seconds",
    "One bounded DBOS call of the gateway (SIGNOFF_ENGINE=dbos: a message, an awaited event, a "
    "status or list read), by outcome: ok, unreachable (no answer in time, no database), error (any "
    "other: a refused decision, an unknown workflow…).",
    ["outcome"],
    buckets=_ENGINE_CALL_BUCKETS,
)
RESTATE_CALL_SECONDS = Histogram(
    "signoff_bot_restate_call_seconds",
    "One bounded Restate call of the gateway (SIGNOFF_ENGINE=restate: a start, a decision, a status "
    "or list read), by outcome: ok, unreachable (no answer in time, no server), error (any other).",
    ["outcome"],
    buckets=_ENGINE_CALL_BUCKETS,
)

# How long /readyz waits for Temporal and for Slack's auth.test.
READINESS_TIMEOUT = timedelta(seconds=2)


def request_kind(body: dict[str, object]) -> str:
    if "command" in body:
        return "command"
    kind = body.get("type")
    if kind == "block_actions":
        return "action"
    if kind in ("view_submission", "view_closed"):
        return "view"
    if kind == "event_callback":
        return "event"
    return "other"


class InstrumentedApp(AsyncApp):
    """Bolt's app, timing each dispatch: with ``process_before_response=False`` it returns at the ack.
    ``readiness``: what ``/readyz`` asks (``bot.app.build_app`` sets it)."""

    readiness: Readiness | None = None
    # The listeners' owed work (``bot.app.build_app`` sets it): while it drains, no request is taken.
    follow_ups: FollowUps | None = None
    # The HTTP API (``bot.api.build_api``; None: no key configured), mounted beside the Slack endpoint.
    http_api: web.Application | None = None

    async def async_dispatch(self, req: AsyncBoltRequest) -> BoltResponse:
        if self.follow_ups is not None and self.follow_ups.draining:
            # Shutting down: not acknowledged, so Slack retries an event elsewhere and a person sees
            # their command or click fail, rather than it being acked and then dropped.
            REFUSED_WHILE_DRAINING.inc()
            return BoltResponse(status=503, body="shutting down")
        started = time.perf_counter()
        acking = self.follow_ups.acking.tracked() if self.follow_ups is not None else contextlib.nullcontext()
        try:
            with acking:
                return await super().async_dispatch(req)
        finally:
            ACK_SECONDS.labels(request_kind(req.body)).observe(time.perf_counter() - started)


class SlackCallCounter(AsyncRetryHandler):
    """Counts every failed Slack Web API call and every 429; never asks for a retry itself."""

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if error is not None:
            SLACK_API_ERRORS.labels(type(error).__name__).inc()
        elif response is not None:
            if response.status_code == 429:
                SLACK_RATE_LIMITED.inc()
                SLACK_API_ERRORS.labels("ratelimited").inc()
            elif isinstance(response.data, dict) and response.data.get("ok") is False:
                error = str(response.data.get("error") or "unknown")
                if error in ("ratelimited", "rate_limited"):  # a rate limit in a 200 body
                    SLACK_RATE_LIMITED.inc()
                SLACK_API_ERRORS.labels(error).inc()
            elif response.status_code >= 400:
                SLACK_API_ERRORS.labels(f"http_{response.status_code}").inc()
        return False


class Readiness:
    """Ready: the engine answers now (Temporal's health check, or the DBOS database), and Slack's
    auth.test succeeded once."""

    def __init__(
        self,
        engine_problem: Callable[[timedelta], Awaitable[str | None]],
        slack: AsyncWebClient,
        timeout: timedelta = READINESS_TIMEOUT,
    ) -> None:
        self.engine_problem = engine_problem
        self.slack = slack
        self.timeout = timeout
        self.slack_ok = False

    async def problem(self) -> str | None:
        """Why the bot is not ready, or None."""
        seconds = self.timeout.total_seconds()
        if not self.slack_ok:
            try:
                async with asyncio.timeout(seconds):
                    await self.slack.auth_test()
                self.slack_ok = True
            except TimeoutError:
                return f"Slack auth.test did not answer within {seconds:g} s"
            except SlackApiError as err:
                return f"Slack auth.test failed: {err.response.get('error') or short_error(err)}"
            except Exception as err:  # a connection error
                return f"Slack auth.test failed: {short_error(err)}"
        return await self.engine_problem(self.timeout)


async def temporal_problem(temporal: Client, timeout: timedelta) -> str | None:
    """Why Temporal is not usable now (its health check), or None."""
    seconds = timeout.total_seconds()
    try:
        async with asyncio.timeout(seconds + 1):
            serving = await temporal.service_client.check_health(timeout=timeout)
    except TimeoutError:
        return f"Temporal did not answer its health check within {seconds:g} s"
    except Exception as err:  # RPCError, or a lazy client's failed connect (RuntimeError)
        return f"Temporal is unreachable: {short_error(err)}"
    if not serving:
        return "Temporal's workflow service is not serving"
    return None


def short_error(err: Exception) -> str:
    return (str(err).splitlines() or [type(err).__name__])[0][:300]


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def readyz_handler(readiness: Readiness) -> Callable[[web.Request], Awaitable[web.Response]]:
    """``/readyz`` with why not: for the metrics port, which only operators reach."""

    async def readyz(request: web.Request) -> web.Response:
        problem = await readiness.problem()
        if problem is None:
            return web.json_response({"ready": True})
        return web.json_response({"ready": False, "reason": problem}, status=503)

    return readyz


def public_readyz_handler(readiness: Readiness) -> Callable[[web.Request], Awaitable[web.Response]]:
    """``/readyz`` for the public events port: a bare status, since the reason names internal hosts,
    addresses and errors (the metrics port's ``/readyz`` has it)."""

    async def readyz(request: web.Request) -> web.Response:
        if await readiness.problem() is None:
            return web.Response(text="ok")
        return web.Response(text="unavailable", status=503)

    return readyz


async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})


def health_routes(readiness: Readiness | None, *, public: bool = False) -> list[web.RouteDef]:
    """``/healthz``, and ``/readyz`` when there is a ``readiness``: bare on a ``public`` port."""
    routes = [web.get("/healthz", healthz)]
    if readiness is not None:
        handler = public_readyz_handler(readiness) if public else readyz_handler(readiness)
        routes.append(web.get("/readyz", handler))
    return routes


def build_metrics_app(readiness: Readiness | None) -> web.Application:
    """``--metrics-port``: ``GET /metrics`` (Prometheus), ``/healthz`` and ``/readyz``."""
    metrics_app = web.Application()
    metrics_app.add_routes([web.get("/metrics", metrics), *health_routes(readiness)])
    return metrics_app
