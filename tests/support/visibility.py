"""Many workflows in a namespace, cheaply: executions that visibility lists like parked drafts
(their search attributes set at start) on a task queue no worker polls, so nothing runs them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from signoff.contracts import search_attributes
from signoff.contracts.workflow_io import Phase, ReportRequest, SlackOrigin, WorkflowKind

START_ATTEMPTS = 4
RETRY_PAUSE = 0.5


def parked_attributes(requester: str, approvers: Sequence[str], channel: str) -> TypedSearchAttributes:
    """What a report's search attributes say while its draft waits for a decision."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(search_attributes.KIND, WorkflowKind.REPORT.value),
            SearchAttributePair(search_attributes.REQUESTER, requester),
            SearchAttributePair(search_attributes.APPROVERS, list(approvers)),
            SearchAttributePair(search_attributes.PHASE, Phase.PENDING_APPROVAL.value),
            SearchAttributePair(search_attributes.CHANNEL, channel),
        ]
    )


async def start_idle_reports(
    client: Client,
    count: int,
    *,
    requester: str,
    approvers: Sequence[str],
    channel: str,
    team_id: str = "T0SANDBOX",
    concurrency: int = 20,
) -> list[str]:
    """Start ``count`` ReportGenerationWorkflow executions nobody runs, listed as drafts waiting for
    ``approvers`` in ``channel``; returns their ids, oldest first."""
    task_queue = f"idle-{uuid.uuid4().hex[:8]}"
    attributes = parked_attributes(requester, approvers, channel)
    ids = [f"idle-{task_queue}-{index}" for index in range(count)]
    slots = asyncio.Semaphore(concurrency)

    async def start(index: int, workflow_id: str) -> None:
        origin = SlackOrigin(team_id=team_id, channel_id=channel, requester_id=requester)
        async with slots:
            for attempt in range(START_ATTEMPTS):
                try:
                    await client.start_workflow(
                        "ReportGenerationWorkflow",
                        ReportRequest(topic=f"Idle report {index}", origin=origin),
                        id=workflow_id,
                        task_queue=task_queue,
                        search_attributes=attributes,
                        memo={
                            "kind": WorkflowKind.REPORT.value,
                            "subject": f"Idle report {index}",
                            "requester_id": requester,
                        },
                    )
                    return
                except RPCError as err:
                    # Under a long burst the dev server's namespace registry now and then answers
                    # "Namespace default is not found" (seen at 10,000 starts on 2 busy cores).
                    if err.status != RPCStatusCode.NOT_FOUND or attempt == START_ATTEMPTS - 1:
                        raise
                    await asyncio.sleep(RETRY_PAUSE * (attempt + 1))

    await asyncio.gather(*(start(index, workflow_id) for index, workflow_id in enumerate(ids)))
    return ids
