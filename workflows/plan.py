"""ApprovalWorkflow: a plan-then-execute agent that waits for a human's go-ahead.

Keeps the article's interface (``run(task)``, signal ``decide(decision_id,
decision)``, query ``pending_decision``) on top of the same approval machinery
as the report workflow.
"""

from __future__ import annotations

from temporalio import workflow

from core.contracts import DecisionKind, Phase, PlanRequest, WorkflowKind
from workflows.approval import GateOutcome
from workflows.human_loop import HumanReviewedWorkflow

with workflow.unsafe.imports_passed_through():
    from workflows import agents

PLAN_APPROVAL = "plan_approval"
PLAN_NOT_APPROVED = "Workflow cancelled: plan not approved"


@workflow.defn
class ApprovalWorkflow(HumanReviewedWorkflow):
    KIND = WorkflowKind.PLAN

    @workflow.run
    async def run(self, request: PlanRequest | str) -> str:
        """Returns the execution report, or the article's sentence when the plan is not approved."""
        if isinstance(request, str):
            request = PlanRequest(task=request)
        return await self.guarded(lambda: self._plan_and_execute(request))

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
                    result = str(
                        await self.run_agent(agents.executor_agent(models), agents.executor_prompt(task, plan))
                    )
                    await self.finish(Phase.COMPLETED, "completed", ":tada: The plan was executed.")
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

    @workflow.signal
    async def decide(self, decision_id: str, decision: str) -> None:
        """The article's signal: ``decide("plan_approval", "approved")``; any other decision declines."""
        if decision_id != PLAN_APPROVAL:
            workflow.logger.warning("Ignoring decision for unknown decision id %r", decision_id)
            return
        if decision == "approved":
            self._operator_decision(DecisionKind.APPROVE)
        else:
            self._operator_decision(DecisionKind.REJECT, decision)

    @workflow.query
    def pending_decision(self) -> str | None:
        return PLAN_APPROVAL if self._phase is Phase.PENDING_APPROVAL else None
