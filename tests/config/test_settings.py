"""The one settings object: parsing, clear errors, and secrets kept out of logs."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from signoff.config.settings import Engine, Settings, SettingsError
from signoff.worker import build_worker, worker_slack_client
from tests.support.slack import APPROVER_1, APPROVER_2, LEADS


def test_defaults_match_the_article_and_the_issue() -> None:
    settings = Settings.from_env({})
    policy = settings.workflow.policy
    assert settings.task_queue == "agent-workflows" and settings.temporal_address == "localhost:7233"
    assert policy.reminder_interval == timedelta(hours=24) and policy.max_reminders == 3
    assert policy.decision_deadline == timedelta(days=7) and policy.required_approvals == 1
    assert policy.approvers == [] and settings.offline_model and settings.workflow.max_review_rounds == 3
    assert settings.worker_cache_size == 200
    assert settings.workflow.auto_approved_tools == ["read_channel"]


@pytest.mark.parametrize(
    ("raw", "tools"),
    [
        ("", ["read_channel"]),
        ("none", []),
        ("NONE", []),
        ("post_message, read_channel", ["post_message", "read_channel"]),
        ("set_channel_topic,", ["set_channel_topic"]),
    ],
)
def test_auto_approved_tools(raw: str, tools: list[str]) -> None:
    assert Settings.from_env({"SIGNOFF_AUTO_APPROVED_TOOLS": raw}).workflow.auto_approved_tools == tools


def test_policy_and_models_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "SIGNOFF_APPROVERS": "U0APPROV1, U0APPROV2",
            "SIGNOFF_REQUIRED_APPROVALS": "2",
            "SIGNOFF_REMINDER_INTERVAL": "90s",
            "SIGNOFF_DECISION_DEADLINE": "none",
            "SIGNOFF_ESCALATION": LEADS,
            "SIGNOFF_MODEL": "gpt-4.1-mini",
            "SIGNOFF_MODEL_REVIEWER": "gpt-5",
            "OPENAI_API_KEY": "sk-secret-value",
            "SIGNOFF_WORKER_CACHE_SIZE": "1000",
        }
    )
    policy = settings.workflow.policy
    assert policy.approvers == [APPROVER_1, APPROVER_2] and policy.required_approvals == 2
    assert policy.reminder_interval == timedelta(seconds=90) and policy.decision_deadline is None
    assert policy.escalation_to == LEADS
    assert settings.workflow.models.writer == "gpt-4.1-mini" and settings.workflow.models.reviewer == "gpt-5"
    assert not settings.offline_model and settings.worker_cache_size == 1000
    assert "sk-secret-value" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SIGNOFF_REMINDER_INTERVAL": "soon"}, "SIGNOFF_REMINDER_INTERVAL='soon' is not a duration"),
        ({"SIGNOFF_REMINDER_INTERVAL": "0s"}, "must be positive"),
        ({"SIGNOFF_APPROVERS": "bob"}, "'bob' is not a Slack user id"),
        ({"SIGNOFF_APPROVERS": APPROVER_1, "SIGNOFF_REQUIRED_APPROVALS": "2"}, "only 1 approvers"),
        ({"SIGNOFF_REQUIRED_APPROVALS": "0"}, "must be at least 1"),
        ({"SIGNOFF_MAX_REMINDERS": "three"}, "not a whole number"),
        ({"SIGNOFF_ESCALATION": "<!channel>"}, "is not a Slack user id"),
        ({"SIGNOFF_OPENAI_API": "grpc"}, "must be 'responses' or 'chat'"),
        ({"SIGNOFF_WORKER_CACHE_SIZE": "0"}, "SIGNOFF_WORKER_CACHE_SIZE must be at least 1"),
        ({"SIGNOFF_WORKER_CACHE_SIZE": "lots"}, "SIGNOFF_WORKER_CACHE_SIZE='lots' is not a whole number"),
        ({"SIGNOFF_AUTO_APPROVED_TOOLS": "post_message,delete_channel"}, "unknown tool 'delete_channel'"),
        ({"SIGNOFF_APPROVERS": "U0APPROV1,S0LEADS"}, "S0LEADS is a user group; list its members' user ids"),
        ({"SIGNOFF_DEFAULT_CHANNEL": "#general"}, "SIGNOFF_DEFAULT_CHANNEL='#general' must be a conversation id"),
    ],
)
def test_bad_settings_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings.from_env(env)


async def test_the_worker_caches_as_many_workflows_as_configured(time_env: WorkflowEnvironment) -> None:
    settings = Settings.from_env({"SIGNOFF_WORKER_CACHE_SIZE": "1000"})
    worker = build_worker(time_env.client, settings, worker_slack_client(settings))
    assert worker.config()["max_cached_workflows"] == 1000


def test_a_reason_can_be_required_on_reject() -> None:
    assert not Settings.from_env({}).workflow.policy.reject_reason_required
    assert Settings.from_env({"SIGNOFF_REQUIRE_REJECT_REASON": "true"}).workflow.policy.reject_reason_required
    with pytest.raises(SettingsError, match="SIGNOFF_REQUIRE_REJECT_REASON='maybe' must be true or false"):
        Settings.from_env({"SIGNOFF_REQUIRE_REJECT_REASON": "maybe"})


def test_the_engine_is_temporal_unless_another_is_named() -> None:
    assert Settings.from_env({}).engine is Engine.TEMPORAL
    assert Settings.from_env({"SIGNOFF_ENGINE": ""}).engine is Engine.TEMPORAL
    assert Settings.from_env({"SIGNOFF_ENGINE": " DBOS "}).engine is Engine.DBOS
    assert Settings.from_env({"SIGNOFF_ENGINE": "restate"}).engine is Engine.RESTATE
    with pytest.raises(
        SettingsError, match=r"SIGNOFF_ENGINE='nomad' is not an engine; use one of temporal, dbos, restate"
    ):
        Settings.from_env({"SIGNOFF_ENGINE": "nomad"})


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///relative/signoff.sqlite",
        "sqlite:////var/lib/signoff/dbos.sqlite",
        "postgresql://signoff:pw@db.internal:5432/signoff",
        "postgresql+psycopg://db.internal/signoff",
        "postgresql:///signoff",  # the local unix socket
    ],
)
def test_database_urls_dbos_can_use(url: str) -> None:
    assert Settings.from_env({"SIGNOFF_DATABASE_URL": url}).database_url == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://signoff:hunter22@db/signoff", "is not a database URL DBOS can use: use sqlite:///"),
        ("http://db.internal/signoff", "is not a database URL DBOS can use"),
        ("/var/lib/signoff/dbos.sqlite", "is not a database URL DBOS can use"),
        ("postgres://signoff:hunter22@db/signoff", "(write postgresql://)"),
        ("sqlite://", "names no file"),
        ("sqlite:///", "names no file"),
        ("postgresql://signoff:hunter22@db.internal:5432/", "names no database"),
        ("postgresql://signoff:hunter22@db.internal:99999/signoff", "is malformed"),
    ],
)
def test_database_urls_of_the_wrong_kind_are_refused_without_their_password(url: str, message: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"SIGNOFF_DATABASE_URL": url})
    assert str(refused.value).startswith("SIGNOFF_DATABASE_URL=") and message in str(refused.value)
    assert "hunter22" not in str(refused.value)


def test_an_empty_database_url_means_the_sqlite_default_and_the_url_stays_out_of_repr() -> None:
    assert Settings.from_env({"SIGNOFF_DATABASE_URL": " "}).database_url is None
    settings = Settings.from_env({"SIGNOFF_DATABASE_URL": "postgresql://signoff:hunter22@db/signoff"})
    assert "hunter22" not in repr(settings)
