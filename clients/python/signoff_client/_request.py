"""``request_signoff``: from a Python workflow, start SignoffRequest as a child and wait for the answer."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.workflow import ParentClosePolicy

from signoff_client._models import SignoffRequestInput, SignoffResult

# The workflow type signoff's worker registers: other SDKs start it by this name with a JSON object.
SIGNOFF_REQUEST = "SignoffRequest"
# The task queue signoff's worker listens on unless configured otherwise (SIGNOFF_TASK_QUEUE).
DEFAULT_TASK_QUEUE = "agent-workflows"


async def request_signoff(
    request: SignoffRequestInput, *, id: str, task_queue: str = DEFAULT_TASK_QUEUE, **options: Any
) -> SignoffResult:
    """From a Python workflow: ask a person through signoff and wait for the answer.

    ``id`` is the child workflow's id (pick one that is unique to what is being approved);
    ``options`` go to ``workflow.execute_child_workflow``; ``parent_close_policy`` defaults to
    ``REQUEST_CANCEL`` here (the SDK's own default, ``TERMINATE``, would leave live buttons).
    """
    # Terminating the caller (or its timeout) then cancels the request cleanly: buttons removed.
    options.setdefault("parent_close_policy", ParentClosePolicy.REQUEST_CANCEL)
    result = await workflow.execute_child_workflow(
        SIGNOFF_REQUEST,
        request.model_dump(mode="json", exclude_none=True),
        id=id,
        task_queue=task_queue,
        result_type=dict,
        **options,
    )
    return SignoffResult.model_validate(result)
