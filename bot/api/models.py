"""The HTTP API's JSON, as pydantic models: what it validates, what it answers, and what its OpenAPI
document (``bot.api.openapi``) is generated from. The request is ``SignoffRequest``'s own input
(``signoff_client.SignoffRequestInput``: same fields, limits and errors), with an ``id`` and a
``callback_url``; a decided request carries the same ``SignoffResult`` the workflow returns. The
answers (``RequestView``, ``Problem``) are ``signoff_client``'s, which ``SignoffHTTP`` parses them with."""

from __future__ import annotations

from pydantic import Field

# What the API answers lives in the client package (callers type with the same models), re-exported here.
from signoff_client import (
    IDEMPOTENCY_KEY_PATTERN,
    FieldProblem,
    Problem,
    RequestError,
    RequestView,
    SignoffRequestInput,
)

from signoff.contracts.api import CallbackUrl


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


__all__ = ["IDEMPOTENCY_KEY_PATTERN", "CreateRequest", "FieldProblem", "Problem", "RequestError", "RequestView"]
