"""Webhooks: a request's result POSTed to its ``callback_url``, signed, and never to where it must not go.

The signature (``Signoff-Signature: v1=<hex>``) is HMAC-SHA256, keyed with the requesting API key's
secret, over ``"<Signoff-Timestamp>.<body>"``; a receiver recomputes it and refuses an old timestamp,
so a forged or replayed delivery is detectable (the snippet in the docs).

Where a webhook may go (SSRF): HTTPS, or plain HTTP to loopback only; and unless
``SIGNOFF_WEBHOOK_ALLOW_PRIVATE`` is set, only to public addresses. A name is resolved once, every
address it resolves to is checked, and the connection is made to those checked addresses (aiohttp's
connector asks this module's resolver), so a DNS answer that changes between a check and the
connection (rebinding) cannot send the POST elsewhere. Redirects are never followed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import socket
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from temporalio.exceptions import ApplicationError

from signoff.activities.context import Activity, current_step
from signoff.config.api_keys import ApiKey
from signoff.contracts.api import (
    DELIVER_WEBHOOK,
    WEBHOOK_REFUSED,
    WEBHOOK_START_TO_CLOSE,
    WebhookInput,
    callback_url_problem,
)

SIGNATURE_HEADER = "Signoff-Signature"
TIMESTAMP_HEADER = "Signoff-Timestamp"
SIGNATURE_VERSION = "v1"
USER_AGENT = "signoff-webhook/1"
# How long the API waits for a callback_url's name to resolve before refusing it.
RESOLVE_TIMEOUT_SECONDS = 5.0

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeTarget(ValueError):
    """A webhook target that resolves (or is) somewhere it may not go; the message says why."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``: the ``Signoff-Signature`` header."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def signed_headers(secret: str, body: bytes, now: Callable[[], float] = time.time) -> dict[str, str]:
    timestamp = int(now())
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def address_problem(address: IpAddress, *, allow_private: bool, plain_http: bool) -> str | None:
    """Why a webhook may not connect to ``address``, or None."""
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    address = mapped or address
    if address.is_unspecified or address.is_multicast:
        return f"{address} is not a host"
    if plain_http and not address.is_loopback:
        return f"{address} is not loopback: plain http:// goes to loopback only"
    if not address.is_global and not allow_private:
        kind = "link-local" if address.is_link_local else "loopback" if address.is_loopback else "private"
        return f"{address} is a {kind} address (set SIGNOFF_WEBHOOK_ALLOW_PRIVATE=true to allow)"
    return None


class VettingResolver(AbstractResolver):
    """aiohttp's resolver, refusing a name any of whose addresses is unsafe (``address_problem``).
    The connector connects to exactly the addresses returned here: checked once, used once."""

    def __init__(self, *, allow_private: bool, plain_http: bool, inner: AbstractResolver | None = None) -> None:
        self.allow_private = allow_private
        self.plain_http = plain_http
        self.inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self.inner.resolve(host, port, family)
        if not found:
            raise UnsafeTarget(f"{host} does not resolve")
        for result in found:
            problem = address_problem(
                ipaddress.ip_address(result["host"]), allow_private=self.allow_private, plain_http=self.plain_http
            )
            if problem:
                raise UnsafeTarget(f"{host} resolves to {problem}")
        return found

    async def close(self) -> None:
        await self.inner.close()


def target_problem(url: str, *, allow_private: bool) -> str | None:
    """What the URL's text alone says is unsafe: an address literal (never handed to a resolver)."""
    host = urlsplit(url).hostname or ""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return None
    return address_problem(literal, allow_private=allow_private, plain_http=urlsplit(url).scheme == "http")


async def vet_target(url: str, *, allow_private: bool, inner: AbstractResolver | None = None) -> str | None:
    """Why ``url`` may not receive webhooks (its literal address, or where its name resolves now), or
    None: what the API tells a caller before anything starts. Each delivery checks again."""
    problem = target_problem(url, allow_private=allow_private)
    host = urlsplit(url).hostname or ""
    if problem or _is_literal(host):
        return problem
    resolver = VettingResolver(allow_private=allow_private, plain_http=urlsplit(url).scheme == "http", inner=inner)
    try:
        # A name that takes long to resolve holds no caller (nor a resolver thread) past this.
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            await resolver.resolve(host, 443, socket.AF_UNSPEC)
    except UnsafeTarget as err:
        return str(err)
    except TimeoutError:
        return f"{host} did not resolve within {RESOLVE_TIMEOUT_SECONDS:g} s"
    except OSError as err:
        return f"{host} does not resolve: {err.strerror or err}"
    finally:
        await resolver.close()
    return None


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _refused(message: str) -> ApplicationError:
    return ApplicationError(message, type=WEBHOOK_REFUSED, non_retryable=True)


def _shown(url: str) -> str:
    """The URL without its query (which may hold a token of the receiver's): what logs show."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


class WebhookActivities:
    """``deliver_webhook``: one signed POST per attempt; the workflow's step policy retries it."""

    def __init__(
        self,
        keys: tuple[ApiKey, ...],
        *,
        allow_private: bool,
        resolver: Callable[[], AbstractResolver] | None = None,
    ) -> None:
        self._secrets: Mapping[str, str] = {key.name: key.secret for key in keys}
        self.allow_private = allow_private
        # The resolver under the vetting one (tests: a stand-in DNS); default: the system's.
        self._resolver = resolver or DefaultResolver

    def by_name(self) -> dict[str, Activity]:
        return {DELIVER_WEBHOOK: self.deliver_webhook}

    async def deliver_webhook(self, delivery: WebhookInput) -> None:
        step = current_step()
        shown = _shown(delivery.url)
        secret = self._secrets.get(delivery.api_key)
        if secret is None:
            raise _refused(f"webhook to {shown}: API key {delivery.api_key!r} is not configured on this worker")
        # Checked again here, whatever the workflow's input said: the URL's text, then its literal address.
        problem = callback_url_problem(delivery.url) or target_problem(delivery.url, allow_private=self.allow_private)
        if problem:
            step.logger.warning("webhook to %s refused: %s", shown, problem)
            raise _refused(f"webhook to {shown} refused: {problem}")
        body = delivery.body.encode()
        resolver = VettingResolver(
            allow_private=self.allow_private,
            plain_http=urlsplit(delivery.url).scheme == "http",
            inner=self._resolver(),
        )
        # A connector per delivery: nothing resolved for one is reused by another.
        connector = aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False, force_close=True)
        timeout = aiohttp.ClientTimeout(total=WEBHOOK_START_TO_CLOSE.total_seconds() - 1)
        try:
            async with (
                aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
                session.post(
                    delivery.url,
                    data=body,
                    headers=signed_headers(secret, body),
                    allow_redirects=False,
                ) as response,
            ):
                status = response.status
        except UnsafeTarget as err:
            step.logger.warning("webhook to %s refused: %s", shown, err)
            raise _refused(f"webhook to {shown} refused: {err}") from None
        except (aiohttp.ClientError, TimeoutError) as err:
            step.logger.info("webhook to %s, attempt %d: %s", shown, step.attempt, type(err).__name__)
            raise ApplicationError(f"webhook to {shown} failed: {type(err).__name__}: {err}") from None
        if 200 <= status < 300:
            step.logger.info("webhook to %s, attempt %d: delivered (%d)", shown, step.attempt, status)
            return
        # A redirect is an answer that is not a 2xx: not followed, tried again later like any other.
        step.logger.info("webhook to %s, attempt %d: answered %d", shown, step.attempt, status)
        raise ApplicationError(f"webhook to {shown} answered {status}")
