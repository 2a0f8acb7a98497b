"""Deterministic workflow code: the report and plan workflows and what they share.

Nothing here does I/O or imports the bot or the worker side; activities are called by
the names in ``signoff.contracts.activity_io``.
"""

from workflows.plan import ApprovalWorkflow
from workflows.report import ReportGenerationWorkflow
from workflows.signoff_request import SignoffRequestWorkflow

__all__ = ["ApprovalWorkflow", "ReportGenerationWorkflow", "SignoffRequestWorkflow"]
