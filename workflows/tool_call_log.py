"""The MCP proxy's tool-call log (``signoff.contracts.tool_call_log``): every call one proxy identity
saw, and the Always allow grants a restarted proxy reads back. ``ToolCallLog`` holds the rules, the
same on every engine; ``ToolCallLogWorkflow`` runs it on Temporal as long as its id lives: a signal
appends a batch (the proxy signals-with-start, never waiting for it to be processed), a query reads
it, and past ``max_entries`` entries (``MAX_ENTRIES_PER_RUN``) (or when Temporal says the history is long) the run
continues as new, carrying the grants and a count of the entries before it.
"""

from __future__ import annotations

from temporalio import workflow

from signoff.contracts.tool_call_log import (
    APPEND_TOOL_CALLS,
    READ_TOOL_CALL_LOG,
    TOOL_CALL_LOG,
    AlwaysAllowGrant,
    ToolCallBatch,
    ToolCallEntry,
    ToolCallLogStart,
    ToolCallLogView,
)
from workflows.runtime import continue_as_new, durable, history_is_long


class ToolCallLog:
    """One identity's log: entries in the order they came, and one grant per (tool, target)."""

    def __init__(self, start: ToolCallLogStart) -> None:
        self.start = start
        self.entries: list[ToolCallEntry] = []
        self.grants: list[AlwaysAllowGrant] = list(start.grants)

    def append(self, batch: ToolCallBatch) -> None:
        self.entries.extend(batch.entries)
        for grant in batch.grants:
            if not any((known.tool, known.target) == (grant.tool, grant.target) for known in self.grants):
                self.grants.append(grant)

    def full(self) -> bool:
        return len(self.entries) >= self.start.max_entries

    def view(self) -> ToolCallLogView:
        return ToolCallLogView(
            label=self.start.label,
            entries=list(self.entries),
            grants=list(self.grants),
            earlier_entries=self.start.earlier_entries,
            previous_run_id=self.start.previous_run_id,
        )

    def next_start(self, run_id: str) -> ToolCallLogStart:
        """The input of the run that continues this one (``run_id``)."""
        return ToolCallLogStart(
            label=self.start.label,
            grants=list(self.grants),
            earlier_entries=self.start.earlier_entries + len(self.entries),
            previous_run_id=run_id,
            max_entries=self.start.max_entries,
        )


@workflow.defn(name=TOOL_CALL_LOG)
class ToolCallLogWorkflow:
    @workflow.init
    def __init__(self, start: ToolCallLogStart) -> None:
        # Built from the input before any signal is handled: signal-with-start delivers both at once.
        self._log = ToolCallLog(start)

    @workflow.run
    async def run(self, start: ToolCallLogStart) -> None:
        await durable().wait_condition(lambda: self._log.full() or history_is_long())
        await continue_as_new(lambda: self._log.next_start(durable().run_id()))

    @workflow.signal(name=APPEND_TOOL_CALLS)
    def append(self, batch: ToolCallBatch) -> None:
        self._log.append(batch)

    @workflow.query(name=READ_TOOL_CALL_LOG)
    def view(self) -> ToolCallLogView:
        return self._log.view()
