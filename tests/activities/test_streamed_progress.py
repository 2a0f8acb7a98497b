"""The streamed-progress activities against the sandbox: retried after a lost answer, nothing doubles or garbles;
a stream Slack ended or won't start is said so, for the workflow to go on in a new one or post notes."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError

from signoff.activities.progress_stream import ProgressStreamActivities
from signoff.activities.slack import SlackActivities
from signoff.contracts.activity_io import SLACK_TRANSIENT_ERROR
from signoff.contracts.progress_stream import (
    ProgressAppendInput,
    ProgressStartInput,
    ProgressStopInput,
    ProgressTask,
    TaskStatus,
)
from signoff.contracts.workflow_io import MessageRef
from signoff.sandbox import SlackSandbox
from signoff.slack.client import slack_client
from tests.support.slack import CHANNEL, REQUESTER, TEAM
from tests.support.steps import Attempt

KEY = "run-1:2"


@pytest.fixture
def progress(sb: SlackSandbox) -> ProgressStreamActivities:
    return ProgressStreamActivities(SlackActivities(slack_client(sb.bot_token, sb.api_url)))


@pytest.fixture
def thread(sb: SlackSandbox) -> MessageRef:
    return MessageRef(channel_id=CHANNEL, ts=sb.workspace.post_message(CHANNEL, text="Report: solar").ts)


def task(name: str, title: str, status: TaskStatus) -> ProgressTask:
    return ProgressTask(id=f"{KEY}/{name}", title=title, status=status)


def start_input(thread: MessageRef, key: str = KEY, **overrides: object) -> ProgressStartInput:
    fields: dict[str, object] = {
        "thread": thread,
        "recipient_user_id": REQUESTER,
        "recipient_team_id": TEAM,
        "title": "Preparing the draft",
        "tasks": [ProgressTask(id=f"{key}/research", title="Researching the topic", status=TaskStatus.IN_PROGRESS)],
        "idempotency_key": key,
    }
    return ProgressStartInput(**{**fields, **overrides})  # type: ignore[arg-type]


def stop_input(thread: MessageRef, stream: MessageRef) -> ProgressStopInput:
    return ProgressStopInput(
        thread=thread,
        stream=stream,
        title="Draft ready · 9 s",
        tasks=[task("write", "Writing the first draft · 4 s", TaskStatus.COMPLETE)],
        text=":memo: Revision 1 is ready for a decision.",
        idempotency_key=KEY,
    )


def plan_tasks(sb: SlackSandbox, thread: MessageRef) -> list[tuple[str, str, str]]:
    [message] = sb.replies(CHANNEL, thread.ts)
    [plan] = [b for b in message["blocks"] if b["type"] == "plan"]
    return [(t["task_id"], t["title"], t["status"]) for t in plan["tasks"]]


async def test_a_start_whose_answer_was_lost_is_continued_by_the_retry_not_started_again(
    sb: SlackSandbox, progress: ProgressStreamActivities, thread: MessageRef
) -> None:
    # The first attempt's call takes effect, and its answer never reaches the worker (it died, or timed out).
    slow = ProgressStreamActivities(SlackActivities(slack_client(sb.bot_token, sb.api_url)))
    slow._slack.client.timeout = 0.2  # type: ignore[assignment]  # slack_sdk types it int; aiohttp takes seconds
    sb.faults.slow("chat.startStream", 1.0)
    with pytest.raises(ApplicationError) as lost:
        await Attempt(1).run(slow.start_progress, start_input(thread))
    assert lost.value.type == SLACK_TRANSIENT_ERROR

    again = await Attempt(2).run(progress.start_progress, start_input(thread))

    [message] = sb.replies(CHANNEL, thread.ts)
    assert again.message == MessageRef(channel_id=CHANNEL, ts=message["ts"]) and again.refused is None
    assert len(sb.calls_to("chat.startStream")) == 1  # found, not started twice
    assert sb.streams.is_streaming(CHANNEL, message["ts"])  # and it goes on from there
    # Another step's key is a stream of its own.
    other = await Attempt(2).run(progress.start_progress, start_input(thread, key="run-1:9"))
    assert other.message is not None and other.message.ts != message["ts"]


async def test_an_append_sent_again_shows_the_same_tasks(
    sb: SlackSandbox, progress: ProgressStreamActivities, thread: MessageRef
) -> None:
    started = await Attempt(1).run(progress.start_progress, start_input(thread))
    assert started.message is not None
    append = ProgressAppendInput(
        stream=started.message,
        title="Preparing the draft",
        tasks=[
            task("research", "Researching the topic · 3 s", TaskStatus.COMPLETE),
            task("write", "Writing the first draft", TaskStatus.IN_PROGRESS),
        ],
    )
    assert await Attempt(1).run(progress.append_progress, append) is None
    shown = plan_tasks(sb, thread)
    assert await Attempt(2).run(progress.append_progress, append) is None
    assert (
        plan_tasks(sb, thread)
        == shown
        == [
            (f"{KEY}/research", "Researching the topic · 3 s", "complete"),
            (f"{KEY}/write", "Writing the first draft", "in_progress"),
        ]
    )


async def test_a_stop_sent_again_after_it_went_through_is_done_and_adds_nothing(
    sb: SlackSandbox, progress: ProgressStreamActivities, thread: MessageRef
) -> None:
    started = await Attempt(1).run(progress.start_progress, start_input(thread))
    assert started.message is not None
    assert await Attempt(1).run(progress.stop_progress, stop_input(thread, started.message))
    assert await Attempt(2).run(progress.stop_progress, stop_input(thread, started.message))

    [message] = sb.replies(CHANNEL, thread.ts)
    assert message["text"] == ":memo: Revision 1 is ready for a decision."
    assert not sb.streams.is_streaming(CHANNEL, message["ts"])
    assert [c.ok for c in sb.calls_to("chat.stopStream")] == [True, False]


async def test_a_stop_after_slack_ended_the_stream_says_it_did_not_land() -> None:
    now = [0.0]
    async with SlackSandbox(stream_clock=lambda: now[0]) as sb:
        progress = ProgressStreamActivities(SlackActivities(slack_client(sb.bot_token, sb.api_url)))
        thread = MessageRef(channel_id=CHANNEL, ts=sb.workspace.post_message(CHANNEL, text="Report").ts)
        started = await Attempt(1).run(progress.start_progress, start_input(thread))
        assert started.message is not None
        now[0] = 301.0  # Slack ends a stream after about five minutes
        append = ProgressAppendInput(stream=started.message, title="t", tasks=[])
        assert await Attempt(1).run(progress.append_progress, append) == "message_not_in_streaming_state"
        assert await Attempt(1).run(progress.stop_progress, stop_input(thread, started.message)) is False


async def test_where_slack_will_not_stream_the_start_says_why(
    sb: SlackSandbox, progress: ProgressStreamActivities, thread: MessageRef
) -> None:
    no_recipient = start_input(thread, recipient_user_id=None)
    assert (await Attempt(1).run(progress.start_progress, no_recipient)).refused == "missing_recipient_user_id"
    sb.faults.fail("chat.startStream", error="unknown_method")
    assert (await Attempt(1).run(progress.start_progress, start_input(thread))).refused == "unknown_method"
    assert sb.replies(CHANNEL, thread.ts) == []
    # Slack down is not a refusal: the step is retried.
    sb.faults.fail("chat.startStream", status=503)
    with pytest.raises(ApplicationError) as down:
        await Attempt(1).run(progress.start_progress, start_input(thread))
    assert down.value.type == SLACK_TRANSIENT_ERROR
