"""The offline model: deterministic, labelled, topic-specific, and it drives the review loop."""

from __future__ import annotations

import json
import re
import time

import pytest
from agents import Agent, ModelSettings, ModelTracing, RunConfig, Runner

from signoff.models.offline import (
    OFFLINE_LABEL,
    OfflineModel,
    OfflineModelProvider,
    UnknownAgentRoleError,
    detect_role,
    extract_user_text,
    key_terms,
    offline_reply,
)
from workflows.agents import ReviewVerdict


def instructions(role: str) -> str:
    return f"You are signoff's {role} agent.\nDo the {role} job well."


def writer_input(
    topic: str,
    research: str,
    previous: str | None = None,
    feedback: str | None = None,
    notes: str | None = None,
) -> str:
    parts = [f"Topic: {topic}", f"Research:\n{research}"]
    if previous is not None:
        parts.append(f"Previous draft:\n{previous}")
    if feedback:
        parts.append(f"Reviewer feedback:\n{feedback}")
    if notes:
        parts.append(f"Human revision notes:\n{notes}")
    return "\n\n".join(parts)


def review(topic: str, draft: str) -> ReviewVerdict:
    return ReviewVerdict.model_validate_json(offline_reply("reviewer", f"Topic: {topic}\n\nDraft:\n{draft}"))


def section(text: str, name: str) -> str:
    match = re.search(rf"^## {re.escape(name)}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"no ## {name} section in:\n{text}"
    return match.group(1)


def bullets(text: str) -> list[str]:
    return [line[2:] for line in text.splitlines() if line.startswith("- ")]


TOPIC = "Migrating our payments service to Kubernetes"
OTHER_TOPIC = "Reducing onboarding time for new support engineers"
TASK = "Rotate the staging database credentials"


# --------------------------------------------------------------------------- roles


@pytest.mark.parametrize("role", ["research", "writer", "reviewer", "planner", "executor"])
def test_detect_role_from_first_line(role: str) -> None:
    assert detect_role(instructions(role)) == role
    assert detect_role(f"  You are signoff\u2019s {role.upper()} agent.") == role


@pytest.mark.parametrize(
    "bad",
    [None, "", "You are a helpful assistant.", "You are signoff's poet agent.", "Hi\nYou are signoff's writer agent."],
)
def test_unknown_role_is_a_clear_error(bad: str | None) -> None:
    with pytest.raises(UnknownAgentRoleError, match="signoff's"):
        detect_role(bad)


def test_unknown_role_in_offline_reply() -> None:
    with pytest.raises(UnknownAgentRoleError, match="poet"):
        offline_reply("poet", "Topic: x")


def test_extract_user_text_from_items() -> None:
    items = [
        {"role": "user", "content": "first"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "a"}]},
        {"role": "user", "content": [{"type": "input_text", "text": "Topic: last"}]},
    ]
    assert extract_user_text(items) == "Topic: last"
    assert extract_user_text("Topic: plain") == "Topic: plain"
    assert extract_user_text([]) == ""


# --------------------------------------------------------------------------- text


def test_key_terms_are_filtered_words_and_bigrams() -> None:
    terms = key_terms(TOPIC)
    assert "payments service" in terms and "Kubernetes" in terms
    assert not {"our", "to", "the"} & {t.lower() for t in terms}
    assert key_terms("the of and") == []


@pytest.mark.parametrize(
    "role, prompt",
    [
        ("research", f"Topic: {TOPIC}"),
        ("writer", writer_input(TOPIC, "- a note")),
        ("reviewer", f"Topic: {TOPIC}\n\nDraft:\n## Summary\nx"),
        ("planner", f"Task: {TASK}"),
        ("executor", f"Task: {TASK}\n\nApproved plan:\n1. Do a\n2. Do b"),
    ],
)
def test_replies_are_deterministic(role: str, prompt: str) -> None:
    assert offline_reply(role, prompt) == offline_reply(role, prompt)


@pytest.mark.parametrize(
    "role, prompt",
    [
        ("research", f"Topic: {TOPIC}"),
        ("writer", writer_input(TOPIC, "- a note")),
        ("planner", f"Task: {TASK}"),
        ("executor", f"Task: {TASK}\n\nApproved plan:\n1. Do a"),
    ],
)
def test_text_replies_are_labelled_offline(role: str, prompt: str) -> None:
    reply = offline_reply(role, prompt)
    assert reply.splitlines()[0] == OFFLINE_LABEL
    assert "offline" in OFFLINE_LABEL and "no AI service was called" in OFFLINE_LABEL


def test_research_notes_mention_the_topic_terms() -> None:
    notes = offline_reply("research", f"Topic: {TOPIC}")
    assert "Kubernetes" in notes and "payments service" in notes
    assert "### Open questions" in notes
    assert any(b.endswith("?") for b in bullets(notes))


def test_reports_are_topic_specific() -> None:
    one = offline_reply("writer", writer_input(TOPIC, "- note"))
    two = offline_reply("writer", writer_input(OTHER_TOPIC, "- note"))
    findings_one = bullets(section(one, "Key findings"))
    findings_two = bullets(section(two, "Key findings"))
    assert 3 <= len(findings_one) <= 5 and 3 <= len(findings_two) <= 5
    assert set(findings_one).isdisjoint(findings_two)
    assert all(any(t in b for t in key_terms(TOPIC)) for b in findings_one)
    assert all(any(t in b for t in key_terms(OTHER_TOPIC)) for b in findings_two)
    assert "Kubernetes" in one and "Kubernetes" not in two
    assert "onboarding time" in two and "onboarding" not in one
    for name in ("Summary", "Recommendations", "Sources to verify"):
        section(one, name)


def test_review_loop_first_draft_rejected_then_approved() -> None:
    research = offline_reply("research", f"Topic: {TOPIC}")
    first = offline_reply("writer", writer_input(TOPIC, research))
    assert "## Risks" not in first

    verdict = review(TOPIC, first)
    assert verdict.approved is False
    assert "Risks" in verdict.feedback and verdict.feedback.startswith("Add a Risks section")
    assert verdict.issues == ["Missing required section: Risks"]

    second = offline_reply("writer", writer_input(TOPIC, research, first, verdict.feedback))
    risks = bullets(section(second, "Risks"))
    assert len(risks) >= 2
    assert "Draft revision 2" in second and "Draft revision 1" in first
    again = review(TOPIC, second)
    assert again.approved is True and again.issues == []


def test_reviewer_flags_empty_and_off_topic_drafts() -> None:
    assert review(TOPIC, "").approved is False
    other = offline_reply("writer", writer_input(OTHER_TOPIC, "- n", feedback="Add a Risks section"))
    assert review(OTHER_TOPIC, other).approved is True
    off_topic = review(TOPIC, other)
    assert off_topic.approved is False
    assert any("key terms" in issue for issue in off_topic.issues)


def test_reviewer_output_is_valid_review_verdict_json() -> None:
    raw = offline_reply("reviewer", f"Topic: {TOPIC}\n\nDraft:\nnothing here")
    data = json.loads(raw)
    assert set(data) == {"approved", "feedback", "issues"}
    verdict = ReviewVerdict.model_validate(data)
    assert verdict.approved is False
    assert [i for i in verdict.issues if i.startswith("Missing required section")] == [
        f"Missing required section: {name}" for name in ("Summary", "Key findings", "Risks", "Recommendations")
    ]


def test_human_notes_are_quoted_and_reflected() -> None:
    research = offline_reply("research", f"Topic: {TOPIC}")
    first = offline_reply("writer", writer_input(TOPIC, research))
    notes = "Please cover *PCI compliance* and the rollback strategy.\nKeep it <short> & sweet."
    revised = offline_reply("writer", writer_input(TOPIC, research, first, notes=notes))

    addressed = section(revised, "Revision notes addressed")
    assert "> Please cover *PCI compliance* and the rollback strategy." in addressed
    assert "> Keep it <short> & sweet." in addressed  # verbatim: the Slack layer escapes
    assert "PCI compliance" in section(revised, "Key findings")
    assert "rollback strategy" in section(revised, "Recommendations")
    assert "revision notes" in section(revised, "Summary")
    assert len(bullets(section(revised, "Key findings"))) <= 3 + 2  # "short" honoured
    assert review(TOPIC, revised).approved is True


def test_planner_steps_are_task_specific_and_apply_notes() -> None:
    plan = offline_reply("planner", f"Task: {TASK}")
    steps = re.findall(r"^\d+\. (.+)$", plan, re.MULTILINE)
    assert len(steps) >= 4
    assert "staging database" in plan and "database credentials" in plan

    notes = "Add a rollback step before rotating."
    revised = offline_reply("planner", f"Task: {TASK}\n\nPrevious plan:\n{plan}\n\nHuman revision notes:\n{notes}")
    assert "Plan revision 2" in revised
    assert f"\u201c{notes}\u201d" in revised
    assert f"> {notes}" in section(revised, "Revision notes applied")
    assert len(re.findall(r"^\d+\. ", revised, re.MULTILINE)) == len(steps) + 1


def test_executor_reports_each_plan_step() -> None:
    plan = offline_reply("planner", f"Task: {TASK}")
    steps = re.findall(r"^\d+\. (.+)$", plan, re.MULTILINE)
    report = offline_reply("executor", f"Task: {TASK}\n\nApproved plan:\n{plan}")
    assert report.count("executed (simulated offline)") == len(steps)
    assert f"{len(steps)} of {len(steps)} steps" in report
    empty = offline_reply("executor", f"Task: {TASK}\n\nApproved plan:\n")
    assert "nothing was executed" in empty


def test_huge_inputs_are_capped() -> None:
    huge = "word " * 200_000 + "\n" + "x" * 500_000
    started = time.monotonic()
    replies = [
        offline_reply("research", f"Topic: {huge}"),
        offline_reply("writer", writer_input(huge, huge, huge, huge, huge)),
        offline_reply("reviewer", f"Topic: {huge}\n\nDraft:\n{huge}"),
        offline_reply("planner", f"Task: {huge}\n\nPrevious plan:\n{huge}\n\nHuman revision notes:\n{huge}"),
        offline_reply("executor", f"Task: {huge}\n\nApproved plan:\n" + "1. step\n" * 10_000),
    ]
    # About 0.1 s: the bound is over 100 times that, so it only catches a blow-up (work growing
    # with the square of the input), never a busy machine.
    assert time.monotonic() - started < 10
    for reply in replies:
        assert len(reply) < 25_000
    assert "further step(s) were not executed" in replies[-1]


# --------------------------------------------------------------------------- Agents SDK


def run_config() -> RunConfig:
    return RunConfig(model_provider=OfflineModelProvider(), tracing_disabled=True)


async def test_runner_with_offline_provider_plain_text() -> None:
    agent = Agent(name="Writer", instructions=instructions("writer"), model="gpt-anything")
    result = await Runner.run(agent, writer_input(TOPIC, "- note"), run_config=run_config())
    assert result.final_output.startswith(OFFLINE_LABEL)
    assert "## Key findings" in result.final_output
    response = result.raw_responses[0]
    assert response.usage.requests == 1
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
    again = await Runner.run(agent, writer_input(TOPIC, "- note"), run_config=run_config())
    assert again.final_output == result.final_output
    assert again.raw_responses[0].response_id == response.response_id


async def test_runner_with_offline_provider_structured_output() -> None:
    agent = Agent(name="Reviewer", instructions=instructions("reviewer"), output_type=ReviewVerdict)
    first = offline_reply("writer", writer_input(TOPIC, "- note"))
    result = await Runner.run(agent, f"Topic: {TOPIC}\n\nDraft:\n{first}", run_config=run_config())
    assert isinstance(result.final_output, ReviewVerdict)
    assert result.final_output.approved is False
    assert "Risks" in result.final_output.feedback


async def test_runner_unknown_role_fails_clearly() -> None:
    agent = Agent(name="Poet", instructions="You write poems.")
    with pytest.raises(UnknownAgentRoleError, match=r"got 'You write poems\.'"):
        await Runner.run(agent, "Topic: spring", run_config=run_config())


async def test_offline_model_does_not_stream() -> None:
    model = OfflineModelProvider().get_model(None)
    assert isinstance(model, OfflineModel)
    stream = model.stream_response(
        instructions("writer"),
        "Topic: x",
        ModelSettings(),
        [],
        None,
        [],
        ModelTracing.DISABLED,
        previous_response_id=None,
        conversation_id=None,
        prompt=None,
    )
    with pytest.raises(NotImplementedError, match="offline model does not stream"):
        await stream.__anext__()
