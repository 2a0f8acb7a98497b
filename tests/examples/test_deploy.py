"""examples/deploy: the deploy example end to end, on the time-skipping server (one test: the dev
server) with signoff's real worker, the bot and the Slack sandbox; the approvers click in Slack as
they would.

The example's worker connects with Temporal's default data converter: nothing of signoff's but
``signoff_client`` is needed to call it (test_client_only.py installs only that).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import CancelledError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from examples.deploy.activities import DeployActivities
from examples.deploy.shared import DeployRequest, DeployResult
from examples.deploy.worker import build_worker
from examples.deploy.workflows import DeployWorkflow
from signoff.contracts.workflow_io import Phase
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from signoff.temporal.connection import data_converter
from signoff.temporal.devserver import DevServer
from tests.support.bot import bot_settings, worker_and_bot
from tests.support.flows import waiting_draft
from tests.support.slack import (
    APPROVALS_CHANNEL,
    APPROVER_1,
    APPROVER_2,
    REQUESTER,
    buttons,
    draft_messages,
    thread_texts,
    told,
)
from tests.support.temporal import closed, running_worker, wait_for_phase, worker_settings
from tests.support.waiting import eventually
from workflows import SignoffRequestWorkflow

CHANGES = ["Retry card captures with the same idempotency key", "Time out the fraud check after 2 s"]


@dataclass
class Deploys:
    client: Client  # the example's: Temporal's default converter
    signoff_client: Client  # signoff's clients' (its converter, for the sign-off's progress query)
    deployer: DeployActivities
    task_queue: str
    signoff_task_queue: str

    async def start(self, **change: Any) -> tuple[WorkflowHandle[Any, DeployResult], WorkflowHandle[Any, Any]]:
        request = DeployRequest(
            service="payments-api",
            version="v2.3.1",
            previous_version="v2.3.0",
            changes=CHANGES,
            channel=APPROVALS_CHANNEL,
            requester=REQUESTER,
            approvers=[APPROVER_1, APPROVER_2],
            signoff_task_queue=self.signoff_task_queue,
        )
        handle = await self.client.start_workflow(
            DeployWorkflow.run,
            dataclasses.replace(request, **change),
            id=f"deploy-test-{uuid.uuid4()}",
            task_queue=self.task_queue,
        )
        return handle, self.signoff_client.get_workflow_handle(f"{handle.id}-signoff")


@contextlib.asynccontextmanager
async def deploys(time_env: WorkflowEnvironment, slack: SlackSandbox) -> AsyncIterator[Deploys]:
    settings = bot_settings(slack)
    deployer = DeployActivities()
    task_queue = f"deploy-example-{uuid.uuid4()}"
    async with (
        worker_and_bot(slack, time_env.client, settings) as bot,
        build_worker(time_env.client, deployer, task_queue),
    ):
        yield Deploys(time_env.client, bot.client, deployer, task_queue, settings.task_queue)


async def draft_of(slack: SlackSandbox, signoff: WorkflowHandle[Any, Any]) -> tuple[str, dict]:
    async def started() -> bool:
        try:
            await signoff.describe()
        except RPCError:
            return False
        return True

    await eventually(started)
    return await waiting_draft(slack, signoff, APPROVALS_CHANNEL)


async def open_form(slack: SlackSandbox, user: str, draft: dict[str, Any], action_id: str) -> dict[str, Any]:
    """``user`` clicks a draft's button that opens a form (Edit & approve, Reject, Request revision)."""
    await slack.click_button(user, APPROVALS_CHANNEL, draft["ts"], action_id)
    [modal] = await slack.wait_for(lambda: slack.open_views(user))
    return modal


def edit_modal_text(modal: dict[str, Any]) -> str:
    for block in modal["blocks"]:
        if block.get("block_id") == action_ids.EDIT_BLOCK:
            return str(block["element"].get("initial_value") or "")
    raise AssertionError(f"no edit input in {json.dumps(modal)[:500]}")


async def test_approved_with_edited_notes_deploys_what_was_approved(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    async with deploys(time_env, slack) as stack:
        handle, signoff = await stack.start()
        ts, draft = await draft_of(slack, signoff)
        assert "Deploy payments-api v2.3.1 to production" in json.dumps(slack.message(APPROVALS_CHANNEL, ts))
        assert action_ids.EDIT_APPROVE in buttons(draft)
        # Nothing is deployed while the sign-off waits.
        assert stack.deployer.deployments == []

        modal = await open_form(slack, APPROVER_1, draft, action_ids.EDIT_APPROVE)
        notes = edit_modal_text(modal)
        assert all(change in notes for change in CHANGES) and "Redeploy v2.3.0" in notes
        edited = notes + "\n\n### Rollout\nCanary at 5% for 30 minutes first."
        await slack.submit_view(
            APPROVER_1,
            modal["id"],
            {
                action_ids.EDIT_BLOCK: {action_ids.EDIT_INPUT: edited},
                action_ids.COMMENT_BLOCK: {action_ids.COMMENT_INPUT: "Ship it after 14:00"},
            },
        )
        result = await handle.result()

    assert result.deployed and result.outcome == "approved"
    assert result.release_notes == edited and result.notes_edited
    assert result.decided_by == [APPROVER_1] and result.reason == "Ship it after 14:00"
    [deployment] = stack.deployer.deployments
    assert deployment.release_notes == edited and deployment.approved_by == [APPROVER_1]
    assert (deployment.service, deployment.version, deployment.environment) == ("payments-api", "v2.3.1", "production")
    assert result.deployment_id == deployment.deployment_id and result.signoff_workflow_id == signoff.id


async def test_approved_as_written_deploys_the_summary(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with deploys(time_env, slack) as stack:
        handle, signoff = await stack.start()
        _, draft = await draft_of(slack, signoff)
        await slack.click_button(APPROVER_2, APPROVALS_CHANNEL, draft["ts"], action_ids.APPROVE)
        await told(slack, APPROVER_2, "Recorded your approval of revision 1")
        result = await handle.result()
        notes = await signoff.query(SignoffRequestWorkflow.current_draft)
    assert result.deployed and not result.notes_edited and result.decided_by == [APPROVER_2]
    [deployment] = stack.deployer.deployments
    assert deployment.release_notes == result.release_notes == notes
    assert all(change in notes for change in CHANGES)


async def test_rejected_deploys_nothing_and_says_why(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with deploys(time_env, slack) as stack:
        handle, signoff = await stack.start()
        ts, draft = await draft_of(slack, signoff)
        modal = await open_form(slack, APPROVER_2, draft, action_ids.REJECT)
        await slack.submit_view(
            APPROVER_2, modal["id"], {action_ids.REASON_BLOCK: {action_ids.REASON_INPUT: "Change freeze until Monday"}}
        )
        result = await handle.result()
    assert not result.deployed and result.outcome == "rejected"
    assert result.reason == f"rejected by {APPROVER_2}: Change freeze until Monday"
    assert result.release_notes == "" and result.deployment_id is None
    assert stack.deployer.deployments == []
    [draft] = draft_messages(slack, ts, APPROVALS_CHANNEL)
    assert buttons(draft) == []


async def test_sent_back_or_expired_deploys_nothing(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with deploys(time_env, slack) as stack:
        handle, signoff = await stack.start()
        _, draft = await draft_of(slack, signoff)
        modal = await open_form(slack, APPROVER_1, draft, action_ids.REQUEST_REVISION)
        await slack.submit_view(
            APPROVER_1, modal["id"], {action_ids.NOTES_BLOCK: {action_ids.NOTES_INPUT: "List the migrations too"}}
        )
        sent_back = await handle.result()

        handle, signoff = await stack.start(reminder_interval_seconds=3600, decision_deadline_seconds=4 * 3600)
        await draft_of(slack, signoff)
        expired = await handle.result()  # the test server skips the four hours
    assert (sent_back.deployed, sent_back.outcome) == (False, "revision_requested")
    assert sent_back.reason == f"changes requested by {APPROVER_1}: List the migrations too"
    assert (expired.deployed, expired.outcome) == (False, "expired") and "deadline" in expired.reason
    assert stack.deployer.deployments == []


async def test_a_channel_signoff_is_not_in_stops_before_asking(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    async with deploys(time_env, slack) as stack:
        handle, _ = await stack.start(channel="C0WATERCO")  # #watercooler: the app is not a member
        result = await handle.result()
    assert (result.deployed, result.outcome) == (False, "not_asked")
    assert "invite" in result.reason
    assert stack.deployer.deployments == []


async def test_cancelling_the_deploy_cancels_its_signoff(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with deploys(time_env, slack) as stack:
        handle, signoff = await stack.start()
        ts, _ = await draft_of(slack, signoff)
        await handle.cancel()
        try:
            await handle.result()
        except WorkflowFailureError as err:
            assert isinstance(err.cause, CancelledError)
        else:
            raise AssertionError("the deploy was not cancelled")
        await wait_for_phase(signoff, Phase.CANCELLED)
        await closed(signoff)
    [draft] = draft_messages(slack, ts, APPROVALS_CHANNEL)
    assert buttons(draft) == []
    assert any("cancelled" in text for text in thread_texts(slack, ts, APPROVALS_CHANNEL))
    assert stack.deployer.deployments == []


@pytest.mark.process
async def test_terminating_the_deploy_cancels_its_signoff(dev_server: DevServer, slack: SlackSandbox) -> None:
    """The parent-close policy REQUEST_CANCEL at work (the time-skipping server does not apply
    parent-close policies, hence the dev server): no live buttons for a deploy that is gone."""
    settings = worker_settings(slack)
    plain = await Client.connect(dev_server.address)
    deployer = DeployActivities()
    task_queue = f"deploy-example-{uuid.uuid4()}"
    async with running_worker(plain, settings), build_worker(plain, deployer, task_queue):
        stack = Deploys(
            plain,
            await Client.connect(dev_server.address, data_converter=data_converter()),
            deployer,
            task_queue,
            settings.task_queue,
        )
        handle, signoff = await stack.start()
        ts, _ = await draft_of(slack, signoff)
        await handle.terminate("rolled back by hand")
        await wait_for_phase(signoff, Phase.CANCELLED)
        await closed(signoff)
    [draft] = draft_messages(slack, ts, APPROVALS_CHANNEL)
    assert buttons(draft) == []
    assert deployer.deployments == []
