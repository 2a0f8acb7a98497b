"""``signoff mcp``: the MCP server (``bot.api.mcp``) on stdin/stdout, for a client that starts it as
a child process (Claude Code, Cursor, the Agents SDK's ``MCPServerStdio``); and the two commands in
front of other agents' tools that reach the engine the same way: ``signoff mcp-proxy``
(``bot.api.mcp_proxy``) and ``signoff hook`` (``bot.api.hook``, Claude Code's PreToolUse hook).

It reads the same settings as the bot and reaches the engine through the bot's own gateway
(``SIGNOFF_ENGINE``: Temporal's, DBOS's on its system database, or Restate's ingress and admin API,
where ``signoff bot`` runs the workflows). There is no bearer on stdio: whoever can start this process holds the settings' power.
Its requests carry the name ``mcp-stdio`` in the audit, or, with ``--key NAME``, a configured API
key's (then that key's channel limits apply and its secret signs the webhooks).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator

from bot.api import requests_api
from bot.api.hook import HookInput, answer_hook
from bot.api.mcp import serve_stdio, stdio_key
from bot.api.mcp_proxy import Upstream, serve_proxy
from bot.api.tool_call_journal import ToolCallJournal
from bot.api.tool_gate import ToolCallGate
from bot.api.tool_policy import Policy
from bot.app import build_gateway
from bot.gateway import Gateway
from signoff.config.api_keys import ApiKey
from signoff.config.settings import Engine, Settings, SettingsError
from signoff.contracts.tool_call_log import ToolCallEntry, tool_call_log_id
from signoff.temporal.connection import connect_client

log = logging.getLogger(__name__)

SERVICE_NAME = "signoff-mcp"
# What the hook's tool-call log is kept under, beside the key (as the proxy's is under its upstream).
HOOK_IDENTITY = "Claude Code hook"
# How long an answered hook call waits for its log entry to reach the engine.
HOOK_LOG_SECONDS = 3.0


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


def stdio_key_of(settings: Settings, key_name: str | None) -> ApiKey:
    try:
        return stdio_key(settings.api_keys, key_name)
    except LookupError as err:
        raise SettingsError(str(err)) from None


async def run_stdio(settings: Settings, key_name: str | None) -> None:
    """Serve the MCP tools on stdio until the client closes them (``SettingsError``: ``--key`` unknown)."""
    key = stdio_key_of(settings, key_name)
    async with engine_gateway(settings) as gateway:
        await serve_stdio(requests_api(settings, gateway), key)


async def run_proxy(settings: Settings, policy: Policy, upstream: Upstream, key_name: str | None) -> None:
    """``signoff mcp-proxy``: the upstream's tools on stdio, through the policy, until the client closes them."""
    key = stdio_key_of(settings, key_name)
    for warning in policy.warnings():
        print(f"signoff mcp-proxy: warning: {warning}", file=sys.stderr)
    async with engine_gateway(settings) as gateway:
        await serve_proxy(requests_api(settings, gateway), key, policy, upstream)


async def run_hook(settings: Settings, policy: Policy, key_name: str | None, raw: str) -> tuple[int, str, str]:
    """``signoff hook``: (exit code, stdout, stderr) for the hook's input ``raw``. "The same call" is the
    same tool and input in the same Claude Code session.

    The engine is needed for a call that asks; the answered call then goes to the key's hook tool-call
    log within ``HOOK_LOG_SECONDS``. Logging never changes an answer: an engine out of reach (or a
    DBOS database that is not there) delays it by at most that, and loses only the entry, said on
    stderr."""
    key = stdio_key_of(settings, key_name)
    unlogged: list[str] = []
    async with contextlib.AsyncExitStack() as opened:
        gateways: list[Gateway] = []

        async def gateway() -> Gateway:
            if not gateways:
                gateways.append(await opened.enter_async_context(engine_gateway(settings)))
            return gateways[0]

        @contextlib.asynccontextmanager
        async def gate_for(hook: HookInput) -> AsyncIterator[ToolCallGate]:
            api = requests_api(settings, await gateway())
            yield ToolCallGate(api, key, f"claude-code\0{hook.session_id}", "Claude Code")

        async def record(logged: ToolCallEntry) -> None:
            log_id = hook_log_id(key.name)
            try:
                async with asyncio.timeout(HOOK_LOG_SECONDS):
                    journal = ToolCallJournal(await gateway(), log_id, f"{key.name}: {HOOK_IDENTITY}")
                    journal.record(logged)
                    await journal.flush()
                    sent = not journal.unsent
            except Exception as err:  # the answer stands whatever the log's engine did
                log.debug("hook tool-call log %s: %s", log_id, err)
                sent = False
            if not sent:
                unlogged.append(
                    f"signoff hook: the call was answered, not logged in {log_id} (the engine did not answer)"
                )

        code, out, problem = await answer_hook(raw, policy, gate_for, record)
    return code, out, "\n".join(filter(None, [problem, *unlogged]))


def hook_log_id(key_name: str) -> str:
    """The tool-call log of the hook's calls as the key ``key_name`` (``signoff hook --log-id`` prints it)."""
    return tool_call_log_id(key_name, HOOK_IDENTITY)
