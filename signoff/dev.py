"""``signoff dev``: the whole system on one machine, for the demo and for trying it out.

Temporal's dev server (a child process, SQLite under .data/), the worker, the bot
and, unless ``--slack`` is given, the local Slack sandbox with its web page. All
of it stops on Ctrl-C; the data stays in .data/ so the next run shows the same reports.
``--engine dbos`` runs the workflows in the bot's process on SQLite (.data/dbos.sqlite);
``--engine restate`` runs the Restate server from node_modules (a child process, its data under
.data/restate/) and the engine's service endpoint in the bot's process, on a fixed port: Restate
resumes a run only at the endpoint URL that started it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from signoff.config.api_keys import MIN_SECRET_CHARS, ApiKey
from signoff.config.settings import Engine, Settings, SettingsError, shown_url
from signoff.temporal.devserver import DevServer

if TYPE_CHECKING:
    from temporalio.runtime import Runtime

    from bot.gateway import Gateway
    from signoff.sandbox import SlackSandbox

log = logging.getLogger(__name__)

TEMPORAL_PORT = 7233
TEMPORAL_UI_PORT = 8233
# Restate's: its admin API and web UI on its default port; its ingress moved off 8080 (the sandbox's).
RESTATE_INGRESS_PORT = 8180
RESTATE_ADMIN_PORT = 9070
# Where Restate calls the engine (the SDK's default port): the same at every start, or the runs
# started before it would wait for an endpoint that is gone.
RESTATE_SERVICE_PORT = 9080
SANDBOX_PORT = 8080
BOT_PORT = 3000
# Prometheus metrics: the worker's (the Temporal SDK's temporal_…) and the bot's (signoff_bot_…, /readyz).
WORKER_METRICS_PORT = 9464
BOT_METRICS_PORT = 9465
# Demo defaults: reminders you can watch arrive, and people in the sandbox to play each role.
DEMO_REMINDER_INTERVAL = timedelta(minutes=1)
DEMO_APPROVERS = ["U0APPROV1", "U0APPROV2"]
# The demo's HTTP API key (unless SIGNOFF_API_KEYS or its file gives keys): made once, kept in the
# data directory (.data/, never committed), so a script keeps working across restarts.
DEV_API_KEY_NAME = "dev"
DEV_API_KEY_FILE = "dev-api-key"
# Where the MCP server's Streamable HTTP transport is served on the bot's port.
MCP_PATH = "/mcp"


def demo_settings(settings: Settings, env_overrides: set[str]) -> Settings:
    """Demo policy unless the user configured their own in the environment."""
    policy = settings.workflow.policy
    if "SIGNOFF_REMINDER_INTERVAL" not in env_overrides:
        policy = replace(policy, reminder_interval=DEMO_REMINDER_INTERVAL)
    if "SIGNOFF_APPROVERS" not in env_overrides:
        policy = replace(policy, approvers=list(DEMO_APPROVERS))
    if "SIGNOFF_ESCALATION" not in env_overrides:
        policy = replace(policy, escalation_to="S0LEADS")
    return replace(settings, workflow=replace(settings.workflow, policy=policy))


def dev_api_key(data_dir: Path) -> ApiKey:
    """The demo's API key: its secret read from ``data_dir``, or made (random) and kept there, owner-only."""
    path = data_dir / DEV_API_KEY_FILE
    secret = path.read_text().strip() if path.exists() else ""
    if len(secret) < MIN_SECRET_CHARS:
        secret = secrets.token_hex(32)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secret + "\n")
    return ApiKey(DEV_API_KEY_NAME, secret)


def with_dev_api_key(settings: Settings, data_dir: Path) -> tuple[Settings, ApiKey | None]:
    """``settings`` with the demo's API key (for the bot and the worker alike), unless keys are configured
    (then those are kept, and None: the banner shows no secret of theirs)."""
    if settings.api_keys:
        return settings, None
    key = dev_api_key(data_dir)
    return replace(settings, api_keys=(key,)), key


async def run_dev(settings: Settings, data_dir: Path, *, real_slack: bool, env_overrides: set[str]) -> None:
    from bot.server import metrics_socket
    from signoff.worker import worker_runtime

    # One line per Slack API call from the sandbox would drown what the demo prints.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    data_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 -- one local mkdir at startup, before anything else uses the loop
    # The metrics ports first: one in use stops everything before anything started (exit 2).
    bot_metrics = metrics_socket(replace(settings, metrics_port=BOT_METRICS_PORT), "127.0.0.1")
    try:
        if settings.engine is Engine.DBOS:
            if settings.database_url is None:
                settings = replace(settings, database_url=f"sqlite:///{(data_dir / 'dbos.sqlite').resolve()}")
            await _run_stack(settings, data_dir, bot_metrics, real_slack=real_slack, env_overrides=env_overrides)
            return
        if settings.engine is Engine.RESTATE:
            await _run_on_restate(settings, data_dir, bot_metrics, real_slack=real_slack, env_overrides=env_overrides)
            return
        server = DevServer(data_dir / "temporal.sqlite3", port=TEMPORAL_PORT, ui_port=TEMPORAL_UI_PORT, headless=False)
        runtime = worker_runtime(replace(settings, metrics_port=WORKER_METRICS_PORT), "127.0.0.1")
        print("Starting the Temporal dev server …", flush=True)
        await server.start()
        try:
            # The dev server here, plaintext, whatever Temporal profile the environment holds for production.
            settings = replace(
                settings.on_local_server(server.address),
                temporal_ui_url=settings.temporal_ui_url or server.ui_url,
            )
            await _run_stack(
                settings, data_dir, bot_metrics, real_slack=real_slack, env_overrides=env_overrides, runtime=runtime
            )
        finally:
            server.stop()
    finally:
        if bot_metrics is not None:
            bot_metrics.close()


async def _run_on_restate(
    settings: Settings, data_dir: Path, bot_metrics: socket.socket | None, *, real_slack: bool, env_overrides: set[str]
) -> None:
    """The stack on a Restate server of its own, started here and stopped at the end."""
    from signoff.restate.server import RestateServer

    server = RestateServer(data_dir / "restate", ingress_port=RESTATE_INGRESS_PORT, admin_port=RESTATE_ADMIN_PORT)
    print("Starting the Restate server …", flush=True)
    try:
        await server.start()
    except (FileNotFoundError, RuntimeError, TimeoutError) as err:
        # Not installed (make install without npm), exited at start (a port taken, the data directory
        # held by another server) or not answering: one line, exit 2.
        raise SettingsError(str(err)) from None
    try:
        settings = replace(
            settings.on_local_restate(server.ingress_url, server.admin_url),
            # Yours when you set one: the error for a port in use names that setting.
            restate_service_port=(
                settings.restate_service_port
                if "SIGNOFF_RESTATE_SERVICE_PORT" in env_overrides
                else RESTATE_SERVICE_PORT
            ),
            restate_service_url=None,
        )
        await _run_stack(settings, data_dir, bot_metrics, real_slack=real_slack, env_overrides=env_overrides)
    finally:
        server.stop()


async def _run_stack(
    settings: Settings,
    data_dir: Path,
    bot_metrics: socket.socket | None,
    *,
    real_slack: bool,
    env_overrides: set[str],
    runtime: Runtime | None = None,
) -> None:
    """The sandbox (unless ``real_slack``), the engine (a Temporal worker, or DBOS or Restate's
    endpoint in this process) and the bot, until Ctrl-C."""
    from bot.app import build_app
    from bot.server import (
        build_web_app,
        connect_temporal,
        drain_http,
        drain_socket_mode,
        serving_metrics,
        socket_mode_handler,
        stop_signal,
    )
    from signoff.sandbox import SlackSandbox
    from signoff.slack.client import slack_session
    from signoff.worker import connect_worker_client, serving_worker, worker_slack_client

    sandbox: SlackSandbox | None = None
    try:
        if real_slack:
            settings.require("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
        else:
            sandbox = SlackSandbox(
                db_path=str(data_dir / "sandbox.sqlite3"),
                request_url=f"http://127.0.0.1:{BOT_PORT}/slack/events",
            )
            await sandbox.start(port=SANDBOX_PORT)
            settings = demo_settings(
                replace(
                    settings,
                    slack_bot_token=sandbox.bot_token,
                    slack_signing_secret=sandbox.signing_secret,
                    slack_app_token=None,
                    slack_api_url=sandbox.api_url,
                ),
                env_overrides,
            )
        # The HTTP API (and MCP) is served on the bot's HTTP port: with the sandbox, not over Socket Mode.
        dev_key: ApiKey | None = None
        if not real_slack:
            settings, dev_key = with_dev_api_key(settings, data_dir)

        async with contextlib.AsyncExitStack() as stack:
            session = await stack.enter_async_context(slack_session())
            gateway: Gateway | None = None
            if settings.engine is Engine.DBOS:
                from signoff.dbos.stack import engine_with_gateway

                gateway = await stack.enter_async_context(engine_with_gateway(settings))
                app = build_app(settings, None, gateway=gateway, session=session)
            elif settings.engine is Engine.RESTATE:
                from signoff.restate.stack import engine_with_gateway as restate_engine_with_gateway

                # The dev server's deployment follows the code being worked on (a changed endpoint
                # replaces it), where production serves changed code at a new URL.
                gateway = await stack.enter_async_context(restate_engine_with_gateway(settings, replace_changed=True))
                app = build_app(settings, None, gateway=gateway, session=session)
            else:
                worker = serving_worker(
                    await connect_worker_client(settings, runtime), settings, worker_slack_client(settings, session)
                )
                await stack.enter_async_context(worker)
                app = build_app(settings, await connect_temporal(settings), session=session)
            await stack.enter_async_context(serving_metrics(bot_metrics, app.readiness))
            if real_slack:
                handler = socket_mode_handler(app, settings, session)
                await handler.connect_async()
                stack.push_async_callback(handler.close_async)
            else:
                bot_runner = web.AppRunner(build_web_app(app), access_log=None)
                await bot_runner.setup()
                site = web.TCPSite(bot_runner, "127.0.0.1", BOT_PORT)
                await site.start()
                stack.push_async_callback(bot_runner.cleanup)
            _print_banner(settings, sandbox, dev_key)
            await stop_signal()
            # The demo's Ctrl-C says "Stopped." and nothing more: the drain's progress and the worker's
            # shutdown stay out of it (a drain that gives up still warns).
            for quiet in ("bot.server", "temporalio.worker"):
                logging.getLogger(quiet).setLevel(logging.WARNING)
            # The bot finishes what it acknowledged while the engine still runs, then all stops in order.
            if real_slack:
                await drain_socket_mode(app, handler)
            else:
                await drain_http(app, site)
    finally:
        if sandbox is not None:
            await sandbox.stop()
        print("Stopped. Data kept in .data/ for the next run.", flush=True)


def _print_banner(settings: Settings, sandbox: SlackSandbox | None, dev_key: ApiKey | None) -> None:
    model = "offline model" if settings.offline_model else "OpenAI"
    lines = ["", "signoff is running:"]
    if sandbox is not None:
        lines.append(f"  Slack sandbox:  {sandbox.url}   (type /report <topic> in #general)")
    else:
        lines.append("  Slack:          connected over Socket Mode; use /report in your workspace")
    if settings.engine is Engine.DBOS:
        lines += [
            f"  Engine:         DBOS on {shown_url(settings.database_url or '')} (the workflows run in this process)",
            f"  Metrics:        bot http://127.0.0.1:{BOT_METRICS_PORT}/metrics (/healthz, /readyz)",
        ]
    elif settings.engine is Engine.RESTATE:
        lines += [
            f"  Restate UI:     {settings.restate_admin_url}   (the workflows run in this process, "
            f"called by Restate at {settings.restate_endpoint_url})",
            f"  Metrics:        bot http://127.0.0.1:{BOT_METRICS_PORT}/metrics (/healthz, /readyz)",
        ]
    else:
        lines += [
            f"  Temporal UI:    {settings.temporal_ui_url}",
            f"  Metrics:        worker http://127.0.0.1:{WORKER_METRICS_PORT}/metrics, "
            f"bot http://127.0.0.1:{BOT_METRICS_PORT}/metrics (/healthz, /readyz)",
        ]
    if sandbox is not None:
        bot = f"http://127.0.0.1:{BOT_PORT}"
        key = f"{dev_key.secret}   (kept in .data/{DEV_API_KEY_FILE})" if dev_key else "yours, from SIGNOFF_API_KEYS"
        lines += [
            f"  HTTP API:       {bot}/v1/requests   (docs/http-api.md; OpenAPI at {bot}/v1/openapi.json)",
            f"  MCP:            {bot}{MCP_PATH}   (Streamable HTTP, the same key)",
            f"  API key:        {key}",
        ]
    lines += [
        f"  Models:         {model}",
        f"  Reminders every {settings.workflow.policy.reminder_interval}",
        "Press Ctrl-C to stop.",
        "",
    ]
    print("\n".join(lines), flush=True)
