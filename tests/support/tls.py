"""TLS in front of a plaintext Temporal: a certificate authority and a server certificate made here
(``cryptography``), and a small asyncio proxy that terminates TLS and forwards the bytes.

Temporal's gRPC is HTTP/2 over TLS; the proxy only unwraps TLS (offering ``h2`` by ALPN) and copies
the HTTP/2 bytes both ways to the dev server, as a cloud load balancer in front of a cluster would.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Pki:
    """Files of one certificate authority and of a server and a client certificate it signed."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_pki(directory: Path, name: str = "test", server_names: tuple[str, ...] = ("localhost",)) -> Pki:
    """A CA and, signed by it, a server certificate for ``server_names`` and 127.0.0.1 and a client
    certificate (for mTLS), as PEM files in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    valid = (now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=1))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"signoff {name} CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid[0])
        .not_valid_after(valid[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def signed(subject: str, key: ec.EllipticCurvePrivateKey, usage: x509.ObjectIdentifier) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(valid[0])
            .not_valid_after(valid[1])
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        )
        if usage == ExtendedKeyUsageOID.SERVER_AUTH:
            names: list[x509.GeneralName] = [x509.DNSName(server) for server in server_names]
            names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(ca_key, hashes.SHA256())

    server_key = ec.generate_private_key(ec.SECP256R1())
    client_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = signed(server_names[0], server_key, ExtendedKeyUsageOID.SERVER_AUTH)
    client_cert = signed(f"signoff {name} worker", client_key, ExtendedKeyUsageOID.CLIENT_AUTH)

    pki = Pki(
        ca_cert=directory / f"{name}-ca.pem",
        server_cert=directory / f"{name}-server.pem",
        server_key=directory / f"{name}-server.key",
        client_cert=directory / f"{name}-client.pem",
        client_key=directory / f"{name}-client.key",
    )
    pki.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    pki.server_cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    pki.server_key.write_bytes(_pem_key(server_key))
    pki.client_cert.write_bytes(client_cert.public_bytes(serialization.Encoding.PEM))
    pki.client_key.write_bytes(_pem_key(client_key))
    return pki


def profile_toml(name: str, address: str, pki: Pki, *, namespace: str = "default", mtls: bool = True) -> str:
    """A Temporal client configuration file (as ``TEMPORAL_CONFIG_FILE`` names) whose profile ``name``
    reaches ``address`` trusting ``pki``'s CA, with its client certificate if ``mtls``; its default
    profile points somewhere else, so that picking the wrong profile shows."""
    client = f'client_cert_path = "{pki.client_cert}"\nclient_key_path = "{pki.client_key}"\n' if mtls else ""
    return (
        '[profile.default]\naddress = "127.0.0.1:1"\n\n'
        f'[profile.{name}]\naddress = "{address}"\nnamespace = "{namespace}"\n\n'
        f'[profile.{name}.tls]\nserver_ca_cert_path = "{pki.ca_cert}"\n{client}'
    )


@dataclass
class TlsProxy:
    address: str
    # Connections whose TLS handshake succeeded (a handshake the client aborts never gets here).
    connections: int = 0


@contextlib.asynccontextmanager
async def tls_proxy(upstream: str, pki: Pki, *, require_client_cert: bool = False) -> AsyncIterator[TlsProxy]:
    """Listens with TLS (``pki``'s server certificate) on 127.0.0.1 and forwards each connection's
    plaintext to ``upstream`` (``host:port``). ``require_client_cert``: mTLS, a client certificate
    signed by ``pki``'s CA required.

    A client that distrusts the certificate aborts the handshake; asyncio logs that at debug level only."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.set_alpn_protocols(["h2"])
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki.ca_cert)
    host, port = upstream.rsplit(":", 1)
    tasks: set[asyncio.Task[None]] = set()
    proxy = TlsProxy(address="")

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def forward(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        proxy.connections += 1
        try:
            server_reader, server_writer = await asyncio.open_connection(host, int(port))
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))

    def accept(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(forward(client_reader, client_writer))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    server = await asyncio.start_server(accept, "127.0.0.1", 0, ssl=context)
    proxy.address = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield proxy
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
