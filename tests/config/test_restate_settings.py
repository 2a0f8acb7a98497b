"""The Restate settings (``SIGNOFF_ENGINE=restate``): http(s) URLs only, a port, a token never shown;
a bad one stops every command at start, one line naming it, exit 2."""

from __future__ import annotations

import pytest

from signoff.config import extras
from signoff.config.extras import require_extras
from signoff.config.settings import Engine, RestateSettings, Settings, SettingsError
from tests.support.processes import signoff_command

URLS = ("SIGNOFF_RESTATE_URL", "SIGNOFF_RESTATE_ADMIN_URL", "SIGNOFF_RESTATE_SERVICE_URL")


def test_the_defaults_are_a_restate_server_on_this_machine() -> None:
    settings = Settings.from_env({})

    assert settings.restate_url == "http://localhost:8080"
    assert settings.restate_admin_url == "http://localhost:9070"
    assert settings.restate_auth_token is None
    assert settings.restate_service_port == 9080
    assert settings.restate_endpoint_url == "http://127.0.0.1:9080"


def test_restate_cloud_is_named_by_its_urls_and_token() -> None:
    settings = Settings.from_env(
        {
            "SIGNOFF_ENGINE": "Restate",
            "SIGNOFF_RESTATE_URL": "https://201.env.us.restate.cloud:8080/",
            "SIGNOFF_RESTATE_ADMIN_URL": "https://201.env.us.restate.cloud:9070",
            "SIGNOFF_RESTATE_AUTH_TOKEN": "key_secret",
            "SIGNOFF_RESTATE_SERVICE_PORT": "9181",
            "SIGNOFF_RESTATE_SERVICE_URL": "https://signoff.example.com/restate/",
        }
    )

    assert settings.engine is Engine.RESTATE
    # Without the trailing slash: paths are appended to it.
    assert settings.restate_url == "https://201.env.us.restate.cloud:8080"
    assert settings.restate_admin_url == "https://201.env.us.restate.cloud:9070"
    assert settings.restate_auth_token == "key_secret"
    assert settings.restate_service_port == 9181
    assert settings.restate_endpoint_url == "https://signoff.example.com/restate"


def test_a_local_server_replaces_the_urls_and_drops_the_token() -> None:
    settings = Settings.from_env({"SIGNOFF_RESTATE_AUTH_TOKEN": "key_secret"}).on_local_restate(
        "http://127.0.0.1:41001", "http://127.0.0.1:41002"
    )

    assert (settings.restate_url, settings.restate_admin_url) == ("http://127.0.0.1:41001", "http://127.0.0.1:41002")
    assert settings.restate_auth_token is None


def test_the_token_is_never_in_a_repr() -> None:
    env = {"SIGNOFF_RESTATE_AUTH_TOKEN": "key_never_logged"}
    assert "key_never_logged" not in repr(Settings.from_env(env))
    assert "key_never_logged" not in repr(RestateSettings.from_env(env))


@pytest.mark.parametrize("name", URLS)
@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("localhost:8080", "is not an http(s) URL like http://localhost:8080"),
        ("ftp://restate:8080", "is not an http(s) URL like http://localhost:8080"),
        ("restate", "is not an http(s) URL like http://localhost:8080"),
        ("http://", "is not an http(s) URL like http://localhost:8080"),
        ("http://restate:80800", "is malformed: Port out of range 0-65535"),
        ("http://restate:port", "is malformed: Port could not be cast to integer value as 'port'"),
        ("http://restate:9070?x=1", "has a query or a fragment; give the server's base URL"),
    ],
)
def test_a_url_that_cannot_be_restates_is_named(name: str, raw: str, message: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({name: raw})
    assert str(refused.value) == f"{name}={raw!r} {message}"


def test_a_password_in_a_url_is_not_shown() -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"SIGNOFF_RESTATE_ADMIN_URL": "ftp://admin:hunter2@restate:9070"})
    assert str(refused.value) == (
        "SIGNOFF_RESTATE_ADMIN_URL='ftp://admin:***@restate:9070' is not an http(s) URL like http://localhost:8080"
    )


@pytest.mark.parametrize("raw", ["0", "65536", "http"])
def test_the_service_port_is_a_port(raw: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"SIGNOFF_RESTATE_SERVICE_PORT": raw})
    assert str(refused.value) == f"SIGNOFF_RESTATE_SERVICE_PORT={raw!r} is not a port number (1-65535)"


def test_an_unknown_engine_lists_the_three() -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"SIGNOFF_ENGINE": "nomad"})
    assert str(refused.value) == "SIGNOFF_ENGINE='nomad' is not an engine; use one of temporal, dbos, restate"


def test_the_restate_engine_needs_the_restate_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings.from_env({"SIGNOFF_ENGINE": "restate"})
    require_extras(settings, runs_engine=True)

    installed = extras._installed
    monkeypatch.setattr(extras, "_installed", lambda module: module != "restate" and installed(module))
    with pytest.raises(SettingsError) as missing:
        require_extras(settings, runs_engine=True)
    assert str(missing.value) == (
        "SIGNOFF_ENGINE=restate needs signoff's restate extra (restate not installed): pip install 'signoff[restate]'"
    )
    # A process that does not run the engine does not need it.
    require_extras(settings, runs_engine=False)


@pytest.mark.process
@pytest.mark.slow
@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"SIGNOFF_ENGINE": "nomad"},
            "signoff: SIGNOFF_ENGINE='nomad' is not an engine; use one of temporal, dbos, restate",
        ),
        (
            {"SIGNOFF_ENGINE": "restate", "SIGNOFF_RESTATE_ADMIN_URL": "restate:9070"},
            "signoff: SIGNOFF_RESTATE_ADMIN_URL='restate:9070' is not an http(s) URL like http://localhost:8080",
        ),
        (
            {"SIGNOFF_RESTATE_URL": "http://restate:80800"},
            "signoff: SIGNOFF_RESTATE_URL='http://restate:80800' is malformed: Port out of range 0-65535",
        ),
    ],
)
def test_a_bad_restate_setting_stops_signoff_at_start(env: dict[str, str], line: str) -> None:
    # Nothing listens anywhere: the setting is refused before anything connects.
    result = signoff_command("worker", env={"TEMPORAL_ADDRESS": "127.0.0.1:9", **env})

    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [line]


def test_the_endpoint_listens_beyond_this_machine_only_when_restate_calls_it_from_elsewhere() -> None:
    assert Settings.from_env({}).restate_service_host == "127.0.0.1"
    remote = Settings.from_env({"SIGNOFF_RESTATE_SERVICE_URL": "https://signoff.example.com"})
    assert remote.restate_service_host == "0.0.0.0"
