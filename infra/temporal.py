"""How every process talks to Temporal: which cluster and how (the SDK's environment configuration),
the data converter, and the UI's links.

Where to connect and how is ``temporalio.envconfig``'s, read as every Temporal SDK and the
``temporal`` CLI read it: ``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``,
``TEMPORAL_TLS``, ``TEMPORAL_TLS_SERVER_CA_CERT_PATH`` / ``_DATA``, ``TEMPORAL_TLS_CLIENT_CERT_PATH`` /
``_DATA``, ``TEMPORAL_TLS_CLIENT_KEY_PATH`` / ``_DATA``, ``TEMPORAL_TLS_SERVER_NAME``,
``TEMPORAL_GRPC_META_<NAME>``, and a profile (``TEMPORAL_PROFILE``, default ``default``) of a TOML file
(``TEMPORAL_CONFIG_FILE``, default ``~/.config/temporalio/temporal.toml``), the variables overriding the
file. ``load_temporal`` reads it once, at the entry point (``Settings.from_env``), reading the TLS files
then; ``connect_client`` connects the worker, the bot and every command with it.

The converter is the one the worker's OpenAI Agents plugin uses (pydantic-aware JSON);
a client that starts or updates these workflows must use the same one.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from temporalio.client import Client, Interceptor, Plugin
from temporalio.converter import DataConverter
from temporalio.envconfig import ClientConfigProfile, DataSource
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import TLSConfig

from infra.extras import require_tracing_extra
from infra.settings import SettingsError, Tracing

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

    from infra.settings import Settings

DEFAULT_ADDRESS = "localhost:7233"
DEFAULT_NAMESPACE = "default"
# Where the SDK looks for its TOML file when TEMPORAL_CONFIG_FILE is not set (on Linux; macOS and
# Windows use their own configuration directories).
DEFAULT_CONFIG_FILE = "~/.config/temporalio/temporal.toml"
# How long a lazy client's first try may take before the process starts without Temporal.
LAZY_PROBE_SECONDS = 5.0


def data_converter() -> DataConverter:
    """The converter every client of these workflows uses (pydantic-aware JSON)."""
    # Here, not at the top: the settings load this module, and the agents SDK takes seconds to import.
    from temporalio.openai_agents import OpenAIPayloadConverter

    return DataConverter(payload_converter_class=OpenAIPayloadConverter)


def workflow_url(temporal_ui_url: str, namespace: str, workflow_id: str) -> str:
    return (
        f"{temporal_ui_url.rstrip('/')}/namespaces/{quote(namespace, safe='')}/workflows/{quote(workflow_id, safe='')}"
    )


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


def metrics_runtime(port: int, host: str = "0.0.0.0") -> Runtime:
    """A Temporal runtime exporting the SDK's metrics (``temporal_…``) for Prometheus at
    ``http://host:port/metrics``. Raises ``SettingsError`` when the port cannot be bound."""
    try:
        return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"{host}:{port}")))
    except ValueError as err:  # "Failed starting Prometheus exporter: Address already in use"
        raise SettingsError(
            f"cannot serve metrics on port {port} (--metrics-port, SIGNOFF_METRICS_PORT): {err}"
        ) from None


async def connect_client(
    settings: Settings,
    *,
    plugins: Sequence[Plugin] = (),
    lazy: bool = False,
    runtime: Runtime | None = None,
    service: str = "signoff",
    span_exporter: SpanExporter | None = None,
) -> Client:
    """A client of ``settings``' cluster (the profile's address, namespace, TLS, API key and gRPC
    metadata) with signoff's data converter, or ``plugins`` that bring it (the worker's agents plugin):
    the worker, the bot and every command connect here.

    Raises ``SettingsError`` saying what to fix when Temporal cannot be reached or refuses the
    connection (a server certificate the given CA does not trust, a plaintext server, credentials…).
    ``lazy``: a Temporal that cannot be reached, or does not answer within ``LAZY_PROBE_SECONDS``, is
    no error: the client connects on first use (the bot starts, and says so per request, while Temporal
    is down); a Temporal that answers but refuses the TLS or the credentials still is one.
    ``runtime``: the SDK runtime the client (and a worker on it) runs in, e.g. ``metrics_runtime``.
    ``service``: who the client's spans are from, when ``SIGNOFF_TRACING`` is on (``infra/tracing.py``);
    ``span_exporter`` replaces the settings' exporter (a test's in-memory one).
    """
    access = settings.temporal_access or TemporalAccess()
    interceptors: Sequence[Interceptor] = ()
    if settings.tracing is not Tracing.OFF:
        # Here, not at the top: the exporters (the otel extra) are only imported by a process that traces.
        require_tracing_extra(settings.tracing)
        from infra.tracing import tracing_interceptors

        interceptors = tracing_interceptors(settings, service, span_exporter)
    # The agents plugin brings this converter itself (and refuses one already wrapped).
    converter = DataConverter.default if plugins else data_converter()

    async def connect(lazily: bool) -> Client:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            tls=access.tls,
            api_key=access.api_key,
            rpc_metadata=access.rpc_metadata,
            data_converter=converter,
            plugins=plugins,
            interceptors=interceptors,
            lazy=lazily,
            runtime=runtime,
        )

    try:
        if not lazy:
            return await connect(False)
        async with asyncio.timeout(LAZY_PROBE_SECONDS):
            return await connect(False)
    except TimeoutError:
        return await connect(True)
    except RuntimeError as err:
        if not str(err).startswith("Failed client connect"):
            raise
        unreachable, message = _connect_problem(settings, access, str(err))
        if unreachable and lazy:
            return await connect(True)
        raise SettingsError(message) from None


def _connect_problem(settings: Settings, access: TemporalAccess, error: str) -> tuple[bool, str]:
    """(whether Temporal was simply not reached, what to tell the operator) for the SDK's connect error."""
    address = settings.temporal_address
    where = f"Temporal at {address}"
    certificate = f"the server's certificate at {address}"
    if "InvalidCertificate(UnknownIssuer)" in error or "InvalidCertificate(BadSignature)" in error:
        if access.ca_origin:
            return False, (
                f"TLS handshake failed: {certificate} is not trusted by the given CA ({access.ca_origin}): "
                "give the CA that signed the server's certificate"
            )
        return False, (
            f"TLS handshake failed: {certificate} is not trusted by this system's CA certificates: give the CA "
            "that signed it in TEMPORAL_TLS_SERVER_CA_CERT_PATH"
        )
    if "InvalidCertificate(NotValidForName" in error:
        return False, (
            f"TLS handshake failed: {certificate} is not valid for the name the client checks "
            f"({_server_name(access, address)}): set TEMPORAL_TLS_SERVER_NAME to a name the certificate carries"
        )
    if "InvalidCertificate(Expired" in error:
        return False, f"TLS handshake failed: {certificate} has expired"
    if "InvalidCertificate(" in error:
        return False, f"TLS handshake failed: {certificate} was refused: {_detail(error)}"
    if "InconsistentKeys" in error:
        return (
            False,
            "the client certificate and the client key do not belong together (TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH)",
        )
    if "NoCertificatesPresented" in error:
        return (
            False,
            "the client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH or the profile's client_cert) holds no PEM certificate",
        )
    if "AlertReceived(" in error:
        return False, (
            f"{where} refused the TLS handshake ({_detail(error)}): if it requires a client certificate "
            "(mTLS), give one signed by a CA it trusts in TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH"
        )
    if "PrivateKeyParseError" in error:
        return (
            False,
            "the client key (TEMPORAL_TLS_CLIENT_KEY_PATH or the profile's client_key) is not a PEM private key",
        )
    if access.tls is not False and ("InvalidContentType" in error or "InvalidMessage(" in error):
        return False, (
            f"{where} did not answer with TLS: for a plaintext server, set no TLS settings (or TEMPORAL_TLS=false)"
        )
    if "code: Unauthenticated" in error or "code: PermissionDenied" in error:
        return False, f"{where} refused the credentials (TEMPORAL_API_KEY, or the client certificate): {_detail(error)}"
    if "call error after connection" in error:
        # Connected, and the first call failed: a TLS server hanging up on plaintext, or an mTLS
        # server on a client without a certificate it trusts.
        if access.tls is False:
            return False, (
                f"{where} closed the connection ({_detail(error)}): if it expects TLS, set TEMPORAL_TLS=true "
                "(or its CA in TEMPORAL_TLS_SERVER_CA_CERT_PATH, or an API key)"
            )
        return False, (
            f"{where} closed the connection after the TLS handshake ({_detail(error)}): if it requires a client "
            "certificate (mTLS), give one signed by a CA it trusts in TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH"
        )
    if "Server connection error" in error:
        return True, f"cannot reach {where} (TEMPORAL_ADDRESS); is the server running?"
    return False, f"cannot connect to {where}: {_detail(error)}"


def _server_name(access: TemporalAccess, address: str) -> str:
    if isinstance(access.tls, TLSConfig) and access.tls.domain:
        return access.tls.domain
    return address.rsplit(":", 1)[0]


def _detail(error: str) -> str:
    """The SDK's message without its "Failed client connect: " prefix (its status message, if any)."""
    status = re.search(r'message: "([^"]*)"', error)
    if status:
        return status.group(1)
    return error.removeprefix("Failed client connect:").strip()
