"""Which Temporal and how: the SDK's environment configuration (variables and a TOML profile), loaded
once with the settings; what cannot work is refused at start, by name; no secret is ever shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.service import TLSConfig

from signoff.config.settings import Settings, SettingsError
from signoff.temporal.connection import TemporalAccess
from tests.support.tls import Pki, make_pki, profile_toml

API_KEY = "temporal-api-key-never-shown"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(autouse=True)
def no_default_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK looks for ~/.config/temporalio/temporal.toml (through the process's own HOME): not the
    developer's here."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))


def access(settings: Settings) -> TemporalAccess:
    assert settings.temporal_access is not None
    return settings.temporal_access


def test_nothing_set_is_the_local_dev_server() -> None:
    settings = Settings.from_env({})
    assert (settings.temporal_address, settings.temporal_namespace) == ("localhost:7233", "default")
    assert access(settings).tls is False and access(settings).api_key is None


def test_empty_values_mean_the_default() -> None:
    # Lines copied from .env.example: the SDK alone would take these as a key and the path ".".
    settings = Settings.from_env(
        {
            "TEMPORAL_ADDRESS": "",
            "TEMPORAL_API_KEY": " ",
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH": "",
            "TEMPORAL_PROFILE": "",
        }
    )
    assert settings.temporal_address == "localhost:7233" and access(settings).tls is False


def test_temporal_cloud_with_an_api_key() -> None:
    settings = Settings.from_env(
        {
            "TEMPORAL_ADDRESS": "eu-west-1.aws.api.temporal.io:7233",
            "TEMPORAL_NAMESPACE": "signoff-prod.a1b2c",
            "TEMPORAL_API_KEY": API_KEY,
        }
    )
    assert settings.temporal_address == "eu-west-1.aws.api.temporal.io:7233"
    assert settings.temporal_namespace == "signoff-prod.a1b2c"
    # An API key turns TLS on, with the system's CA certificates (as Temporal Cloud needs).
    assert access(settings).tls is True and access(settings).api_key == API_KEY
    assert API_KEY not in repr(settings) and API_KEY not in repr(access(settings))


def test_server_tls_and_grpc_metadata_from_variables(pki: Pki) -> None:
    settings = Settings.from_env(
        {
            "TEMPORAL_ADDRESS": "temporal.internal:7233",
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(pki.ca_cert),
            "TEMPORAL_TLS_SERVER_NAME": "localhost",
            "TEMPORAL_GRPC_META_AUTHORIZATION": "Bearer header-secret",
        }
    )
    tls = access(settings).tls
    assert isinstance(tls, TLSConfig)
    assert tls.server_root_ca_cert == pki.ca_cert.read_bytes() and tls.domain == "localhost"
    assert access(settings).rpc_metadata == {"authorization": "Bearer header-secret"}
    shown = repr(access(settings))
    assert "header-secret" not in shown and str(pki.ca_cert) in shown and "authorization" in shown


def test_a_profile_of_a_toml_file_with_mtls(pki: Pki, tmp_path: Path) -> None:
    config = tmp_path / "temporal.toml"
    config.write_text(profile_toml("prod", "prod.temporal.internal:7233", pki, namespace="signoff"))
    env = {"TEMPORAL_CONFIG_FILE": str(config), "TEMPORAL_PROFILE": "prod"}
    settings = Settings.from_env(env)
    assert (settings.temporal_address, settings.temporal_namespace) == ("prod.temporal.internal:7233", "signoff")
    tls = access(settings).tls
    assert isinstance(tls, TLSConfig) and tls.client_cert == pki.client_cert.read_bytes()
    assert tls.client_private_key == pki.client_key.read_bytes()
    key = pki.client_key.read_text()
    assert (
        key not in repr(settings) and key not in repr(access(settings)) and "PRIVATE KEY" not in repr(access(settings))
    )
    # The variables win over the file.
    assert Settings.from_env({**env, "TEMPORAL_NAMESPACE": "staging"}).temporal_namespace == "staging"
    # Without TEMPORAL_PROFILE: the file's default profile.
    assert Settings.from_env({"TEMPORAL_CONFIG_FILE": str(config)}).temporal_address == "127.0.0.1:1"


def test_a_key_given_as_data_is_never_shown(pki: Pki) -> None:
    key = pki.client_key.read_text()
    settings = Settings.from_env(
        {
            "TEMPORAL_TLS_SERVER_CA_CERT_DATA": pki.ca_cert.read_text(),
            "TEMPORAL_TLS_CLIENT_CERT_DATA": pki.client_cert.read_text(),
            "TEMPORAL_TLS_CLIENT_KEY_DATA": key,
        }
    )
    tls = access(settings).tls
    assert isinstance(tls, TLSConfig) and tls.client_private_key == key.strip().encode()
    assert "PRIVATE KEY" not in repr(settings) + repr(access(settings))


def test_the_local_dev_server_ignores_the_profile() -> None:
    production = Settings.from_env({"TEMPORAL_NAMESPACE": "prod", "TEMPORAL_API_KEY": API_KEY})
    local = production.on_local_server("127.0.0.1:7233")
    assert (local.temporal_address, local.temporal_namespace, local.temporal_access) == (
        "127.0.0.1:7233",
        "default",
        None,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"TEMPORAL_TLS_SERVER_CA_CERT_PATH": "/nonexistent/ca.pem"},
            "cannot read the server CA certificate /nonexistent/ca.pem (TEMPORAL_TLS_SERVER_CA_CERT_PATH): No such file",
        ),
        (
            {"TEMPORAL_TLS_SERVER_CA_CERT_PATH": "/"},
            "cannot read the server CA certificate / (TEMPORAL_TLS_SERVER_CA_CERT_PATH): Is a directory",
        ),
        (
            {"TEMPORAL_TLS_SERVER_CA_CERT_PATH": "{pki.server_key}"},
            "(TEMPORAL_TLS_SERVER_CA_CERT_PATH) holds no PEM certificate",
        ),
        (
            {
                "TEMPORAL_TLS_CLIENT_CERT_PATH": "{pki.client_cert}",
                "TEMPORAL_TLS_CLIENT_KEY_PATH": "/nonexistent/key.pem",
            },
            "cannot read the client key /nonexistent/key.pem (TEMPORAL_TLS_CLIENT_KEY_PATH): No such file",
        ),
        ({"TEMPORAL_TLS_CLIENT_CERT_PATH": "{pki.client_cert}"}, "mTLS needs both a client certificate and its key"),
        ({"TEMPORAL_PROFILE": "prod"}, "TEMPORAL_PROFILE=prod: no such profile in ~/.config/temporalio/temporal.toml"),
        (
            {"TEMPORAL_PROFILE": "prod", "TEMPORAL_CONFIG_FILE": "{toml}"},
            "TEMPORAL_PROFILE=prod: no such profile in {toml} (TEMPORAL_CONFIG_FILE)",
        ),
        (
            {"TEMPORAL_CONFIG_FILE": "/nonexistent/temporal.toml"},
            "TEMPORAL_CONFIG_FILE=/nonexistent/temporal.toml: no such file",
        ),
        ({"TEMPORAL_CONFIG_FILE": "{typo_toml}"}, "unknown field `adress`"),
        ({"TEMPORAL_TLS": "off"}, "TEMPORAL_TLS='off' must be true or false"),
        ({"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION": "true"}, "not supported by the Python SDK"),
    ],
)
def test_what_cannot_work_is_refused_by_name(env: dict[str, str], message: str, pki: Pki, tmp_path: Path) -> None:
    toml = tmp_path / "temporal.toml"
    toml.write_text('[profile.default]\naddress = "localhost:7233"\n')
    typo_toml = tmp_path / "typo.toml"
    typo_toml.write_text('[profile.default]\nadress = "localhost:7233"\n')
    names = {"pki": pki, "toml": toml, "typo_toml": typo_toml}
    env = {name: value.format(**names) for name, value in env.items()}
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({**env, "TEMPORAL_API_KEY": API_KEY, "TEMPORAL_ADDRESS": "temporal.internal:7233"})
    assert message.format(**names) in str(refused.value)
    assert API_KEY not in str(refused.value)
