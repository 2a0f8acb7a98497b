"""signoff's search attributes: what the workflows upsert and the queries the bot's lists send."""

from __future__ import annotations

import pytest
from temporalio.common import SearchAttributeIndexedValueType

from signoff.contracts import search_attributes
from signoff.contracts.workflow_io import Phase, WorkflowKind


def test_five_attributes_with_their_types() -> None:
    types = {key.name: key.indexed_value_type for key in search_attributes.ALL}
    assert types == {
        "SignoffKind": SearchAttributeIndexedValueType.KEYWORD,
        "SignoffRequester": SearchAttributeIndexedValueType.KEYWORD,
        "SignoffApprovers": SearchAttributeIndexedValueType.KEYWORD_LIST,
        "SignoffPhase": SearchAttributeIndexedValueType.KEYWORD,
        "SignoffChannel": SearchAttributeIndexedValueType.KEYWORD,
    }
    flags = search_attributes.dev_server_flags()
    assert flags[:2] == ["--search-attribute", "SignoffKind=Keyword"]
    assert "SignoffApprovers=KeywordList" in flags and len(flags) == 10


def test_unset_values_are_left_out_at_start() -> None:
    everything = search_attributes.at_start(WorkflowKind.PLAN, "U1", ["U2", "U3"], "C1", Phase.STARTING)
    assert everything == {
        "SignoffKind": "plan",
        "SignoffPhase": "starting",
        "SignoffRequester": "U1",
        "SignoffApprovers": ["U2", "U3"],
        "SignoffChannel": "C1",
    }
    # A SignoffRequest with no requester, anyone may decide, no channel yet.
    bare = search_attributes.at_start(WorkflowKind.REQUEST, None, [], None, Phase.STARTING)
    assert list(bare) == ["SignoffKind", "SignoffPhase"]
    assert search_attributes.phase_changed(Phase.APPROVED) == {"SignoffPhase": "approved"}


def test_temporal_gets_the_values_as_typed_updates_in_their_order() -> None:
    values = search_attributes.at_start(WorkflowKind.PLAN, "U1", ["U2"], "C1", Phase.STARTING)
    updates = search_attributes.updates(values)
    assert [(update.key, update.value) for update in updates] == [
        (search_attributes.KIND, "plan"),
        (search_attributes.PHASE, "starting"),
        (search_attributes.REQUESTER, "U1"),
        (search_attributes.APPROVERS, ["U2"]),
        (search_attributes.CHANNEL, "C1"),
    ]
    with pytest.raises(KeyError):
        search_attributes.updates({"NotOurs": "x"})


def test_waiting_for_a_user_includes_drafts_anyone_may_decide_and_leaves_out_their_own() -> None:
    query = search_attributes.waiting_for_query("U0APPROV1")
    assert "ExecutionStatus = 'Running'" in query
    assert "SignoffPhase = 'pending_approval'" in query
    assert "(SignoffApprovers = 'U0APPROV1' OR SignoffApprovers IS NULL)" in query
    assert "(SignoffRequester IS NULL OR SignoffRequester != 'U0APPROV1')" in query
    assert "SignoffKind IN ('report', 'plan', 'request')" in query


def test_other_queries() -> None:
    assert search_attributes.running_query() == (
        "ExecutionStatus = 'Running' AND SignoffKind IN ('report', 'plan', 'request')"
    )
    assert search_attributes.requested_by_query("U1").endswith("AND SignoffRequester = 'U1'")
    assert search_attributes.in_channel_query("C0GENERAL").endswith("AND SignoffChannel = 'C0GENERAL'")


@pytest.mark.parametrize("value", ["", "U1' OR 'a'='a", "U 1", "x" * 101, "U1\n"])
def test_values_that_are_not_ids_are_refused_not_spliced_into_a_query(value: str) -> None:
    with pytest.raises(ValueError, match="not an id"):
        search_attributes.waiting_for_query(value)
