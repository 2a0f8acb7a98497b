"""The proxy's tool-call journal (``bot.api.tool_call_journal``) against a real Temporal: a flush sends
what was buffered when it began; calls recorded while it sends wait for the next batch, so a busy
proxy sends one batch a second, not one small batch after another."""

from __future__ import annotations

import asyncio

from temporalio.testing import WorkflowEnvironment

from bot.api.tool_call_journal import ToolCallJournal, entry
from bot.gateway import TemporalGateway
from signoff.contracts.tool_call_log import ToolCallBatch, ToolCallEntry, ToolCallLogStart, UpstreamStatus, Verdict
from tests.support.waiting import eventually


class HeldAppends(TemporalGateway):
    """The real gateway, holding its first append until released, and counting the entries of each."""

    appended: list[int]
    held: asyncio.Event
    go_on: asyncio.Event

    async def append_tool_calls(self, log_id: str, start: ToolCallLogStart, batch: ToolCallBatch) -> None:
        self.appended.append(len(batch.entries))
        if len(self.appended) == 1:
            self.held.set()
            await self.go_on.wait()
        await super().append_tool_calls(log_id, start, batch)


def _call(number: int) -> ToolCallEntry:
    return entry(f"tool_{number}", "{}", Verdict.ALLOWED_BY_POLICY, UpstreamStatus.OK)


async def test_calls_recorded_while_a_batch_is_sent_wait_for_the_next(time_env: WorkflowEnvironment) -> None:
    gateway = HeldAppends(time_env.client, task_queue="journal-test")
    gateway.appended, gateway.held, gateway.go_on = [], asyncio.Event(), asyncio.Event()
    journal = ToolCallJournal(gateway, "toolcalls-journal-test", "test")
    for number in range(3):
        journal.record(_call(number))
    flushing = asyncio.create_task(journal.flush())
    await eventually(gateway.held.is_set)
    for number in range(3, 7):
        journal.record(_call(number))
    gateway.go_on.set()
    await flushing
    assert gateway.appended == [3]
    await journal.flush()
    assert gateway.appended == [3, 4]
