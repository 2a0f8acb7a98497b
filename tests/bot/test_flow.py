"""The whole Slack flow: the sandbox delivers signed HTTP requests to the bot, which drives real workflows."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from bot.gateway import AlreadyRunning, TemporalGateway
from bot.listeners.commands import _origin, _request_key
from signoff.contracts.workflow_io import Phase
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from signoff.slack.action_ids import ButtonValue
from signoff.temporal.connection import data_converter
from tests.support.block_checks import assert_valid_everything
from tests.support.bot import bot_client, bot_settings, running_bot, worker_and_bot
from tests.support.flows import start_via_slack, thread_of, waiting_draft
from tests.support.slack import (
    APPROVER_1,
    APPROVER_2,
    CHANNEL,
    OUTSIDER,
    REQUESTER,
    TEAM,
    buttons,
    draft_messages,
    ephemeral_texts,
    stored,
    thread_texts,
    told,
)
from tests.support.temporal import closed, running_worker, wait_for_phase
from tests.support.waiting import eventually
from workflows.human_loop import HumanReviewedWorkflow

APPROVERS = [APPROVER_1, APPROVER_2]


async def test_report_revise_stale_click_and_approve(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with worker_and_bot(slack, time_env.client, bot_settings(slack, approvers=APPROVERS)) as bot:
        handle = await start_via_slack(slack, bot.client, "Solar panels for <!channel> farms")
        confirmation = await told(slack, REQUESTER, "Started your report")
        # The topic is escaped where it is echoed; the confirmation links the thread and Temporal.
        assert "&lt;!channel&gt;" in confirmation and "<!channel>" not in confirmation
        assert (
            f"/archives/{CHANNEL}/p" in confirmation
            and "http://temporal-ui.test/namespaces/default/workflows/" in confirmation
        )

        await wait_for_phase(handle, Phase.PENDING_APPROVAL)
        state = await handle.query(HumanReviewedWorkflow.progress)
        parent = stored(slack, CHANNEL, thread_of(state))
        assert parent is not None and "&lt;!channel&gt;" in json.dumps(parent["blocks"])
        [draft1] = draft_messages(slack, thread_of(state))
        assert buttons(draft1) == list(action_ids.DECISION_ACTIONS)

        # The requester may not approve their own request: acked, told why, nothing changes.
        result = await slack.click_button(REQUESTER, CHANNEL, draft1["ts"], action_ids.APPROVE)
        assert result.acked
        await told(slack, REQUESTER, "someone else has to decide")
        assert (await handle.query(HumanReviewedWorkflow.progress)).decisions == []

        # Request revision → modal → empty notes refused inline → notes sent.
        result = await slack.click_button(APPROVER_1, CHANNEL, draft1["ts"], action_ids.REQUEST_REVISION)
        assert result.acked
        [modal] = await slack.wait_for(lambda: slack.open_views(APPROVER_1))
        assert modal["callback_id"] == action_ids.REVISION_MODAL
        empty = await slack.submit_view(
            APPROVER_1, modal["id"], {action_ids.NOTES_BLOCK: {action_ids.NOTES_INPUT: "  "}}
        )
        assert empty.payload and empty.payload["response_action"] == "errors"
        assert action_ids.NOTES_BLOCK in empty.payload["errors"]
        assert slack.open_views(APPROVER_1), "the modal stays open with the error"
        sent = await slack.submit_view(
            APPROVER_1, modal["id"], {action_ids.NOTES_BLOCK: {action_ids.NOTES_INPUT: "Add maintenance costs"}}
        )
        assert sent.acked and not slack.open_views(APPROVER_1)
        await told(slack, APPROVER_1, "Sent revision 1 back to the writer")

        async def revision_two_waiting() -> bool:
            progress = await handle.query(HumanReviewedWorkflow.progress)
            return progress.revision == 2 and progress.phase is Phase.PENDING_APPROVAL

        await eventually(revision_two_waiting)
        first, second = await slack.wait_for(
            lambda: len(draft_messages(slack, thread_of(state))) == 2 and draft_messages(slack, thread_of(state))
        )
        assert buttons(first) == [] and buttons(second) == list(action_ids.DECISION_ACTIONS)

        # A stale click on revision 1 (its buttons are gone, so the click is forged) is refused.
        stale = ButtonValue(workflow_id=handle.id, revision=1).encode()
        result = await slack.click_button_raw(APPROVER_2, CHANNEL, first["ts"], action_ids.APPROVE, stale)
        assert result.acked
        await told(slack, APPROVER_2, "revision 2 is the current draft")

        # An outsider is refused; an approver's double click records one decision.
        await slack.click_button(OUTSIDER, CHANNEL, second["ts"], action_ids.APPROVE)
        await told(slack, OUTSIDER, "not one of the approvers")
        # A double click: both clicks leave the same rendered button before either is answered.
        click = ButtonValue(handle.id, 2).encode()
        before = len(ephemeral_texts(slack, APPROVER_2))
        double = [
            slack.click_button_raw(APPROVER_2, CHANNEL, second["ts"], action_ids.APPROVE, click) for _ in range(2)
        ]
        assert all(result.acked for result in await asyncio.gather(*double))
        # Each click is answered: both carry the same update id, so the second gets the first's receipt
        # (or, once the workflow has finished, is told so); the approval is recorded once, checked below.
        answers = await slack.wait_for(
            lambda: (
                len(ephemeral_texts(slack, APPROVER_2)[before:]) == 2 and ephemeral_texts(slack, APPROVER_2)[before:]
            )
        )
        assert any("Recorded your approval of revision 2" in text for text in answers), answers
        assert all("Recorded your approval of revision 2" in text or "already finished" in text for text in answers)
        report = await handle.result()
        assert "maintenance" in report.lower()
        final = await handle.query(HumanReviewedWorkflow.progress)
        assert final.phase is Phase.APPROVED
        assert [d.user_id for d in final.decisions] == [APPROVER_1, APPROVER_2]
        updated = stored(slack, CHANNEL, second["ts"])
        assert buttons(updated) == [] and "Approved by <@U0APPROV2>" in json.dumps(updated["blocks"])

        # Clicking after the end: acked and told it is over.
        await slack.click_button_raw(
            APPROVER_1, CHANNEL, second["ts"], action_ids.APPROVE, ButtonValue(handle.id, 2).encode()
        )
        await told(slack, APPROVER_1, "already finished")
    assert_valid_everything(slack)


async def test_reject_with_a_reason_through_the_modal(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with worker_and_bot(slack, time_env.client, bot_settings(slack, approvers=APPROVERS)) as bot:
        handle = await start_via_slack(slack, bot.client, "Wind farms")
        _, draft = await waiting_draft(slack, handle)
        await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.REJECT)
        [modal] = await slack.wait_for(lambda: slack.open_views(APPROVER_1))
        assert modal["callback_id"] == action_ids.REJECT_MODAL
        await slack.submit_view(
            APPROVER_1, modal["id"], {action_ids.REASON_BLOCK: {action_ids.REASON_INPUT: "Out of scope"}}
        )
        await told(slack, APPROVER_1, "Rejected revision 1")
        assert await handle.result() == "Report rejected: Out of scope"
        updated = stored(slack, CHANNEL, draft["ts"])
        assert buttons(updated) == [] and "Rejected by <@U0APPROV1>" in json.dumps(updated["blocks"])
    assert_valid_everything(slack)


async def test_cancel_by_requester_but_not_by_an_outsider(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with worker_and_bot(slack, time_env.client, bot_settings(slack, approvers=APPROVERS)) as bot:
        handle = await start_via_slack(slack, bot.client, "Tidal power")
        thread_ts, _ = await waiting_draft(slack, handle)

        await slack.send_slash_command(OUTSIDER, "/report", f"cancel {handle.id}", channel_id=CHANNEL)
        await told(slack, OUTSIDER, "Only the person who requested it or one of its approvers")
        assert await handle.query(HumanReviewedWorkflow.get_status) == Phase.PENDING_APPROVAL.value

        await slack.send_slash_command(REQUESTER, "/report", f"status {handle.id}", channel_id=CHANNEL)
        await told(slack, REQUESTER, "Waiting for approval")

        await slack.send_slash_command(REQUESTER, "/report", f"cancel {handle.id}", channel_id=CHANNEL)
        await told(slack, REQUESTER, "Cancelling")
        await wait_for_phase(handle, Phase.CANCELLED)
        await closed(handle)
        [draft] = draft_messages(slack, thread_ts)
        assert buttons(draft) == []
        assert any("cancelled" in text for text in thread_texts(slack, thread_ts))
    assert_valid_everything(slack)


async def test_plan_approved_and_plan_declined(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with worker_and_bot(slack, time_env.client, bot_settings(slack, approvers=APPROVERS)) as bot:
        approved = await start_via_slack(slack, bot.client, "Migrate the billing database", "/plan")
        _, draft = await waiting_draft(slack, approved)
        await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)
        await told(slack, APPROVER_1, "Recorded your approval of revision 1")
        await approved.result()
        assert await approved.query(HumanReviewedWorkflow.get_status) == Phase.COMPLETED.value

        declined = await start_via_slack(slack, bot.client, "Delete the staging cluster", "/plan")
        _, draft = await waiting_draft(slack, declined)
        await slack.click_button(APPROVER_2, CHANNEL, draft["ts"], action_ids.REJECT)
        [modal] = await slack.wait_for(lambda: slack.open_views(APPROVER_2))
        await slack.submit_view(APPROVER_2, modal["id"], {})
        await told(slack, APPROVER_2, "Rejected revision 1")
        assert await declined.result() == "Workflow cancelled: plan not approved"
    assert_valid_everything(slack)


async def test_reminder_reaches_the_thread(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with worker_and_bot(slack, time_env.client, bot_settings(slack, approvers=APPROVERS)) as bot:
        handle = await start_via_slack(slack, bot.client, "Geothermal heating")
        thread_ts, _ = await waiting_draft(slack, handle)
        await time_env.sleep(timedelta(hours=25))

        def reminder() -> str | None:
            return next((text for text in thread_texts(slack, thread_ts) if "Reminder 1" in text), None)

        text = await slack.wait_for(reminder, timeout=15)
        assert f"<@{APPROVER_1}>" in text and f"<@{APPROVER_2}>" in text
        await handle.cancel()
        await closed(handle)


async def test_duplicate_delivery_starts_nothing_twice(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with worker_and_bot(slack, time_env.client, bot_settings(slack, approvers=APPROVERS)) as running:
        command = {
            "team_id": TEAM,
            "channel_id": CHANNEL,
            "user_id": REQUESTER,
            "command": "/report",
            "trigger_id": "123.456.deadbeef",
        }
        gateway = running.deps.gateway
        first = await gateway.start_report("Hydrogen", _origin(command), _request_key(command))
        try:
            await gateway.start_report("Hydrogen", _origin(command), _request_key(command))
        except AlreadyRunning as err:
            assert err.workflow_id == first.workflow_id
        else:
            raise AssertionError("the duplicate delivery started a second workflow")
        handle = running.client.get_workflow_handle(first.workflow_id)
        await handle.cancel()
        await closed(handle)


async def test_temporal_unreachable_when_report_arrives(slack: SlackSandbox) -> None:
    settings = bot_settings(slack)
    # Nothing listens on port 1: every Temporal call fails at once.
    client = await Client.connect("127.0.0.1:1", lazy=True, data_converter=data_converter())
    async with running_bot(slack, settings, client):
        result = await slack.send_slash_command(REQUESTER, "/report", "Solar panels", channel_id=CHANNEL)
        assert result.acked
        message = await told(slack, REQUESTER, "was not started")
        assert "Temporal is unreachable right now; nothing was changed" in message


async def test_click_while_no_worker_runs_is_not_recorded(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    settings = bot_settings(slack, approvers=APPROVERS)
    client = bot_client(time_env.client)
    gateway = TemporalGateway(client, task_queue=settings.task_queue, update_timeout=timedelta(seconds=1))
    async with running_bot(slack, settings, client, gateway=gateway):
        # Started with no worker on its task queue: nobody can validate an update.
        handle = await start_via_slack(slack, client, "Nuclear fusion", confirmed=False)
        value = ButtonValue(workflow_id=handle.id, revision=1).encode()
        posted = slack.workspace.post_message(CHANNEL, text="a stand-in draft")
        result = await slack.click_button_raw(APPROVER_1, CHANNEL, posted.ts, action_ids.APPROVE, value)
        assert result.acked
        message = await told(slack, APPROVER_1, "not recorded")
        assert "no worker confirmed it within 1 s" in message
    # A worker comes back: the workflow goes on (and is closed, so nothing is left behind on the shared server).
    async with running_worker(time_env.client, settings):
        await wait_for_phase(handle, Phase.PENDING_APPROVAL)
        assert (await handle.query(HumanReviewedWorkflow.progress)).decisions == []
        await handle.cancel()
        await closed(handle)


@pytest.mark.slow
async def test_status_and_cancel_while_no_worker_runs_say_so(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    settings = bot_settings(slack, approvers=APPROVERS)
    client = bot_client(time_env.client)
    async with running_bot(slack, settings, client):
        handle = await start_via_slack(slack, client, "Tidal power", confirmed=False)
        # Only a worker can answer a query; without one the workflow is neither finished nor lost.
        seen = len(ephemeral_texts(slack, REQUESTER))
        await slack.send_slash_command(REQUESTER, "/report", f"status {handle.id}", channel_id=CHANNEL)
        message = await told(slack, REQUESTER, "worker", after=seen)
        assert "No signoff worker is answering" in message and "already finished" not in message
        seen = len(ephemeral_texts(slack, REQUESTER))
        await slack.send_slash_command(REQUESTER, "/report", f"cancel {handle.id}", channel_id=CHANNEL)
        message = await told(slack, REQUESTER, "worker", after=seen)
        assert "No signoff worker is answering" in message
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    await handle.terminate("test over")
