"""Which Temporal cluster, and how to reach it: the SDK's environment configuration
(``temporalio.envconfig``), read as every Temporal SDK and the ``temporal`` CLI read it:
``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``, ``TEMPORAL_TLS``,
``TEMPORAL_TLS_SERVER_CA_CERT_PATH`` / ``_DATA``, ``TEMPORAL_TLS_CLIENT_CERT_PATH`` / ``_DATA``,
``TEMPORAL_TLS_CLIENT_KEY_PATH`` / ``_DATA``, ``TEMPORAL_TLS_SERVER_NAME``, ``TEMPORAL_GRPC_META_<NAME>``,
and a profile (``TEMPORAL_PROFILE``, default ``default``) of a TOML file (``TEMPORAL_CONFIG_FILE``,
default ``~/.config/temporalio/temporal.toml``), the variables overriding the file.

``load_temporal`` reads it once, at the entry point (``Settings.from_env``), reading the TLS files
then; ``signoff.temporal.connection.connect_client`` connects with what it gives. This module is part of the
settings and knows nothing of the client, so the settings never import ``signoff.temporal.connection``.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.envconfig import ClientConfigProfile, DataSource
from temporalio.service import TLSConfig

from signoff.config.setting_types import SettingsError

DEFAULT_ADDRESS = "localhost:7233"
DEFAULT_NAMESPACE = "default"
# Where the SDK looks for its TOML file when TEMPORAL_CONFIG_FILE is not set (on Linux; macOS and
# Windows use their own configuration directories).
DEFAULT_CONFIG_FILE = "~/.config/temporalio/temporal.toml"


@dataclass(frozen=True, repr=False)
class TemporalAccess:
    """How to reach the cluster beyond its address and namespace: TLS, an API key, gRPC metadata, as
    the SDK's environment configuration gave them (TLS files already read). The default is a plain
    connection without credentials (the local dev server). Its repr says what is set, never a secret."""

    tls: bool | TLSConfig = False
    api_key: str | None = None
    rpc_metadata: Mapping[str, str] = field(default_factory=dict)
    # For messages: the CA the server's certificate must chain to, and where it came from.
    ca_origin: str | None = None

    def __repr__(self) -> str:
        parts = [f"tls={'off' if self.tls is False else 'on'}"]
        if self.ca_origin:
            parts.append(f"ca={self.ca_origin}")
        if isinstance(self.tls, TLSConfig):
            if self.tls.domain:
                parts.append(f"server_name={self.tls.domain}")
            if self.tls.client_cert:
                parts.append("client_cert=set")
        if self.api_key:
            parts.append("api_key=set")
        if self.rpc_metadata:
            # The names only: a header may carry a credential.
            parts.append(f"grpc_meta={sorted(self.rpc_metadata)}")
        return f"TemporalAccess({', '.join(parts)})"


@dataclass(frozen=True)
class TemporalTarget:
    """A loaded profile: the address and namespace (shown in messages) and how to connect."""

    address: str
    namespace: str
    access: TemporalAccess


# (profile field, environment variable, key in the TOML profile's [tls] table, what it is)
_TLS_FILES = (
    ("server_root_ca_cert", "TEMPORAL_TLS_SERVER_CA_CERT", "server_ca_cert", "server CA certificate"),
    ("client_cert", "TEMPORAL_TLS_CLIENT_CERT", "client_cert", "client certificate"),
    ("client_private_key", "TEMPORAL_TLS_CLIENT_KEY", "client_key", "client key"),
)


def load_temporal(env: Mapping[str, str]) -> TemporalTarget:
    """The Temporal profile for ``env`` (TOML file, then the ``TEMPORAL_*`` variables over it), as
    ``temporalio.envconfig`` loads it, with the TLS files read. Raises ``SettingsError`` naming the
    variable or file for an unknown profile, an unreadable file, or a value the SDK did not understand."""
    # An empty value (a line copied from .env.example) means the default, like an absent one; the SDK
    # itself would take TEMPORAL_TLS_SERVER_CA_CERT_PATH= as the path "." and TEMPORAL_API_KEY= as a key.
    given = {name: value.strip() for name, value in env.items() if name.startswith("TEMPORAL_") and value.strip()}
    config_file = given.get("TEMPORAL_CONFIG_FILE")
    if config_file and not Path(config_file).exists():
        # The SDK would go on without it, silently connecting somewhere else.
        raise SettingsError(f"TEMPORAL_CONFIG_FILE={config_file}: no such file")
    if "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION" in given:
        # Parsed by the SDK's core but dropped by the Python SDK: the server would be verified anyway.
        raise SettingsError(
            "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is not supported by the Python SDK; give the CA that signed "
            "the server's certificate in TEMPORAL_TLS_SERVER_CA_CERT_PATH (and its name in TEMPORAL_TLS_SERVER_NAME)"
        )
    try:
        profile = ClientConfigProfile.load(override_env_vars=given, config_file_strict=True)
    except RuntimeError as err:  # the SDK's ConfigError: an unknown profile, a TOML error, an unreadable file
        raise SettingsError(_config_error(str(err), given)) from None
    tls = profile.tls
    if "TEMPORAL_TLS" in given and (tls is None or tls.disabled is None):
        # The SDK takes true/false/1/0; anything else ("off", "no") it ignores, and TLS goes on.
        raise SettingsError(f"TEMPORAL_TLS={given['TEMPORAL_TLS']!r} must be true or false")
    ca_origin = None
    if tls is not None and not tls.disabled:
        for attribute, variable, key, what in _TLS_FILES:
            source: DataSource | None = getattr(tls, attribute)
            origin = _origin(source, variable, key, given)
            if isinstance(source, Path):
                try:
                    data = source.read_bytes()
                except OSError as err:
                    raise SettingsError(f"cannot read the {what} {source} ({origin}): {err.strerror}") from None
                if not data.strip():
                    raise SettingsError(f"the {what} {source} ({origin}) is empty")
        if tls.server_root_ca_cert is not None:
            origin = _origin(tls.server_root_ca_cert, "TEMPORAL_TLS_SERVER_CA_CERT", "server_ca_cert", given)
            path = tls.server_root_ca_cert if isinstance(tls.server_root_ca_cert, Path) else None
            ca_origin = f"{path} ({origin})" if path else origin
            _check_ca(tls.server_root_ca_cert, ca_origin)
        if (tls.client_cert is None) != (tls.client_private_key is None):
            raise SettingsError(
                "mTLS needs both a client certificate and its key: TEMPORAL_TLS_CLIENT_CERT_PATH and "
                "TEMPORAL_TLS_CLIENT_KEY_PATH (or their _DATA forms, or the profile's client_cert and client_key)"
            )
    connect = profile.to_client_connect_config()
    return TemporalTarget(
        address=connect.get("target_host") or DEFAULT_ADDRESS,
        namespace=connect.get("namespace") or DEFAULT_NAMESPACE,
        access=TemporalAccess(
            tls=connect.get("tls", False),
            api_key=connect.get("api_key"),
            rpc_metadata=dict(connect.get("rpc_metadata", {})),
            ca_origin=ca_origin,
        ),
    )


def _config_file(given: Mapping[str, str]) -> str:
    if "TEMPORAL_CONFIG_FILE" in given:
        return f"{given['TEMPORAL_CONFIG_FILE']} (TEMPORAL_CONFIG_FILE)"
    return f"{DEFAULT_CONFIG_FILE} (no TEMPORAL_CONFIG_FILE given)"


def _config_error(message: str, given: Mapping[str, str]) -> str:
    if message.startswith("Profile ") and message.endswith(" not found"):
        profile = given.get("TEMPORAL_PROFILE", "default")
        return f"TEMPORAL_PROFILE={profile}: no such profile in {_config_file(given)}"
    return f"Temporal client configuration in {_config_file(given)}: {message.strip()}"


def _origin(source: DataSource | None, variable: str, key: str, given: Mapping[str, str]) -> str:
    """Where a TLS file or value came from, for a message: the variable, or the profile's key."""
    suffix = "PATH" if isinstance(source, Path) else "DATA"
    if f"{variable}_{suffix}" in given:
        return f"{variable}_{suffix}"
    profile = given.get("TEMPORAL_PROFILE", "default")
    return f"tls.{key}_{suffix.lower()} of profile {profile!r} in {_config_file(given)}"


def _check_ca(source: DataSource, origin: str) -> None:
    data = source.read_bytes() if isinstance(source, Path) else source
    try:
        ssl.create_default_context(cadata=data.decode("utf-8", "replace") if isinstance(data, bytes) else data)
    except (ssl.SSLError, ValueError):
        raise SettingsError(f"the server CA certificate {origin} holds no PEM certificate") from None
