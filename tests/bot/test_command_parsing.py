"""``/report`` text → what to do, tested on the module's pure functions (no Bolt app, no Temporal).

The topic length limit itself is applied in the handler (``len(parsed.arg) >
MAX_TOPIC_CHARS``); here it is enough that parsing keeps the whole topic so the
handler can measure it, and that the refusal text says how long it was.
"""

from __future__ import annotations

import pytest

from bot.listeners.commands import PLAN, REPORT, Parsed, _echo, _too_long, parse_report
from signoff.contracts.workflow_io import MAX_TOPIC_CHARS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Parsed("help")),
        ("   ", Parsed("help")),
        ("\n\t \n", Parsed("help")),
        ("help", Parsed("help")),
        ("  HeLp  ", Parsed("help")),
        ("list", Parsed("list")),
        ("LIST", Parsed("list")),
        ("status", Parsed("status")),
        ("status report-T0SANDBOX-C0GENERAL-0123", Parsed("status", "report-T0SANDBOX-C0GENERAL-0123")),
        ("Status   report-1  ", Parsed("status", "report-1")),
        ("status Report-ABC", Parsed("status", "Report-ABC")),  # the id keeps its case
        ("cancel report-1", Parsed("cancel", "report-1")),
        ("CANCEL  plan-9", Parsed("cancel", "plan-9")),
        ("cancel", Parsed("usage_cancel")),
        ("  Cancel   ", Parsed("usage_cancel")),
    ],
)
def test_subcommands(text: str, expected: Parsed) -> None:
    assert parse_report(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "The state of solar power in Europe",
        "help me compare heat pumps",  # a keyword followed by more words is a topic
        "list of EU solar subsidies",
        "status of the Q3 launch",
        "cancel culture in 2020s media",
        "status report-1 and report-2",
        "helpful tips for onboarding",  # starts with a keyword's letters, is not one
        "statuses",
        "lists",
        "cancellation policies compared",
    ],
)
def test_a_topic_that_starts_like_a_subcommand_stays_a_topic(text: str) -> None:
    assert parse_report(text) == Parsed("start", text)


@pytest.mark.parametrize("text", ["delete report-1", "stop report-1", "stats", "--help", "/report help", "?"])
def test_an_unknown_subcommand_is_a_topic(text: str) -> None:
    assert parse_report(text) == Parsed("start", text)


def test_a_topic_loses_its_surrounding_whitespace_but_keeps_its_own() -> None:
    assert parse_report("  \tWind  and\nsolar \n") == Parsed("start", "Wind  and\nsolar")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Énergie solaire en Europe", Parsed("start", "Énergie solaire en Europe")),
        ("日本の太陽光発電", Parsed("start", "日本の太陽光発電")),
        ("🌞 power ⚡", Parsed("start", "🌞 power ⚡")),
        ("\u3000help\u3000", Parsed("help")),  # an ideographic space is whitespace too
        ("status レポート-1", Parsed("status", "レポート-1")),
        ("STRASSE", Parsed("start", "STRASSE")),
    ],
)
def test_unicode(text: str, expected: Parsed) -> None:
    assert parse_report(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "<@U0APPROV1> weekly summary",
        "what <!channel> should know about <#C0GENERAL|general>",
        "help <@U0APPROV1> with the budget",
        "<!here>",
    ],
)
def test_mentions_in_a_topic_are_kept_verbatim(text: str) -> None:
    assert parse_report(text) == Parsed("start", text)


def test_an_echoed_topic_pings_nobody() -> None:
    echoed = _echo("<!channel> ping <@U0APPROV1> & <!subteam^S0TEAM>")

    assert echoed == "&lt;!channel&gt; ping &lt;@U0APPROV1&gt; &amp; &lt;!subteam^S0TEAM&gt;"


def test_an_echoed_topic_is_cut_to_200_characters() -> None:
    echoed = _echo("x" * 1000)

    assert len(echoed) == 200 and echoed.endswith("x…")
    assert _echo("y" * 200) == "y" * 200


@pytest.mark.parametrize("length", [MAX_TOPIC_CHARS, MAX_TOPIC_CHARS + 1, 10 * MAX_TOPIC_CHARS])
def test_a_long_topic_is_kept_whole_for_the_length_check(length: int) -> None:
    topic = "word " * (length // 5) + "w" * (length % 5)

    parsed = parse_report(topic)

    assert parsed.action == "start"
    assert len(parsed.arg) == len(topic.strip())
    assert (len(parsed.arg) > MAX_TOPIC_CHARS) is (len(topic.strip()) > MAX_TOPIC_CHARS)


def test_whitespace_around_a_topic_does_not_count_towards_the_limit() -> None:
    parsed = parse_report(" " * 50 + "z" * MAX_TOPIC_CHARS + "\n" * 50)

    assert len(parsed.arg) == MAX_TOPIC_CHARS


def test_a_long_subcommand_argument_is_an_id_not_a_topic() -> None:
    assert parse_report("status " + "i" * 5000) == Parsed("status", "i" * 5000)


@pytest.mark.parametrize(("command", "noun"), [(REPORT, "topic"), (PLAN, "task")])
def test_the_too_long_answer_gives_the_length_and_the_limit(command: str, noun: str) -> None:
    answer = _too_long("t" * 12345, command)

    assert f"That {noun} is 12,345 characters; the limit is {MAX_TOPIC_CHARS:,}." in answer


@pytest.mark.parametrize("gap", ["\t", "\n", "\u00a0"])
@pytest.mark.parametrize(("word", "action"), [("cancel", "cancel"), ("status", "status")])
def test_any_whitespace_separates_a_subcommand_from_its_id(gap: str, word: str, action: str) -> None:
    assert parse_report(f"{word}{gap}report-1") == Parsed(action, "report-1")
