"""A request made through the HTTP API with a callback_url: when it ends (a click in the sandbox, or a
cancel), the workflow POSTs the result there, signed with the key's secret, the same object GET
answers; a target that is not allowed is refused before anything starts. The key's name is in the
request's audit record."""

from __future__ import annotations

import json
import uuid

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # no stubs; mcp brings it
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from tests.bot.test_http_api import DEPLOY
from tests.support.api import CI_KEY, ApiStack
from tests.support.slack import APPROVER_1, CHANNEL, draft_messages
from tests.support.webhooks import receiver, verify
from workflows import SignoffRequestWorkflow


async def test_the_result_is_posted_signed_when_decided(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    with time_env.auto_time_skipping_disabled():
        async with receiver() as hook, api(webhook_allow_private=True) as (caller, bot):
            created = await caller.create({**DEPLOY, "callback_url": hook.base + "/hook"})
            assert created.status == 201, created.body
            thread_ts = created.body["thread"]["ts"]
            [draft] = await slack.wait_for(lambda: draft_messages(slack, thread_ts) or None)
            await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)
            await slack.wait_for(lambda: hook.received or None, timeout=30)
            read = await caller.read(created.body["id"], wait=30)
            audit = await bot.deps.gateway.audit(created.body["id"])
    [(path, headers, body)] = hook.received
    assert path == "/hook"
    assert verify(CI_KEY.secret, headers["Signoff-Timestamp"], headers["Signoff-Signature"], body)
    event = json.loads(body)
    # The webhook's body is the request as GET shows it (without the error field).
    schema = caller.document["components"]["schemas"]["RequestView"]
    Draft202012Validator({**schema, "components": caller.document["components"]}).validate(event)
    assert event["status"] == "approved" and event["result"]["decided_by"] == [APPROVER_1]
    assert event == {key: value for key, value in read.body.items() if key != "error"}
    assert audit.progress.api_key == "ci"


async def test_a_cancelled_request_is_posted_as_cancelled(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    async with receiver() as hook, api(webhook_allow_private=True) as (caller, _):
        created = await caller.create({**DEPLOY, "callback_url": hook.base + "/hook"})
        await caller.cancel(created.body["id"])
        await slack.wait_for(lambda: hook.received or None, timeout=30)
    [(_, headers, body)] = hook.received
    assert verify(CI_KEY.secret, headers["Signoff-Timestamp"], headers["Signoff-Signature"], body)
    assert json.loads(body)["status"] == "cancelled"


async def test_a_target_not_allowed_is_refused_before_anything_starts(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    async with receiver() as hook, api() as (caller, _):
        port = hook.base.rsplit(":", 1)[1]
        answers = [
            await caller.create({**DEPLOY, "callback_url": url})
            for url in (
                hook.base + "/hook",  # loopback, not allowed by default
                f"https://localhost:{port}/hook",  # a name resolving to 127.0.0.1
                "https://10.0.0.1/hook",
                "https://169.254.169.254/latest/meta-data",
                "https://user:pw@hooks.example.com/",
                "ftp://hooks.example.com/",
            )
        ]
    for answer in answers:
        assert answer.status == 422 and answer.body["field"] == "callback_url", answer.body
    assert slack.messages(CHANNEL) == []
    assert hook.received == []


async def test_decided_while_its_webhook_is_still_retried(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    with time_env.auto_time_skipping_disabled():
        async with receiver(status=503) as hook, api(webhook_allow_private=True) as (caller, _):
            created = await caller.create({**DEPLOY, "callback_url": hook.base + "/hook"})
            thread_ts = created.body["thread"]["ts"]
            [draft] = await slack.wait_for(lambda: draft_messages(slack, thread_ts) or None)
            await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)
            # The receiver refuses: the webhook is tried again (each attempt signed afresh).
            await slack.wait_for(lambda: len(hook.received) >= 2 or None, timeout=30)
            read = await caller.read(created.body["id"], wait=1)
            cancel = await caller.cancel(created.body["id"])
    # Decided is decided, however long the webhook takes: the result reads, and it cannot be cancelled.
    assert read.body["status"] == "approved" and read.body["result"]["decided_by"] == [APPROVER_1]
    assert cancel.status == 409
    for _, headers, body in hook.received[:2]:
        assert verify(CI_KEY.secret, headers["Signoff-Timestamp"], headers["Signoff-Signature"], body)


# Started the way the API starts it, straight on Temporal (the trust boundary allows it): the one way
# to have the thread's post refused after the API's checks, as when the app is removed from a channel.
@pytest.mark.parametrize("api_engine", ["temporal"])
async def test_a_request_that_fails_posts_failed_with_the_error(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    request = {**DEPLOY, "channel": "C0WATERCO", "api_key": CI_KEY.name, "callback_url": ""}
    with time_env.auto_time_skipping_disabled():
        async with receiver() as hook, api(webhook_allow_private=True) as (_, bot):
            request["callback_url"] = hook.base + "/hook"
            handle = await bot.client.start_workflow(
                SignoffRequestWorkflow.run, request, id=f"api-{uuid.uuid4()}", task_queue=bot.deps.settings.task_queue
            )
            await slack.wait_for(lambda: hook.received or None, timeout=30)
            # The webhook goes first; then the request fails as before.
            with pytest.raises(WorkflowFailureError):
                await handle.result()
    [(_, headers, body)] = hook.received
    assert verify(CI_KEY.secret, headers["Signoff-Timestamp"], headers["Signoff-Signature"], body)
    event = json.loads(body)
    assert event["status"] == "failed" and event["result"] is None and event["thread"] is None
    assert "not_in_channel" in json.dumps(event["error"]), event
