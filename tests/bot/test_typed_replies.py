"""Answers typed in a draft's thread: the grammar, which messages count, and the whole flow through
the sandbox (a person's post → Slack's message event → the bot → the workflow's update)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from bot.app import BOT_RATE_LIMIT_RETRIES
from bot.typed_replies import ThreadReply, TypedDecision, parse_reply, thread_reply, workflow_id_shown
from signoff.contracts.workflow_io import DecisionKind, Phase, WorkflowKind
from signoff.sandbox import SlackSandbox
from signoff.slack.rendering.drafts import thread_parent
from tests.support.block_checks import assert_valid_everything
from tests.support.bot import bot_settings, worker_and_bot, worker_and_socket_mode_bot
from tests.support.flows import reply_in_thread, start_via_slack, waiting_draft
from tests.support.slack import (
    APPROVER_1,
    APPROVER_2,
    CHANNEL,
    OUTSIDER,
    REQUESTER,
    ephemeral_texts,
    thread_texts,
    told,
    web_client,
)
from tests.support.temporal import closed, wait_for_phase
from tests.support.waiting import eventually
from workflows import SignoffRequestWorkflow
from workflows.human_loop import HumanReviewedWorkflow

APPROVERS = [APPROVER_1, APPROVER_2]
APPROVE, REVISE, REJECT = DecisionKind.APPROVE, DecisionKind.REQUEST_REVISION, DecisionKind.REJECT

# ---------------------------------------------------------------------------
# The grammar
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "decision"),
    [
        ("approve", TypedDecision(APPROVE)),
        ("approved", TypedDecision(APPROVE)),
        ("lgtm", TypedDecision(APPROVE)),
        ("LGTM!", TypedDecision(APPROVE)),
        ("Approved.", TypedDecision(APPROVE)),
        ("  Lgtm!!  \n", TypedDecision(APPROVE)),
        ("approve: ship it", TypedDecision(APPROVE, "ship it")),
        ("APPROVE: Ship It", TypedDecision(APPROVE, "Ship It")),
        ("approve:ship it", TypedDecision(APPROVE, "ship it")),
        ("approve :  ship it  ", TypedDecision(APPROVE, "ship it")),
        ("Approved: fine by me.", TypedDecision(APPROVE, "fine by me.")),
        ("lgtm: nice work", TypedDecision(APPROVE, "nice work")),
        ("approve:", TypedDecision(APPROVE)),
        ("approve: first line\nsecond line", TypedDecision(APPROVE, "first line\nsecond line")),
        # Slack escapes &, < and > in typed text; the decision gets what the person typed.
        ("approve: R&amp;D &lt;3 &amp;lt;", TypedDecision(APPROVE, "R&D <3 &lt;")),
        ("reject: too late", TypedDecision(REJECT, "too late")),
        ("REJECT:   out of scope  ", TypedDecision(REJECT, "out of scope")),
        ("reject", TypedDecision(REJECT)),
        ("Reject.", TypedDecision(REJECT)),
        ("reject:", TypedDecision(REJECT)),
        ("revise: add costs", TypedDecision(REVISE, "add costs")),
        ("Revise: Add costs.", TypedDecision(REVISE, "Add costs.")),
        # No notes: still a revision request, which the workflow refuses with its reason.
        ("revise", TypedDecision(REVISE)),
    ],
)
def test_a_decision_typed_alone_is_parsed(text: str, decision: TypedDecision) -> None:
    assert parse_reply(text) == decision


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "I approve of lunch",
        "approve of lunch",
        "approve it",
        "please approve",
        "disapprove",
        "approves",
        "approval",
        "lgtm?",
        "LGTM 👍",
        "lgtm\nthanks all",
        "approve!: x",
        "*approve*",
        "&gt; approve",
        "rejected",
        "reject it",
        "revised: x",
        "revision: x",
        "revise add costs",
    ],
)
def test_anything_else_is_chatter(text: str) -> None:
    assert parse_reply(text) is None


def _message_event(**fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "message",
        "channel": CHANNEL,
        "user": APPROVER_1,
        "text": "lgtm",
        "ts": "1700000000.000200",
        "event_ts": "1700000000.000200",
        "channel_type": "channel",
        "thread_ts": "1700000000.000100",
        "parent_user_id": "U0SIGNOFF",
    }
    event.update(fields)
    return {name: value for name, value in event.items() if value is not None}


def test_a_persons_thread_reply_counts() -> None:
    assert thread_reply(_message_event()) == ThreadReply(
        APPROVER_1, CHANNEL, "1700000000.000100", "lgtm", parent_user_id="U0SIGNOFF", ts="1700000000.000200"
    )
    # "Also send to #channel" is still the person typing in the thread; parent_user_id is optional.
    broadcast = _message_event(subtype="thread_broadcast", parent_user_id=None)
    assert thread_reply(broadcast) == ThreadReply(
        APPROVER_1, CHANNEL, "1700000000.000100", "lgtm", ts="1700000000.000200"
    )


@pytest.mark.parametrize(
    "event",
    [
        _message_event(thread_ts=None, parent_user_id=None),  # a top-level post
        _message_event(ts="1700000000.000100"),  # a thread's parent
        _message_event(bot_id="B0OTHER"),  # a bot's message, the app's own included
        _message_event(subtype="bot_message"),
        _message_event(subtype="message_changed"),  # an edit
        _message_event(subtype="message_deleted"),
        _message_event(subtype="channel_join"),
        # message_replied arrives without its subtype over the Events API (a Slack bug): hidden, no user.
        _message_event(hidden=True, user=None, thread_ts=None),
        _message_event(user=None),
        _message_event(text=None),
        _message_event(type="app_mention"),
    ],
)
def test_other_messages_do_not_count(event: dict[str, Any]) -> None:
    assert thread_reply(event) is None


def test_the_workflow_id_is_read_from_the_parent_the_workflow_posts() -> None:
    for phase in (Phase.STARTING, Phase.PENDING_APPROVAL, Phase.APPROVED):
        _, blocks = thread_parent(
            WorkflowKind.REPORT, "Solar `panels`", REQUESTER, "report-T0-C0-abc", phase, "http://temporal.test/x"
        )
        assert workflow_id_shown({"blocks": [block.to_dict() for block in blocks]}) == "report-T0-C0-abc"
    assert workflow_id_shown({"text": "no blocks"}) is None
    context = {"type": "context", "elements": [{"type": "mrkdwn", "text": "see `report-1` there"}]}
    assert workflow_id_shown({"blocks": [context]}) is None


# ---------------------------------------------------------------------------
# The flow: the sandbox, the bot over HTTP (and Socket Mode), a worker on the time-skipping server
# ---------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def waiting_report(
    time_env: WorkflowEnvironment, slack: SlackSandbox, topic: str
) -> AsyncIterator[tuple[WorkflowHandle, str]]:
    """A worker and the bot over HTTP; a report requested in #general, its draft waiting in its thread."""
    async with worker_and_bot(slack, time_env.client, bot_settings(slack, approvers=APPROVERS)) as bot:
        handle = await start_via_slack(slack, bot.client, topic)
        thread_ts, _ = await waiting_draft(slack, handle)
        yield handle, thread_ts


async def _decisions(handle: WorkflowHandle) -> list[Any]:
    return (await handle.query(HumanReviewedWorkflow.progress)).decisions


def _replies_read(slack: SlackSandbox) -> list[str]:
    """The thread parents the bot read (conversations.replies), by ts."""
    return [str(call.params.get("ts")) for call in slack.calls_to("conversations.replies")]


async def test_lgtm_approves_and_people_who_may_not_decide_are_told_why(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    async with waiting_report(time_env, slack, "Solar panels for farms") as (handle, thread_ts):
        # The requester and an outsider: refused in the thread, only to them, and nothing changes.
        await reply_in_thread(slack, REQUESTER, thread_ts, "approve")
        await told(slack, REQUESTER, "someone else has to decide")
        await reply_in_thread(slack, OUTSIDER, thread_ts, "LGTM")
        await told(slack, OUTSIDER, "not one of the approvers")
        refusals = [e for e in slack.ephemerals() if e["text"].startswith(":no_entry_sign:")]
        assert [e["recipient"] for e in refusals] == [REQUESTER, OUTSIDER]
        assert all(e["thread_ts"] == thread_ts and e["channel"] == CHANNEL for e in refusals)
        assert await _decisions(handle) == []
        assert await handle.query(HumanReviewedWorkflow.get_status) == Phase.PENDING_APPROVAL.value

        # An approver types it in the sandbox page's thread composer, as a person would.
        async with aiohttp.ClientSession() as http:
            body = {"user": APPROVER_1, "channel": CHANNEL, "text": "  LGTM!  ", "thread_ts": thread_ts}
            async with http.post(slack.url + "/ui/api/post", json=body) as response:
                assert response.status == 200 and (await response.json())["delivered"] is True
        await told(slack, APPROVER_1, "Recorded your approval of revision 1")
        await handle.result()
        [decision] = await _decisions(handle)
        assert (decision.kind, decision.user_id, decision.revision, decision.notes) == (APPROVE, APPROVER_1, 1, "")
        assert any(f"<@{APPROVER_1}> approved revision 1" in text for text in thread_texts(slack, thread_ts))
        # The parent was read once for the thread, however many replies were typed in it.
        assert _replies_read(slack).count(thread_ts) == 1
    assert_valid_everything(slack)


async def test_revise_then_approve_with_a_comment_on_the_current_revision(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    async with waiting_report(time_env, slack, "Heat pumps") as (handle, thread_ts):
        await reply_in_thread(slack, APPROVER_1, thread_ts, "revise: add costs")
        await told(slack, APPROVER_1, "Sent revision 1 back to the writer with your notes")
        [revision] = await _decisions(handle)
        assert (revision.kind, revision.revision, revision.notes) == (REVISE, 1, "add costs")
        assert any("requested a revision of revision 1" in text for text in thread_texts(slack, thread_ts))

        async def revision_two_waiting() -> bool:
            progress = await handle.query(HumanReviewedWorkflow.progress)
            return progress.revision == 2 and progress.phase is Phase.PENDING_APPROVAL

        await eventually(revision_two_waiting)
        # The typed answer goes to the draft as it is now: revision 2.
        await reply_in_thread(slack, APPROVER_2, thread_ts, "approve: ship it")
        await told(slack, APPROVER_2, "Recorded your approval of revision 2")
        await handle.result()
        approval = (await _decisions(handle))[-1]
        assert (approval.kind, approval.user_id, approval.revision, approval.notes) == (
            APPROVE,
            APPROVER_2,
            2,
            "ship it",
        )
        assert any("approved revision 2" in text and "ship it" in text for text in thread_texts(slack, thread_ts))
    assert_valid_everything(slack)


async def test_reject_with_a_reason(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with waiting_report(time_env, slack, "Wind farms") as (handle, thread_ts):
        # Slack keeps refusing the thread's parent (past the bot's own retries): the approver is told,
        # nothing changes.
        slack.faults.rate_limit("conversations.replies", times=BOT_RATE_LIMIT_RETRIES + 1, retry_after=0)
        await reply_in_thread(slack, APPROVER_2, thread_ts, "reject: too late")
        await told(slack, APPROVER_2, "Slack did not let signoff read this thread (ratelimited)")
        assert await _decisions(handle) == []
        # Typed again, it is read and applied.
        await reply_in_thread(slack, APPROVER_2, thread_ts, "reject: too late")
        await told(slack, APPROVER_2, "Rejected revision 1")
        assert await handle.result() == "Report rejected: too late"
        [decision] = await _decisions(handle)
        assert (decision.kind, decision.user_id, decision.notes) == (REJECT, APPROVER_2, "too late")
        assert any("rejected revision 1: too late" in text for text in thread_texts(slack, thread_ts))
        # After the end, a typed answer is told it is over, as a click would be.
        await reply_in_thread(slack, APPROVER_1, thread_ts, "approve")
        await told(slack, APPROVER_1, "already finished")
    assert_valid_everything(slack)


async def test_a_plan_and_a_signoff_request_take_typed_answers(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    settings = bot_settings(slack, approvers=APPROVERS)
    async with worker_and_bot(slack, time_env.client, settings) as bot:
        plan = await start_via_slack(slack, bot.client, "Migrate the billing database", "/plan")
        plan_thread, _ = await waiting_draft(slack, plan)
        await reply_in_thread(slack, APPROVER_1, plan_thread, "lgtm")
        await told(slack, APPROVER_1, "Recorded your approval of revision 1")
        await plan.result()
        assert [d.kind for d in await _decisions(plan)] == [APPROVE]

        # A sign-off request another workflow or client made (no Slack origin), revisions not allowed.
        request = {
            "title": "Deploy payments-api v2.3.1",
            "body": "Rollback: `deploy v2.3.0`",
            "channel": CHANNEL,
            "requester": REQUESTER,
            "approvers": APPROVERS,
            "allow_revision": False,
        }
        asked = await bot.client.start_workflow(
            SignoffRequestWorkflow.run, request, id=f"deploy-{uuid.uuid4()}", task_queue=settings.task_queue
        )
        request_thread, _ = await waiting_draft(slack, asked)
        await reply_in_thread(slack, APPROVER_2, request_thread, "revise: more detail")
        await told(slack, APPROVER_2, "cannot be sent back for revision")
        await reply_in_thread(slack, APPROVER_2, request_thread, "Approve: after 14:00")
        await told(slack, APPROVER_2, "Recorded your approval of revision 1")
        result = await asked.result()
        assert result["outcome"] == "approved" and result["decided_by"] == [APPROVER_2]
        [decision] = await _decisions(asked)
        assert (decision.kind, decision.notes) == (APPROVE, "after 14:00")
    assert_valid_everything(slack)


async def test_chatter_and_other_threads_get_no_reply(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with waiting_report(time_env, slack, "Tidal power") as (handle, thread_ts):
        ephemerals_before = len(slack.ephemerals())

        # Chatter in the signoff thread: no Slack call at all, no reply.
        for text in ("I approve of lunch", "lgtm?", "approve it once the costs are in", "revise add costs"):
            await reply_in_thread(slack, APPROVER_1, thread_ts, text)
        # "approve" as a top-level message is not an answer either (the app still hears it).
        message, delivered = await slack.post_as_user(APPROVER_1, CHANNEL, "approve")
        assert delivered is not None and delivered.acked and "thread_ts" not in message
        # A thread a person started: Slack names its parent's author, so no Slack call is needed.
        lunch, _ = await slack.post_as_user(REQUESTER, CHANNEL, "Lunch at noon?")
        await reply_in_thread(slack, APPROVER_1, lunch["ts"], "approve")
        # A thread under one of the app's messages that is not a signoff thread: read once, then nothing.
        other = await web_client(slack).chat_postMessage(channel=CHANNEL, text="The app says hello")
        await reply_in_thread(slack, APPROVER_1, other["ts"], "LGTM!")
        await slack.wait_for(lambda: other["ts"] in _replies_read(slack))
        # A message of the app's that shows this workflow's id but is not its thread: read, then nothing.
        shown = {"type": "context", "elements": [{"type": "mrkdwn", "text": f"`{handle.id}`"}]}
        copy = await web_client(slack).chat_postMessage(channel=CHANNEL, text="A copy", blocks=[shown])
        await reply_in_thread(slack, APPROVER_1, copy["ts"], "approve")
        await slack.wait_for(lambda: copy["ts"] in _replies_read(slack))
        # An edit of a reply into "approve", and a bot's message, as Slack sends them.
        edited = {
            "type": "message",
            "subtype": "message_changed",
            "channel": CHANNEL,
            "hidden": True,
            "message": {"type": "message", "user": APPROVER_1, "text": "approve", "thread_ts": thread_ts},
            "ts": "1.000001",
            "event_ts": "1.000001",
            "channel_type": "channel",
        }
        bots = {
            "type": "message",
            "channel": CHANNEL,
            "user": "U0OTHERBOT",
            "bot_id": "B0OTHERBOT",
            "text": "approve",
            "ts": "1.000002",
            "thread_ts": thread_ts,
            "event_ts": "1.000002",
            "channel_type": "channel",
        }
        for event in (edited, bots):
            assert (await slack.send_event(event)).acked

        # Then an answer that does get a reply: everything before it was handled and said nothing.
        await reply_in_thread(slack, OUTSIDER, thread_ts, "approve")
        await told(slack, OUTSIDER, "not one of the approvers")
        assert len(slack.ephemerals()) == ephemerals_before + 1
        assert ephemeral_texts(slack, APPROVER_1) == []
        assert sorted(_replies_read(slack)) == sorted([other["ts"], copy["ts"], thread_ts])
        assert await _decisions(handle) == []
        assert slack.replies(CHANNEL, other["ts"])[-1]["text"] == "LGTM!", "the app posted nothing there"

        await handle.cancel()
        await closed(handle)


async def test_a_typed_answer_over_socket_mode(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    settings = bot_settings(slack, socket_mode=True, approvers=[APPROVER_1])
    async with worker_and_socket_mode_bot(slack, time_env.client, settings) as client:
        handle = await start_via_slack(slack, client, "Heat pumps")
        thread_ts, _ = await waiting_draft(slack, handle)
        delivered = await reply_in_thread(slack, APPROVER_1, thread_ts, "Approved.")
        assert delivered.transport == "socket_mode"
        await told(slack, APPROVER_1, "Recorded your approval of revision 1")
        await wait_for_phase(handle, Phase.APPROVED)
        [decision] = await _decisions(handle)
        assert (decision.kind, decision.user_id) == (APPROVE, APPROVER_1)
        await closed(handle)
    assert {delivery.transport for delivery in slack.deliveries} == {"socket_mode"}


async def test_a_reply_typed_before_the_current_revision_is_not_applied(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    async with waiting_report(time_env, slack, "Geothermal") as (handle, thread_ts):
        # Approver 2 types "approve" under revision 1; Slack's event for it is late (a retried
        # delivery) and arrives only after revision 2 is waiting.
        typed = slack.workspace.post_message(CHANNEL, text="approve", thread_ts=thread_ts, user=APPROVER_2)
        await reply_in_thread(slack, APPROVER_1, thread_ts, "revise: add costs")
        await told(slack, APPROVER_1, "Sent revision 1 back to the writer with your notes")

        async def revision_two_waiting() -> bool:
            progress = await handle.query(HumanReviewedWorkflow.progress)
            return progress.revision == 2 and progress.phase is Phase.PENDING_APPROVAL

        await eventually(revision_two_waiting)
        assert (await slack.send_event(slack.interactions.message_event(typed))).acked
        await told(slack, APPROVER_2, "Revision 2 was posted after your reply, so it was not applied")
        assert [d.kind for d in await _decisions(handle)] == [REVISE]
        assert await handle.query(HumanReviewedWorkflow.get_status) == Phase.PENDING_APPROVAL.value

        # Typed again now, it answers revision 2.
        await reply_in_thread(slack, APPROVER_2, thread_ts, "approve")
        await told(slack, APPROVER_2, "Recorded your approval of revision 2")
        await handle.result()
