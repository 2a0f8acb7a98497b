"""The HTTP API's settings: SIGNOFF_API_KEYS and SIGNOFF_API_KEYS_FILE, refused in one line naming the
variable (never the secret); the rate and the private-webhook switch."""

from __future__ import annotations

from pathlib import Path

import pytest

from signoff.config.api_keys import ApiKey
from signoff.config.settings import Settings, SettingsError
from tests.support.processes import signoff_command

SECRET = "s3cret-0123456789abcdef0123456789abcdef"


def keys_of(env: dict[str, str]) -> tuple[ApiKey, ...]:
    return Settings.from_env(env).api_keys


def test_keys_from_the_variable_and_the_file(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.toml"
    keys_file.write_text(f'[keys.deployer]\nsecret = "{SECRET}-2"\nchannels = ["C0APPROVE"]\n')
    keys = keys_of({"SIGNOFF_API_KEYS": f"ci:{SECRET}", "SIGNOFF_API_KEYS_FILE": str(keys_file)})
    assert [(key.name, key.channels) for key in keys] == [("ci", None), ("deployer", frozenset({"C0APPROVE"}))]
    assert keys[1].allows("C0APPROVE") and not keys[1].allows("C0GENERAL") and not keys[1].allows(None)
    settings = Settings.from_env({"SIGNOFF_API_KEYS": f"ci:{SECRET}"})
    assert SECRET not in repr(settings)
    assert Settings.from_env({}).api_keys == ()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SIGNOFF_API_KEYS": SECRET}, "is not name:secret"),
        ({"SIGNOFF_API_KEYS": "ci:short"}, "at least 32 characters"),
        ({"SIGNOFF_API_KEYS": f"c i:{SECRET}"}, "key name 'c i'"),
        ({"SIGNOFF_API_KEYS": f"ci:{SECRET},ci:{SECRET}-2"}, "'ci' is given twice"),
        ({"SIGNOFF_API_KEYS": f"ci:{SECRET},cd:{SECRET}"}, "reuses another key's secret"),
        ({"SIGNOFF_API_RATE": "0"}, "SIGNOFF_API_RATE must be at least 1"),
        ({"SIGNOFF_WEBHOOK_ALLOW_PRIVATE": "maybe"}, "SIGNOFF_WEBHOOK_ALLOW_PRIVATE='maybe' must be true or false"),
    ],
)
def test_a_malformed_variable_is_one_line_without_the_secret(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(env)
    text = str(refused.value)
    assert message in text and "\n" not in text
    assert SECRET not in text and "short" not in text.replace("too short", "")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[keys.ci\n", "not TOML"),
        ("[other]\n", "unknown table 'other'"),
        ('[keys.ci]\nsecret = "x"\n', "at least 32 characters"),
        ("[keys.ci]\n", "keys.ci has no secret"),
        (f'[keys.ci]\nsecret = "{SECRET}"\nchanels = ["C1"]\n', "unknown field 'chanels'"),
        (f'[keys.ci]\nsecret = "{SECRET}"\nchannels = ["#general"]\n', "'#general' is not a channel id"),
        (f'[keys.ci]\nsecret = "{SECRET}"\nchannels = []\n', "non-empty list"),
    ],
)
def test_a_malformed_keys_file_is_one_line(tmp_path: Path, content: str, message: str) -> None:
    keys_file = tmp_path / "keys.toml"
    keys_file.write_text(content)
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"SIGNOFF_API_KEYS_FILE": str(keys_file)})
    assert message in str(refused.value) and "SIGNOFF_API_KEYS_FILE" in str(refused.value)
    assert SECRET not in str(refused.value)


def test_a_missing_keys_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"SIGNOFF_API_KEYS_FILE=.*cannot read it"):
        Settings.from_env({"SIGNOFF_API_KEYS_FILE": str(tmp_path / "absent.toml")})


@pytest.mark.process
@pytest.mark.slow
def test_the_bot_exits_2_on_a_malformed_key() -> None:
    bad = signoff_command("bot", env={"SIGNOFF_API_KEYS": "ci:tooshort-not-printed"})
    assert bad.returncode == 2 and "SIGNOFF_API_KEYS" in bad.stderr and "Traceback" not in bad.stderr
    assert "tooshort-not-printed" not in bad.stderr + bad.stdout
