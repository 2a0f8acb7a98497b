"""The HTTP API's JSON as pydantic models: what ``GET /v1/requests/{id}`` answers (``RequestView``), its
errors (``Problem``, RFC 9457), and the errors ``SignoffHTTP`` raises for them.

signoff's bot serves and documents (OpenAPI) the API with these same models, so a caller and the
server cannot disagree on a field.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from signoff_client._models import SignoffResult, ThreadLink

# A request's state as the API shows it: pending until it ends, then how it ended.
RequestStatus = Literal["pending", "approved", "rejected", "revision_requested", "expired", "cancelled", "failed"]
# An idempotency key (the Idempotency-Key header, or the body's id): printable, no spaces, bounded.
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9._:~-]{1,255}$"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class RequestError(BaseModel):
    """Why a request failed: an error type of ``signoff_client`` (``InvalidSignoffRequest``,
    ``SlackNotInChannel``, …) and its message."""

    type: str
    message: str


class RequestView(BaseModel):
    """A request as the API shows it, and the body of its webhook (without ``error``)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    status: RequestStatus
    # The Slack thread (null until it is posted, or if it never was).
    thread: ThreadLink | None
    # Once decided: the same object the workflow returns.
    result: SignoffResult | None = None
    error: RequestError | None = None


class FieldProblem(BaseModel):
    field: str
    detail: str


class Problem(BaseModel):
    """An error (RFC 9457, ``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    # The (first) field at fault, as a dotted path into the body ("approvers.0"), or a parameter.
    field: str | None = None
    errors: list[FieldProblem] = Field(default_factory=list)


class SignoffAPIError(Exception):
    """The API refused a call: its problem document (``status``, ``title``, ``detail``, ``field``).
    Nothing was started or changed by the call that raised it."""

    def __init__(self, problem: Problem, retry_after: float | None = None) -> None:
        super().__init__(f"{problem.status} {problem.title}: {problem.detail}")
        self.problem = problem
        # Seconds the server asked to wait before trying again (429, 503), if it said.
        self.retry_after = retry_after

    @property
    def status(self) -> int:
        return self.problem.status

    @property
    def title(self) -> str:
        return self.problem.title

    @property
    def detail(self) -> str:
        return self.problem.detail

    @property
    def field(self) -> str | None:
        return self.problem.field

    @property
    def type(self) -> str:
        return self.problem.type


class InvalidSignoffAPIRequest(SignoffAPIError):
    """400, 413, 415, 422: the request itself is wrong (``field`` names what); retrying will not help."""


class SignoffAuthError(SignoffAPIError):
    """401 (no key, a wrong key) or 403 (a channel outside the key's)."""


class SignoffRequestNotFound(SignoffAPIError):
    """404: no such request for this key."""


class SignoffConflict(SignoffAPIError):
    """409: the idempotency key was used for another body, or the request already ended."""


class SignoffUnavailable(SignoffAPIError):
    """429 or 5xx still answered after every retry: the server is busy or its engine is down."""


_BY_STATUS: dict[int, type[SignoffAPIError]] = {
    400: InvalidSignoffAPIRequest,
    413: InvalidSignoffAPIRequest,
    415: InvalidSignoffAPIRequest,
    422: InvalidSignoffAPIRequest,
    401: SignoffAuthError,
    403: SignoffAuthError,
    404: SignoffRequestNotFound,
    409: SignoffConflict,
}


def api_error(problem: Problem, retry_after: float | None = None) -> SignoffAPIError:
    """The exception for ``problem``: by its status (429 and 5xx: ``SignoffUnavailable``)."""
    kind = _BY_STATUS.get(problem.status)
    if kind is None:
        kind = SignoffUnavailable if problem.status == 429 or problem.status >= 500 else SignoffAPIError
    return kind(problem, retry_after)
