"""``signoff mcp``: the MCP server (``bot.api.mcp``) on stdin/stdout, for a client that starts it as
a child process (Claude Code, Cursor, the Agents SDK's ``MCPServerStdio``).

It reads the same settings as the bot and reaches the engine through the bot's own gateway
(``SIGNOFF_ENGINE``: Temporal's, DBOS's on its system database, or Restate's ingress and admin API,
where ``signoff bot`` runs the workflows). There is no bearer on stdio: whoever can start this process holds the settings' power.
Its requests carry the name ``mcp-stdio`` in the audit, or, with ``--key NAME``, a configured API
key's (then that key's channel limits apply and its secret signs the webhooks).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from bot.api import requests_api
from bot.api.mcp import serve_stdio, stdio_key
from bot.app import build_gateway
from bot.gateway import Gateway
from signoff.config.settings import Engine, Settings, SettingsError
from signoff.temporal.connection import connect_client

SERVICE_NAME = "signoff-mcp"


@contextlib.asynccontextmanager
async def engine_gateway(settings: Settings) -> AsyncIterator[Gateway]:
    """The bot's gateway to the configured engine, without running the engine here."""
    if settings.engine is Engine.DBOS:
        from bot.dbos_gateway import DEFAULT_CALL_TIMEOUT
        from signoff.dbos.stack import reader_gateway

        async with reader_gateway(settings, DEFAULT_CALL_TIMEOUT) as gateway:
            yield gateway
        return
    if settings.engine is Engine.RESTATE:
        from bot.restate_gateway import DEFAULT_CALL_TIMEOUT as RESTATE_CALL_TIMEOUT
        from signoff.restate.stack import reader_gateway as restate_reader

        async with restate_reader(settings, RESTATE_CALL_TIMEOUT) as restate:
            yield restate
        return
    # Lazy, as the bot's: the server answers (a tool error saying so) while Temporal is down.
    client = await connect_client(settings, lazy=True, service=SERVICE_NAME)
    yield build_gateway(settings, client)


async def run_stdio(settings: Settings, key_name: str | None) -> None:
    """Serve the MCP tools on stdio until the client closes them (``SettingsError``: ``--key`` unknown)."""
    try:
        key = stdio_key(settings.api_keys, key_name)
    except LookupError as err:
        raise SettingsError(str(err)) from None
    async with engine_gateway(settings) as gateway:
        await serve_stdio(requests_api(settings, gateway), key)
