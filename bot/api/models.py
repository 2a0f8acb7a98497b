"""The HTTP API's JSON, as pydantic models: what it validates, what it answers, and what its OpenAPI
document (``bot.api.openapi``) is generated from. The request is ``SignoffRequest``'s own input
(``signoff_client.SignoffRequestInput``: same fields, limits and errors), with an ``id`` and a
``callback_url``; a decided request carries the same ``SignoffResult`` the workflow returns."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from signoff_client import SignoffRequestInput, SignoffResult, ThreadLink

from signoff.contracts.api import CallbackUrl, RequestStatus

# An idempotency key (the Idempotency-Key header, or the body's id): printable, no spaces, bounded.
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9._:~-]{1,255}$"


class CreateRequest(SignoffRequestInput):
    """``POST /v1/requests``: a sign-off request. Unknown fields are refused."""

    # The caller's own id for this request: a retry with the same id is the same request (like the
    # Idempotency-Key header; give one or the other, or both the same).
    id: str | None = Field(default=None, pattern=IDEMPOTENCY_KEY_PATTERN)
    # Where the result is POSTed, signed, once the request ends: https:// (http://localhost in dev).
    callback_url: CallbackUrl | None = None

    def signoff_request(self) -> SignoffRequestInput:
        """The request as ``SignoffRequest`` takes it (without the API's own fields)."""
        return SignoffRequestInput.model_validate(self.model_dump(exclude={"id", "callback_url"}))


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
