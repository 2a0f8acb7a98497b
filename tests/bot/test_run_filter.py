"""The lists' typed filter (``RunFilter``) as Temporal reads it: each filter is one exact visibility
query on signoff's search attributes, and a value that is not an id (a quote in a user or channel id)
is refused before any query is made, so it cannot end a literal and widen the query."""

from __future__ import annotations

import pytest

from bot.gateway import GatewayError, Listed, Listing, RunFilter, type_query, visibility_query
from signoff.contracts.workflow_io import Phase, WorkflowKind

SIGNOFF = "SignoffKind IN ('report', 'plan', 'request')"
TYPES = "(WorkflowType = 'ReportGenerationWorkflow' OR WorkflowType = 'ApprovalWorkflow' OR WorkflowType = 'SignoffRequest')"


@pytest.mark.parametrize(
    ("which", "query"),
    [
        (RunFilter(), SIGNOFF),
        (RunFilter(state=Listing.RUNNING), f"ExecutionStatus = 'Running' AND {SIGNOFF}"),
        (
            RunFilter(waiting_for="U0APPROV1"),
            f"ExecutionStatus = 'Running' AND {SIGNOFF} AND SignoffPhase = 'pending_approval'"
            " AND (SignoffApprovers = 'U0APPROV1' OR SignoffApprovers IS NULL)"
            " AND (SignoffRequester IS NULL OR SignoffRequester != 'U0APPROV1')",
        ),
        (RunFilter(requested_by="U0REQUEST"), f"{SIGNOFF} AND SignoffRequester = 'U0REQUEST'"),
        (RunFilter(channel="C0GENERAL"), f"{SIGNOFF} AND SignoffChannel = 'C0GENERAL'"),
        (
            RunFilter(state=Listing.RUNNING, requested_by="U0REQUEST", channel="C0GENERAL"),
            f"ExecutionStatus = 'Running' AND {SIGNOFF} AND SignoffRequester = 'U0REQUEST'"
            " AND SignoffChannel = 'C0GENERAL'",
        ),
    ],
)
def test_each_filter_is_one_exact_visibility_query(which: RunFilter, query: str) -> None:
    assert visibility_query(which) == query


def test_without_the_search_attributes_the_types_are_listed_running_or_all() -> None:
    assert type_query(RunFilter()) == TYPES
    assert type_query(RunFilter(requested_by="U0REQUEST")) == TYPES
    running = f"{TYPES} AND ExecutionStatus = 'Running'"
    assert type_query(RunFilter(state=Listing.RUNNING)) == running
    # A draft waits only while its workflow runs.
    assert type_query(RunFilter(waiting_for="U0APPROV1")) == running


QUOTED = ["U1' OR SignoffKind != 'x", "U1'", "C1\\' OR 'a'='a", "", "U 1", "U1\n", "x" * 101]


@pytest.mark.parametrize("field", ["waiting_for", "requested_by", "channel"])
@pytest.mark.parametrize("value", QUOTED)
def test_a_value_that_is_not_an_id_is_refused_not_spliced(field: str, value: str) -> None:
    with pytest.raises(GatewayError, match=r"^Cannot list that: not an id that can be looked up"):
        visibility_query(RunFilter(**{field: value}))  # type: ignore[arg-type]


def _listed(*, running: bool = True, requester: str | None = "U0REQUEST", **more: object) -> Listed:
    return Listed(
        workflow_id="report-1",
        kind=WorkflowKind.REPORT,
        running=running,
        subject="s",
        requester_id=requester,
        channel_id="C0GENERAL",
        started_at=None,
        **more,  # type: ignore[arg-type]
    )


def test_where_an_engine_filters_itself_what_the_listing_cannot_tell_is_left_to_the_caller() -> None:
    waiting = RunFilter(waiting_for="U0APPROV1")
    # No phase or approvers in the listing (DBOS; Temporal without the attributes): kept, to be asked.
    assert waiting.admits(_listed())
    assert not waiting.admits(_listed(running=False))
    assert not waiting.admits(_listed(requester="U0APPROV1"))
    assert not waiting.admits(_listed(phase=Phase.REVISING))
    assert not waiting.admits(_listed(approvers=("U0APPROV2",)))
    assert waiting.admits(_listed(phase=Phase.PENDING_APPROVAL, approvers=("U0APPROV1",)))
    assert RunFilter(requested_by="U0REQUEST", channel="C0GENERAL").admits(_listed(running=False))
    assert not RunFilter(channel="C0OTHER").admits(_listed())
    assert not RunFilter(requested_by="U0OTHER").admits(_listed())
    assert not RunFilter(state=Listing.RUNNING).admits(_listed(running=False))
