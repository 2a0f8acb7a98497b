"""ApprovalWorkflow: a plan-then-execute agent that waits for a human's go-ahead.

Keeps the article's interface (``run(task)``, signal ``decide(decision_id,
decision)``, query ``pending_decision``) on top of the same approval machinery
as the report workflow.
"""

from __future__ import annotations

from temporalio import workflow

from signoff.contracts.workflow_io import (
    DecisionKind,
    Phase,
    PlanRequest,
    WorkflowKind,
)
from workflows.approval import GateOutcome
from workflows.executor_tools import executor_tools
from workflows.human_loop import DecisionHandlers, HumanReviewedWorkflow
from workflows.patches import EXECUTOR_TOOLS_PATCH
from workflows.runtime import durable
from workflows.tool_approvals import ToolApprovals, ToolCallDecisions

with workflow.unsafe.imports_passed_through():
    from workflows import agents

PLAN_APPROVAL = "plan_approval"
PLAN_NOT_APPROVED = "Workflow cancelled: plan not approved"


@workflow.defn
class ApprovalWorkflow(ToolCallDecisions, HumanReviewedWorkflow):
    KIND = WorkflowKind.PLAN

    def __init__(self) -> None:
        super().__init__()
        self._tools = ToolApprovals(self)

    @workflow.run
    async def run(self, request: PlanRequest | str) -> str:
        """Returns the execution report, or the article's sentence when the plan is not approved."""
        if isinstance(request, str):
            request = PlanRequest(task=request)
        return await self.guarded(
            lambda: self._plan_and_execute(request), lambda why: f"Plan stopped at its token budget: {why}"
        )

    async def _plan_and_execute(self, request: PlanRequest) -> str:
        await self.begin(request.task, request.origin, request.settings)
        task = request.task
        models = self._settings.models

        await self.set_phase(Phase.PLANNING, ":spiral_note_pad: Planning…")
        plan = str(await self.run_agent(agents.planner_agent(models), agents.planner_prompt(task)))
        while True:
            decision = await self.ask_human(plan)
            match decision.outcome:
                case GateOutcome.APPROVED:
                    await self.set_phase(Phase.EXECUTING, ":gear: Executing the approved plan…")
                    if not durable().patched(EXECUTOR_TOOLS_PATCH):
                        # Started before the executor had tools: it only writes about the plan.
                        result = str(
                            await self.run_agent(agents.executor_agent(models), agents.executor_prompt(task, plan))
                        )
                        await self.finish(Phase.COMPLETED, "completed", ":tada: The plan was executed.")
                        return result
                    # The parent message shows that the plan is being carried out, not still waiting.
                    await self.thread.show_phase(Phase.EXECUTING)
                    # The plan as approved: the approver's edit, when they edited it.
                    result = await self._execute(task, self.approved_text)
                    await self.finish(
                        Phase.COMPLETED, "completed", f":tada: The plan was executed.\n{self._tools.summary()}"
                    )
                    return result
                case GateOutcome.REVISION_REQUESTED:
                    await self.set_phase(Phase.PLANNING, ":spiral_note_pad: Revising the plan with the notes…")
                    plan = str(
                        await self.run_agent(
                            agents.planner_agent(models),
                            agents.planner_prompt(task, previous_plan=plan, human_notes=decision.notes),
                        )
                    )
                case GateOutcome.REJECTED:
                    await self.finish(Phase.REJECTED, "rejected", ":no_entry: The plan was declined.")
                    return PLAN_NOT_APPROVED
                case GateOutcome.EXPIRED:
                    await self.finish(
                        Phase.EXPIRED, "expired", ":hourglass: No decision before the deadline: the plan expired."
                    )
                    return PLAN_NOT_APPROVED

    async def _execute(self, task: str, plan: str) -> str:
        """The executor carries the plan out with real tools, each side effect allowed by a person."""
        executor = agents.executor_agent(self.settings.models, executor_tools(self._tools, agents.EXECUTOR_NAME))
        result = await self.run_agent(
            executor,
            agents.executor_prompt(task, plan),
            run=self._tools.run,
            # Tools may have acted already: never run the whole agent again.
            attempts=1,
        )
        return str(result)

    def decision_handlers(self) -> DecisionHandlers:
        return super().decision_handlers() | self.tool_decision_handlers()

    @workflow.signal
    async def decide(self, decision_id: str, decision: str) -> None:
        """The article's signal: ``decide("plan_approval", "approved")``; any other decision declines."""
        if decision_id != PLAN_APPROVAL:
            durable().logger.warning("Ignoring decision for unknown decision id %r", decision_id)
            return
        if decision == "approved":
            self._operator_decision(DecisionKind.APPROVE)
        else:
            self._operator_decision(DecisionKind.REJECT, decision)

    def phase_after(self, outcome: GateOutcome) -> Phase:
        # An approved plan is executed next, a plan sent back is planned again.
        if outcome is GateOutcome.APPROVED:
            return Phase.EXECUTING
        if outcome is GateOutcome.REVISION_REQUESTED:
            return Phase.PLANNING
        return super().phase_after(outcome)

    @workflow.query
    def pending_decision(self) -> str | None:
        return PLAN_APPROVAL if self._phase is Phase.PENDING_APPROVAL else None
