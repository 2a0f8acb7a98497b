"""ReportGenerationWorkflow: research → write → AI review loop → a human's decision.

Keeps the article's interface (``run(topic)``, signals ``approve`` and
``request_revision``, query ``get_status``) and adds validated decision updates,
human revisions that reach the writer, quorum, reminders and a deadline.
"""

from __future__ import annotations

from temporalio import workflow

from signoff.contracts.mrkdwn import escape, truncate
from signoff.contracts.workflow_io import DecisionKind, Phase, ReportRequest, ReviewRound, WorkflowKind
from workflows.approval import GateOutcome
from workflows.human_loop import HumanReviewedWorkflow
from workflows.progress import DraftProgress
from workflows.runtime import durable

with workflow.unsafe.imports_passed_through():
    from workflows import agents
    from workflows.agents import ReviewVerdict


@workflow.defn
class ReportGenerationWorkflow(HumanReviewedWorkflow):
    KIND = WorkflowKind.REPORT

    def __init__(self) -> None:
        super().__init__()
        self._progress: DraftProgress | None = None

    @workflow.run
    async def run(self, request: ReportRequest | str) -> str:
        """Returns the approved report, or a sentence saying how it ended otherwise."""
        if isinstance(request, str):
            request = ReportRequest(topic=request)
        return await self.guarded(
            lambda: self._produce(request), lambda why: f"Report stopped at its token budget: {why}"
        )

    async def _produce(self, request: ReportRequest) -> str:
        await self.begin(request.topic, request.origin, request.settings)
        topic = request.topic
        models = self._settings.models
        progress = self._progress = DraftProgress(self.thread, self.requester_id, self.team_id)

        await self.set_phase(Phase.RESEARCHING)
        await progress.step("research", "Researching the topic", ":mag: Researching the topic…")
        research = str(await self.run_agent(agents.research_agent(models), agents.research_prompt(topic)))

        await self.set_phase(Phase.WRITING)
        await progress.step("write", "Writing the first draft", ":writing_hand: Writing the first draft…")
        draft = str(await self.run_agent(agents.writer_agent(models), agents.writer_prompt(topic, research)))
        draft = await self._ai_review(topic, research, draft)

        while True:
            decision = await self.ask_human(draft)
            match decision.outcome:
                case GateOutcome.APPROVED:
                    await self.finish(
                        Phase.APPROVED,
                        "approved",
                        f":tada: Revision {decision.revision} is approved. The report is final.",
                    )
                    # The approver's edit, when they edited before approving.
                    return self.approved_text
                case GateOutcome.REVISION_REQUESTED:
                    await self.set_phase(Phase.REVISING)
                    await progress.step(
                        "revise",
                        f"Rewriting revision {decision.revision} with the notes",
                        f":writing_hand: Rewriting revision {decision.revision} with the notes…",
                    )
                    draft = str(
                        await self.run_agent(
                            agents.writer_agent(models),
                            agents.writer_prompt(topic, research, previous_draft=draft, human_notes=decision.notes),
                        )
                    )
                    draft = await self._ai_review(topic, research, draft)
                case GateOutcome.REJECTED:
                    reason = f": {decision.notes}" if decision.notes else ""
                    await self.finish(Phase.REJECTED, "rejected", ":no_entry: The report was rejected.")
                    return f"Report rejected{reason}"
                case GateOutcome.EXPIRED:
                    await self.finish(
                        Phase.EXPIRED,
                        "expired",
                        ":hourglass: No decision before the deadline: this report has expired.",
                    )
                    return "Report expired: no decision before the deadline"

    async def _ai_review(self, topic: str, research: str, draft: str) -> str:
        """The AI reviewer loop: at most ``max_review_rounds`` verdicts, rewriting after each 'no'."""
        models = self._settings.models
        rounds = self._settings.max_review_rounds
        progress = self.steps_shown
        for round_number in range(1, rounds + 1):
            await self.set_phase(Phase.REVIEWING)
            if round_number == 1:
                # Later rounds show as one task with the rewrite before them: a call fewer to Slack each.
                await progress.step("review-1", "AI review round 1")
            verdict = await self.run_agent(agents.reviewer_agent(models), agents.reviewer_prompt(topic, draft))
            assert isinstance(verdict, ReviewVerdict)
            self._review_rounds.append(
                ReviewRound(
                    revision=self._revision + 1,
                    round=round_number,
                    approved=verdict.approved,
                    feedback=verdict.feedback,
                )
            )
            if verdict.approved:
                await progress.result(
                    f"AI review round {round_number}: ready for a human",
                    f":white_check_mark: AI review round {round_number}: ready for a human.",
                )
                return draft
            feedback = escape(truncate(verdict.feedback, 1000))
            await progress.result(
                f"AI review round {round_number}: changes needed",
                f":mag_right: AI review round {round_number}: changes needed: " + feedback,
                finding=f":mag_right: AI review round {round_number} asked for changes: " + feedback,
            )
            if round_number == rounds:
                await progress.finding(
                    f":warning: The AI reviewer still has concerns after {rounds} rounds; "
                    "the draft goes to a human with them noted above."
                )
                return draft
            await self.set_phase(Phase.WRITING)
            await progress.step(
                f"review-{round_number + 1}", f"Rewriting with the feedback, then AI review round {round_number + 1}"
            )
            draft = str(
                await self.run_agent(
                    agents.writer_agent(models),
                    agents.writer_prompt(topic, research, previous_draft=draft, reviewer_feedback=verdict.feedback),
                )
            )
        return draft

    @property
    def steps_shown(self) -> DraftProgress:
        """How the agent steps show in the thread (``progress`` is the status query)."""
        assert self._progress is not None
        return self._progress

    async def announce_draft(self, text: str) -> None:
        # The draft is posted: its streamed progress ends here, with who decides.
        await self.steps_shown.finish(text)

    async def end_progress(self, why: str) -> None:
        if self._progress is not None:
            await self._progress.abort(why)

    # The article's signals, kept for the Temporal CLI and old clients.

    @workflow.signal
    async def approve(self) -> None:
        """Approve the current (or next) draft as a trusted operator."""
        self._operator_decision(DecisionKind.APPROVE)

    @workflow.signal
    async def request_revision(self, notes: str) -> None:
        """Send the current (or next) draft back to the writer with ``notes``."""
        if not notes.strip():
            durable().logger.warning("Ignoring request_revision signal with empty notes")
            return
        self._operator_decision(DecisionKind.REQUEST_REVISION, notes)
