"""The whole Slack flow: the sandbox delivers signed HTTP requests to the bot, which drives real workflows."""

from __future__ import annotations

import contextlib
import json
from datetime import timedelta

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.testing import WorkflowEnvironment

from bot.gateway import AlreadyRunning, TemporalGateway, workflow_id_for
from bot.listeners.commands import _origin, _request_key
from core import action_ids
from core.action_ids import ButtonValue
from core.contracts import Phase, WorkflowKind
from infra.temporal import data_converter
from sandbox import SlackSandbox
from tests.support.block_checks import assert_valid_everything
from tests.support.bot import bot_client, bot_settings, running_bot
from tests.support.temporal import eventually, running_worker, wait_for_phase
from workflows.human_loop import HumanReviewedWorkflow

CHANNEL = "C0GENERAL"
REQUESTER = "U0REQUEST"
APPROVER_1 = "U0APPROV1"
APPROVER_2 = "U0APPROV2"
OUTSIDER = "U0OUTSIDE"
APPROVERS = [APPROVER_1, APPROVER_2]


def buttons(message: dict) -> list[str]:
    return [
        element["action_id"]
        for block in message.get("blocks") or []
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def draft_messages(slack: SlackSandbox, thread_ts: str) -> list[dict]:
    return [
        message
        for message in slack.replies(CHANNEL, thread_ts)
        if any(
            block["type"] == "header" and "Draft revision" in block["text"]["text"]
            for block in message.get("blocks") or []
        )
    ]


def ephemeral_texts(slack: SlackSandbox, user: str) -> list[str]:
    return [str(e.get("text") or "") + json.dumps(e.get("blocks") or []) for e in slack.ephemerals(user)]


async def told(slack: SlackSandbox, user: str, fragment: str, after: int = 0) -> str:
    """Wait until ``user`` has been shown a message containing ``fragment`` (among those after the first ``after``)."""

    def seen() -> str | None:
        return next((t for t in ephemeral_texts(slack, user)[after:] if fragment in t), None)

    try:
        return await slack.wait_for(seen, timeout=15)
    except TimeoutError:
        raise AssertionError(f"{user} was not told {fragment!r}; they saw {ephemeral_texts(slack, user)}") from None


async def finished(handle: WorkflowHandle) -> None:
    """Wait for the workflow to close, so nothing of it is left running when its worker stops."""
    with contextlib.suppress(WorkflowFailureError):
        await handle.result()


async def start_via_slack(
    slack: SlackSandbox, client: Client, command: str, text: str, *, confirmed: bool = True
) -> WorkflowHandle:
    """Send the slash command, check the ack was quick, return the workflow it started.

    ``confirmed``: wait for the workflow's own "Started your …" ephemeral (it needs a worker).
    """
    before = len(slack.ephemerals(REQUESTER))
    result = await slack.send_slash_command(REQUESTER, command, text, channel_id=CHANNEL)
    assert result.acked, result
    assert "I'll send you the link to its thread here" in (result.body or ""), result
    kind = WorkflowKind.REPORT if command == "/report" else WorkflowKind.PLAN
    workflow_id = workflow_id_for(kind, slack.workspace.team_id, CHANNEL, f"{command}:{result.trigger_id}")
    if confirmed:
        confirmation = await told(slack, REQUESTER, "Started your", after=before)
        assert f"(`{workflow_id}`)" in confirmation
    return client.get_workflow_handle(workflow_id)


async def test_report_revise_stale_click_and_approve(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    settings = bot_settings(slack, approvers=APPROVERS)
    client = bot_client(time_env.client)
    async with running_worker(time_env.client, settings), running_bot(slack, settings, client):
        handle = await start_via_slack(slack, client, "/report", "Solar panels for <!channel> farms")
        confirmation = await told(slack, REQUESTER, "Started your report")
        # The topic is escaped where it is echoed; the confirmation links the thread and Temporal.
        assert "&lt;!channel&gt;" in confirmation and "<!channel>" not in confirmation
        assert (
            "/archives/C0GENERAL/p" in confirmation
            and "http://temporal-ui.test/namespaces/default/workflows/" in confirmation
        )

        await wait_for_phase(handle, Phase.PENDING_APPROVAL)
        state = await handle.query(HumanReviewedWorkflow.progress)
        parent = slack.message(CHANNEL, state.thread.ts)
        assert parent is not None and "&lt;!channel&gt;" in json.dumps(parent["blocks"])
        [draft1] = draft_messages(slack, state.thread.ts)
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
            lambda: len(draft_messages(slack, state.thread.ts)) == 2 and draft_messages(slack, state.thread.ts)
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
        await slack.click_button(APPROVER_2, CHANNEL, second["ts"], action_ids.APPROVE)
        await told(slack, APPROVER_2, "Recorded your approval of revision 2")
        report = await handle.result()
        assert "maintenance" in report.lower()
        final = await handle.query(HumanReviewedWorkflow.progress)
        assert final.phase is Phase.APPROVED
        assert [d.user_id for d in final.decisions] == [APPROVER_1, APPROVER_2]
        updated = slack.message(CHANNEL, second["ts"])
        assert buttons(updated) == [] and "Approved by <@U0APPROV2>" in json.dumps(updated["blocks"])

        # Clicking after the end: acked and told it is over.
        await slack.click_button_raw(
            APPROVER_1, CHANNEL, second["ts"], action_ids.APPROVE, ButtonValue(handle.id, 2).encode()
        )
        await told(slack, APPROVER_1, "already finished")
    assert_valid_everything(slack)


async def test_reject_with_a_reason_through_the_modal(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    settings = bot_settings(slack, approvers=APPROVERS)
    client = bot_client(time_env.client)
    async with running_worker(time_env.client, settings), running_bot(slack, settings, client):
        handle = await start_via_slack(slack, client, "/report", "Wind farms")
        await wait_for_phase(handle, Phase.PENDING_APPROVAL)
        thread = (await handle.query(HumanReviewedWorkflow.progress)).thread
        [draft] = draft_messages(slack, thread.ts)
        await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.REJECT)
        [modal] = await slack.wait_for(lambda: slack.open_views(APPROVER_1))
        assert modal["callback_id"] == action_ids.REJECT_MODAL
        await slack.submit_view(
            APPROVER_1, modal["id"], {action_ids.REASON_BLOCK: {action_ids.REASON_INPUT: "Out of scope"}}
        )
        await told(slack, APPROVER_1, "Rejected revision 1")
        assert await handle.result() == "Report rejected: Out of scope"
        updated = slack.message(CHANNEL, draft["ts"])
        assert buttons(updated) == [] and "Rejected by <@U0APPROV1>" in json.dumps(updated["blocks"])
    assert_valid_everything(slack)


async def test_cancel_by_requester_but_not_by_an_outsider(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    settings = bot_settings(slack, approvers=APPROVERS)
    client = bot_client(time_env.client)
    async with running_worker(time_env.client, settings), running_bot(slack, settings, client):
        handle = await start_via_slack(slack, client, "/report", "Tidal power")
        await wait_for_phase(handle, Phase.PENDING_APPROVAL)

        await slack.send_slash_command(OUTSIDER, "/report", f"cancel {handle.id}", channel_id=CHANNEL)
        await told(slack, OUTSIDER, "Only the person who requested it or one of its approvers")
        assert await handle.query(HumanReviewedWorkflow.get_status) == Phase.PENDING_APPROVAL.value

        await slack.send_slash_command(REQUESTER, "/report", f"status {handle.id}", channel_id=CHANNEL)
        await told(slack, REQUESTER, "Waiting for approval")

        await slack.send_slash_command(REQUESTER, "/report", f"cancel {handle.id}", channel_id=CHANNEL)
        await told(slack, REQUESTER, "Cancelling")
        await wait_for_phase(handle, Phase.CANCELLED)
        await finished(handle)
        thread = (await handle.query(HumanReviewedWorkflow.progress)).thread
        [draft] = draft_messages(slack, thread.ts)
        assert buttons(draft) == []
        assert any("cancelled" in (m.get("text") or "") for m in slack.replies(CHANNEL, thread.ts))
    assert_valid_everything(slack)


async def test_plan_approved_and_plan_declined(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    settings = bot_settings(slack, approvers=APPROVERS)
    client = bot_client(time_env.client)
    async with running_worker(time_env.client, settings), running_bot(slack, settings, client):
        approved = await start_via_slack(slack, client, "/plan", "Migrate the billing database")
        await wait_for_phase(approved, Phase.PENDING_APPROVAL)
        thread = (await approved.query(HumanReviewedWorkflow.progress)).thread
        [draft] = draft_messages(slack, thread.ts)
        await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)
        await told(slack, APPROVER_1, "Recorded your approval of revision 1")
        await approved.result()
        assert await approved.query(HumanReviewedWorkflow.get_status) == Phase.COMPLETED.value

        declined = await start_via_slack(slack, client, "/plan", "Delete the staging cluster")
        await wait_for_phase(declined, Phase.PENDING_APPROVAL)
        thread = (await declined.query(HumanReviewedWorkflow.progress)).thread
        [draft] = draft_messages(slack, thread.ts)
        await slack.click_button(APPROVER_2, CHANNEL, draft["ts"], action_ids.REJECT)
        [modal] = await slack.wait_for(lambda: slack.open_views(APPROVER_2))
        await slack.submit_view(APPROVER_2, modal["id"], {})
        await told(slack, APPROVER_2, "Rejected revision 1")
        assert await declined.result() == "Workflow cancelled: plan not approved"
    assert_valid_everything(slack)


async def test_reminder_reaches_the_thread(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    settings = bot_settings(slack, approvers=APPROVERS)
    client = bot_client(time_env.client)
    async with running_worker(time_env.client, settings), running_bot(slack, settings, client):
        handle = await start_via_slack(slack, client, "/report", "Geothermal heating")
        await wait_for_phase(handle, Phase.PENDING_APPROVAL)
        thread = (await handle.query(HumanReviewedWorkflow.progress)).thread
        await time_env.sleep(timedelta(hours=25))

        def reminder() -> str | None:
            return next(
                (m["text"] for m in slack.replies(CHANNEL, thread.ts) if "Reminder 1" in (m.get("text") or "")), None
            )

        text = await slack.wait_for(reminder, timeout=15)
        assert "<@U0APPROV1>" in text and "<@U0APPROV2>" in text
        await handle.cancel()
        await finished(handle)


async def test_duplicate_delivery_starts_nothing_twice(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    settings = bot_settings(slack, approvers=APPROVERS)
    client = bot_client(time_env.client)
    async with running_worker(time_env.client, settings), running_bot(slack, settings, client) as running:
        command = {
            "team_id": "T0SANDBOX",
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
        handle = client.get_workflow_handle(first.workflow_id)
        await handle.cancel()
        await finished(handle)


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
        handle = await start_via_slack(slack, client, "/report", "Nuclear fusion", confirmed=False)
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
        await finished(handle)


async def test_status_and_cancel_while_no_worker_runs_say_so(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    settings = bot_settings(slack, approvers=APPROVERS)
    client = bot_client(time_env.client)
    async with running_bot(slack, settings, client):
        handle = await start_via_slack(slack, client, "/report", "Tidal power", confirmed=False)
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
