"""The one configuration object, read from the environment once at each entry point.

The worker, the bot and the sandbox all take a ``Settings``; nothing else reads ``os.environ``.
``Settings.from_env`` reads one pydantic-settings model per concern (Temporal, Slack, the agents'
models, approvals, runs, usage, the engine, operations) from the mapping the entry point gives it and
composes them; which Temporal cluster, and how to reach it, is the SDK's own environment configuration
(``signoff/config/temporal_profile.py``), loaded with them. Every model takes the variables by their names
(the fields' aliases), an empty value meaning the default like an absent one, and refuses a bad value
with a ``SettingsError`` of one line naming the variable (the value types: ``signoff/config/setting_types.py``).
Workflows never see any of it: they get a ``WorkflowSettings`` in their input or from the
``load_worker_settings`` activity.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Self

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from signoff.config.api_keys import ApiKey, api_keys
from signoff.config.setting_types import (
    ApiStyle,
    Approvers,
    ConversationId,
    DatabaseUrl,
    Deadline,
    Duration,
    Engine,
    EngineName,
    FilePath,
    Flag,
    HttpUrl,
    Mentions,
    ModelPrices,
    Port,
    PreferencesLocation,
    SettingsError,
    TokenBudget,
    ToolNames,
    Tracing,
    TracingName,
    UserGroupId,
    WholeNumber,
    one_line,
    parse_duration,
    parse_port,
    shown_url,
)
from signoff.config.temporal_profile import TemporalAccess, load_temporal
from signoff.contracts.tool_calls import READ_ONLY_TOOLS
from signoff.contracts.workflow_io import DEFAULT_TASK_QUEUE, AgentModels, ApprovalPolicy, WorkflowSettings

__all__ = [
    "DEFAULT_WORKER_CACHE_SIZE",
    "Engine",
    "Settings",
    "SettingsError",
    "Tracing",
    "parse_duration",
    "parse_port",
    "shown_url",
]

# Worker memory follows its workflow cache, not the number of workflows parked: ≈ 150 MB with an
# empty cache plus ≈ 0.5 MB per cached report (measured), so 200 keeps a worker near 250 MB
# however many drafts wait. Parked workflows are evicted first (LRU) and replayed when next
# needed (~0.1 s of CPU each); only a burst of more *active* workflows than the cache replays
# over and over, so a worker expecting such bursts trades memory for a larger cache.
DEFAULT_WORKER_CACHE_SIZE = 200
# The HTTP API's pace per key: a person answers a handful of requests a minute, not hundreds.
DEFAULT_API_RATE_PER_MINUTE = 60
_HTTP_URL = re.compile(r"^https?://[^/\s]+")


class _EnvironmentModel(BaseSettings):
    """One concern's settings, read from the mapping an entry point gives (``from_env``), never
    from ``os.environ`` behind its back."""

    # The defaults are written here, not read: only what the environment gives is validated.
    model_config = SettingsConfigDict(case_sensitive=True, frozen=True, extra="ignore", validate_default=False)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only what ``from_env`` passes: the entry point reads os.environ (after .env) once and hands
        # it over, so a model never picks up a variable a test or ``signoff dev`` did not give it.
        return (init_settings,)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        """This model's variables from ``env``; raises ``SettingsError`` naming the first bad one."""
        names = {info.validation_alias for info in cls.model_fields.values()}
        # An empty value (a line copied from .env.example) means the default, like an absent one.
        given = {name: value.strip() for name, value in env.items() if name in names and value.strip()}
        try:
            return cls(**given)
        except ValidationError as err:
            raise SettingsError(one_line(err)) from None


class TemporalSettings(_EnvironmentModel):
    """Where signoff's workflows run on the cluster, and where its UI links go (the cluster itself and
    how to reach it are the SDK's environment configuration, ``load_temporal``)."""

    task_queue: str = Field(DEFAULT_TASK_QUEUE, validation_alias="SIGNOFF_TASK_QUEUE")
    ui_url: str | None = Field(None, validation_alias="TEMPORAL_UI_URL")


class SlackSettings(_EnvironmentModel):
    # Secrets are kept out of repr so they never reach a log line.
    bot_token: str | None = Field(None, validation_alias="SLACK_BOT_TOKEN", repr=False)
    signing_secret: str | None = Field(None, validation_alias="SLACK_SIGNING_SECRET", repr=False)
    app_token: str | None = Field(None, validation_alias="SLACK_APP_TOKEN", repr=False)
    # Only for the local sandbox: where the Slack Web API lives.
    api_url: str | None = Field(None, validation_alias="SLACK_API_URL")


class AgentModelSettings(_EnvironmentModel):
    """The agents' models and where they are served (no key: the offline model)."""

    api_key: str | None = Field(None, validation_alias="OPENAI_API_KEY", repr=False)
    base_url: str | None = Field(None, validation_alias="OPENAI_BASE_URL")
    # "responses" (OpenAI's Responses API) or "chat" (Chat Completions, for most compatible servers).
    api_style: ApiStyle = Field("responses", validation_alias="SIGNOFF_OPENAI_API")
    # One model for every agent, unless an agent's own variable names another.
    model: str = Field("gpt-4.1", validation_alias="SIGNOFF_MODEL")
    research: str | None = Field(None, validation_alias="SIGNOFF_MODEL_RESEARCH")
    writer: str | None = Field(None, validation_alias="SIGNOFF_MODEL_WRITER")
    reviewer: str | None = Field(None, validation_alias="SIGNOFF_MODEL_REVIEWER")
    planner: str | None = Field(None, validation_alias="SIGNOFF_MODEL_PLANNER")
    executor: str | None = Field(None, validation_alias="SIGNOFF_MODEL_EXECUTOR")

    def agent_models(self) -> AgentModels:
        return AgentModels(
            research=self.research or self.model,
            writer=self.writer or self.model,
            reviewer=self.reviewer or self.model,
            planner=self.planner or self.model,
            executor=self.executor or self.model,
        )


class ApprovalSettings(_EnvironmentModel):
    """Who decides a draft, how many of them, and how long signoff waits and reminds."""

    # Empty: anyone but the requester.
    approvers: Approvers = Field(default_factory=list, validation_alias="SIGNOFF_APPROVERS")
    required_approvals: WholeNumber = Field(1, ge=1, validation_alias="SIGNOFF_REQUIRED_APPROVALS")
    reminder_interval: Duration = Field(timedelta(hours=24), validation_alias="SIGNOFF_REMINDER_INTERVAL")
    max_reminders: WholeNumber = Field(3, ge=0, validation_alias="SIGNOFF_MAX_REMINDERS")
    escalation_to: Mentions | None = Field(None, validation_alias="SIGNOFF_ESCALATION")
    # With no approvers named: a user group whose members decide (or claim), instead of the channel's.
    approver_group: UserGroupId | None = Field(None, validation_alias="SIGNOFF_APPROVER_GROUP")
    reject_reason_required: Flag = Field(False, validation_alias="SIGNOFF_REQUIRE_REJECT_REASON")
    # None: wait for a decision forever.
    decision_deadline: Deadline = Field(timedelta(days=7), validation_alias="SIGNOFF_DECISION_DEADLINE")

    @model_validator(mode="after")
    def _quorum_can_be_reached(self) -> Self:
        if self.approvers and self.required_approvals > len(self.approvers):
            raise SettingsError(
                f"SIGNOFF_REQUIRED_APPROVALS={self.required_approvals} but only "
                f"{len(self.approvers)} approvers are listed in SIGNOFF_APPROVERS"
            )
        return self

    def policy(self) -> ApprovalPolicy:
        return ApprovalPolicy(
            approvers=list(self.approvers),
            required_approvals=self.required_approvals,
            reminder_interval=self.reminder_interval,
            max_reminders=self.max_reminders,
            escalation_to=self.escalation_to,
            approver_group=self.approver_group,
            reject_reason_required=self.reject_reason_required,
            decision_deadline=self.decision_deadline,
        )


class RunSettings(_EnvironmentModel):
    """How a report or plan runs: review rounds, where a thread without Slack goes, which tool calls
    run without asking."""

    max_review_rounds: WholeNumber = Field(3, ge=1, validation_alias="SIGNOFF_MAX_REVIEW_ROUNDS")
    default_channel: ConversationId | None = Field(None, validation_alias="SIGNOFF_DEFAULT_CHANNEL")
    # Unset: the read-only tools; "none": ask for every call.
    auto_approved_tools: ToolNames = Field(
        default_factory=lambda: list(READ_ONLY_TOOLS), validation_alias="SIGNOFF_AUTO_APPROVED_TOOLS"
    )


class UsageSettings(_EnvironmentModel):
    """What tokens cost (for the estimate shown) and how many one run may use."""

    model_prices: ModelPrices = Field(default_factory=list, validation_alias="SIGNOFF_MODEL_PRICES")
    # None: no budget.
    token_budget: TokenBudget | None = Field(None, validation_alias="SIGNOFF_TOKEN_BUDGET")


class EngineSettings(_EnvironmentModel):
    engine: EngineName = Field(Engine.TEMPORAL, validation_alias="SIGNOFF_ENGINE")
    # DBOS's system database (``signoff.dbos.config``): None = SQLite under .data/; a URL may hold a password.
    database_url: DatabaseUrl | None = Field(None, validation_alias="SIGNOFF_DATABASE_URL", repr=False)


# --- Restate (SIGNOFF_ENGINE=restate, signoff.restate) ---
# Restate's own defaults: a server on this machine.
DEFAULT_RESTATE_URL = "http://localhost:8080"
DEFAULT_RESTATE_ADMIN_URL = "http://localhost:9070"
DEFAULT_RESTATE_SERVICE_PORT = 9080


class RestateSettings(_EnvironmentModel):
    """The Restate cluster (or Restate Cloud environment) the workflows run on, and signoff's service
    endpoint that Restate calls (``signoff.restate``)."""

    # Where invocations go (the ingress) and where deployments are registered (the admin API).
    url: HttpUrl = Field(DEFAULT_RESTATE_URL, validation_alias="SIGNOFF_RESTATE_URL")
    admin_url: HttpUrl = Field(DEFAULT_RESTATE_ADMIN_URL, validation_alias="SIGNOFF_RESTATE_ADMIN_URL")
    # Restate Cloud's API key, sent as a bearer token to both.
    auth_token: str | None = Field(None, validation_alias="SIGNOFF_RESTATE_AUTH_TOKEN", repr=False)
    # Where signoff's service endpoint listens, and the URL Restate reaches it at (None: on this
    # machine, http://127.0.0.1:<port>); registered with the admin API at start.
    service_port: Port = Field(DEFAULT_RESTATE_SERVICE_PORT, validation_alias="SIGNOFF_RESTATE_SERVICE_PORT")
    service_url: HttpUrl | None = Field(None, validation_alias="SIGNOFF_RESTATE_SERVICE_URL")


# --- end Restate ---


class OperationsSettings(_EnvironmentModel):
    """The worker's cache, metrics and tracing."""

    worker_cache_size: WholeNumber = Field(
        DEFAULT_WORKER_CACHE_SIZE, ge=1, validation_alias="SIGNOFF_WORKER_CACHE_SIZE"
    )
    metrics_port: Port | None = Field(None, validation_alias="SIGNOFF_METRICS_PORT")
    tracing: TracingName = Field(Tracing.OFF, validation_alias="SIGNOFF_TRACING")
    tracing_service_name: str | None = Field(None, validation_alias="OTEL_SERVICE_NAME")
    # The OTLP exporter reads its destination from the standard variables itself; these are the
    # ones that, malformed, would only show up as spans silently going nowhere. Checked with otlp only.
    otlp_traces_protocol: str | None = Field(None, validation_alias="OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
    otlp_protocol: str | None = Field(None, validation_alias="OTEL_EXPORTER_OTLP_PROTOCOL")
    otlp_traces_endpoint: str | None = Field(None, validation_alias="OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    otlp_endpoint: str | None = Field(None, validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT")
    # The bot's journal of acknowledged starts (``bot.journal``); None: .data/signoff-bot-journal.sqlite.
    bot_journal: FilePath | None = Field(None, validation_alias="SIGNOFF_BOT_JOURNAL")
    # What people set with /signoff (away, DM reminders off): ``signoff.activities.preference_store``; a
    # SQLite file (None: .data/signoff-preferences.sqlite), which the bot and the worker must both see,
    # or a PostgreSQL URL every host reaches (it may hold a password: kept out of repr).
    preferences: PreferencesLocation | None = Field(None, validation_alias="SIGNOFF_PREFERENCES", repr=False)

    @model_validator(mode="after")
    def _otlp_goes_somewhere(self) -> Self:
        if self.tracing is not Tracing.OTLP:
            return self
        for name, protocol in (
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", self.otlp_traces_protocol),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", self.otlp_protocol),
        ):
            if protocol and protocol != "http/protobuf":
                raise SettingsError(
                    f"{name}={protocol!r}: signoff exports OTLP over HTTP only; set http/protobuf "
                    "(and the collector's HTTP endpoint, port 4318 by default)"
                )
        for name, endpoint in (
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", self.otlp_traces_endpoint),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", self.otlp_endpoint),
        ):
            if endpoint and not _HTTP_URL.match(endpoint):
                raise SettingsError(f"{name}={endpoint!r} must be a URL like http://collector:4318")
        return self


class ApiSettings(_EnvironmentModel):
    """The HTTP API (``bot.api``): off unless a key is given; where its requests' webhooks may go."""

    keys: str | None = Field(None, validation_alias="SIGNOFF_API_KEYS", repr=False)
    keys_file: FilePath | None = Field(None, validation_alias="SIGNOFF_API_KEYS_FILE")
    # Requests a minute one key may make (a burst of as many is allowed, then this pace).
    rate_per_minute: WholeNumber = Field(DEFAULT_API_RATE_PER_MINUTE, ge=1, validation_alias="SIGNOFF_API_RATE")
    # Webhooks to private, loopback and link-local addresses (a local receiver in dev); off: refused (SSRF).
    webhook_allow_private: Flag = Field(False, validation_alias="SIGNOFF_WEBHOOK_ALLOW_PRIVATE")

    def api_keys(self) -> tuple[ApiKey, ...]:
        return api_keys(self.keys, self.keys_file)


@dataclass(frozen=True)
class Settings:
    """Every setting of one process, flat: what the worker, the bot and the commands read."""

    # The cluster, as the Temporal profile (``signoff.config.temporal_profile.load_temporal``) names it: what
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
    # Where the bot journals the starts it acknowledged (``bot.journal``); None: .data/ under the working directory.
    bot_journal: str | None = None
    # What people set with /signoff (``signoff.activities.preference_store``): a SQLite file (None: .data/
    # under the working directory) or a PostgreSQL URL, which may hold a password.
    preferences: str | None = field(default=None, repr=False)

    engine: Engine = Engine.TEMPORAL
    # DBOS's system database (``signoff.dbos.config``): None = SQLite under .data/; a URL may hold a password.
    database_url: str | None = field(default=None, repr=False)

    # The HTTP API's keys (``bot.api``; empty: the API is off) and its pace per key; the worker signs a
    # request's webhook with its key's secret and refuses private targets unless allowed.
    api_keys: tuple[ApiKey, ...] = field(default=(), repr=False)
    api_rate_per_minute: int = DEFAULT_API_RATE_PER_MINUTE
    webhook_allow_private: bool = False

    # --- Restate (SIGNOFF_ENGINE=restate): ingress, admin API, Restate Cloud's token, signoff's endpoint ---
    restate_url: str = DEFAULT_RESTATE_URL
    restate_admin_url: str = DEFAULT_RESTATE_ADMIN_URL
    restate_auth_token: str | None = field(default=None, repr=False)
    restate_service_port: int = DEFAULT_RESTATE_SERVICE_PORT
    # None: http://127.0.0.1:<restate_service_port> (``restate_endpoint_url``).
    restate_service_url: str | None = None

    @property
    def restate_endpoint_url(self) -> str:
        """The URL Restate calls signoff's service endpoint at: the one registered with its admin API."""
        return self.restate_service_url or f"http://127.0.0.1:{self.restate_service_port}"

    @property
    def restate_service_host(self) -> str:
        """Where signoff's service endpoint listens: this machine only, unless Restate reaches it
        from elsewhere (``SIGNOFF_RESTATE_SERVICE_URL``)."""
        return "127.0.0.1" if self.restate_service_url is None else "0.0.0.0"

    def on_local_restate(self, ingress_url: str, admin_url: str) -> Settings:
        """These settings against a Restate server started here (``signoff.restate.server``):
        its URLs, no token."""
        return replace(self, restate_url=ingress_url, restate_admin_url=admin_url, restate_auth_token=None)

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
        """Every concern's settings from ``env`` (the entry point's ``os.environ``); raises
        ``SettingsError``, one line naming the variable, for the first bad one."""
        target = load_temporal(env)
        temporal = TemporalSettings.from_env(env)
        approvals = ApprovalSettings.from_env(env)
        models = AgentModelSettings.from_env(env)
        slack = SlackSettings.from_env(env)
        operations = OperationsSettings.from_env(env)
        engine = EngineSettings.from_env(env)
        runs = RunSettings.from_env(env)
        usage = UsageSettings.from_env(env)
        api = ApiSettings.from_env(env)
        restate = RestateSettings.from_env(env)
        return cls(
            temporal_address=target.address,
            temporal_namespace=target.namespace,
            temporal_access=target.access,
            task_queue=temporal.task_queue,
            temporal_ui_url=temporal.ui_url,
            slack_bot_token=slack.bot_token,
            slack_signing_secret=slack.signing_secret,
            slack_app_token=slack.app_token,
            slack_api_url=slack.api_url,
            openai_api_key=models.api_key,
            openai_base_url=models.base_url,
            openai_api_style=models.api_style,
            worker_cache_size=operations.worker_cache_size,
            metrics_port=operations.metrics_port,
            tracing=operations.tracing,
            tracing_service_name=operations.tracing_service_name,
            bot_journal=operations.bot_journal,
            preferences=operations.preferences,
            engine=engine.engine,
            database_url=engine.database_url,
            api_keys=api.api_keys(),
            api_rate_per_minute=api.rate_per_minute,
            webhook_allow_private=api.webhook_allow_private,
            restate_url=restate.url,
            restate_admin_url=restate.admin_url,
            restate_auth_token=restate.auth_token,
            restate_service_port=restate.service_port,
            restate_service_url=restate.service_url,
            workflow=WorkflowSettings(
                policy=approvals.policy(),
                models=models.agent_models(),
                max_review_rounds=runs.max_review_rounds,
                default_channel=runs.default_channel,
                auto_approved_tools=list(runs.auto_approved_tools),
                model_prices=list(usage.model_prices),
                token_budget=usage.token_budget,
            ),
        )

    def require(self, *names: str) -> None:
        """Fail with one clear message naming every missing setting."""
        missing = [name for name in names if not getattr(self, name.lower(), None)]
        if missing:
            raise SettingsError("missing settings: " + ", ".join(missing))
