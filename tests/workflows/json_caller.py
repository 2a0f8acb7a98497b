"""A caller written only against SignoffRequest's JSON interface: it imports nothing from signoff.

What a team's own workflow (in any SDK) does: start the child by name with a plain object and
read a plain object back. Used by test_signoff_request.py.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError


@workflow.defn(name="JsonCaller")
class JsonCaller:
    @workflow.run
    async def run(self, call: dict[str, Any]) -> dict[str, Any]:
        try:
            return await workflow.execute_child_workflow(
                "SignoffRequest",
                call["request"],
                id=call["child_id"],
                task_queue=call["task_queue"],
                result_type=dict,
            )
        except ChildWorkflowError as err:
            cause = err.cause
            return {
                "error": getattr(cause, "message", str(cause)),
                "type": getattr(cause, "type", None),
                "non_retryable": getattr(cause, "non_retryable", None),
            }
