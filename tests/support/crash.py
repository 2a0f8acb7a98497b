"""What the writer-crash tests check on either engine once the restarted process has caught up."""

from __future__ import annotations

from signoff.sandbox import SlackSandbox
from tests.doubles.openai_standin import OpenAIStandIn
from tests.support.slack import draft_posts


async def turn_posted(slack: SlackSandbox, timeout: float = 90) -> None:
    """Until the note after the draft, the turn's last post: then every post has been made."""
    await slack.wait_for(
        lambda: any(
            "ready for a decision" in str(call.params.get("text")) for call in slack.calls_to("chat.postMessage")
        ),
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
