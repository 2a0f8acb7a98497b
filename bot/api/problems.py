"""Errors as RFC 9457 problem documents (``application/problem+json``), naming the field at fault.

A handler raises ``ProblemError``; ``problem_middleware`` answers it. The document is
``Problem`` (``bot.api.models``): ``type``, ``title``, ``status``, ``detail``, and, where a field is
at fault, ``field`` (the first) and ``errors`` (every one, each with its own detail).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus

from aiohttp import web
from aiohttp.typedefs import Middleware
from pydantic import ValidationError

from bot.api.models import FieldProblem, Problem

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
# The problem types' base: each type is documented under its own name there.
TYPE_BASE = "https://signoff.dev/problems/"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ProblemError(Exception):
    """A request refused: its status, a short type name, the detail, the fields at fault, extra headers."""

    def __init__(
        self,
        status: int,
        kind: str,
        detail: str,
        *,
        errors: list[FieldProblem] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.errors = errors or []
        self.headers = dict(headers or {})

    @classmethod
    def for_field(cls, status: int, kind: str, field: str, detail: str) -> ProblemError:
        return cls(status, kind, f"{field}: {detail}", errors=[FieldProblem(field=field, detail=detail)])

    def document(self) -> Problem:
        return Problem(
            type=TYPE_BASE + self.kind,
            title=HTTPStatus(self.status).phrase,
            status=self.status,
            detail=self.detail,
            field=self.errors[0].field if self.errors else None,
            errors=self.errors,
        )

    def response(self) -> web.Response:
        return web.Response(
            status=self.status,
            text=self.document().model_dump_json(exclude_none=True),
            content_type=PROBLEM_JSON,
            headers=self.headers,
        )


def invalid_body(err: ValidationError) -> ProblemError:
    """A body the models refused: 422, each field named (``title``, ``approvers.0``; ``body`` for the whole)."""
    errors = []
    for error in err.errors():
        field = ".".join(str(part) for part in error["loc"]) or "body"
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        errors.append(FieldProblem(field=field, detail=message))
    detail = "; ".join(f"{problem.field}: {problem.detail}" for problem in errors)
    return ProblemError(422, "invalid-request", detail, errors=errors)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every refusal of the API as a problem document, aiohttp's own (404, 405) included."""
    try:
        return await handler(request)
    except ProblemError as err:
        return err.response()
    except web.HTTPException as err:
        if err.status < 400:
            raise
        kind = "not-found" if err.status == 404 else "method-not-allowed" if err.status == 405 else "http-error"
        headers = {"Allow": err.headers["Allow"]} if "Allow" in err.headers else None
        return ProblemError(err.status, kind, err.reason, headers=headers).response()


def refusing_while(draining: Callable[[], bool]) -> Middleware:
    """A middleware answering 503 (``Retry-After``) while the bot drains: a caller retries elsewhere."""

    @web.middleware
    async def refuse(request: web.Request, handler: Handler) -> web.StreamResponse:
        if draining():
            raise ProblemError(
                503, "shutting-down", "this bot is shutting down; try again", headers={"Retry-After": "1"}
            )
        return await handler(request)

    return refuse
