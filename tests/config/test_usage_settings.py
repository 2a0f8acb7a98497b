"""SIGNOFF_MODEL_PRICES and SIGNOFF_TOKEN_BUDGET: parsed once, refused at start when malformed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from signoff.config.settings import Settings, SettingsError
from signoff.contracts.usage import UsageMeter, usage_line
from signoff.contracts.workflow_io import ModelPrice


def test_unset_means_no_prices_and_no_budget() -> None:
    settings = Settings.from_env({})
    assert settings.workflow.model_prices == [] and settings.workflow.token_budget is None
    blank = Settings.from_env({"SIGNOFF_MODEL_PRICES": " ", "SIGNOFF_TOKEN_BUDGET": ""})
    assert blank.workflow.model_prices == [] and blank.workflow.token_budget is None


def test_prices_and_budget_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "SIGNOFF_MODEL_PRICES": "gpt-4.1=2.00/8.00, gpt-4.1-mini = 0.40 / 1.60,",
            "SIGNOFF_TOKEN_BUDGET": "200_000",
        }
    )
    assert settings.workflow.model_prices == [ModelPrice("gpt-4.1", 2.0, 8.0), ModelPrice("gpt-4.1-mini", 0.4, 1.6)]
    assert settings.workflow.token_budget == 200_000


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SIGNOFF_MODEL_PRICES": "gpt-4.1=2.00"}, "'gpt-4.1=2.00' is not model=input/output"),
        ({"SIGNOFF_MODEL_PRICES": "gpt-4.1"}, "is not model=input/output"),
        ({"SIGNOFF_MODEL_PRICES": "gpt-4.1=two/8"}, "is not model=input/output"),
        ({"SIGNOFF_MODEL_PRICES": "gpt-4.1=-1/8"}, "is not model=input/output"),
        ({"SIGNOFF_MODEL_PRICES": "a=1/2,a=1/3"}, "'a' is priced twice"),
        ({"SIGNOFF_TOKEN_BUDGET": "0"}, "must be a positive number of tokens"),
        ({"SIGNOFF_TOKEN_BUDGET": "-5"}, "must be a positive number of tokens"),
        ({"SIGNOFF_TOKEN_BUDGET": "lots"}, "is not a whole number of tokens"),
        ({"SIGNOFF_TOKEN_BUDGET": "1.5"}, "is not a whole number of tokens"),
    ],
)
def test_malformed_values_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_cost_follows_each_models_price() -> None:
    meter = UsageMeter()
    meter.add("gpt-4.1", 2, 1_000_000, 500_000)
    meter.add("gpt-4.1-mini", 1, 1_000_000, 0)
    prices = [ModelPrice("gpt-4.1", 2.0, 8.0), ModelPrice("gpt-4.1-mini", 0.4, 1.6)]
    usage = meter.summary(prices)
    assert (usage.requests, usage.input_tokens, usage.output_tokens) == (3, 2_000_000, 500_000)
    assert usage.cost_usd == pytest.approx(6.4)
    assert meter.total_tokens == 2_500_000
    assert usage_line(usage) == "2,500,000 tokens (2,000,000 in, 500,000 out) in 3 model calls, ≈ $6.40"
    assert meter.summary(prices[:1]).cost_usd is None
    assert "no estimate" in usage_line(meter.summary([]))


@pytest.mark.process
@pytest.mark.slow
def test_the_worker_refuses_a_bad_budget_at_start() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "signoff.cli", "--env-file", "/dev/null", "worker"],
        env={"PATH": "/usr/bin:/bin", "SIGNOFF_TOKEN_BUDGET": "0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2 and "SIGNOFF_TOKEN_BUDGET='0'" in run.stderr and "Traceback" not in run.stderr
