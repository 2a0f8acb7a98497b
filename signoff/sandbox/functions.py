"""Workflow Builder custom steps: the app's functions, their runs, and ``functions.completeSuccess`` / ``completeError``.

A run ("the workflow reached the app's step") gets a ``function_execution_id`` (``Fx…``), a workflow
execution id (``Wx…``) and a workflow token (``xwfp-…``) that acts as the bot for that run only, and
only while the run is open and for 15 minutes after it was issued (Slack revokes it when the step
completes or then: bolt-python#1075, bolt-js#2288). The run stays open until the app completes it.

Strict as Slack: completing needs ``function_execution_id`` (and ``outputs`` / ``error``:
``invalid_arguments``); an unknown or already completed execution is ``function_execution_not_found``
(docs.slack.dev/reference/methods/functions.completeError: "when the function has been completed and
cannot be found"); outputs that do not match the function's ``output_parameters`` are
``parameter_validation_failed``; another run's workflow token is ``access_denied``.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from signoff.sandbox.workspace import SlackError, new_id

# The workflow token's life (bolt-python#1075: "expire 15 mins after being issued OR are revoked when
# the step is completed").
FUNCTION_TOKEN_TTL = 15 * 60.0
WORKFLOW_TOKEN_PREFIX = "xwfp-"
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
USER_ID_TYPE = "slack#/types/user_id"
CHANNEL_ID_TYPE = "slack#/types/channel_id"


def _param(kind: str, title: str, *, required: bool = False, items: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": kind, "title": title}
    if items is not None:
        spec["items"] = {"type": items}
    if required:
        spec["is_required"] = True
    return spec


# The app's functions as its manifest declares them (tests/bot/test_manifest_workflow_step.py keeps
# them equal): what a run's inputs and a completion's outputs are checked against.
DEFAULT_FUNCTIONS: dict[str, dict[str, Any]] = {
    "request_signoff": {
        "title": "Request sign-off",
        "input_parameters": {
            "title": _param("string", "Title", required=True),
            "body": _param("string", "Details", required=True),
            "approvers": _param("array", "Approvers", items=USER_ID_TYPE),
            "channel": _param(CHANNEL_ID_TYPE, "Channel"),
            "required_approvals": _param("integer", "Approvals needed"),
            "deadline_hours": _param("number", "Deadline (hours)"),
        },
        "output_parameters": {
            "outcome": _param("string", "Outcome", required=True),
            "decided_by": _param("array", "Decided by", required=True, items=USER_ID_TYPE),
            "notes": _param("string", "Notes"),
            "text": _param("string", "Approved text"),
        },
    }
}

Status = Literal["running", "completed", "failed"]


@dataclass
class FunctionExecution:
    id: str
    workflow_execution_id: str
    callback_id: str
    user: str
    inputs: dict[str, Any]
    token: str
    issued: float
    status: Status = "running"
    outputs: dict[str, Any] | None = None
    error: str | None = None
    completions: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "function_execution_id": self.id,
            "workflow_execution_id": self.workflow_execution_id,
            "callback_id": self.callback_id,
            "user": self.user,
            "inputs": self.inputs,
            "status": self.status,
            "outputs": self.outputs,
            "error": self.error,
        }


def _value_problem(spec: dict[str, Any], value: object) -> str | None:
    kind = spec["type"]
    if kind == "string":
        return None if isinstance(value, str) else "must be a string"
    if kind == "integer":
        return None if isinstance(value, int) and not isinstance(value, bool) else "must be an integer"
    if kind == "number":
        return None if isinstance(value, int | float) and not isinstance(value, bool) else "must be a number"
    if kind == "boolean":
        return None if isinstance(value, bool) else "must be a boolean"
    if kind == USER_ID_TYPE:
        return None if isinstance(value, str) and _USER_ID.match(value) else "must be a user id"
    if kind == CHANNEL_ID_TYPE:
        return None if isinstance(value, str) and _CHANNEL_ID.match(value) else "must be a channel id"
    if kind == "array":
        if not isinstance(value, list):
            return "must be an array"
        items = spec.get("items") or {"type": "string"}
        for item in value:
            if problem := _value_problem(items, item):
                return f"items {problem}"
        return None
    return f"has an unknown type {kind}"


def parameter_problems(params: dict[str, dict[str, Any]], values: object) -> list[str]:
    """Why ``values`` do not fit ``params`` (a function's input or output parameters), or []."""
    if not isinstance(values, dict):
        return ["must be an object"]
    problems = [f"{name}: unknown parameter" for name in values if name not in params]
    for name, spec in params.items():
        if name not in values or values[name] is None:
            if spec.get("is_required"):
                problems.append(f"{name}: is required")
            continue
        if problem := _value_problem(spec, values[name]):
            problems.append(f"{name}: {problem}")
    return problems


class Functions:
    """The app's functions and every run of them (kept in memory: a sandbox restart forgets open runs)."""

    def __init__(
        self,
        definitions: dict[str, dict[str, Any]] | None = None,
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.definitions = definitions if definitions is not None else DEFAULT_FUNCTIONS
        self._now = now
        self.executions: dict[str, FunctionExecution] = {}
        self.listeners: list[Callable[[FunctionExecution], None]] = []

    def start(self, callback_id: str, user: str, inputs: dict[str, Any]) -> FunctionExecution:
        """A workflow reaches the app's step: ``ValueError`` (what Workflow Builder would not let run) or the run."""
        definition = self.definitions.get(callback_id)
        if definition is None:
            raise ValueError(f"the app has no function {callback_id!r}")
        given = {name: value for name, value in inputs.items() if value not in (None, "", [])}
        problems = parameter_problems(definition["input_parameters"], given)
        if problems:
            raise ValueError("; ".join(problems))
        execution = FunctionExecution(
            id=new_id("Fx"),
            workflow_execution_id=new_id("Wx"),
            callback_id=callback_id,
            user=user,
            inputs=given,
            token=WORKFLOW_TOKEN_PREFIX + secrets.token_hex(16),
            issued=self._now(),
        )
        self.executions[execution.id] = execution
        self._changed(execution)
        return execution

    def event(self, execution: FunctionExecution, app_id: str) -> dict[str, Any]:
        """The ``function_executed`` event for a run, as Slack sends it."""
        definition = self.definitions[execution.callback_id]
        return {
            "type": "function_executed",
            "function": {
                "id": "Fn" + execution.callback_id.upper().replace("_", "")[:9],
                "callback_id": execution.callback_id,
                "title": definition["title"],
                "description": definition.get("description", ""),
                "type": "app",
                "input_parameters": _listed(definition["input_parameters"]),
                "output_parameters": _listed(definition["output_parameters"]),
                "app_id": app_id,
                "date_created": int(execution.issued),
                "date_updated": int(execution.issued),
                "date_deleted": 0,
            },
            "inputs": execution.inputs,
            "function_execution_id": execution.id,
            "workflow_execution_id": execution.workflow_execution_id,
            "event_ts": f"{execution.issued:.6f}",
            "bot_access_token": execution.token,
        }

    # -- tokens ------------------------------------------------------------------

    def token_problem(self, token: str) -> str | None:
        """None when ``token`` is an open run's workflow token within its life, else Slack's error."""
        execution = self._by_token(token)
        if execution is None:
            return "invalid_auth"
        if execution.status != "running" or self._now() - execution.issued > FUNCTION_TOKEN_TTL:
            return "token_revoked"
        return None

    def _by_token(self, token: str) -> FunctionExecution | None:
        return next((execution for execution in self.executions.values() if execution.token == token), None)

    # -- the Web API methods ------------------------------------------------------------------

    def complete_success(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        execution = self._open(params, token)
        outputs = params.get("outputs")
        if outputs is None:
            raise SlackError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: outputs"]}
            )
        problems = parameter_problems(self.definitions[execution.callback_id]["output_parameters"], outputs)
        if problems:
            raise SlackError(
                "parameter_validation_failed", errors=[{"code": "invalid_output", "message": p} for p in problems]
            )
        assert isinstance(outputs, dict)
        execution.status, execution.outputs = "completed", outputs
        execution.completions.append("functions.completeSuccess")
        self._changed(execution)
        return {}

    def complete_error(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        execution = self._open(params, token)
        error = params.get("error")
        if not isinstance(error, str) or not error:
            raise SlackError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: error"]}
            )
        execution.status, execution.error = "failed", error
        execution.completions.append("functions.completeError")
        self._changed(execution)
        return {}

    def _open(self, params: dict[str, Any], token: str) -> FunctionExecution:
        execution_id = params.get("function_execution_id")
        if not isinstance(execution_id, str) or not execution_id:
            raise SlackError(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] missing required field: function_execution_id"]},
            )
        execution = self.executions.get(execution_id)
        if execution is None or execution.status != "running":
            raise SlackError("function_execution_not_found")
        caller = self._by_token(token)
        if caller is not None and caller is not execution:
            raise SlackError("access_denied")
        return execution

    def _changed(self, execution: FunctionExecution) -> None:
        for listener in list(self.listeners):
            listener(execution)


def _listed(params: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": name, "description": spec.get("description", ""), **spec} for name, spec in params.items()]
