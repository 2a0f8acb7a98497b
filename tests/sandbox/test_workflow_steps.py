"""The sandbox's Workflow Builder step as strict as Slack: a run delivers ``function_executed`` with its
inputs and a workflow token, and ``functions.completeSuccess`` / ``completeError`` refuse what Slack refuses
with Slack's error names (docs.slack.dev/reference/methods/functions.completeSuccess, .completeError)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from signoff.sandbox import SlackSandbox
from signoff.sandbox.functions import FUNCTION_TOKEN_TTL
from tests.support.slack import APPROVER_1, CHANNEL, REQUESTER, web_client
from tests.support.web import RecordingApp

INPUTS = {"title": "Ship it", "body": "Release notes", "approvers": [APPROVER_1], "channel": CHANNEL}
OUTPUTS = {"outcome": "approved", "decided_by": [APPROVER_1], "notes": "", "text": "Release notes"}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def slack(clock: Clock) -> AsyncIterator[SlackSandbox]:
    """The sandbox on a clock of the test's (conftest's ``app`` is delivered to from it)."""
    async with SlackSandbox(wall_clock=clock) as sandbox:
        yield sandbox


async def _error(call: object) -> str:
    with pytest.raises(SlackApiError) as raised:
        await call  # type: ignore[misc]
    return str(raised.value.response["error"])


async def test_a_run_delivers_function_executed_with_its_inputs_and_a_workflow_token(
    slack: SlackSandbox, app: RecordingApp
) -> None:
    execution, delivered = await slack.run_workflow_step(REQUESTER, INPUTS)
    assert delivered is not None and delivered.acked
    [body] = app.received
    assert body["type"] == "event_callback"
    event = body["event"]
    assert event["type"] == "function_executed"
    assert event["function"]["callback_id"] == "request_signoff"
    assert event["inputs"] == INPUTS
    assert event["function_execution_id"] == execution.id and execution.id.startswith("Fx")
    assert event["workflow_execution_id"].startswith("Wx")
    assert event["bot_access_token"].startswith("xwfp-")
    assert execution.status == "running"


async def test_inputs_workflow_builder_would_not_pass_are_refused_before_any_run(slack: SlackSandbox) -> None:
    for inputs in ({"body": "no title"}, {**INPUTS, "approvers": ["not-a-user"]}, {**INPUTS, "extra": 1}):
        with pytest.raises(ValueError):
            await slack.run_workflow_step(REQUESTER, inputs)
    assert slack.functions.executions == {}


async def test_complete_success_ends_the_run_once(slack: SlackSandbox, app: RecordingApp) -> None:
    execution, _ = await slack.run_workflow_step(REQUESTER, INPUTS)
    client = web_client(slack)
    await client.functions_completeSuccess(function_execution_id=execution.id, outputs=OUTPUTS)
    assert (execution.status, execution.outputs) == ("completed", OUTPUTS)
    # Completed, Slack no longer finds it: a second completion of either kind is refused.
    again = client.functions_completeSuccess(function_execution_id=execution.id, outputs=OUTPUTS)
    assert await _error(again) == "function_execution_not_found"
    failed = client.functions_completeError(function_execution_id=execution.id, error="late")
    assert await _error(failed) == "function_execution_not_found"
    assert execution.completions == ["functions.completeSuccess"]


async def test_complete_error_ends_the_run_with_its_message(slack: SlackSandbox, app: RecordingApp) -> None:
    execution, _ = await slack.run_workflow_step(REQUESTER, INPUTS)
    await web_client(slack).functions_completeError(function_execution_id=execution.id, error="Nobody decided")
    assert (execution.status, execution.error) == ("failed", "Nobody decided")


async def test_completion_refusals(slack: SlackSandbox, app: RecordingApp) -> None:
    execution, _ = await slack.run_workflow_step(REQUESTER, INPUTS)
    client = web_client(slack)
    unknown = client.functions_completeSuccess(function_execution_id="Fx0UNKNOWN00", outputs=OUTPUTS)
    assert await _error(unknown) == "function_execution_not_found"
    missing_id = client.api_call("functions.completeSuccess", json={"outputs": OUTPUTS})
    assert await _error(missing_id) == "invalid_arguments"
    missing_error = client.api_call("functions.completeError", json={"function_execution_id": execution.id})
    assert await _error(missing_error) == "invalid_arguments"
    for outputs in (
        {"outcome": "approved"},  # decided_by is required
        {**OUTPUTS, "decided_by": "U0APPROV1"},  # an array of users
        {**OUTPUTS, "undeclared": "x"},
    ):
        wrong = client.functions_completeSuccess(function_execution_id=execution.id, outputs=outputs)
        assert await _error(wrong) == "parameter_validation_failed"
    assert execution.status == "running" and execution.completions == []


async def test_the_workflow_token_acts_for_its_own_run_only_and_not_for_long(
    slack: SlackSandbox, app: RecordingApp, clock: Clock
) -> None:
    first, _ = await slack.run_workflow_step(REQUESTER, INPUTS)
    second, _ = await slack.run_workflow_step(REQUESTER, INPUTS)
    as_first = AsyncWebClient(token=first.token, base_url=slack.api_url)
    other = as_first.functions_completeError(function_execution_id=second.id, error="not mine")
    assert await _error(other) == "access_denied"
    # It posts as the bot while its run is open.
    await as_first.chat_postMessage(channel=CHANNEL, text="working on it")
    clock.now += FUNCTION_TOKEN_TTL + 1
    late = as_first.functions_completeError(function_execution_id=first.id, error="too late")
    assert await _error(late) == "token_revoked"
    # The bot token still completes it: what the worker uses, however long the request took.
    await web_client(slack).functions_completeError(function_execution_id=first.id, error="Expired")
    assert first.status == "failed"
    # Once its run ended, a fresh token is revoked too.
    third, _ = await slack.run_workflow_step(REQUESTER, INPUTS)
    as_third = AsyncWebClient(token=third.token, base_url=slack.api_url)
    await as_third.functions_completeSuccess(function_execution_id=third.id, outputs=OUTPUTS)
    assert await _error(as_third.chat_postMessage(channel=CHANNEL, text="after")) == "token_revoked"
