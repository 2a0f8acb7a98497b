"""Durable workflows, their activities, agents and worker.

The workflow classes are loaded on first access so that light modules
(``workflows.models``, ``workflows.mrkdwn``) can be imported by the bot's Block
Kit builders without pulling in the workflows, which import those builders.
"""

from typing import TYPE_CHECKING

__all__ = ["ApprovalWorkflow", "ReportGenerationWorkflow"]

if TYPE_CHECKING:
    from workflows.plan import ApprovalWorkflow
    from workflows.report import ReportGenerationWorkflow


def __getattr__(name: str) -> object:
    if name == "ReportGenerationWorkflow":
        from workflows.report import ReportGenerationWorkflow

        return ReportGenerationWorkflow
    if name == "ApprovalWorkflow":
        from workflows.plan import ApprovalWorkflow

        return ApprovalWorkflow
    raise AttributeError(f"module 'workflows' has no attribute {name!r}")
