"""The HTTP API under ``/v1/`` on the bot's own server: sign-off requests from any program.

Off unless an API key is configured (``SIGNOFF_API_KEYS`` / ``SIGNOFF_API_KEYS_FILE``). One job per
module: ``auth`` (bearer keys), ``ratelimit`` (each key's pace), ``problems`` (RFC 9457 errors),
``models`` (the JSON), ``routes`` (the handlers, through the bot's gateway), ``openapi`` (the
document, from the models). Webhooks are the workflow's (``signoff.activities.webhooks``).
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from aiohttp.abc import AbstractResolver

from bot.api.auth import KeyRing
from bot.api.openapi import openapi_document
from bot.api.problems import problem_middleware, refusing_while
from bot.api.ratelimit import RateLimiter
from bot.api.routes import RequestsApi
from bot.gateway import Gateway
from signoff.config.settings import Settings

API_PREFIX = "/v1"
# The API's handlers on its sub-application: the MCP endpoint (``bot.api.mcp``) serves through the same.
REQUESTS_API = web.AppKey("requests_api", RequestsApi)


def requests_api(
    settings: Settings, gateway: Gateway, *, resolver: Callable[[], AbstractResolver] | None = None
) -> RequestsApi:
    """The API's handlers on ``settings`` (its keys, pace, default channel, webhook rule) and ``gateway``."""
    return RequestsApi(
        keys=KeyRing(settings.api_keys),
        gateway=gateway,
        limiter=RateLimiter(settings.api_rate_per_minute),
        default_channel=settings.workflow.default_channel,
        webhook_allow_private=settings.webhook_allow_private,
        resolver=resolver,
    )


def build_api(
    settings: Settings,
    gateway: Gateway,
    *,
    draining: Callable[[], bool] = lambda: False,
    resolver: Callable[[], AbstractResolver] | None = None,
) -> web.Application | None:
    """The API as an aiohttp sub-application to mount at ``API_PREFIX``, or None when no key is configured.
    ``draining``: whether the bot is shutting down (then every call is refused with 503, nothing started)."""
    api = requests_api(settings, gateway, resolver=resolver)
    if not api.keys:
        return None
    document = openapi_document()

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(document)

    app = web.Application(middlewares=[problem_middleware, refusing_while(draining)])
    app.add_routes([*api.routes(), web.get("/openapi.json", openapi)])
    app[REQUESTS_API] = api
    return app


__all__ = ["API_PREFIX", "REQUESTS_API", "build_api", "requests_api"]
