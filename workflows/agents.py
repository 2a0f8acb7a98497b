"""The OpenAI Agents SDK agents and the prompts they get.

Agents are built inside workflow code; with ``OpenAIAgentsPlugin`` every model
call they make runs as its own Temporal activity, so a finished call is never
paid for twice. The first line of each agent's instructions names its role; the
offline model relies on it.
"""

from __future__ import annotations

from collections.abc import Sequence

from agents import Agent, AgentOutputSchema, Tool
from pydantic import BaseModel, Field

from signoff.contracts.workflow_io import AgentModels


class ReviewVerdict(BaseModel):
    """The reviewer's structured answer; never parsed out of free text."""

    approved: bool = Field(description="True only if the draft is ready for a human to sign off.")
    feedback: str = Field(description="What to change, addressed to the writer.")
    issues: list[str] = Field(default_factory=list, description="Each concrete problem found.")


# Built once: the SDK would otherwise generate the JSON schema again on every review call,
# which is most of the CPU a review round costs a workflow (py-spy on a replay).
REVIEW_VERDICT_SCHEMA = AgentOutputSchema(ReviewVerdict)


RESEARCH_INSTRUCTIONS = """You are signoff's research agent.
Research the given topic and return a structured summary: key facts, open questions,
and the sources a reader should verify. Use markdown bullet points."""

WRITER_INSTRUCTIONS = """You are signoff's writer agent.
Write a polished report in markdown from the research you are given, with the sections
## Summary, ## Key findings, ## Risks, ## Recommendations and ## Sources to verify.
When you get a previous draft with reviewer feedback or human revision notes, rewrite
the draft so that every point raised is addressed, and say how in a final
## Revision notes addressed section when there are human notes."""

REVIEWER_INSTRUCTIONS = """You are signoff's reviewer agent.
Review the draft for accuracy, completeness and structure. Approve it only if it is
ready for a human to sign off; otherwise list the concrete issues and the feedback
the writer needs."""

PLANNER_INSTRUCTIONS = """You are signoff's planner agent.
Turn the task into a short numbered plan of concrete steps, each with its expected
outcome. When you get human revision notes, revise the previous plan accordingly."""

EXECUTOR_INSTRUCTIONS = """You are signoff's executor agent.
Carry out the approved plan step by step and report what was done for each step."""

EXECUTOR_TOOL_INSTRUCTIONS = """
Act in Slack only through your tools. A person may allow or deny each call: when a call is
denied or times out, do not repeat it; say in your report what was not done and why. When a
tool reports not_in_channel, the app must be invited to that channel first: say so."""


def research_agent(models: AgentModels) -> Agent:
    return Agent(name="ResearchAgent", instructions=RESEARCH_INSTRUCTIONS, model=models.research)


def writer_agent(models: AgentModels) -> Agent:
    return Agent(name="WriterAgent", instructions=WRITER_INSTRUCTIONS, model=models.writer)


def reviewer_agent(models: AgentModels) -> Agent[None]:
    return Agent(
        name="ReviewerAgent",
        instructions=REVIEWER_INSTRUCTIONS,
        model=models.reviewer,
        output_type=REVIEW_VERDICT_SCHEMA,
    )


def planner_agent(models: AgentModels) -> Agent:
    return Agent(name="PlannerAgent", instructions=PLANNER_INSTRUCTIONS, model=models.planner)


EXECUTOR_NAME = "ExecutorAgent"


def executor_agent(models: AgentModels, tools: Sequence[Tool] = ()) -> Agent:
    instructions = EXECUTOR_INSTRUCTIONS + (EXECUTOR_TOOL_INSTRUCTIONS if tools else "")
    return Agent(name=EXECUTOR_NAME, instructions=instructions, model=models.executor, tools=list(tools))


def research_prompt(topic: str) -> str:
    return f"Topic: {topic}"


def writer_prompt(
    topic: str,
    research: str,
    previous_draft: str | None = None,
    reviewer_feedback: str | None = None,
    human_notes: str | None = None,
) -> str:
    parts = [f"Topic: {topic}", f"Research:\n{research}"]
    if previous_draft is not None:
        parts.append(f"Previous draft:\n{previous_draft}")
    if reviewer_feedback:
        parts.append(f"Reviewer feedback:\n{reviewer_feedback}")
    if human_notes:
        parts.append(f"Human revision notes:\n{human_notes}")
    return "\n\n".join(parts)


def reviewer_prompt(topic: str, draft: str) -> str:
    return f"Topic: {topic}\n\nDraft:\n{draft}"


def planner_prompt(task: str, previous_plan: str | None = None, human_notes: str | None = None) -> str:
    parts = [f"Task: {task}"]
    if previous_plan is not None:
        parts.append(f"Previous plan:\n{previous_plan}")
    if human_notes:
        parts.append(f"Human revision notes:\n{human_notes}")
    return "\n\n".join(parts)


def executor_prompt(task: str, plan: str) -> str:
    return f"Task: {task}\n\nApproved plan:\n{plan}"
