"""signoff's client: any Temporal workflow asks a person in Slack through signoff's ``SignoffRequest``.

The workflow type is ``SignoffRequest`` on signoff's task queue; its input and output are plain
JSON objects, described here as pydantic models (the field names are the wire names). A Python
workflow calls it with ``request_signoff``; a failure's ``ApplicationError.type`` is one of the
error names below. This package depends only on ``temporalio`` and ``pydantic``; signoff's worker
validates requests with these same models.

Any other program asks over signoff's HTTP API with ``SignoffHTTP`` (or ``AsyncSignoffHTTP``), which
needs the ``http`` extra (``pip install 'signoff-client[http]'``); its answers and errors are the
models and exceptions below, the same the server validates and documents with.
"""

from signoff_client._api import (
    IDEMPOTENCY_HEADER,
    IDEMPOTENCY_KEY_PATTERN,
    FieldProblem,
    InvalidSignoffAPIRequest,
    Problem,
    RequestError,
    RequestStatus,
    RequestView,
    SignoffAPIError,
    SignoffAuthError,
    SignoffConflict,
    SignoffRequestNotFound,
    SignoffUnavailable,
)
from signoff_client._errors import CHANNEL_NOT_FOUND, INVALID_REQUEST, NOT_IN_CHANNEL, SLACK_REFUSED
from signoff_client._http import AsyncSignoffHTTP, RetryPolicy, SignoffHTTP, SignoffUnreachable
from signoff_client._models import (
    MAX_APPROVERS,
    MAX_BODY_CHARS,
    MAX_TITLE_CHARS,
    MAX_WAIT,
    MAX_WAIT_SECONDS,
    MIN_WAIT,
    MIN_WAIT_SECONDS,
    DecisionEntry,
    Outcome,
    SignoffRequestInput,
    SignoffResult,
    ThreadLink,
    describe_invalid,
)
from signoff_client._request import DEFAULT_TASK_QUEUE, SIGNOFF_REQUEST, request_signoff

__all__ = [
    "CHANNEL_NOT_FOUND",
    "DEFAULT_TASK_QUEUE",
    "IDEMPOTENCY_HEADER",
    "IDEMPOTENCY_KEY_PATTERN",
    "INVALID_REQUEST",
    "MAX_APPROVERS",
    "MAX_BODY_CHARS",
    "MAX_TITLE_CHARS",
    "MAX_WAIT",
    "MAX_WAIT_SECONDS",
    "MIN_WAIT",
    "MIN_WAIT_SECONDS",
    "NOT_IN_CHANNEL",
    "SIGNOFF_REQUEST",
    "SLACK_REFUSED",
    "AsyncSignoffHTTP",
    "DecisionEntry",
    "FieldProblem",
    "InvalidSignoffAPIRequest",
    "Outcome",
    "Problem",
    "RequestError",
    "RequestStatus",
    "RequestView",
    "RetryPolicy",
    "SignoffAPIError",
    "SignoffAuthError",
    "SignoffConflict",
    "SignoffHTTP",
    "SignoffRequestInput",
    "SignoffRequestNotFound",
    "SignoffResult",
    "SignoffUnavailable",
    "SignoffUnreachable",
    "ThreadLink",
    "describe_invalid",
    "request_signoff",
]
