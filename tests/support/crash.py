"""What the writer-crash tests check on either engine once the restarted process has caught up."""

from __future__ import annotations

from pathlib import Path

from signoff.sandbox import SlackSandbox
from tests.doubles.openai_standin import OpenAIStandIn
from tests.support.processes import BotProcess
from tests.support.slack import CHANNEL, REQUESTER, draft_posts, stored, text_said
from tests.support.waiting import eventually


async def bot_killed_during_the_writer_call(
    slack: SlackSandbox, models: OpenAIStandIn, env: dict[str, str], log_file: Path
) -> None:
    """``signoff bot`` with ``env`` (an engine that runs the workflows in its process) SIGKILLed while
    the writer's model call is under way (``models`` holds it), then started again, until the
    restarted one has caught up (``turn_posted``)."""
    bot = BotProcess(env, log_file)
    await bot.start()
    try:
        slack.request_url = bot.events_url
        result = await slack.send_slash_command(REQUESTER, "/report", "Heat pumps in old houses", channel_id=CHANNEL)
        assert result.acked, result

        await eventually(lambda: models.count("writer", status="pending") == 1, timeout=60)
        assert models.count("research") == 1
        bot.kill()
        models.set_delay("writer", 0)

        await bot.start()
        await turn_posted(slack)
    finally:
        bot.stop()


async def turn_posted(slack: SlackSandbox, timeout: float = 90) -> None:
    """Until the note after the draft (or the progress stream's stop that says it), the turn's last post:
    then every post has been made."""
    await slack.wait_for(
        lambda: any("ready for a decision" in text_said(call) for call in slack.calls if call.ok),
        timeout=timeout,
    )


def assert_resumed_without_repeats(models: OpenAIStandIn, slack: SlackSandbox) -> None:
    """The research call finished before the crash and was not made again; the writer call that
    died with the process was made once more, then the rewrite the offline reviewer asks for (an
    uninterrupted run makes 2 writer calls); one draft, one thread."""
    assert models.count("research") == 1
    assert models.count("writer") == 3
    assert models.count("reviewer") == 2
    assert len([call for call in draft_posts(slack) if call.ok]) == 1
    parents = [call for call in slack.calls_to("chat.postMessage") if not call.params.get("thread_ts")]
    assert len(parents) == 1
    # The draft's progress: one streamed message, stopped (never left typing), each task shown once.
    [started] = [call for call in slack.calls_to("chat.startStream") if call.ok]
    stream = stored(slack, CHANNEL, str(started.response["ts"]))  # type: ignore[index]
    assert not slack.streams.is_streaming(CHANNEL, stream["ts"])
    [plan] = [block for block in stream["blocks"] if block["type"] == "plan"]
    ids = [task["task_id"] for task in plan["tasks"]]
    assert len(ids) == len(set(ids)) and all(task["status"] == "complete" for task in plan["tasks"])
    assert stream["text"].count("is ready for a decision") == 1
