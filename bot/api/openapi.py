"""The API's OpenAPI 3.1 document, generated from the same pydantic models the handlers validate
and answer with (``bot.api.models``), served at ``/v1/openapi.json``."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema
from signoff_client import IDEMPOTENCY_HEADER

from bot.api.models import CreateRequest, Problem, RequestView
from bot.api.problems import PROBLEM_JSON
from bot.api.routes import MAX_WAIT_SECONDS

API_VERSION = "1.0.0"
_SCHEMAS = "#/components/schemas/{model}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _SCHEMAS.format(model=name)}


def _problems(*statuses: int) -> dict[str, Any]:
    return {str(status): {"$ref": f"#/components/responses/Problem{status}"} for status in statuses}


def _view(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref("RequestView")}}}


_PROBLEM_STATUSES = {
    400: "Malformed JSON or a bad parameter (the field is named).",
    401: "No API key, or not a valid one (nothing was started).",
    403: "The channel is outside this key's channels (nothing was started).",
    404: "No such request for this key.",
    409: "The idempotency key was used for a different request, or the request already ended.",
    413: "The body is larger than the limit.",
    415: "The body is not application/json.",
    422: "The request is invalid: unknown or wrong fields, a bad callback_url, a channel the app cannot post in.",
    429: "Too many requests for this key: see Retry-After.",
    502: "The engine refused the call.",
    503: "The engine is unreachable or the API busy: see Retry-After.",
}


def openapi_document() -> dict[str, Any]:
    _, definitions = models_json_schema(
        [(CreateRequest, "validation"), (RequestView, "serialization"), (Problem, "serialization")],
        ref_template=_SCHEMAS,
    )
    request_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "signoff",
            "version": API_VERSION,
            "description": "Ask a person in Slack for sign-off, and get the decision back (polling or a signed webhook).",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {
            "/v1/requests": {
                "post": {
                    "operationId": "createRequest",
                    "summary": "Ask for sign-off: a thread with the request's buttons is posted in Slack",
                    "parameters": [
                        {
                            "name": IDEMPOTENCY_HEADER,
                            "in": "header",
                            "required": False,
                            "description": "A retry with the same key returns the same request; another body under it is 409.",
                            "schema": {"type": "string", "pattern": r"^[A-Za-z0-9._:~-]{1,255}$"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("CreateRequest")}},
                    },
                    "responses": {
                        "201": _view("The request (pending, its thread once posted); the same one on a retry."),
                        **_problems(400, 401, 403, 409, 413, 415, 422, 429, 502, 503),
                    },
                }
            },
            "/v1/requests/{id}": {
                "get": {
                    "operationId": "getRequest",
                    "summary": "A request, and its result once decided; ?wait=N long-polls until then",
                    "parameters": [
                        request_id,
                        {
                            "name": "wait",
                            "in": "query",
                            "required": False,
                            "description": f"Seconds to wait for a decision (clamped to {MAX_WAIT_SECONDS:g}).",
                            "schema": {"type": "number", "minimum": 0},
                        },
                    ],
                    "responses": {"200": _view("The request."), **_problems(400, 401, 404, 429, 502, 503)},
                }
            },
            "/v1/requests/{id}/cancel": {
                "post": {
                    "operationId": "cancelRequest",
                    "summary": "Cancel a pending request: its buttons are removed and the thread says so",
                    "parameters": [request_id],
                    "responses": {"200": _view("The request, cancelled."), **_problems(401, 404, 409, 429, 502, 503)},
                }
            },
            "/v1/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
                }
            },
        },
        "components": {
            "schemas": definitions["$defs"],
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {
                f"Problem{status}": {
                    "description": description,
                    "content": {PROBLEM_JSON: {"schema": _ref("Problem")}},
                }
                for status, description in _PROBLEM_STATUSES.items()
            },
        },
    }
