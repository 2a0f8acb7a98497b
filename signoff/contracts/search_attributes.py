"""signoff's custom search attributes: their names and types, the workflows' updates, the bot's queries.

The workflows upsert them (at start and on every phase change, through ``workflows.runtime``) so that the lists (`/report list`,
`/report status` with no id, the App Home) are Temporal visibility queries on them, whatever the
number of workflows in the namespace. They must be registered on the namespace first: `signoff dev`
does it on its dev server, `signoff setup` on a cluster (on Temporal Cloud: the UI or tcld).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from temporalio.common import SearchAttributeIndexedValueType, SearchAttributeKey, SearchAttributeUpdate

from signoff.contracts.workflow_io import Phase, WorkflowKind

KIND = SearchAttributeKey.for_keyword("SignoffKind")
REQUESTER = SearchAttributeKey.for_keyword("SignoffRequester")
# Empty (unset) when anyone but the requester may decide.
APPROVERS = SearchAttributeKey.for_keyword_list("SignoffApprovers")
PHASE = SearchAttributeKey.for_keyword("SignoffPhase")
CHANNEL = SearchAttributeKey.for_keyword("SignoffChannel")

ALL: tuple[SearchAttributeKey[Any], ...] = (
    KIND,
    REQUESTER,
    APPROVERS,
    PHASE,
    CHANNEL,
)
_BY_NAME: dict[str, SearchAttributeKey[Any]] = {key.name: key for key in ALL}

# What a workflow indexes itself by: attribute name → value (a keyword, or a keyword list), in the
# order it sets them; the engine writes them its own way (``workflows.runtime.Durable``).
SearchValues = dict[str, str | list[str]]

# The type names `temporal server start-dev --search-attribute Name=Type` and tcld take.
TYPE_NAMES = {
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.KEYWORD_LIST: "KeywordList",
}

# Slack ids and phase names; anything else is refused rather than spliced into a query.
_QUERY_VALUE = re.compile(r"[A-Za-z0-9_.-]{1,100}")


def dev_server_flags() -> list[str]:
    """`--search-attribute Name=Type` for each, as `temporal server start-dev` takes them."""
    flags = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={TYPE_NAMES[key.indexed_value_type]}"]
    return flags


def at_start(
    kind: WorkflowKind, requester: str | None, approvers: Sequence[str], channel: str | None, phase: Phase
) -> SearchValues:
    """Every attribute, as a workflow sets them once it knows its settings (unset ones left out)."""
    values: SearchValues = {KIND.name: kind.value, PHASE.name: phase.value}
    if requester:
        values[REQUESTER.name] = requester
    if approvers:
        values[APPROVERS.name] = list(approvers)
    if channel:
        values[CHANNEL.name] = channel
    return values


def phase_changed(phase: Phase) -> SearchValues:
    return {PHASE.name: phase.value}


def deciders_changed(deciders: Sequence[str]) -> SearchValues:
    """Who decides after a claim, release or delegation (empty: unset, the channel's members again)."""
    return {APPROVERS.name: list(deciders)}


def updates(values: SearchValues) -> list[SearchAttributeUpdate[Any]]:
    """``values`` as Temporal's typed updates, in their order (a name that is not one of ``ALL``: KeyError)."""
    return [_BY_NAME[name].value_set(value) for name, value in values.items()]


# ---------------------------------------------------------------------- visibility queries


def quoted(value: str) -> str:
    """``value`` as a query literal; only id-like values (Slack ids, phase names) are accepted."""
    if not _QUERY_VALUE.fullmatch(value):
        raise ValueError(f"not an id that can be looked up: {value!r}")
    return f"'{value}'"


def _signoff() -> str:
    return f"{KIND.name} IN ({', '.join(quoted(kind.value) for kind in WorkflowKind)})"


def matching(
    *,
    running: bool = False,
    waiting_for: str | None = None,
    requested_by: str | None = None,
    channel: str | None = None,
) -> str:
    """signoff's workflows that meet every criterion given: running; drafts waiting for
    ``waiting_for``'s decision (running, pending approval, ``waiting_for`` among the approvers or no
    approvers named, i.e. anyone but the requester, and not requested by them); requested by
    ``requested_by``; whose thread is in ``channel``. ``ValueError``: a value that is not an id."""
    clauses = []
    if running or waiting_for is not None:
        clauses.append("ExecutionStatus = 'Running'")
    clauses.append(_signoff())
    if waiting_for is not None:
        user = quoted(waiting_for)
        clauses += [
            f"{PHASE.name} = {quoted(Phase.PENDING_APPROVAL.value)}",
            f"({APPROVERS.name} = {user} OR {APPROVERS.name} IS NULL)",
            f"({REQUESTER.name} IS NULL OR {REQUESTER.name} != {user})",
        ]
    if requested_by is not None:
        clauses.append(f"{REQUESTER.name} = {quoted(requested_by)}")
    if channel is not None:
        clauses.append(f"{CHANNEL.name} = {quoted(channel)}")
    return " AND ".join(clauses)


def running_query() -> str:
    """signoff's running workflows (`/report list`)."""
    return matching(running=True)


def waiting_for_query(user_id: str) -> str:
    """Drafts waiting for ``user_id``'s decision (``matching``)."""
    return matching(waiting_for=user_id)


def requested_by_query(user_id: str) -> str:
    """Everything ``user_id`` requested, running or finished."""
    return matching(requested_by=user_id)


def in_channel_query(channel_id: str) -> str:
    """Everything whose thread is in ``channel_id``."""
    return matching(channel=channel_id)
