"""Whether a namespace has signoff's search attributes, and registering them (`signoff setup`).

A workflow that upserts a search attribute the namespace does not have fails every workflow
task from then on: it is stuck. So nothing upserts them until the namespace says they are
registered, with the right types: the bot asks before it starts a workflow (the answer goes in
the workflow's settings, hence into its history), the worker before it hands its settings to a
workflow started without any, and the bot's lists fall back to the old bounded listing meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType
from temporalio.service import RPCError, RPCStatusCode

from signoff.contracts.search_attributes import ALL, TYPE_NAMES

log = logging.getLogger(__name__)

CHECK_TIMEOUT = timedelta(seconds=5)
# A "not registered" answer is asked again after this long: `signoff setup` may run meanwhile.
RECHECK_AFTER = timedelta(minutes=1)


class Registration(StrEnum):
    REGISTERED = "registered"
    # Some are missing or have another type: nothing may upsert them.
    MISSING = "missing"
    # The cluster would not say (no operator service, permission denied): treated as missing.
    REFUSED = "refused"
    # No answer: treated as missing, asked again later.
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class Inspection:
    registration: Registration
    missing: tuple[str, ...] = ()
    wrong_type: tuple[str, ...] = ()
    reason: str = ""

    def describe(self) -> str:
        if self.registration is Registration.REGISTERED:
            return "all registered"
        if self.registration in (Registration.REFUSED, Registration.UNREACHABLE):
            return f"could not list them: {self.reason}"
        parts = []
        if self.missing:
            parts.append("missing " + ", ".join(self.missing))
        if self.wrong_type:
            parts.append("of another type: " + ", ".join(self.wrong_type))
        return "; ".join(parts)


def _expected() -> dict[str, int]:
    return {key.name: int(key.indexed_value_type) for key in ALL}


def _reason(err: RPCError) -> str:
    return f"{err.status.name if err.status else 'error'}: {err.message}"


def _registration_for(err: RPCError) -> Registration:
    if err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
        return Registration.UNREACHABLE
    return Registration.REFUSED


def _type_name(value: int) -> str:
    """A type as `temporal operator search-attribute` and tcld write it (Keyword, KeywordList, …)."""
    try:
        name = SearchAttributeIndexedValueType(value).name
    except ValueError:
        return f"type {value}"
    return "".join(part.title() for part in name.split("_"))


async def inspect(client: Client, namespace: str, timeout: timedelta = CHECK_TIMEOUT) -> Inspection:
    """Which of signoff's search attributes ``namespace`` has, with the right type."""
    try:
        async with asyncio.timeout(timeout.total_seconds() + 1):
            response = await client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace=namespace), timeout=timeout
            )
    except TimeoutError:
        return Inspection(Registration.UNREACHABLE, reason=f"no answer within {timeout.total_seconds():g} s")
    except RPCError as err:
        return Inspection(_registration_for(err), reason=_reason(err))
    except RuntimeError as err:
        # A lazily connected client reports a failed connect this way.
        return Inspection(Registration.UNREACHABLE, reason=str(err))
    found = dict(response.custom_attributes)
    missing = tuple(name for name in _expected() if name not in found)
    wrong = tuple(
        f"{name} is {_type_name(found[name])}, not {_type_name(wanted)}"
        for name, wanted in _expected().items()
        if name in found and found[name] != wanted
    )
    if missing or wrong:
        return Inspection(Registration.MISSING, missing, wrong)
    return Inspection(Registration.REGISTERED)


class SearchAttributeCheck:
    """Asks a namespace whether signoff's search attributes are usable: a yes is kept for good,
    a no is asked again after ``recheck`` (someone may run `signoff setup` meanwhile)."""

    def __init__(
        self,
        client: Client,
        namespace: str,
        *,
        consequence: str,
        recheck: timedelta = RECHECK_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._namespace = namespace
        self._consequence = consequence
        self._recheck = recheck.total_seconds()
        self._clock = clock
        self._registered = False
        self._checked_at: float | None = None
        self._lock = asyncio.Lock()

    async def registered(self) -> bool:
        if self._registered:
            return True
        async with self._lock:
            now = self._clock()
            if self._registered or (self._checked_at is not None and now - self._checked_at < self._recheck):
                return self._registered
            found = await inspect(self._client, self._namespace)
            self._checked_at = now
            if found.registration is Registration.REGISTERED:
                self._registered = True
                log.info("signoff's search attributes are registered in namespace %r", self._namespace)
            else:
                log.warning(
                    "signoff's search attributes are not usable in namespace %r (%s): %s "
                    "Run `signoff setup` (on Temporal Cloud: add them in the UI or with tcld, see docs/temporal.md).",
                    self._namespace,
                    found.describe(),
                    self._consequence,
                )
            return self._registered


# ---------------------------------------------------------------------- signoff setup


class SetupRefused(Exception):
    """The cluster would not register them; the message says what to do instead."""


class SetupUnreachable(Exception):
    """The cluster did not answer."""


def tcld_command(namespace: str) -> str:
    flags = " ".join(f'--search-attribute "{key.name}={TYPE_NAMES[key.indexed_value_type]}"' for key in ALL)
    return f"tcld namespace search-attributes add --namespace {namespace} {flags}"


def cloud_advice(namespace: str) -> str:
    return (
        "On Temporal Cloud, search attributes are created in the Cloud UI (Namespaces → "
        f"{namespace} → Custom Search Attributes) or with tcld:\n  {tcld_command(namespace)}"
    )


async def register(client: Client, namespace: str, timeout: timedelta = CHECK_TIMEOUT) -> list[str]:
    """Register whichever of signoff's search attributes ``namespace`` lacks; returns their names
    (empty: all were there). Idempotent. Raises ``SetupRefused`` when the cluster refuses or one
    exists with another type, ``SetupUnreachable`` when it does not answer."""
    found = await inspect(client, namespace, timeout)
    if found.wrong_type:
        raise SetupRefused(
            f"namespace {namespace!r} already has {'; '.join(found.wrong_type)}: a search attribute's type "
            "cannot be changed; remove it (temporal operator search-attribute remove) and run `signoff setup` again."
        )
    _raise_for(found.registration, found.reason, namespace)
    if not found.missing:
        return []
    wanted = {key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in ALL if key.name in found.missing}
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=wanted), timeout=timeout
        )
    except RPCError as err:
        # Registered by someone else meanwhile: what was wanted is there.
        if err.status != RPCStatusCode.ALREADY_EXISTS:
            _raise_for(_registration_for(err), _reason(err), namespace)
    return list(wanted)


def _raise_for(registration: Registration, reason: str, namespace: str) -> None:
    if registration is Registration.UNREACHABLE:
        raise SetupUnreachable(reason)
    if registration is Registration.REFUSED:
        raise SetupRefused(
            f"the cluster refused to register signoff's search attributes in namespace {namespace!r} ({reason}).\n"
            + cloud_advice(namespace)
        )
