"""The page's Workflow Builder: start a "workflow" whose step is one of the app's functions, and watch
each run until the app completes it (its outputs) or fails it (its error), as Slack shows a workflow run.

``/workflows`` is the page; ``/ui/api/workflows`` lists the runs (GET) and starts one (POST, JSON, from
this sandbox's own page only, like every action of the page).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Protocol

from aiohttp import web

from signoff.sandbox.delivery import DeliveryResult
from signoff.sandbox.directory import Directory
from signoff.sandbox.functions import FunctionExecution, Functions
from signoff.sandbox.web import STATIC, bad_request, file_response, json_body


class WorkflowSandbox(Protocol):
    directory: Directory
    functions: Functions

    def run_workflow_step(
        self, user_id: str, inputs: dict[str, Any], callback_id: str = ...
    ) -> Awaitable[tuple[FunctionExecution, DeliveryResult | None]]: ...


def typed_inputs(form: dict[str, Any], params: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The page's form (text fields) as a step's typed inputs: whole numbers and numbers parsed, a list kept;
    what does not parse is passed on as typed, for the function's own check to refuse."""
    inputs: dict[str, Any] = {}
    for name, value in form.items():
        if name not in params or value in (None, "", []):
            inputs[name] = value
            continue
        kind = params[name]["type"]
        if kind in ("integer", "number") and isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                inputs[name] = value
                continue
            inputs[name] = int(number) if kind == "integer" and number.is_integer() else number
        else:
            inputs[name] = value
    return inputs


class WorkflowRunsUI:
    def __init__(self, sandbox: WorkflowSandbox) -> None:
        self.sandbox = sandbox

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/workflows", self.page),
            web.get("/ui/api/workflows", self.runs),
            web.post("/ui/api/workflows", self.start),
        ]

    async def page(self, request: web.Request) -> web.Response:
        return file_response(STATIC / "workflows.html")

    async def runs(self, request: web.Request) -> web.Response:
        functions = self.sandbox.functions
        return web.json_response(
            {
                "functions": {
                    callback_id: {"title": spec["title"], "input_parameters": spec["input_parameters"]}
                    for callback_id, spec in functions.definitions.items()
                },
                "runs": [execution.to_json() for execution in reversed(list(functions.executions.values()))],
            }
        )

    async def start(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        user = str(body.get("user") or "")
        if user not in self.sandbox.directory.users:
            raise bad_request(f"no such user: {user[:40]}")
        callback_id = str(body.get("callback_id") or "request_signoff")
        definition = self.sandbox.functions.definitions.get(callback_id)
        if definition is None:
            raise bad_request(f"the app has no function {callback_id[:40]}")
        form = body.get("inputs")
        if not isinstance(form, dict):
            raise bad_request("inputs must be an object")
        try:
            execution, delivered = await self.sandbox.run_workflow_step(
                user, typed_inputs(form, definition["input_parameters"]), callback_id
            )
        except ValueError as err:
            raise bad_request(str(err)) from None
        return web.json_response(
            {
                "ok": True,
                "run": execution.to_json(),
                "delivered": bool(delivered and delivered.acked),
            }
        )
