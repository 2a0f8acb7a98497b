"""Slack activities against the local Slack sandbox: posting, idempotent retries, error mapping."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient
from temporalio import workflow
from temporalio.client import WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from signoff.activities.slack import SlackActivities, draft_part_key, post_metadata
from signoff.contracts.activity_io import (
    SLACK_PERMANENT_ERROR,
    SLACK_POST_DRAFT,
    SLACK_RATE_LIMITED,
    SLACK_RETRY_POLICY,
    SLACK_START_TO_CLOSE,
    SLACK_TRANSIENT_ERROR,
    DraftPostInput,
    DraftUpdateInput,
    EphemeralInput,
    ThreadNoteInput,
    ThreadStartInput,
    ThreadUpdateInput,
)
from signoff.contracts.workflow_io import DraftState, DraftView, MessageRef, Phase, WorkflowKind
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from signoff.slack.client import slack_client
from signoff.slack.pacing import ChannelPacer
from signoff.slack.rendering.text import MAX_BODY_CHARS_PER_MESSAGE
from signoff.worker import temporal_activity
from tests.support.block_checks import validate_blocks
from tests.support.slack import APPROVER_1, CHANNEL, LIVE_BROADCAST, REQUESTER
from tests.support.steps import Attempt

TOKEN = "xoxb-sandbox"
UI_URL = "http://localhost:8233"
HOSTILE = "<!channel> <!here> <@U0APPROV1> & co"


@pytest.fixture
def acts(sb: SlackSandbox) -> SlackActivities:
    return SlackActivities(slack_client(TOKEN, sb.api_url), temporal_ui_url=UI_URL)


def env(attempt: int = 1) -> Attempt:
    return Attempt(attempt)


def _start_input(key: str = "run-1:1", subject: str = "Q3 revenue") -> ThreadStartInput:
    return ThreadStartInput(
        channel_id=CHANNEL,
        workflow_id="report-q3",
        kind=WorkflowKind.REPORT,
        subject=subject,
        requester_id=REQUESTER,
        idempotency_key=key,
    )


def _draft(body: str = "## Summary\n\nRevenue **grew**.", **overrides) -> DraftView:
    values: dict[str, Any] = dict(
        workflow_id="report-q3",
        kind=WorkflowKind.REPORT,
        subject="Q3 revenue",
        revision=1,
        body=body,
        state=DraftState.OPEN,
        approvals=[],
        required_approvals=1,
    )
    values.update(overrides)
    return DraftView(**values)


def _long_body() -> str:
    return "\n\n".join(f"## Part {i}\n\n" + f"Sentence {i} & more. " * 60 for i in range(120))


def _actions(message: dict) -> list[dict]:
    return [b for b in message.get("blocks") or [] if b["type"] == "actions"]


async def _thread(acts: SlackActivities) -> MessageRef:
    return await env().run(acts.start_thread, _start_input(key=f"thread-{uuid.uuid4()}"))


# ---------------------------------------------------------------------------
# Posting
# ---------------------------------------------------------------------------


async def test_start_thread_posts_parent_with_metadata(sb, acts):
    ref = await env().run(acts.start_thread, _start_input(subject=HOSTILE))
    assert ref.channel_id == CHANNEL
    [message] = sb.messages(CHANNEL)
    assert message["ts"] == ref.ts
    assert message["metadata"] == post_metadata("run-1:1")
    rendered = str(message.get("blocks")) + message["text"]
    assert not LIVE_BROADCAST.search(rendered)
    assert "<@U0REQUEST>" in rendered
    assert f"{UI_URL}/namespaces/default/workflows/report-q3" in rendered


async def test_update_thread_shows_the_phase(sb, acts):
    ref = await env().run(acts.start_thread, _start_input())
    await env().run(
        acts.update_thread,
        ThreadUpdateInput(
            thread=ref,
            kind=WorkflowKind.REPORT,
            subject="Q3 revenue",
            requester_id=REQUESTER,
            workflow_id="report-q3",
            phase=Phase.PENDING_APPROVAL,
        ),
    )
    assert "Waiting for approval" in str(sb.message(CHANNEL, ref.ts)["blocks"])


async def test_short_draft_is_one_message_with_buttons(sb, acts):
    thread = await _thread(acts)
    refs = await env().run(acts.post_draft, DraftPostInput(thread=thread, view=_draft(), idempotency_key="d1"))
    assert len(refs) == 1
    [reply] = sb.replies(CHANNEL, thread.ts)
    assert reply["ts"] == refs[0].ts
    assert reply["metadata"] == post_metadata(draft_part_key("d1", 0))
    [actions] = _actions(reply)
    # A view that allows no edits (the default): Approve with comment instead of Edit & approve.
    assert [e["action_id"] for e in actions["elements"]] == list(action_ids.DECISION_ACTIONS_WITHOUT_EDITS)
    assert f"{UI_URL}/namespaces/default/workflows/report-q3" in str(reply["blocks"])


async def test_long_draft_splits_within_limits(sb, acts):
    thread = await _thread(acts)
    body = _long_body()
    refs = await env().run(acts.post_draft, DraftPostInput(thread=thread, view=_draft(body), idempotency_key="long"))
    replies = sb.replies(CHANNEL, thread.ts)
    assert len(refs) == len(replies) > 3
    assert [r.ts for r in refs] == [m["ts"] for m in replies]
    for reply in replies:
        parsed = [Block.parse(b) for b in reply["blocks"]]
        dicts = validate_blocks([block for block in parsed if block is not None])
        assert len(dicts) == len(reply["blocks"])
        sections = [d["text"]["text"] for d in dicts if d["type"] == "section"]
        assert sum(len(s) for s in sections) <= MAX_BODY_CHARS_PER_MESSAGE
    # Only the last message, the control message, carries buttons.
    assert [bool(_actions(r)) for r in replies] == [False] * (len(replies) - 1) + [True]


async def test_update_draft_removes_buttons(sb, acts):
    thread = await _thread(acts)
    view = _draft()
    [control] = await env().run(acts.post_draft, DraftPostInput(thread=thread, view=view, idempotency_key="d1"))
    approved = dataclasses.replace(view, state=DraftState.APPROVED, status_note="Approved by <@U0APPROV1>")
    await env().run(acts.update_draft, DraftUpdateInput(message=control, view=approved))
    message = sb.message(CHANNEL, control.ts)
    assert _actions(message) == []
    assert "Approved by <@U0APPROV1>" in str(message["blocks"])


async def test_update_draft_of_a_long_draft_updates_the_control_message(sb, acts):
    thread = await _thread(acts)
    view = _draft(_long_body())
    refs = await env().run(acts.post_draft, DraftPostInput(thread=thread, view=view, idempotency_key="long"))
    superseded = dataclasses.replace(view, state=DraftState.SUPERSEDED)
    await env().run(acts.update_draft, DraftUpdateInput(message=refs[-1], view=superseded))
    replies = sb.replies(CHANNEL, thread.ts)
    assert not any(_actions(r) for r in replies)
    assert "Superseded" in str(replies[-1]["blocks"])


async def test_thread_note_and_ephemeral(sb, acts):
    thread = await _thread(acts)
    ref = await env().run(
        acts.post_thread_note,
        ThreadNoteInput(thread=thread, text="Revision requested by <@U0APPROV1>", idempotency_key="n1"),
    )
    [reply] = sb.replies(CHANNEL, thread.ts)
    assert reply["ts"] == ref.ts and reply["text"] == "Revision requested by <@U0APPROV1>"
    await env().run(acts.post_ephemeral, EphemeralInput(channel_id=CHANNEL, user_id=APPROVER_1, text="Only you"))
    assert [e["text"] for e in sb.ephemerals(APPROVER_1)] == ["Only you"]


async def test_ephemeral_links_the_thread_and_the_workflow(sb, acts):
    thread = await _thread(acts)
    link = EphemeralInput(
        channel_id=CHANNEL, user_id=REQUESTER, text="Started.", thread=thread, workflow_id="report-q3"
    )
    assert await env().run(acts.post_ephemeral, link) == "ephemeral"
    permalink = (await acts._client.chat_getPermalink(channel=CHANNEL, message_ts=thread.ts))["permalink"]
    expected = f"Started. <{permalink}|Follow it in the thread> · <{UI_URL}/namespaces/default/workflows/report-q3|Temporal UI>."
    assert [e["text"] for e in sb.ephemerals(REQUESTER)] == [expected]

    # No permalink (Slack failing, even transiently): the text says where the thread is, no retry.
    sb.faults.fail("chat.getPermalink", status=500)
    no_ui = SlackActivities(slack_client(TOKEN, sb.api_url))
    assert await env().run(no_ui.post_ephemeral, link) == "ephemeral"
    assert sb.ephemerals(REQUESTER)[-1]["text"] == f"Started. Follow it in the thread in <#{CHANNEL}>."


async def test_refused_ephemeral_becomes_a_dm_only_when_asked(sb, acts):
    told = EphemeralInput(channel_id=CHANNEL, user_id=REQUESTER, text="It stopped.", dm_if_refused=True)
    sb.faults.fail("chat.postEphemeral", error="channel_not_found")
    assert await env().run(acts.post_ephemeral, told) == "dm"
    assert [m["text"] for m in sb.messages(REQUESTER)] == ["It stopped."]

    # Both refused for good: given up without failing (nobody else could be told).
    sb.faults.fail("chat.postEphemeral", error="channel_not_found")
    sb.faults.fail("chat.postMessage", error="invalid_auth")
    assert await env().run(acts.post_ephemeral, told) == "undelivered"

    # A transient failure is retried by Temporal, not turned into a DM; without the flag a refusal fails.
    sb.faults.fail("chat.postEphemeral", status=503)
    with pytest.raises(ApplicationError) as transient:
        await env().run(acts.post_ephemeral, told)
    assert transient.value.type == SLACK_TRANSIENT_ERROR
    sb.faults.fail("chat.postEphemeral", error="channel_not_found")
    with pytest.raises(ApplicationError) as refused:
        await env().run(acts.post_ephemeral, dataclasses.replace(told, dm_if_refused=False))
    assert refused.value.type == SLACK_PERMANENT_ERROR
    assert len(sb.messages(REQUESTER)) == 1


WATERCOOLER = "C0WATERCO"  # everyone but the app


async def test_an_ephemeral_where_the_app_is_not_goes_through_the_commands_response_url(sb, acts):
    """chat.postEphemeral needs the app in the channel; the slash command's response_url does not."""
    response_url = sb.response_urls.issue(channel=WATERCOOLER, user=REQUESTER)
    told = EphemeralInput(
        channel_id=WATERCOOLER, user_id=REQUESTER, text="Invite me.", dm_if_refused=True, response_url=response_url
    )
    assert await env().run(acts.post_ephemeral, told) == "response_url"
    [ephemeral] = sb.ephemerals(REQUESTER)
    assert (ephemeral["channel"], ephemeral["text"]) == (WATERCOOLER, "Invite me.")
    assert [c.response.get("error") for c in sb.calls_to("chat.postEphemeral")] == ["not_in_channel"]
    assert sb.messages(REQUESTER) == [] and sb.messages(WATERCOOLER) == []

    # A response_url Slack no longer honours (expired, used up, unknown): the DM is the last resort.
    gone = dataclasses.replace(told, response_url=f"{sb.url}/response/expired-long-ago")
    assert await env().run(acts.post_ephemeral, gone) == "dm"
    assert [m["text"] for m in sb.messages(REQUESTER)] == ["Invite me."]


# ---------------------------------------------------------------------------
# No double post on retry
# ---------------------------------------------------------------------------


async def test_start_thread_retry_finds_the_earlier_post(sb, acts):
    first = await env(attempt=1).run(acts.start_thread, _start_input(key="run-1:1"))
    again = await env(attempt=2).run(acts.start_thread, _start_input(key="run-1:1"))
    assert again == first
    assert len(sb.calls_to("chat.postMessage")) == 1
    assert len(sb.messages(CHANNEL)) == 1
    # A different key is a different post.
    other = await env(attempt=2).run(acts.start_thread, _start_input(key="run-1:2"))
    assert other.ts != first.ts


async def test_thread_note_retry_finds_the_earlier_post(sb, acts):
    thread = await _thread(acts)
    note = ThreadNoteInput(thread=thread, text="Reminder", idempotency_key="n1")
    first = await env(attempt=1).run(acts.post_thread_note, note)
    again = await env(attempt=3).run(acts.post_thread_note, note)
    assert again == first
    assert len(sb.replies(CHANNEL, thread.ts)) == 1


async def test_draft_retry_posts_nothing_when_all_parts_were_posted(sb, acts):
    thread = await _thread(acts)
    post = DraftPostInput(thread=thread, view=_draft(_long_body()), idempotency_key="d1")
    first = await env(attempt=1).run(acts.post_draft, post)
    posts_before = len(sb.calls_to("chat.postMessage"))
    again = await env(attempt=2).run(acts.post_draft, post)
    assert again == first
    assert len(sb.calls_to("chat.postMessage")) == posts_before
    assert len(sb.replies(CHANNEL, thread.ts)) == len(first)


async def test_draft_retry_resumes_after_the_parts_already_posted(sb, acts):
    thread = await _thread(acts)
    post = DraftPostInput(thread=thread, view=_draft(_long_body()), idempotency_key="d1")
    # What a first attempt that died after two parts left behind.
    client = slack_client(TOKEN, sb.api_url)
    early = []
    for i in range(2):
        response = await client.chat_postMessage(
            channel=CHANNEL,
            thread_ts=thread.ts,
            text=f"part {i}",
            metadata=post_metadata(draft_part_key("d1", i)),
        )
        early.append(response["ts"])
    refs = await env(attempt=2).run(acts.post_draft, post)
    assert [r.ts for r in refs[:2]] == early
    replies = sb.replies(CHANNEL, thread.ts)
    assert [m["ts"] for m in replies] == [r.ts for r in refs]
    keys = [m["metadata"]["event_payload"]["key"] for m in replies]
    assert keys == [draft_part_key("d1", i) for i in range(len(refs))]


# ---------------------------------------------------------------------------
# Error mapping
# ---------------------------------------------------------------------------


async def _raises(acts: SlackActivities) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        await env().run(acts.start_thread, _start_input())
    return caught.value


async def test_rate_limit_sets_next_retry_delay_from_retry_after(sb, acts):
    sb.faults.rate_limit("chat.postMessage", retry_after=7)
    err = await _raises(acts)
    assert err.type == SLACK_RATE_LIMITED
    assert err.next_retry_delay == timedelta(seconds=7)
    assert not err.non_retryable
    # One call: the client itself did not retry.
    assert len(sb.calls_to("chat.postMessage")) == 1


async def test_rate_limited_in_an_http_200_body_is_a_rate_limit(sb, acts):
    # Slack's docs name the error both ways; the spelled-out one can come with HTTP 200.
    sb.faults.fail("chat.postMessage", error="rate_limited")
    err = await _raises(acts)
    assert err.type == SLACK_RATE_LIMITED and not err.non_retryable


@pytest.mark.parametrize("code", ["invalid_auth", "channel_not_found", "is_archived", "invalid_blocks"])
async def test_permanent_errors_are_non_retryable(sb, acts, code):
    sb.faults.fail("chat.postMessage", error=code)
    err = await _raises(acts)
    assert err.type == SLACK_PERMANENT_ERROR
    assert err.non_retryable
    assert code in err.message
    assert TOKEN not in str(err) and TOKEN not in repr(err.details)
    assert err.__cause__ is None


async def test_real_auth_and_membership_errors(sb):
    wrong = SlackActivities(slack_client("xoxb-not-the-token", sb.api_url))
    err = await _raises(wrong)
    assert err.non_retryable and "invalid_auth" in err.message
    assert "xoxb-not-the-token" not in err.message

    acts = SlackActivities(slack_client(TOKEN, sb.api_url))
    with pytest.raises(ApplicationError) as caught:
        await env().run(acts.start_thread, dataclasses.replace(_start_input(), channel_id="C0NOWHERE"))
    assert caught.value.non_retryable and "channel_not_found" in caught.value.message


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_retryable(sb, acts, status):
    sb.faults.fail("chat.postMessage", status=status)
    err = await _raises(acts)
    assert err.type == SLACK_TRANSIENT_ERROR
    assert not err.non_retryable
    assert err.next_retry_delay is None
    assert len(sb.calls_to("chat.postMessage")) == 1


async def test_transient_slack_error_codes_are_retryable(sb, acts):
    sb.faults.fail("chat.postMessage", error="internal_error")
    err = await _raises(acts)
    assert err.type == SLACK_TRANSIENT_ERROR and not err.non_retryable


async def test_unreachable_slack_is_retryable(sb, acts):
    await sb.pause()
    try:
        err = await _raises(acts)
    finally:
        await sb.resume()
    assert err.type == SLACK_TRANSIENT_ERROR and not err.non_retryable


async def test_update_errors_are_mapped_too(sb, acts):
    sb.faults.rate_limit("chat.update", retry_after=3)
    with pytest.raises(ApplicationError) as caught:
        await env().run(
            acts.update_draft,
            DraftUpdateInput(message=MessageRef(CHANNEL, "1.000001"), view=_draft()),
        )
    assert caught.value.next_retry_delay == timedelta(seconds=3)


def test_refuses_a_client_with_retry_handlers():
    with pytest.raises(ValueError, match="retry"):
        SlackActivities(AsyncWebClient(token=TOKEN))


def test_slack_client_normalizes_base_url():
    assert slack_client(TOKEN, "http://127.0.0.1:1/api").base_url == "http://127.0.0.1:1/api/"
    assert slack_client(TOKEN).retry_handlers == []


def test_retry_policy_does_not_retry_permanent_errors():
    assert SLACK_PERMANENT_ERROR in (SLACK_RETRY_POLICY.non_retryable_error_types or [])
    # 0 is unlimited: transient failures are retried until Slack is back.
    assert SLACK_RETRY_POLICY.maximum_attempts == 0
    assert timedelta(minutes=1) >= SLACK_START_TO_CLOSE


# ---------------------------------------------------------------------------
# Real retries through Temporal
# ---------------------------------------------------------------------------


@workflow.defn(sandboxed=False)
class PostDraftWorkflow:
    """Only for the test: runs post_draft with a retry policy like the real workflows'."""

    @workflow.run
    async def run(self, post: DraftPostInput) -> list[MessageRef]:
        return await workflow.execute_activity(
            SLACK_POST_DRAFT,
            post,
            result_type=list[MessageRef],
            start_to_close_timeout=SLACK_START_TO_CLOSE,
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=10),
                maximum_attempts=10,
                non_retryable_error_types=[SLACK_PERMANENT_ERROR],
            ),
        )


async def _run_post_draft(
    time_env: WorkflowEnvironment, acts: SlackActivities, post: DraftPostInput
) -> list[MessageRef]:
    task_queue = f"slack-activities-{uuid.uuid4()}"
    async with Worker(
        time_env.client,
        task_queue=task_queue,
        workflows=[PostDraftWorkflow],
        activities=[temporal_activity(SLACK_POST_DRAFT, acts.post_draft)],
    ):
        return await time_env.client.execute_workflow(
            PostDraftWorkflow.run,
            post,
            id=f"post-draft-{uuid.uuid4()}",
            task_queue=task_queue,
        )


async def test_temporal_retries_after_rate_limit_and_5xx_without_double_post(sb, acts, time_env):
    thread = await _thread(acts)
    view = _draft(_long_body())
    sb.faults.rate_limit("chat.postMessage", retry_after=1)
    sb.faults.fail("chat.postMessage", status=502)
    refs = await _run_post_draft(time_env, acts, DraftPostInput(thread=thread, view=view, idempotency_key="wf-d1"))
    replies = sb.replies(CHANNEL, thread.ts)
    assert [m["ts"] for m in replies] == [r.ts for r in refs]
    assert len({m["metadata"]["event_payload"]["key"] for m in replies}) == len(replies)
    assert _actions(replies[-1])
    # Parent + the 429 + the 502 + one successful post per part: nothing twice.
    assert len(sb.calls_to("chat.postMessage")) == 1 + 2 + len(replies)
    # Attempts 2 and 3 each looked for what earlier attempts had posted.
    assert len(sb.calls_to("conversations.replies")) == 2


async def test_temporal_does_not_retry_permanent_errors(sb, acts, time_env):
    thread = await _thread(acts)
    sb.faults.fail("chat.postMessage", error="not_in_channel")
    with pytest.raises(WorkflowFailureError) as caught:
        await _run_post_draft(time_env, acts, DraftPostInput(thread=thread, view=_draft(), idempotency_key="wf-d2"))
    cause = caught.value.cause
    assert isinstance(cause, ActivityError)
    assert isinstance(cause.cause, ApplicationError)
    assert cause.cause.type == SLACK_PERMANENT_ERROR
    assert "not_in_channel" in cause.cause.message
    # The thread parent was the only successful post; the draft was tried once.
    assert sb.replies(CHANNEL, thread.ts) == []
    assert len(sb.calls_to("chat.postMessage")) == 2


@pytest.mark.slow
async def test_long_draft_under_channel_rate_limit_resumes_without_double_post(time_env):
    # Slack allows about one post per second per channel with short bursts; a
    # long draft runs into that partway and each Temporal retry must pick up
    # after the last part already posted.
    sandbox = SlackSandbox(bot_token=TOKEN, post_rate_per_channel=5, burst=5)
    await sandbox.start(port=0)
    try:
        acts = SlackActivities(slack_client(TOKEN, sandbox.api_url))
        thread = await _thread(acts)
        post = DraftPostInput(thread=thread, view=_draft(_long_body()), idempotency_key="rl")
        # The sandbox's limiter runs on real time, so Temporal's timers must too.
        with time_env.auto_time_skipping_disabled():
            refs = await _run_post_draft(time_env, acts, post)
        posts = sandbox.calls_to("chat.postMessage")
        assert any(call.status == 429 for call in posts), "the test must hit the limit"
        replies = sandbox.replies(CHANNEL, thread.ts)
        assert [m["ts"] for m in replies] == [r.ts for r in refs]
        keys = [m["metadata"]["event_payload"]["key"] for m in replies]
        assert keys == [draft_part_key("rl", i) for i in range(len(refs))]
    finally:
        await sandbox.stop()


async def test_paced_posts_into_one_channel_meet_slacks_rate_without_a_429():
    """Ten notes at once into one channel: the worker's pacer spaces them, Slack refuses none."""
    sandbox = SlackSandbox(bot_token=TOKEN, post_rate_per_channel=2, burst=3)
    await sandbox.start(port=0)
    try:
        paced = SlackActivities(
            slack_client(TOKEN, sandbox.api_url), pacer=ChannelPacer(interval=0.6, burst=3, max_wait=2.4)
        )
        thread = await env().run(paced.start_thread, _start_input())
        notes = [ThreadNoteInput(thread=thread, text=f"note {i}", idempotency_key=f"n{i}") for i in range(9)]

        async def post(note: ThreadNoteInput) -> str:
            try:
                return (await env().run(paced.post_thread_note, note)).ts
            except ApplicationError as busy:
                # Booked past max_wait: the activity asks Temporal to retry later, Slack saw nothing.
                assert busy.type == SLACK_RATE_LIMITED and busy.next_retry_delay
                return "busy"

        results = await asyncio.gather(*(post(n) for n in notes))
        posted = [r for r in results if r != "busy"]
        # The burst's other 2 slots, then one per 0.6 s up to the 2.4 s max wait (one more if the
        # machine stalled between the thread and the notes); the rest were told to come back.
        assert len(posted) in (6, 7) and len(results) - len(posted) >= 2
        assert not [c for c in sandbox.calls if c.status == 429]
        assert len(sandbox.replies(CHANNEL, thread.ts)) == len(posted)
    finally:
        await sandbox.stop()
