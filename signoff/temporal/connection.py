"""How every process talks to Temporal: the client (``connect_client``), the data converter, the
SDK's metrics runtime, and the UI's links.

Which cluster, and how to reach it, is the SDK's environment configuration, loaded with the rest of
the settings (``signoff/config/temporal_profile.py``, re-exported here); ``connect_client`` connects the
worker, the bot and every command with it.

The converter is the one the worker's OpenAI Agents plugin uses (pydantic-aware JSON);
a client that starts or updates these workflows must use the same one.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote

from temporalio.client import Client, Interceptor, Plugin
from temporalio.converter import DataConverter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import TLSConfig

from signoff.config.extras import require_tracing_extra
from signoff.config.settings import Settings, SettingsError, Tracing
from signoff.config.temporal_profile import (
    DEFAULT_ADDRESS,
    DEFAULT_CONFIG_FILE,
    DEFAULT_NAMESPACE,
    TemporalAccess,
    TemporalTarget,
    load_temporal,
)

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = [
    "DEFAULT_ADDRESS",
    "DEFAULT_CONFIG_FILE",
    "DEFAULT_NAMESPACE",
    "LAZY_PROBE_SECONDS",
    "TemporalAccess",
    "TemporalTarget",
    "connect_client",
    "data_converter",
    "is_connect_failure",
    "load_temporal",
    "metrics_runtime",
    "workflow_url",
]

# How long a lazy client's first try may take before the process starts without Temporal.
LAZY_PROBE_SECONDS = 5.0
# How the SDK begins the message of a failed connect (a plain RuntimeError from its Rust bridge).
_CONNECT_FAILURE = "Failed client connect"


def data_converter() -> DataConverter:
    """The converter every client of these workflows uses (pydantic-aware JSON)."""
    # Here, not at the top: the agents SDK takes seconds to import, and most importers never convert.
    from temporalio.openai_agents import OpenAIPayloadConverter

    return DataConverter(payload_converter_class=OpenAIPayloadConverter)


def workflow_url(temporal_ui_url: str, namespace: str, workflow_id: str) -> str:
    return (
        f"{temporal_ui_url.rstrip('/')}/namespaces/{quote(namespace, safe='')}/workflows/{quote(workflow_id, safe='')}"
    )


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
    ``service``: who the client's spans are from, when ``SIGNOFF_TRACING`` is on (``signoff/temporal/tracing.py``);
    ``span_exporter`` replaces the settings' exporter (a test's in-memory one).
    """
    access = settings.temporal_access or TemporalAccess()
    interceptors: Sequence[Interceptor] = ()
    if settings.tracing is not Tracing.OFF:
        # Here, not at the top: the exporters (the otel extra) are only imported by a process that traces.
        require_tracing_extra(settings.tracing)
        from signoff.temporal.tracing import tracing_interceptors

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
        if not is_connect_failure(err):
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


def is_connect_failure(err: BaseException) -> bool:
    """Whether the SDK failed to (re)connect: it says so with a plain RuntimeError and this prefix,
    the one way to tell it from any other RuntimeError."""
    return isinstance(err, RuntimeError) and str(err).startswith(_CONNECT_FAILURE)


def _detail(error: str) -> str:
    """The SDK's message without its "Failed client connect: " prefix (its status message, if any)."""
    status = re.search(r'message: "([^"]*)"', error)
    if status:
        return status.group(1)
    return error.removeprefix(_CONNECT_FAILURE + ":").strip()
