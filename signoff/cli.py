"""The ``signoff`` command: the entry point that loads settings once and starts a component."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dotenv import load_dotenv

from signoff.config.extras import require_extras
from signoff.config.settings import Engine, Settings, SettingsError, parse_port, shown_url

if TYPE_CHECKING:
    from bot.api.mcp_proxy import Upstream
    from bot.api.tool_policy import Policy
    from bot.gateway import AuditRecord, Gateway
    from signoff.contracts.workflow_io import Progress

log = logging.getLogger("signoff")
DATA_DIR = Path(".data")
AUDIT_CONNECT_SECONDS = 10.0
AUDIT_TIMEOUT_SECONDS = 10.0
SETUP_CONNECT_SECONDS = 10.0


def load_settings(env_file: str | None) -> Settings:
    # Values already in the environment win over .env (no override), so CI and shells stay in charge.
    load_dotenv(env_file or ".env", override=False)
    return Settings.from_env(os.environ)


async def _worker(settings: Settings) -> None:
    if settings.engine is Engine.DBOS:
        from signoff.dbos import stack as dbos_stack

        await dbos_stack.run_worker(settings)
        return
    if settings.engine is Engine.RESTATE:
        # The service endpoint Restate calls, registered with its admin API at start.
        from signoff.restate import stack as restate_stack

        await restate_stack.run_worker(settings)
        return
    from signoff.worker import run_worker

    await run_worker(settings)


async def _terminal_demo(settings: Settings, topic: str) -> None:
    """Embedded dev server + worker; one report end to end, approved from this terminal."""
    from signoff.contracts.workflow_io import Phase
    from signoff.temporal.devserver import DevServer
    from signoff.worker import build_worker, connect_worker_client, worker_slack_client
    from workflows import ReportGenerationWorkflow

    server = DevServer(DATA_DIR / "temporal.sqlite3", port=7233, ui_port=8233, headless=False)
    print(f"Starting the Temporal dev server (UI: {server.ui_url}) …", flush=True)
    await server.start()
    try:
        settings = _replace_address(settings, server.address)
        client = await connect_worker_client(settings)
        async with build_worker(client, settings, worker_slack_client(settings)):
            handle = await client.start_workflow(
                ReportGenerationWorkflow.run,
                topic,
                id=f"report-demo-{uuid.uuid4().hex[:8]}",
                task_queue=settings.task_queue,
            )
            print(f"Started {handle.id} ({'offline model' if settings.offline_model else 'OpenAI'})", flush=True)
            status = ""
            while status != "pending_approval":
                new_status = await handle.query(ReportGenerationWorkflow.get_status)
                if new_status != status:
                    print(f"  status: {new_status}", flush=True)
                    status = new_status
                if Phase(status).is_terminal:
                    # Failed or cancelled before a draft was ready: nothing to approve.
                    print(f"The report ended as {status} before a draft was ready.", flush=True)
                    return
                await asyncio.sleep(0.2)
            draft = await handle.query(ReportGenerationWorkflow.current_draft)
            print("\n" + draft + "\n")
            answer = await asyncio.to_thread(_ask, "Approve this report? [Y/n] ")
            if answer in ("", "y", "yes"):
                await handle.signal(ReportGenerationWorkflow.approve)
                report = await handle.result()
                print(f"Approved. Final status: {await handle.query(ReportGenerationWorkflow.get_status)}")
                print(f"Final report: {len(report)} characters.")
            else:
                await handle.cancel()
                print("Not approved: the workflow was cancelled.")
    finally:
        server.stop()


def _set_in_environment() -> set[str]:
    """Variables the user really set: an empty value (``SIGNOFF_APPROVERS=`` copied from
    .env.example) leaves the demo's policy in place."""
    return {name for name, value in os.environ.items() if value.strip()}


class AuditError(Exception):
    """`signoff audit` cannot show this workflow (unknown, not signoff's, or failing its query): exit 1."""


async def audit(settings: Settings, workflow_id: str, timeout: float = AUDIT_TIMEOUT_SECONDS) -> dict[str, Any]:
    """A signoff workflow's record, JSON-ready: who asked, who may decide, every decision, the thread,
    the tool calls; read through the engine's gateway (``SIGNOFF_ENGINE``), the same on both. Raises
    ``AuditError`` for an unknown or foreign workflow and ``SettingsError`` when the engine, or a
    worker to answer, cannot be reached within ``timeout`` seconds."""
    from bot.gateway import GatewayError, NotFound, NoWorker, Unreachable
    from signoff.contracts.tool_call_log import LOG_ID_PREFIX

    async with _audit_gateway(settings, timeout) as (gateway, where, within):
        try:
            if workflow_id.startswith(LOG_ID_PREFIX):
                return await tool_call_log_record(gateway, workflow_id)
            record = await gateway.audit(workflow_id)
        except NotFound:
            raise AuditError(f"no workflow {workflow_id!r} in {within}") from None
        except Unreachable:
            raise SettingsError(f"cannot reach {where}; is the server running?") from None
        except NoWorker as err:
            raise SettingsError(str(err)) from None
        except GatewayError as err:
            # Not one of signoff's, or its progress could not be read.
            raise AuditError(str(err)) from None
    return _audit_json(record)


@contextlib.asynccontextmanager
async def _audit_gateway(settings: Settings, timeout: float) -> AsyncIterator[tuple[Gateway, str, str]]:
    """The engine's gateway for one audit, where the engine is (for messages), and where the
    workflows are looked up in."""
    from datetime import timedelta

    if settings.engine is Engine.DBOS:
        from signoff.dbos.config import system_database_url
        from signoff.dbos.stack import reader_gateway

        where = f"the DBOS database {shown_url(system_database_url(settings))!r} (SIGNOFF_DATABASE_URL)"
        async with reader_gateway(settings, timedelta(seconds=timeout)) as dbos:
            yield dbos, where, where
        return
    if settings.engine is Engine.RESTATE:
        from signoff.restate.stack import reader_gateway as restate_reader

        where = f"Restate at {shown_url(settings.restate_admin_url)} (SIGNOFF_RESTATE_ADMIN_URL)"
        async with restate_reader(settings, timedelta(seconds=timeout)) as restate:
            yield restate, where, where
        return
    from bot.gateway import TemporalGateway
    from signoff.temporal.connection import connect_client, is_connect_failure

    where = f"Temporal at {settings.temporal_address} (TEMPORAL_ADDRESS)"
    unreachable = SettingsError(f"cannot reach {where}; is the server running?")
    try:
        # Connecting is its own step with a floor: a loaded machine can take seconds to set up the
        # client, which says nothing about a worker answering within ``timeout``.
        async with asyncio.timeout(max(timeout, AUDIT_CONNECT_SECONDS)):
            client = await connect_client(settings)
    except TimeoutError:
        raise unreachable from None
    except RuntimeError as err:
        if not is_connect_failure(err):
            raise
        raise unreachable from None
    gateway = TemporalGateway(
        client,
        task_queue=settings.task_queue,
        namespace=settings.temporal_namespace,
        rpc_timeout=timedelta(seconds=timeout),
    )
    yield gateway, where, f"namespace {settings.temporal_namespace!r} of {where}"


# How many of a tool-call log's runs `signoff audit` reads back (Temporal continues it as new every
# couple of thousand entries).
MAX_LOG_RUNS = 50


async def tool_call_log_record(gateway: Gateway, log_id: str) -> dict[str, Any]:
    """An MCP proxy's tool-call log: every call (oldest first) and the Always allow grants, its
    earlier runs (Temporal) read back too, at most ``MAX_LOG_RUNS``."""
    from dataclasses import asdict

    from signoff.contracts.tool_call_log import TOOL_CALL_LOG

    view = await gateway.tool_call_log(log_id)
    entries = list(view.entries)
    earlier, previous = view.earlier_entries, view.previous_run_id
    for _ in range(MAX_LOG_RUNS - 1):
        if previous is None:
            break
        older = await gateway.tool_call_log(log_id, previous)
        entries[:0] = older.entries
        earlier, previous = older.earlier_entries, older.previous_run_id
    return {
        "workflow_id": log_id,
        "workflow_type": TOOL_CALL_LOG,
        "proxy": view.label,
        # Entries in runs older than the ones read (only past MAX_LOG_RUNS runs).
        "entries_not_shown": earlier,
        "calls": [_jsonable(asdict(entry)) for entry in entries],
        "always_allowed": [_jsonable(asdict(grant)) for grant in view.grants],
    }


def _jsonable(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: _iso(value) if isinstance(value, datetime) else value for name, value in fields.items()}


def _audit_json(record: AuditRecord) -> dict[str, Any]:
    return {
        "workflow_id": record.workflow_id,
        "run_id": record.run_id,
        "workflow_type": record.workflow_type,
        "status": record.status.value if record.status else None,
        "started_at": _iso(record.started_at),
        "closed_at": _iso(record.closed_at),
    } | _progress_record(record.progress)


def _progress_record(progress: Progress) -> dict[str, Any]:
    thread = progress.thread
    return {
        "kind": progress.kind.value,
        "subject": progress.subject,
        "phase": progress.phase.value,
        "outcome": progress.outcome,
        "requester": progress.requester_id,
        # The API key a request came through (signoff/contracts/api.py); None for Slack and SignoffRequest.
        "api_key": progress.api_key,
        "approvers": list(progress.approvers),
        "required_approvals": progress.required_approvals,
        "revision": progress.revision,
        "approvals": list(progress.approvals),
        "waiting_since": _iso(progress.waiting_since),
        "reminders_sent": progress.reminders_sent,
        "escalated": progress.escalated,
        "decisions": [
            {
                "user_id": decision.user_id,
                "kind": decision.kind.value,
                "revision": decision.revision,
                "at": _iso(decision.at),
                # The approver's comment, the revision notes or the rejection reason.
                "comment": decision.notes,
                "edited": decision.edited,
            }
            for decision in progress.decisions
        ],
        # Who decides now, when claims or delegations changed it, and each change of hands.
        "deciders": None if progress.deciders is None else list(progress.deciders),
        "handoffs": [
            {
                "kind": handoff.kind.value,
                "user_id": handoff.user_id,
                "to_user": handoff.to_user,
                "revision": handoff.revision,
                "at": _iso(handoff.at),
                "reason": handoff.reason,
            }
            for handoff in progress.handoffs
        ],
        "thread": {"channel": thread.channel_id, "ts": thread.ts} if thread else None,
        "review_rounds": [
            {"revision": r.revision, "round": r.round, "approved": r.approved, "feedback": r.feedback}
            for r in progress.review_rounds
        ],
        "tool_calls": [
            {
                "call_number": call.call_number,
                "agent": call.agent,
                "tool": call.tool,
                "arguments": call.arguments,
                "state": call.state.value,
                "asked": call.asked,
                "asked_at": _iso(call.asked_at),
                "decided_by": list(call.decided_by),
                "result": call.result,
            }
            for call in progress.tool_calls
        ],
    }


def _iso(moment: datetime | None) -> str | None:
    """ISO-8601 in UTC (a time without a zone is the workflow's UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


class SetupError(Exception):
    """`signoff setup` could not register the search attributes (refused, or a type clash): exit 1."""


async def setup(settings: Settings) -> str:
    """Register signoff's search attributes on the configured namespace (idempotent); returns what to
    print. Raises ``SetupError`` when the cluster refuses (Temporal Cloud: the message says how to add
    them there) and ``SettingsError`` when it cannot be reached."""
    from signoff.contracts.search_attributes import ALL, TYPE_NAMES
    from signoff.temporal.connection import connect_client
    from signoff.temporal.search_attributes import SetupRefused, SetupUnreachable, register

    where = f"namespace {settings.temporal_namespace!r} of Temporal at {settings.temporal_address}"
    unreachable = SettingsError(f"cannot reach Temporal at {settings.temporal_address} (TEMPORAL_ADDRESS)")
    try:
        async with asyncio.timeout(SETUP_CONNECT_SECONDS):
            client = await connect_client(settings)
    except TimeoutError:
        raise unreachable from None
    try:
        added = await register(client, settings.temporal_namespace)
    except SetupUnreachable as err:
        raise SettingsError(f"Temporal at {settings.temporal_address} did not answer: {err}") from None
    except SetupRefused as err:
        raise SetupError(str(err)) from None
    names = ", ".join(f"{key.name} ({TYPE_NAMES[key.indexed_value_type]})" for key in ALL)
    if not added:
        return f"signoff's search attributes are already registered in {where}: {names}. Nothing to do."
    return (
        f"Registered {', '.join(added)} in {where}. All of signoff's are there now: {names}.\n"
        "Running bots and workers notice within a minute; workflows started from then on are listed by them."
    )


async def _bot(settings: Settings, port: int) -> None:
    if settings.engine is Engine.DBOS:
        # The workflows run in this process: the bot alone is a complete deployment.
        from signoff.dbos import stack as dbos_stack

        await dbos_stack.run_bot(settings, port)
        return
    if settings.engine is Engine.RESTATE:
        # The bot serves the engine's endpoint too: with the Restate server, a whole deployment.
        from signoff.restate import stack as restate_stack

        await restate_stack.run_bot(settings, port)
        return
    from bot.server import run_bot

    await run_bot(settings, port)


def _check_bot_settings(settings: Settings) -> None:
    """Fail before starting anything when the Slack credentials for the chosen transport are missing."""
    if settings.socket_mode:
        settings.require("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
    else:
        settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")


def _temporal_only(command: str, engine: Engine) -> str | None:
    """Why ``command``, which works on Temporal only, does not run on ``engine``; None when it does."""
    if engine is Engine.TEMPORAL:
        return None
    if command == "setup":
        nothing_to_do = {
            Engine.DBOS: "DBOS creates its tables at start",
            Engine.RESTATE: "the bot and the worker register signoff's deployment with Restate at start",
        }
        return (
            f"registers Temporal's search attributes; SIGNOFF_ENGINE={engine.value} has nothing to set up "
            f"({nothing_to_do[engine]})"
        )
    if command == "demo-terminal":
        return (
            f"runs on Temporal's dev server only; for SIGNOFF_ENGINE={engine.value} "
            f"use `signoff dev --engine {engine.value}`"
        )
    return None


def _ask(prompt: str) -> str:
    if not sys.stdin.isatty():
        print(prompt + "y (stdin is not a terminal)")
        return "y"
    return input(prompt).strip().lower()


def _exit_now(code: int) -> None:
    """Exit with ``code`` once the output is out, without interpreter finalization: a one-shot
    command's Temporal client leaves the SDK's native threads running, and finalization racing
    them aborted the process now and then (SIGABRT instead of the exit code)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _replace_address(settings: Settings, address: str) -> Settings:
    return settings.on_local_server(address)


def _port_option(option: str) -> Callable[[str], int]:
    """An argparse type for ``option``: a port 1-65535, else argparse's one-line error and exit 2."""

    def port(raw: str) -> int:
        try:
            return parse_port(option, raw)
        except SettingsError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    return port


def _metrics_port_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--metrics-port",
        type=_port_option("--metrics-port"),
        help=f"serve {what} for Prometheus at http://0.0.0.0:PORT/metrics (default SIGNOFF_METRICS_PORT; unset: off)",
    )


def _proxy_options(args: argparse.Namespace) -> tuple[Policy, Upstream]:
    """``signoff mcp-proxy``'s policy and upstream from its flags (``SettingsError``: one line, exit 2)."""
    from bot.api.mcp_proxy import Upstream, parse_headers

    command = list(args.upstream_command)
    if command[:1] == ["--"]:
        command = command[1:]
    upstream = Upstream(tuple(command), args.upstream_url, parse_headers(args.header))
    return _policy_of(args), upstream


def _policy_of(args: argparse.Namespace) -> Policy:
    from bot.api.tool_policy import load_policy

    return load_policy(
        args.policy, channel=args.channel, ask=args.ask, allow=args.allow, deny=args.deny, wait_seconds=args.wait
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="signoff", description=__doc__)
    parser.add_argument("--env-file", help="settings file (default: .env)")
    parser.add_argument("--log-level", default="INFO")
    commands = parser.add_subparsers(dest="command", required=True)
    worker = commands.add_parser(
        "worker",
        help="run the workflows: a Temporal worker, a DBOS worker, or the Restate service endpoint (SIGNOFF_ENGINE)",
    )
    _metrics_port_option(worker, "the Temporal SDK's metrics (temporal_…)")
    bot = commands.add_parser(
        "bot", help="run the Slack app (Socket Mode when SLACK_APP_TOKEN is set, else HTTP on --port)"
    )
    bot.add_argument(
        "--port", type=_port_option("--port"), default=3000, help="HTTP port for POST /slack/events (default 3000)"
    )
    _metrics_port_option(bot, "the bot's metrics (signoff_bot_…), /healthz and /readyz")
    dev = commands.add_parser(
        "dev", help="the whole stack here: the engine (a Temporal or Restate server), worker, bot and the Slack sandbox"
    )
    dev.add_argument("--slack", action="store_true", help="use real Slack over Socket Mode instead of the sandbox")
    dev.add_argument(
        "--engine",
        choices=[engine.value for engine in Engine],
        help=(
            "run the workflows on Temporal's dev server (default), on DBOS with SQLite, or on a Restate "
            "server from node_modules (SIGNOFF_ENGINE)"
        ),
    )
    sandbox = commands.add_parser(
        "sandbox", help="run the local Slack sandbox alone (see python -m signoff.sandbox --help)"
    )
    sandbox.add_argument("sandbox_args", nargs=argparse.REMAINDER)
    demo = commands.add_parser("demo-terminal", help="one report end to end, approved from the terminal")
    demo.add_argument("topic", nargs="?", default="The impact of AI agents on software engineering")
    commands.add_parser(
        "setup",
        help="register signoff's search attributes on the configured Temporal namespace (idempotent)",
    )
    audit_parser = commands.add_parser(
        "audit",
        help="print a report's, plan's or sign-off request's record as JSON: every decision, the thread, tool calls",
    )
    audit_parser.add_argument("workflow_id")
    audit_parser.add_argument(
        "--timeout",
        type=float,
        default=AUDIT_TIMEOUT_SECONDS,
        help=(
            f"seconds to wait for the engine (Temporal, DBOS's database or Restate: SIGNOFF_ENGINE) and for a worker "
            f"to answer (default {AUDIT_TIMEOUT_SECONDS:g})"
        ),
    )
    mcp = commands.add_parser(
        "mcp", help="serve the MCP tools (request_signoff, get_signoff, cancel_signoff) on stdio, with these settings"
    )
    mcp.add_argument("--key", help="act as this configured API key (default: the identity mcp-stdio, any channel)")
    proxy = commands.add_parser(
        "mcp-proxy",
        help="front one MCP server on stdio, asking in Slack before the calls the policy names",
        description="signoff mcp-proxy [--policy FILE] [--channel C] -- COMMAND [ARGS…] | --upstream-url URL [--header K:V]",
    )
    proxy.add_argument("--policy", type=Path, help="the policy (TOML): rules of tool globs → ask / allow / deny")
    proxy.add_argument("--channel", help="where to ask (default: the policy's, else SIGNOFF_DEFAULT_CHANNEL)")
    proxy.add_argument("--ask", action="append", default=[], metavar="GLOB", help="ask before these tools")
    proxy.add_argument("--allow", action="append", default=[], metavar="GLOB", help="let these tools through")
    proxy.add_argument("--deny", action="append", default=[], metavar="GLOB", help="refuse these tools")
    proxy.add_argument("--wait", type=float, help="seconds a call waits for a decision (default 50)")
    proxy.add_argument("--key", help="act as this configured API key (default: the identity mcp-stdio)")
    proxy.add_argument("--upstream-url", help="the upstream MCP server's Streamable HTTP URL")
    proxy.add_argument("--header", action="append", default=[], metavar="K:V", help="a header sent to --upstream-url")
    proxy.add_argument("upstream_command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS…]: the upstream over stdio")
    hook = commands.add_parser(
        "hook", help="Claude Code's PreToolUse hook: reads the hook's JSON on stdin, asks in Slack, prints the decision"
    )
    hook.add_argument("--policy", type=Path, help="the policy (TOML), as signoff mcp-proxy's")
    hook.add_argument("--channel", help="where to ask (default: the policy's, else SIGNOFF_DEFAULT_CHANNEL)")
    hook.add_argument("--ask", action="append", default=[], metavar="GLOB", help="ask before these tools")
    hook.add_argument("--allow", action="append", default=[], metavar="GLOB", help="leave these tools to Claude Code")
    hook.add_argument("--deny", action="append", default=[], metavar="GLOB", help="refuse these tools")
    hook.add_argument(
        "--wait", type=float, help="seconds to wait for a decision (default 50; Claude Code's hook timeout is 60)"
    )
    hook.add_argument("--key", help="act as this configured API key (default: the identity mcp-stdio)")
    hook.add_argument(
        "--log-id",
        action="store_true",
        help="print the id of the key's hook tool-call log (for signoff audit) and exit",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "sandbox":
        from signoff.sandbox.__main__ import main as sandbox_main

        sandbox_main(args.sandbox_args)
        return 0
    try:
        settings = load_settings(args.env_file)
    except SettingsError as err:
        print(f"signoff: {err}", file=sys.stderr)
        return 2
    if getattr(args, "engine", None):
        settings = replace(settings, engine=Engine(args.engine))
    if getattr(args, "metrics_port", None) is not None:
        settings = replace(settings, metrics_port=args.metrics_port)
    try:
        # Before anything starts: a setting that needs an extra that is missing is a one-line error.
        require_extras(
            settings, runs_engine=args.command in {"bot", "worker", "dev", "audit", "mcp", "mcp-proxy", "hook"}
        )
    except SettingsError as err:
        print(f"signoff {args.command}: {err}", file=sys.stderr)
        return 2
    temporal_only = _temporal_only(args.command, settings.engine)
    if temporal_only:
        print(f"signoff {args.command}: {temporal_only}", file=sys.stderr)
        return 2
    if args.command == "bot":
        try:
            _check_bot_settings(settings)
        except SettingsError as err:
            print(f"signoff bot: {err}", file=sys.stderr)
            return 2
    if args.command in {"bot", "worker", "dev"}:
        from signoff.activities.settings import check_preferences

        try:
            # A PostgreSQL store the bot and the worker share: reachable, its tables made, before either starts.
            check_preferences(settings.preferences)
        except SettingsError as err:
            print(f"signoff {args.command}: {err}", file=sys.stderr)
            return 2
    try:
        if args.command == "bot":
            asyncio.run(_bot(settings, args.port))
        elif args.command == "worker":
            asyncio.run(_worker(settings))
        elif args.command == "dev":
            from signoff.dev import run_dev

            asyncio.run(run_dev(settings, DATA_DIR, real_slack=args.slack, env_overrides=_set_in_environment()))
        elif args.command == "demo-terminal":
            asyncio.run(_terminal_demo(settings, args.topic))
        elif args.command == "setup":
            try:
                message = asyncio.run(setup(settings))
            except SetupError as err:
                print(f"signoff setup: {err}", file=sys.stderr)
                _exit_now(1)
            print(message)
            _exit_now(0)
        elif args.command == "mcp":
            from signoff.mcp_stdio import run_stdio

            asyncio.run(run_stdio(settings, args.key))
            _exit_now(0)
        elif args.command == "mcp-proxy":
            from signoff.mcp_stdio import run_proxy

            asyncio.run(run_proxy(settings, *_proxy_options(args), args.key))
            _exit_now(0)
        elif args.command == "hook":
            from signoff.mcp_stdio import hook_log_id, run_hook, stdio_key_of

            if args.log_id:
                print(hook_log_id(stdio_key_of(settings, args.key).name))
                _exit_now(0)
            policy = _policy_of(args)
            code, out, problem = asyncio.run(run_hook(settings, policy, args.key, sys.stdin.read()))
            if out:
                print(out)
            if problem:
                print(problem, file=sys.stderr)
            sys.stdout.flush()
            _exit_now(code)
        elif args.command == "audit":
            try:
                record = asyncio.run(audit(settings, args.workflow_id, args.timeout))
            except AuditError as err:
                print(f"signoff audit: {err}", file=sys.stderr)
                _exit_now(1)
            print(json.dumps(record, indent=2, ensure_ascii=False))
            _exit_now(0)
    except SettingsError as err:
        # Raised where a component checks what it needs (e.g. the worker's Slack token).
        print(f"signoff {args.command}: {err}", file=sys.stderr)
        sys.stderr.flush()
        # A failed Temporal connect leaves the SDK's native threads running; interpreter
        # finalization racing them aborted the process now and then (SIGABRT instead of
        # exit code 2) on a loaded machine. Nothing else is open at this point.
        os._exit(2)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
