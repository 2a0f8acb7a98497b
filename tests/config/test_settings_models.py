"""The settings models (pydantic-settings, one per concern) read only the mapping an entry point
gives them, and every refusal is the one line naming its variable, never pydantic's report."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from signoff.config.settings import (
    AgentModelSettings,
    ApprovalSettings,
    Engine,
    EngineSettings,
    OperationsSettings,
    RestateSettings,
    RunSettings,
    Settings,
    SettingsError,
    SlackSettings,
    TemporalSettings,
    UsageSettings,
)

# One malformed value per variable the models validate.
MALFORMED = {
    "SIGNOFF_OPENAI_API": "grpc",
    "SIGNOFF_APPROVERS": "bob",
    "SIGNOFF_REQUIRED_APPROVALS": "two",
    "SIGNOFF_REMINDER_INTERVAL": "soon",
    "SIGNOFF_MAX_REMINDERS": "-1",
    "SIGNOFF_ESCALATION": "@leads",
    "SIGNOFF_REQUIRE_REJECT_REASON": "maybe",
    "SIGNOFF_DECISION_DEADLINE": "later",
    "SIGNOFF_MAX_REVIEW_ROUNDS": "0",
    "SIGNOFF_DEFAULT_CHANNEL": "#general",
    "SIGNOFF_AUTO_APPROVED_TOOLS": "rm_rf",
    "SIGNOFF_MODEL_PRICES": "gpt-4.1=cheap",
    "SIGNOFF_TOKEN_BUDGET": "lots",
    "SIGNOFF_ENGINE": "nomad",
    "SIGNOFF_DATABASE_URL": "mysql://db/signoff",
    "SIGNOFF_RESTATE_URL": "restate:8080",
    "SIGNOFF_RESTATE_ADMIN_URL": "grpc://restate:9070",
    "SIGNOFF_RESTATE_SERVICE_PORT": "99999",
    "SIGNOFF_RESTATE_SERVICE_URL": "http://signoff:port",
    "SIGNOFF_WORKER_CACHE_SIZE": "1.5",
    "SIGNOFF_METRICS_PORT": "http",
    "SIGNOFF_TRACING": "jaeger",
}


@pytest.mark.parametrize(("name", "raw"), MALFORMED.items())
def test_every_refusal_is_one_line_naming_its_variable(name: str, raw: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({name: raw})
    message = str(refused.value)
    assert message.startswith(name) and "\n" not in message, message
    assert "validation error" not in message and "pydantic" not in message, message


def test_the_first_bad_variable_is_named_when_several_are() -> None:
    with pytest.raises(SettingsError, match=r"^SIGNOFF_APPROVERS: 'bob'"):
        Settings.from_env({"SIGNOFF_APPROVERS": "bob", "SIGNOFF_MAX_REMINDERS": "many"})


def test_the_process_environment_is_never_read_behind_the_entry_points_back(monkeypatch: pytest.MonkeyPatch) -> None:
    # pydantic-settings reads os.environ by default; the entry point's mapping is the only source.
    monkeypatch.setenv("SIGNOFF_APPROVERS", "bob")
    monkeypatch.setenv("SIGNOFF_ENGINE", "dbos")
    monkeypatch.setenv("SIGNOFF_REMINDER_INTERVAL", "90s")
    settings = Settings.from_env({})
    assert settings.engine is Engine.TEMPORAL and settings.workflow.policy.approvers == []
    assert ApprovalSettings.from_env({}).reminder_interval == timedelta(hours=24)


def test_blank_values_mean_the_default_in_every_model() -> None:
    blank = dict.fromkeys(MALFORMED, "  ")
    assert Settings.from_env(blank) == Settings.from_env({})


def test_a_concern_reads_only_its_own_variables() -> None:
    approvals = ApprovalSettings.from_env({"SIGNOFF_APPROVERS": "U0APPROV1", "SIGNOFF_ENGINE": "restate"})
    assert approvals.policy().approvers == ["U0APPROV1"]


def test_every_variable_the_models_read_is_in_env_example() -> None:
    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    read = {
        str(info.validation_alias)
        for model in (
            TemporalSettings,
            SlackSettings,
            AgentModelSettings,
            ApprovalSettings,
            RunSettings,
            UsageSettings,
            EngineSettings,
            RestateSettings,
            OperationsSettings,
        )
        for info in model.model_fields.values()
    }
    missing = sorted(name for name in read if not re.search(rf"^#? ?{name}=", example, re.MULTILINE))
    assert not missing, f"not in .env.example: {missing}"
