"""signoff's optional parts (pyproject's extras), and the one-line error when a setting asks for one
that is not installed: the base install runs the Temporal engine untraced and never imports them."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from signoff.config.setting_types import is_postgres_url
from signoff.config.settings import Engine, Settings, SettingsError, Tracing


@dataclass(frozen=True)
class Extra:
    """An extra of the ``signoff`` distribution and the modules it brings that the base install lacks."""

    name: str
    modules: tuple[str, ...]


# psycopg and SQLAlchemy come with dbos; signoff/dbos/config.py and bot/dbos_gateway.py use them directly.
DBOS = Extra("dbos", ("dbos", "psycopg", "sqlalchemy"))
# The PostgreSQL driver alone, for SIGNOFF_PREFERENCES=postgresql://… (signoff/activities/postgres_preferences.py):
# it comes with the dbos extra, so a deployment on Temporal installs that extra for it.
POSTGRES_DRIVER = Extra("dbos", ("psycopg",))
# The Restate SDK and the server of signoff's endpoint (signoff/restate/endpoint.py).
RESTATE = Extra("restate", ("restate", "hypercorn"))
# The SDK also comes with temporalio-openai-agents (temporalio[opentelemetry]); the exporter does not.
OTEL = Extra("otel", ("opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http"))


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package is missing
        return False


def require_extra(extra: Extra, setting: str) -> None:
    """Raise ``SettingsError`` naming ``setting`` and the install command when ``extra`` is missing."""
    missing = [module for module in extra.modules if not _installed(module)]
    if missing:
        raise SettingsError(
            f"{setting} needs signoff's {extra.name} extra ({', '.join(missing)} not installed): "
            f"pip install 'signoff[{extra.name}]'"
        )


def require_extras(settings: Settings, *, runs_engine: bool) -> None:
    """The extras ``settings`` need: ``dbos`` when this process runs the DBOS engine or reads its
    database, or (its driver) keeps the preferences in PostgreSQL, ``restate`` when it runs the
    Restate engine (``runs_engine``), ``otel`` whenever tracing is on."""
    if runs_engine and settings.engine is Engine.DBOS:
        require_extra(DBOS, "SIGNOFF_ENGINE=dbos")
    if runs_engine and is_postgres_url(settings.preferences):
        # Not the URL itself: it may hold a password.
        require_extra(POSTGRES_DRIVER, "SIGNOFF_PREFERENCES=postgresql://…")
    if runs_engine and settings.engine is Engine.RESTATE:
        require_extra(RESTATE, "SIGNOFF_ENGINE=restate")
    require_tracing_extra(settings.tracing)


def require_tracing_extra(tracing: Tracing) -> None:
    """The otel extra, when ``tracing`` is on."""
    if tracing is not Tracing.OFF:
        require_extra(OTEL, f"SIGNOFF_TRACING={tracing.value}")
