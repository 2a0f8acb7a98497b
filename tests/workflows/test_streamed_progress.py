"""A report's agent steps stream into its thread as one message (Temporal, real activities, the Slack sandbox)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from signoff.sandbox import SlackSandbox
from signoff.worker import build_worker, model_provider, worker_slack_client
from tests.doubles.openai_standin import OpenAIStandIn
from tests.support.flows import waiting_draft
from tests.support.slack import CHANNEL, assert_nothing_doubled, thread_texts
from tests.support.temporal import running_worker, start_report, with_agents_plugin, worker_settings
from tests.support.waiting import eventually
from workflows import ReportGenerationWorkflow


def streamed(slack: SlackSandbox, thread_ts: str) -> list[dict[str, Any]]:
    """The thread's streamed messages (those with a plan of tasks)."""
    return [m for m in slack.replies(CHANNEL, thread_ts) if any(b["type"] == "plan" for b in m.get("blocks") or [])]


async def parked_report(time_env: WorkflowEnvironment, slack: SlackSandbox) -> str:
    settings = worker_settings(slack)
    async with running_worker(time_env.client, settings):
        handle = await start_report(with_agents_plugin(time_env.client, settings), settings)
        ts, _ = await waiting_draft(slack, handle)
    return ts


async def test_the_agents_steps_are_one_streamed_message_that_ends_when_the_draft_is_posted(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    ts = await parked_report(time_env, slack)

    [message] = streamed(slack, ts)
    assert not slack.streams.is_streaming(CHANNEL, message["ts"])  # stopped: nobody sees it typing
    [plan] = [b for b in message["blocks"] if b["type"] == "plan"]
    titles = [task["title"] for task in plan["tasks"]]
    assert all(task["status"] == "complete" for task in plan["tasks"]), plan
    # What each agent did, and how long it took.
    assert titles[0].startswith("Researching the topic · ") and titles[1].startswith("Writing the first draft · ")
    assert any(t.startswith("AI review round 1: ") for t in titles)
    assert all(" · " in t and t.endswith(" s") for t in titles)
    assert plan["title"].startswith("Draft ready · ")
    # It ends with who decides; the draft was posted before its end, right after it in the thread.
    assert "Revision 1 is ready for a decision" in message["text"]
    # No phase notes beside it.
    texts = thread_texts(slack, ts)
    assert not any("Researching the topic…" in t or "Writing the first draft…" in t for t in texts)
    assert [len(slack.calls_to(m)) for m in ("chat.startStream", "chat.stopStream")] == [1, 1]


async def test_where_slack_will_not_stream_the_thread_gets_todays_phase_notes(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    # This Slack does not know the method (an older Enterprise Grid, GovSlack): Slack's own answer.
    slack.faults.fail("chat.startStream", error="unknown_method")
    ts = await parked_report(time_env, slack)

    assert streamed(slack, ts) == []
    texts = thread_texts(slack, ts)
    for note in (":mag: Researching the topic…", ":writing_hand: Writing the first draft…", "AI review round 1"):
        assert any(note in t for t in texts), (note, texts)
    assert sum("is ready for a decision" in t for t in texts) == 1
    assert [c.method for c in slack.calls if c.method.endswith("Stream")] == ["chat.startStream"]


async def test_stream_calls_whose_answers_were_lost_leave_one_stopped_stream_nothing_repeated(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    # The first start, append and stop each take effect and their answers never reach the worker (as when
    # it dies mid-call): every one is retried by Temporal.
    for method in ("chat.startStream", "chat.appendStream", "chat.stopStream"):
        slack.faults.slow(method, 1.0)
    settings = worker_settings(slack)
    slack_client = worker_slack_client(settings)
    slack_client.timeout = 0.3  # type: ignore[assignment]  # slack_sdk types it int; aiohttp takes seconds
    async with build_worker(with_agents_plugin(time_env.client, settings), settings, slack_client):
        handle = await start_report(with_agents_plugin(time_env.client, settings), settings)
        ts, _ = await waiting_draft(slack, handle)
        # The stop took effect at once; its retry comes after the first attempt timed out. The turn is over
        # when the gate's reminder timer starts (a stop taken for Slack's ending would post the note first).
        await slack.wait_for(lambda: len(slack.calls_to("chat.stopStream")) == 2)

        async def waiting_for_a_decision() -> bool:
            history = await handle.fetch_history()
            return any(event.HasField("timer_started_event_attributes") for event in history.events)

        await eventually(waiting_for_a_decision)

    [message] = streamed(slack, ts)
    assert not slack.streams.is_streaming(CHANNEL, message["ts"])
    [plan] = [b for b in message["blocks"] if b["type"] == "plan"]
    ids = [task["task_id"] for task in plan["tasks"]]
    assert len(ids) == len(set(ids)) and all(task["status"] == "complete" for task in plan["tasks"])
    assert message["text"].count("is ready for a decision") == 1
    assert [c.ok for c in slack.calls_to("chat.startStream")] == [True]  # the retry found it
    assert [c.ok for c in slack.calls_to("chat.stopStream")] == [True, False]  # the retry saw it done
    assert sum("is ready for a decision" in t for t in thread_texts(slack, ts)) == 1
    assert_nothing_doubled(slack)


async def test_a_report_that_fails_mid_stream_stops_it_with_the_step_that_failed(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    async with OpenAIStandIn() as models:
        models.fail(role="writer", times=100, status=500)
        settings = replace(worker_settings(slack), openai_api_key=models.api_key, openai_base_url=models.base_url)
        async with running_worker(time_env.client, settings, model_provider(settings)):
            handle = await start_report(with_agents_plugin(time_env.client, settings), settings)
            with pytest.raises(WorkflowFailureError):
                await handle.result()
            state = await handle.query(ReportGenerationWorkflow.progress)

    assert state.thread is not None
    [message] = streamed(slack, state.thread.ts)
    assert not slack.streams.is_streaming(CHANNEL, message["ts"])  # never left typing
    [plan] = [b for b in message["blocks"] if b["type"] == "plan"]
    assert [(t["title"].split(" · ")[0], t["status"]) for t in plan["tasks"]] == [
        ("Researching the topic", "complete"),
        ("Writing the first draft", "error"),
    ]
    assert plan["title"] == "Failed"
    assert any("This request failed" in t for t in thread_texts(slack, state.thread.ts))


async def test_a_stream_slack_ended_goes_on_in_a_new_one_with_the_same_tasks(time_env: WorkflowEnvironment) -> None:
    # Slack ends a stream about five minutes after it began. Its clock here: five minutes on once the
    # first stream has started, so that one has ended by its first append and the next one lives on.
    sandbox: list[SlackSandbox] = []

    def clock() -> float:
        return 301.0 if sandbox and sandbox[0].calls_to("chat.startStream") else 0.0

    async with SlackSandbox(stream_clock=clock) as slack:
        sandbox.append(slack)
        ts = await parked_report(time_env, slack)

        first, second = streamed(slack, ts)
        assert not slack.streams.is_streaming(CHANNEL, first["ts"])  # ended by Slack, not typing
        assert not slack.streams.is_streaming(CHANNEL, second["ts"])  # stopped by the workflow
        [plan] = [b for b in second["blocks"] if b["type"] == "plan"]
        titles = [task["title"].split(" · ")[0] for task in plan["tasks"]]
        assert titles[:2] == ["Researching the topic", "Writing the first draft"]
        assert all(task["status"] == "complete" for task in plan["tasks"])
        assert "Revision 1 is ready for a decision" in second["text"]
        assert sum("is ready for a decision" in t for t in thread_texts(slack, ts)) == 1
