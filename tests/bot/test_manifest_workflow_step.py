"""Both manifests declare the "Request sign-off" Workflow Builder step as the listener and the workflow use it:
its callback id, its inputs (as bot/listeners/functions.py reads them) and its outputs (as
SignoffRequestWorkflow completes the step), and what Slack requires of an app with custom steps."""

from __future__ import annotations

from typing import Any

from signoff.contracts.workflow_step import REQUEST_SIGNOFF_FUNCTION
from tests.bot.test_manifest import HTTP_MANIFEST, MANIFEST, registered
from workflows.signoff_request import step_outputs

USER_IDS = {"type": "array", "items": {"type": "slack#/types/user_id"}}


def _step(manifest: dict[str, Any]) -> dict[str, Any]:
    return manifest["functions"][REQUEST_SIGNOFF_FUNCTION]


def test_the_step_is_declared_as_the_listener_listens() -> None:
    assert set(MANIFEST["functions"]) == set(registered()["function"]) == {REQUEST_SIGNOFF_FUNCTION}
    assert HTTP_MANIFEST["functions"] == MANIFEST["functions"]


def test_the_steps_inputs_and_outputs() -> None:
    for manifest in (MANIFEST, HTTP_MANIFEST):
        step = _step(manifest)
        assert step["title"] and step["description"]
        inputs = step["input_parameters"]
        assert list(inputs) == ["title", "body", "approvers", "channel", "required_approvals", "deadline_hours"]
        assert {key: value for key, value in inputs["approvers"].items() if key in ("type", "items")} == USER_IDS
        assert inputs["channel"]["type"] == "slack#/types/channel_id"
        assert inputs["required_approvals"]["type"] == "integer"
        assert inputs["deadline_hours"]["type"] == "number"
        assert [name for name, spec in inputs.items() if spec.get("is_required")] == ["title", "body"]
        outputs = step["output_parameters"]
        assert list(outputs) == ["outcome", "decided_by", "notes", "text"]
        assert {key: value for key, value in outputs["decided_by"].items() if key in ("type", "items")} == USER_IDS
        for spec in (*inputs.values(), *outputs.values()):
            assert spec["title"] and spec["description"]


def test_the_workflow_completes_with_exactly_the_declared_outputs() -> None:
    answer = {"outcome": "approved", "decided_by": ["U1"], "notes": "", "text": "ok", "edited": False}
    assert list(step_outputs(answer)) == list(MANIFEST["functions"][REQUEST_SIGNOFF_FUNCTION]["output_parameters"])


def test_an_app_with_custom_steps_is_org_ready_and_hears_function_executed() -> None:
    for manifest in (MANIFEST, HTTP_MANIFEST):
        settings = manifest["settings"]
        assert settings["org_deploy_enabled"] is True
        assert settings["function_runtime"] == "remote"
        assert "function_executed" in settings["event_subscriptions"]["bot_events"]
