"""The one configuration object, read from the environment once at each entry point.

The worker, the bot and the sandbox all take a ``Settings``; nothing else reads
``os.environ``. Which Temporal cluster, and how to reach it, is the SDK's own environment
configuration (``infra/temporal.py``), loaded here with the rest. Workflows never see it: they
get a ``WorkflowSettings`` in their input or from the ``load_worker_settings`` activity.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from core.contracts import (
    DEFAULT_TASK_QUEUE,
    MAX_WAIT,
    MIN_WAIT,
    AgentModels,
    ApprovalPolicy,
    ModelPrice,
    WorkflowSettings,
)
from core.mrkdwn import humanize
from core.tool_calls import EXECUTOR_TOOLS, READ_ONLY_TOOLS

if TYPE_CHECKING:
    from infra.temporal import TemporalAccess


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


class Engine(StrEnum):
    """What runs signoff's workflows (``SIGNOFF_ENGINE``)."""

    TEMPORAL = "temporal"
    DBOS = "dbos"


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
_SLACK_ID = re.compile(r"^[UWS][A-Z0-9]{2,}$")
_CONVERSATION_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")

# Worker memory follows its workflow cache, not the number of workflows parked: ≈ 150 MB with an
# empty cache plus ≈ 0.5 MB per cached report (measured), so 200 keeps a worker near 250 MB
# however many drafts wait. Parked workflows are evicted first (LRU) and replayed when next
# needed (~0.1 s of CPU each); only a burst of more *active* workflows than the cache replays
# over and over, so a worker expecting such bursts trades memory for a larger cache.
DEFAULT_WORKER_CACHE_SIZE = 200


def parse_duration(name: str, raw: str) -> timedelta:
    """'90s', '1m', '24h', '7d' or plain seconds, from 1 second to ``MAX_WAIT`` (ten years)."""
    match = _DURATION.match(raw)
    if not match:
        raise SettingsError(f"{name}={raw!r} is not a duration like 60s, 1m, 24h or 7d")
    # Checked as a float first: a timedelta that large would overflow before it could be compared.
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise SettingsError(f"{name} must be positive")
    if seconds < MIN_WAIT.total_seconds():
        raise SettingsError(
            f"{name}={raw!r} is shorter than {MIN_WAIT.total_seconds():g}s, the shortest wait signoff takes"
        )
    if seconds > MAX_WAIT.total_seconds():
        raise SettingsError(f"{name}={raw!r} is longer than {humanize(MAX_WAIT)}, the longest wait signoff takes")
    return timedelta(seconds=seconds)


def _int(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}")
    return value


def parse_port(name: str, raw: str) -> int:
    """A TCP port to listen on, 1-65535 (``--metrics-port``, ``SIGNOFF_METRICS_PORT``)."""
    try:
        port = int(raw.strip())
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a port number (1-65535)") from None
    if not 1 <= port <= 65535:
        raise SettingsError(f"{name}={raw!r} is not a port number (1-65535)")
    return port


def _slack_ids(name: str, raw: str) -> list[str]:
    ids = [part.strip() for part in raw.split(",") if part.strip()]
    for slack_id in ids:
        if not _SLACK_ID.match(slack_id):
            raise SettingsError(f"{name}: {slack_id!r} is not a Slack user id like U0123ABCD")
    return ids


def _approvers(raw: str) -> list[str]:
    # Listed twice is still one person: counted once towards the quorum.
    ids = list(dict.fromkeys(_slack_ids("SIGNOFF_APPROVERS", raw)))
    groups = [slack_id for slack_id in ids if slack_id.startswith("S")]
    if groups:
        # A click carries a user id, never a group's: a group here would never match anyone.
        raise SettingsError(
            f"SIGNOFF_APPROVERS: {', '.join(groups)} is a user group; list its members' user ids (U…) instead"
        )
    return ids


def _conversation(name: str, raw: str | None) -> str | None:
    if raw is None:
        return None
    if not _CONVERSATION_ID.match(raw):
        # A #name works for a first post but not for the idempotent retry's history lookup.
        raise SettingsError(
            f"{name}={raw!r} must be a conversation id like C0123ABCD (in Slack: the channel's details, at the bottom)"
        )
    return raw


def _tools(name: str, raw: str) -> list[str]:
    """Tool names for the policy: empty = the read-only tools; ``none`` = ask for every tool.
    ``read_channel`` here runs without asking on the plan's own conversation only (any other asks)."""
    raw = raw.strip()
    if not raw:
        return list(READ_ONLY_TOOLS)
    if raw.lower() == "none":
        return []
    tools = [part.strip() for part in raw.split(",") if part.strip()]
    unknown = [tool for tool in tools if tool not in EXECUTOR_TOOLS]
    if unknown:
        raise SettingsError(
            f"{name}: unknown tool {', '.join(map(repr, unknown))}; the tools are {', '.join(EXECUTOR_TOOLS)} "
            "(or 'none' to ask for every call)"
        )
    return tools


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name}={raw!r} must be true or false")


def _api_style(raw: str) -> str:
    style = raw.strip().lower() or "responses"
    if style not in ("responses", "chat"):
        raise SettingsError(f"SIGNOFF_OPENAI_API={raw!r} must be 'responses' or 'chat'")
    return style


def _metrics_port(env: Mapping[str, str]) -> int | None:
    raw = env.get("SIGNOFF_METRICS_PORT", "").strip()
    return parse_port("SIGNOFF_METRICS_PORT", raw) if raw else None


_PRICE = re.compile(r"^\s*([^=\s]+)\s*=\s*(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*$")


def _model_prices(raw: str) -> list[ModelPrice]:
    """'gpt-4.1=2.00/8.00,gpt-4.1-mini=0.40/1.60': USD per million input/output tokens."""
    prices: dict[str, ModelPrice] = {}
    for part in (part for part in raw.split(",") if part.strip()):
        match = _PRICE.match(part)
        if not match:
            raise SettingsError(
                f"SIGNOFF_MODEL_PRICES: {part.strip()!r} is not model=input/output in USD per million tokens, "
                "like gpt-4.1=2.00/8.00"
            )
        model = match.group(1)
        if model in prices:
            raise SettingsError(f"SIGNOFF_MODEL_PRICES: {model!r} is priced twice")
        prices[model] = ModelPrice(model, float(match.group(2)), float(match.group(3)))
    return list(prices.values())


def _token_budget(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise SettingsError(f"SIGNOFF_TOKEN_BUDGET={raw!r} is not a whole number of tokens") from None
    if value <= 0:
        raise SettingsError(f"SIGNOFF_TOKEN_BUDGET={raw!r} must be a positive number of tokens (unset: no budget)")
    return value


def _engine(raw: str) -> Engine:
    name = raw.strip().lower() or Engine.TEMPORAL
    try:
        return Engine(name)
    except ValueError:
        raise SettingsError(
            f"SIGNOFF_ENGINE={raw.strip()!r} is not an engine; use one of {', '.join(Engine)}"
        ) from None


# The schemes DBOS's system database takes (SQLAlchemy URLs; DBOS drives PostgreSQL through psycopg 3).
_SQLITE_SCHEME = "sqlite"
_POSTGRES_SCHEMES = ("postgresql", "postgresql+psycopg")


def shown_url(url: str) -> str:
    """``url`` fit for a message: the password, if any, replaced by ``***``."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unparseable URL>"
    if not password:
        return url
    userinfo, _, hostinfo = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return parts._replace(netloc=f"{user}:***@{hostinfo}").geturl()


def _database_url(raw: str) -> str | None:
    """SIGNOFF_DATABASE_URL: empty = the embedded SQLite default (``infra.dbos``); else a
    ``sqlite:///path`` or a ``postgresql://`` URL naming a database."""
    url = raw.strip()
    if not url:
        return None
    shown = shown_url(url)
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    kinds = "sqlite:///path/to/file.sqlite or postgresql://user:password@host:5432/database"
    if not sep or scheme not in (_SQLITE_SCHEME, *_POSTGRES_SCHEMES):
        hint = " (write postgresql://)" if scheme == "postgres" else ""
        raise SettingsError(f"SIGNOFF_DATABASE_URL={shown!r} is not a database URL DBOS can use{hint}: use {kinds}")
    if scheme == _SQLITE_SCHEME:
        # sqlite:///relative.sqlite or sqlite:////absolute.sqlite; sqlite:// alone is in memory, lost at exit.
        if not rest.startswith("/") or not rest[1:].split("?")[0]:
            raise SettingsError(
                f"SIGNOFF_DATABASE_URL={shown!r} names no file: use sqlite:///path/to/file.sqlite "
                "(an in-memory database would lose every workflow at exit)"
            )
        return url
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError as err:
        raise SettingsError(f"SIGNOFF_DATABASE_URL={shown!r} is malformed: {err}") from None
    if not parts.path.strip("/"):
        # DBOS refuses a PostgreSQL URL without one; say so now, not at the first workflow.
        raise SettingsError(f"SIGNOFF_DATABASE_URL={shown!r} names no database: use {kinds}")
    return url


class Tracing(StrEnum):
    """Where OpenTelemetry spans of the Temporal calls go (``SIGNOFF_TRACING``; ``infra/tracing.py``)."""

    OFF = "off"
    # One JSON span per finished call on stdout: to see what tracing gives before running a collector.
    CONSOLE = "console"
    # OTLP over HTTP (protobuf) to the standard OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT.
    OTLP = "otlp"


# The OTLP exporter reads its destination from the standard variables itself; these are the ones
# that, malformed, would only show up as spans silently going nowhere.
_OTLP_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_OTLP_PROTOCOLS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")


def _tracing(env: Mapping[str, str]) -> Tracing:
    raw = env.get("SIGNOFF_TRACING", "").strip().lower()
    try:
        tracing = Tracing(raw or "off")
    except ValueError:
        raise SettingsError(f"SIGNOFF_TRACING={raw!r} must be off, console or otlp") from None
    if tracing is Tracing.OTLP:
        for name in _OTLP_PROTOCOLS:
            protocol = env.get(name, "").strip()
            if protocol and protocol != "http/protobuf":
                raise SettingsError(
                    f"{name}={protocol!r}: signoff exports OTLP over HTTP only; set http/protobuf "
                    "(and the collector's HTTP endpoint, port 4318 by default)"
                )
        for name in _OTLP_ENDPOINTS:
            endpoint = env.get(name, "").strip()
            if endpoint and not re.match(r"^https?://[^/\s]+", endpoint):
                raise SettingsError(f"{name}={endpoint!r} must be a URL like http://collector:4318")
    return tracing


def _optional(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


@dataclass(frozen=True)
class Settings:
    # The cluster, as the Temporal profile (``infra.temporal.load_temporal``) names it: what
    # messages and logs show. How to reach it (TLS, API key) is ``temporal_access``, never shown.
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = DEFAULT_TASK_QUEUE
    temporal_ui_url: str | None = None
    # None: plaintext, no credentials (a local dev server, and the tests' settings).
    temporal_access: TemporalAccess | None = field(default=None, repr=False)

    # Secrets are kept out of repr so they never reach a log line.
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_api_url: str | None = None

    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    # "responses" (OpenAI's Responses API) or "chat" (Chat Completions, for most compatible servers).
    openai_api_style: str = "responses"

    workflow: WorkflowSettings = field(default_factory=WorkflowSettings)
    # Workflows a worker keeps in memory between their tasks (``max_cached_workflows``).
    worker_cache_size: int = DEFAULT_WORKER_CACHE_SIZE
    # Where this process serves Prometheus metrics (and, for the bot, /healthz and /readyz); None: off.
    metrics_port: int | None = None
    # OpenTelemetry spans of every Temporal call the worker and the bot make (off by default).
    tracing: Tracing = Tracing.OFF
    # OTEL_SERVICE_NAME: the service the spans are from; None: signoff-worker, signoff-bot.
    tracing_service_name: str | None = None

    engine: Engine = Engine.TEMPORAL
    # DBOS's system database (``infra.dbos``): None = SQLite under .data/; a URL may hold a password.
    database_url: str | None = field(default=None, repr=False)

    @property
    def offline_model(self) -> bool:
        """No key: the deterministic offline model serves every agent."""
        return not self.openai_api_key

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    def on_local_server(self, address: str) -> Settings:
        """These settings against a Temporal dev server started here (``signoff dev``, the terminal
        demo): its address, its ``default`` namespace, plaintext, whatever the Temporal profile says."""
        return replace(self, temporal_address=address, temporal_namespace="default", temporal_access=None)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        # Local: infra.temporal raises this module's SettingsError.
        from infra.temporal import load_temporal

        temporal = load_temporal(env)
        # An empty value (a line copied from .env.example) means the default, like an absent one.
        deadline_raw = (env.get("SIGNOFF_DECISION_DEADLINE", "").strip() or "7d").lower()
        escalation = _optional(env, "SIGNOFF_ESCALATION")
        if escalation is not None:
            _slack_ids("SIGNOFF_ESCALATION", escalation)
        policy = ApprovalPolicy(
            approvers=_approvers(env.get("SIGNOFF_APPROVERS", "")),
            required_approvals=_int(env, "SIGNOFF_REQUIRED_APPROVALS", 1, 1),
            reminder_interval=parse_duration(
                "SIGNOFF_REMINDER_INTERVAL", env.get("SIGNOFF_REMINDER_INTERVAL", "").strip() or "24h"
            ),
            max_reminders=_int(env, "SIGNOFF_MAX_REMINDERS", 3, 0),
            escalation_to=escalation,
            reject_reason_required=_flag(env, "SIGNOFF_REQUIRE_REJECT_REASON"),
            decision_deadline=None
            if deadline_raw in ("none", "never", "0")
            else parse_duration("SIGNOFF_DECISION_DEADLINE", deadline_raw),
        )
        if policy.approvers and policy.required_approvals > len(policy.approvers):
            raise SettingsError(
                f"SIGNOFF_REQUIRED_APPROVALS={policy.required_approvals} but only "
                f"{len(policy.approvers)} approvers are listed in SIGNOFF_APPROVERS"
            )
        default_model = env.get("SIGNOFF_MODEL", "").strip() or "gpt-4.1"
        models = AgentModels(
            **{
                role: env.get(f"SIGNOFF_MODEL_{role.upper()}", "").strip() or default_model
                for role in ("research", "writer", "reviewer", "planner", "executor")
            }
        )
        return cls(
            temporal_address=temporal.address,
            temporal_namespace=temporal.namespace,
            temporal_access=temporal.access,
            task_queue=env.get("SIGNOFF_TASK_QUEUE", "").strip() or DEFAULT_TASK_QUEUE,
            temporal_ui_url=_optional(env, "TEMPORAL_UI_URL"),
            slack_bot_token=_optional(env, "SLACK_BOT_TOKEN"),
            slack_signing_secret=_optional(env, "SLACK_SIGNING_SECRET"),
            slack_app_token=_optional(env, "SLACK_APP_TOKEN"),
            slack_api_url=_optional(env, "SLACK_API_URL"),
            openai_api_key=_optional(env, "OPENAI_API_KEY"),
            openai_base_url=_optional(env, "OPENAI_BASE_URL"),
            openai_api_style=_api_style(env.get("SIGNOFF_OPENAI_API", "")),
            worker_cache_size=_int(env, "SIGNOFF_WORKER_CACHE_SIZE", DEFAULT_WORKER_CACHE_SIZE, 1),
            metrics_port=_metrics_port(env),
            engine=_engine(env.get("SIGNOFF_ENGINE", "")),
            database_url=_database_url(env.get("SIGNOFF_DATABASE_URL", "")),
            tracing=_tracing(env),
            tracing_service_name=_optional(env, "OTEL_SERVICE_NAME"),
            workflow=WorkflowSettings(
                policy=policy,
                models=models,
                max_review_rounds=_int(env, "SIGNOFF_MAX_REVIEW_ROUNDS", 3, 1),
                default_channel=_conversation("SIGNOFF_DEFAULT_CHANNEL", _optional(env, "SIGNOFF_DEFAULT_CHANNEL")),
                auto_approved_tools=_tools("SIGNOFF_AUTO_APPROVED_TOOLS", env.get("SIGNOFF_AUTO_APPROVED_TOOLS", "")),
                model_prices=_model_prices(env.get("SIGNOFF_MODEL_PRICES", "")),
                token_budget=_token_budget(env.get("SIGNOFF_TOKEN_BUDGET", "")),
            ),
        )

    def require(self, *names: str) -> None:
        """Fail with one clear message naming every missing setting."""
        missing = [name for name in names if not getattr(self, name.lower(), None)]
        if missing:
            raise SettingsError("missing settings: " + ", ".join(missing))
