"""A burst of /report: the gateway keeps at most MAX_CONCURRENT_STARTS starts in flight, and every one starts."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from bot.gateway import TemporalGateway
from signoff.contracts.workflow_io import SlackOrigin


class SlowStarts:
    """A stand-in Temporal client whose starts take a while; records how many run at once."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most = 0
        self.started = 0

    async def start_workflow(self, run, request, *, id: str, **kwargs):
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            await asyncio.sleep(0.02)
        finally:
            self.in_flight -= 1
        self.started += 1
        return SimpleNamespace(id=id, result_run_id="run")


async def test_a_burst_of_starts_is_queued_not_sent_at_once() -> None:
    client = SlowStarts()
    gateway = TemporalGateway(client, task_queue="q", max_concurrent_starts=4)  # type: ignore[arg-type]
    origin = SlackOrigin(team_id="T1", channel_id="C1", requester_id="U1")
    started = await asyncio.gather(*(gateway.start_report(f"topic {i}", origin, f"key-{i}") for i in range(40)))
    assert client.started == 40 and len({s.workflow_id for s in started}) == 40
    assert client.most == 4


def test_decision_updates_are_sent_by_their_registered_names() -> None:
    from bot.gateway import _update_name
    from workflows import ApprovalWorkflow, ReportGenerationWorkflow

    assert _update_name(ReportGenerationWorkflow.approve_draft) == "approve_draft"
    assert _update_name(ReportGenerationWorkflow.request_draft_revision) == "request_draft_revision"
    assert _update_name(ApprovalWorkflow.reject_draft) == "reject_draft"
