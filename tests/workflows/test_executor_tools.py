"""The executor's tools: arguments checked before anything runs (no Temporal needed)."""

from __future__ import annotations

import pytest

from signoff.contracts.tool_calls import EXECUTOR_TOOLS
from signoff.models.offline import channels_named, offline_tool_calls
from workflows.executor_tools import validate_arguments


def test_arguments_that_validate_pass() -> None:
    assert validate_arguments("post_message", {"channel": "#random", "text": "Hi"}) is None


@pytest.mark.parametrize(
    ("tool", "arguments", "problem"),
    [
        ("post_message", {"channel": "#random"}, "text: Field required"),
        ("post_message", {"channel": "  ", "text": "Hi"}, "channel: Value error, must not be empty"),
        (
            "post_message",
            {"channel": "#random", "text": "x" * 4001},
            "text: String should have at most 4000 characters",
        ),
        (
            "schedule_message",
            {"channel": "C0RANDOM0", "text": "Hi", "post_at": -5},
            "post_at: Input should be greater than 0",
        ),
        ("read_channel", {"channel": "#random", "limit": 500}, "limit: Input should be less than or equal to 15"),
        # An argument the tool would drop would also be one the approver never sees run: refused.
        (
            "post_message",
            {"channel": "#random", "text": "Hi", "unfurl_links": True},
            "unfurl_links: Extra inputs are not permitted",
        ),
        (
            "set_channel_topic",
            {"channel": "#random", "topic": "t" * 251},
            "topic: String should have at most 250 characters",
        ),
    ],
)
def test_arguments_that_do_not_validate_are_explained(tool: str, arguments: dict, problem: str) -> None:
    assert validate_arguments(tool, arguments) == (
        f"The arguments for {tool} are not valid ({problem}). Nothing was run; fix them and try again."
    )


def test_a_tool_that_does_not_exist_is_named_with_the_ones_that_do() -> None:
    assert validate_arguments("delete_channel", {"channel": "#random"}) == (
        "There is no tool named 'delete_channel'; the tools are post_message, schedule_message, share_document, "
        "set_channel_topic, read_channel."
    )


def test_every_tool_the_policy_can_name_exists() -> None:
    for tool in EXECUTOR_TOOLS:
        assert "There is no tool" not in (validate_arguments(tool, {}) or "")


def test_the_offline_executor_posts_in_each_channel_a_task_names() -> None:
    assert channels_named("Announce the offsite in #random and <#C0GENERAL|general>, then #Random again") == [
        "#random",
        "C0GENERAL",
    ]
    assert channels_named("Rotate the API keys (issue #42 is not a channel? it is: #42)") == ["#42"]
    calls = offline_tool_calls("Announce the offsite in #random", ["post_message", "read_channel"])
    assert [(tool, args["channel"]) for tool, args in calls] == [("post_message", "#random")]
    assert "offsite" in calls[0][1]["text"] and "offline model" in calls[0][1]["text"]
    assert offline_tool_calls("Announce the offsite in #random", []) == []
