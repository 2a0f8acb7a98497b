"""What each environment variable may hold: the value types the settings models (``signoff/config/settings.py``)
are made of, each an ``Annotated`` type whose validator parses the text and refuses it with the
one-line message that names the variable.

A validator does not know which variable it reads; it raises ``Invalid``, whose message is completed
with the variable's name once pydantic says which field failed (``one_line``). Nothing here reads the
environment.
"""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import SplitResult, urlsplit

from pydantic import BeforeValidator, ValidationError

from signoff.contracts.mrkdwn import humanize
from signoff.contracts.tool_calls import EXECUTOR_TOOLS
from signoff.contracts.workflow_io import MAX_WAIT, MIN_WAIT, ModelPrice


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


class Invalid(ValueError):
    """A value a type refused: what to say after the variable's name (``=…``, ``: …`` or `` …``),
    completed by ``message`` once pydantic says which variable it was."""

    def __init__(self, after_name: str) -> None:
        super().__init__(after_name)
        self.after_name = after_name

    def message(self, name: str) -> str:
        return f"{name}{self.after_name}"


def one_line(error: ValidationError) -> str:
    """pydantic's report of a settings model, as the one line an operator reads: the first refusal,
    naming its variable (the field's alias), with no pydantic dump."""
    first = error.errors()[0]
    name = str(first["loc"][0]) if first["loc"] else ""
    context = first.get("ctx") or {}
    refused = context.get("error")
    if isinstance(refused, SettingsError):
        return str(refused)
    if isinstance(refused, Invalid):
        return refused.message(name)
    if first["type"] == "greater_than_equal":
        return f"{name} must be at least {context['ge']}"
    return f"{name}={first['input']!r}: {first['msg']}"


class Engine(StrEnum):
    """What runs signoff's workflows (``SIGNOFF_ENGINE``)."""

    TEMPORAL = "temporal"
    DBOS = "dbos"
    RESTATE = "restate"


class Tracing(StrEnum):
    """Where OpenTelemetry spans of the Temporal calls go (``SIGNOFF_TRACING``; ``signoff/temporal/tracing.py``)."""

    OFF = "off"
    # One JSON span per finished call on stdout: to see what tracing gives before running a collector.
    CONSOLE = "console"
    # OTLP over HTTP (protobuf) to the standard OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT.
    OTLP = "otlp"


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
_SLACK_ID = re.compile(r"^[UWS][A-Z0-9]{2,}$")
_CONVERSATION_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_PRICE = re.compile(r"^\s*([^=\s]+)\s*=\s*(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*$")
# The schemes DBOS's system database takes (SQLAlchemy URLs; DBOS drives PostgreSQL through psycopg 3).
_SQLITE_SCHEME = "sqlite"
_POSTGRES_SCHEMES = ("postgresql", "postgresql+psycopg")
# The schemes libpq (psycopg) takes: a URL of either kind is a PostgreSQL database, not a file's path.
LIBPQ_SCHEMES = ("postgresql", "postgres")
_NO_DEADLINE = ("none", "never", "0")


def _duration(raw: str) -> timedelta:
    match = _DURATION.match(raw)
    if not match:
        raise Invalid(f"={raw!r} is not a duration like 60s, 1m, 24h or 7d")
    # Checked as a float first: a timedelta that large would overflow before it could be compared.
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise Invalid(" must be positive")
    if seconds < MIN_WAIT.total_seconds():
        raise Invalid(f"={raw!r} is shorter than {MIN_WAIT.total_seconds():g}s, the shortest wait signoff takes")
    if seconds > MAX_WAIT.total_seconds():
        raise Invalid(f"={raw!r} is longer than {humanize(MAX_WAIT)}, the longest wait signoff takes")
    return timedelta(seconds=seconds)


def parse_duration(name: str, raw: str) -> timedelta:
    """'90s', '1m', '24h', '7d' or plain seconds, from ``MIN_WAIT`` (one second) to ``MAX_WAIT`` (ten years)."""
    try:
        return _duration(raw)
    except Invalid as refused:
        raise SettingsError(refused.message(name)) from None


def _deadline(raw: str) -> timedelta | None:
    raw = raw.lower()
    return None if raw in _NO_DEADLINE else _duration(raw)


def _whole_number(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        return int(raw)
    except ValueError:
        raise Invalid(f"={raw!r} is not a whole number") from None


def _port(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        port = int(raw)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise Invalid(f"={raw!r} is not a port number (1-65535)")
    return port


def parse_port(name: str, raw: str) -> int:
    """A TCP port to listen on, 1-65535 (``--metrics-port``, ``SIGNOFF_METRICS_PORT``)."""
    try:
        port: int = _port(raw.strip())
    except Invalid as refused:
        raise SettingsError(refused.message(name)) from None
    return port


def _flag(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    raw = raw.lower()
    if raw in ("0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise Invalid(f"={raw!r} must be true or false")


def _slack_ids(raw: str) -> list[str]:
    ids = [part.strip() for part in raw.split(",") if part.strip()]
    for slack_id in ids:
        if not _SLACK_ID.match(slack_id):
            raise Invalid(f": {slack_id!r} is not a Slack user id like U0123ABCD")
    return ids


def _mentionable(raw: str) -> str:
    _slack_ids(raw)
    return raw


def _approvers(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    # Listed twice is still one person: counted once towards the quorum.
    ids = list(dict.fromkeys(_slack_ids(raw)))
    groups = [slack_id for slack_id in ids if slack_id.startswith("S")]
    if groups:
        # A click carries a user id, never a group's: a group here would never match anyone.
        raise Invalid(f": {', '.join(groups)} is a user group; list its members' user ids (U…) instead")
    return ids


def _user_group(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    if not raw.startswith("S") or not _SLACK_ID.match(raw):
        raise Invalid(f"={raw!r} must be a user group id like S0123ABCD")
    return raw


def _conversation(raw: str) -> str:
    if not _CONVERSATION_ID.match(raw):
        # A #name works for a first post but not for the idempotent retry's history lookup.
        raise Invalid(
            f"={raw!r} must be a conversation id like C0123ABCD (in Slack: the channel's details, at the bottom)"
        )
    return raw


def _tools(raw: Any) -> Any:
    """Tool names for the policy: ``none`` = ask for every tool (unset: the read-only tools).
    ``read_channel`` here runs without asking on the plan's own conversation only (any other asks)."""
    if not isinstance(raw, str):
        return raw
    if raw.lower() == "none":
        return []
    tools = [part.strip() for part in raw.split(",") if part.strip()]
    unknown = [tool for tool in tools if tool not in EXECUTOR_TOOLS]
    if unknown:
        raise Invalid(
            f": unknown tool {', '.join(map(repr, unknown))}; the tools are "
            f"{', '.join(EXECUTOR_TOOLS)} (or 'none' to ask for every call)"
        )
    return tools


def _api_style(raw: str) -> str:
    style = raw.lower()
    if style not in ("responses", "chat"):
        raise Invalid(f"={raw!r} must be 'responses' or 'chat'")
    return style


def _model_prices(raw: Any) -> Any:
    """'gpt-4.1=2.00/8.00,gpt-4.1-mini=0.40/1.60': USD per million input/output tokens."""
    if not isinstance(raw, str):
        return raw
    prices: dict[str, ModelPrice] = {}
    for part in (part for part in raw.split(",") if part.strip()):
        match = _PRICE.match(part)
        if not match:
            raise Invalid(
                f": {part.strip()!r} is not model=input/output in USD per million tokens, like gpt-4.1=2.00/8.00"
            )
        model = match.group(1)
        if model in prices:
            raise Invalid(f": {model!r} is priced twice")
        prices[model] = ModelPrice(model, float(match.group(2)), float(match.group(3)))
    return list(prices.values())


def _token_budget(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise Invalid(f"={raw!r} is not a whole number of tokens") from None
    if value <= 0:
        raise Invalid(f"={raw!r} must be a positive number of tokens (unset: no budget)")
    return value


def _engine(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        return Engine(raw.lower())
    except ValueError:
        raise Invalid(f"={raw!r} is not an engine; use one of {', '.join(Engine)}") from None


def _tracing(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    raw = raw.lower()
    try:
        return Tracing(raw)
    except ValueError:
        raise Invalid(f"={raw!r} must be off, console or otlp") from None


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


def _database_url(url: str) -> str:
    """A ``sqlite:///path`` or a ``postgresql://`` URL naming a database (unset: the embedded
    SQLite default, ``signoff.dbos.config``). Its messages never show the password."""
    shown = shown_url(url)
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    kinds = "sqlite:///path/to/file.sqlite or postgresql://user:password@host:5432/database"
    if not sep or scheme not in (_SQLITE_SCHEME, *_POSTGRES_SCHEMES):
        hint = " (write postgresql://)" if scheme == "postgres" else ""
        raise Invalid(f"={shown!r} is not a database URL DBOS can use{hint}: use {kinds}")
    if scheme == _SQLITE_SCHEME:
        # sqlite:///relative.sqlite or sqlite:////absolute.sqlite; sqlite:// alone is in memory, lost at exit.
        if not rest.startswith("/") or not rest[1:].split("?")[0]:
            raise Invalid(
                f"={shown!r} names no file: use sqlite:///path/to/file.sqlite "
                "(an in-memory database would lose every workflow at exit)"
            )
        return url
    parts = _split_url(url, shown)
    if not parts.path.strip("/"):
        # DBOS refuses a PostgreSQL URL without one; say so now, not at the first workflow.
        raise Invalid(f"={shown!r} names no database: use {kinds}")
    return url


def is_postgres_url(location: str | None) -> bool:
    """Whether ``location`` (a setting's value) is a ``postgresql://`` or ``postgres://`` URL."""
    if location is None:
        return False
    scheme, sep, _ = location.partition("://")
    return bool(sep) and scheme.lower() in LIBPQ_SCHEMES


def driver_error_line(error: Exception, url: str) -> str:
    """The first line of a database driver's ``error`` about ``url``, with the URL's password, if any,
    replaced by ``***``: libpq's messages name the host, the port and the user, never the password,
    but the line is shown and logged, so it is stripped anyway."""
    text = str(error).strip()
    line = text.splitlines()[0] if text else type(error).__name__
    try:
        password = urlsplit(url).password
    except ValueError:
        return line
    return line.replace(password, "***") if password else line


def _preferences_location(raw: str) -> str:
    """A SQLite file's path, or a PostgreSQL URL that every host reaches (``postgresql://`` or
    ``postgres://``, as libpq takes it). Its messages never show the password."""
    scheme, sep, _ = raw.partition("://")
    if not sep:
        return _file_path(raw)
    shown = shown_url(raw)
    if scheme.lower() not in LIBPQ_SCHEMES:
        raise Invalid(
            f"={shown!r} is neither a file's path nor a PostgreSQL URL: use /data/signoff-preferences.sqlite "
            "or postgresql://user:password@host:5432/database"
        )
    _split_url(raw, shown)
    return raw


def _file_path(raw: str) -> str:
    """A file's path (made absolute where it is used); a directory's (ending in a slash) is refused."""
    if raw.endswith(("/", "\\")) or "\0" in raw:
        raise Invalid(f"={raw!r} must name a file, e.g. /data/signoff-bot-journal.sqlite")
    return raw


# Each type reads the text of one variable, already stripped; an empty or unset variable never
# reaches it (the settings models give their default instead).
Duration = Annotated[timedelta, BeforeValidator(_duration)]
# A duration, or none/never/0 for no limit.
Deadline = Annotated[timedelta | None, BeforeValidator(_deadline)]
WholeNumber = Annotated[int, BeforeValidator(_whole_number)]
Port = Annotated[int, BeforeValidator(_port)]
Flag = Annotated[bool, BeforeValidator(_flag)]
# Slack user ids (U…/W…), each once; no user group, since a click carries a user's id.
Approvers = Annotated[list[str], BeforeValidator(_approvers)]
# One or more user (U…) or user-group (S…) ids, kept as written, to mention.
Mentions = Annotated[str, BeforeValidator(_mentionable)]
UserGroupId = Annotated[str, BeforeValidator(_user_group)]
ConversationId = Annotated[str, BeforeValidator(_conversation)]
ToolNames = Annotated[list[str], BeforeValidator(_tools)]
ApiStyle = Annotated[str, BeforeValidator(_api_style)]
ModelPrices = Annotated[list[ModelPrice], BeforeValidator(_model_prices)]
TokenBudget = Annotated[int, BeforeValidator(_token_budget)]
EngineName = Annotated[Engine, BeforeValidator(_engine)]
TracingName = Annotated[Tracing, BeforeValidator(_tracing)]
DatabaseUrl = Annotated[str, BeforeValidator(_database_url)]
FilePath = Annotated[str, BeforeValidator(_file_path)]
# A file's path or a PostgreSQL URL (the URL may hold a password).
PreferencesLocation = Annotated[str, BeforeValidator(_preferences_location)]


# --- Restate (SIGNOFF_ENGINE=restate): its ingress and admin API, and where Restate reaches signoff ---


def _split_url(url: str, shown: str) -> SplitResult:
    """``url``'s parts; ``Invalid`` (showing ``shown``) when it or its port is malformed."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError as err:
        malformed = str(err)
        raise Invalid(f"={shown!r} is malformed: {malformed}") from None
    return parts


def _http_url(raw: str) -> str:
    """An http(s) URL naming a host (a path is kept: a proxy may serve Restate under one), without
    its trailing slash. Its messages never show a password."""
    shown = shown_url(raw)
    parts = _split_url(raw, shown)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise Invalid(f"={shown!r} is not an http(s) URL like http://localhost:8080")
    if parts.query or parts.fragment:
        raise Invalid(f"={shown!r} has a query or a fragment; give the server's base URL")
    return raw.rstrip("/")


HttpUrl = Annotated[str, BeforeValidator(_http_url)]
