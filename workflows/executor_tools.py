"""The executor agent's tools: real actions in Slack, each one an activity, each one gated.

A tool runs inside the workflow (the Agents SDK calls it there) and does its work through
one of the worker's activities, named in ``signoff.contracts.tool_calls``; its idempotency key is the
workflow id and the model's call id, so a retried or replayed call never acts twice.
Whether a person must allow it first is ``ToolApprovals.needs_approval``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from temporalio import workflow

from signoff.contracts.activity_io import SLACK_RETRY_POLICY, SLACK_START_TO_CLOSE
from signoff.contracts.steps import StepFailed
from signoff.contracts.tool_calls import (
    MAX_CHANNEL_TOPIC_CHARS,
    MAX_DOCUMENT_CHARS,
    MAX_READ_LIMIT,
    MAX_TOOL_TEXT_CHARS,
    POST_MESSAGE,
    READ_CHANNEL,
    SCHEDULE_MESSAGE,
    SET_CHANNEL_TOPIC,
    SHARE_DOCUMENT,
    TOOL_POST_MESSAGE,
    TOOL_READ_CHANNEL,
    TOOL_SCHEDULE_MESSAGE,
    TOOL_SET_CHANNEL_TOPIC,
    TOOL_SHARE_DOCUMENT,
    PostMessageInput,
    ReadChannelInput,
    ScheduleMessageInput,
    SetTopicInput,
    ShareDocumentInput,
    ToolResult,
)
from workflows.runtime import durable
from workflows.tool_approvals import ToolApprovals

with workflow.unsafe.imports_passed_through():
    from agents import FunctionTool, RunContextWrapper
    from agents.strict_schema import ensure_strict_json_schema
    from agents.tool_context import ToolContext

CHANNEL_HELP = "A conversation id such as C0123ABCD, or a channel name such as #general."


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


Text = Annotated[str, AfterValidator(_not_blank)]


class _ToolArgs(BaseModel):
    # An argument the tool would ignore is refused: what a person allows is exactly what runs.
    model_config = ConfigDict(extra="forbid")


class PostMessageArgs(_ToolArgs):
    channel: Text = Field(description=CHANNEL_HELP)
    text: Text = Field(description="The message, in Slack mrkdwn.", max_length=MAX_TOOL_TEXT_CHARS)


class ScheduleMessageArgs(_ToolArgs):
    channel: Text = Field(description=CHANNEL_HELP)
    text: Text = Field(description="The message, in Slack mrkdwn.", max_length=MAX_TOOL_TEXT_CHARS)
    post_at: int = Field(description="When to post it, in Unix seconds (at most 120 days ahead).", gt=0)


class ShareDocumentArgs(_ToolArgs):
    channel: Text = Field(description=CHANNEL_HELP)
    title: Text = Field(description="The document's title.", max_length=250)
    markdown: Text = Field(description="The document, in markdown.", max_length=MAX_DOCUMENT_CHARS)


class SetChannelTopicArgs(_ToolArgs):
    channel: Text = Field(description=CHANNEL_HELP)
    topic: str = Field(description="The new topic.", max_length=MAX_CHANNEL_TOPIC_CHARS)


class ReadChannelArgs(_ToolArgs):
    channel: Text = Field(description=CHANNEL_HELP)
    limit: int = Field(description=f"How many recent messages, 1 to {MAX_READ_LIMIT}.", ge=1, le=MAX_READ_LIMIT)


# Each tool: its arguments, what it tells the model it does, and the activity that does it.
_TOOLS: dict[str, tuple[type[BaseModel], str, str]] = {
    POST_MESSAGE: (PostMessageArgs, "Post a message in a Slack channel.", TOOL_POST_MESSAGE),
    SCHEDULE_MESSAGE: (ScheduleMessageArgs, "Schedule a message in a Slack channel.", TOOL_SCHEDULE_MESSAGE),
    SHARE_DOCUMENT: (ShareDocumentArgs, "Share a markdown document in a Slack channel.", TOOL_SHARE_DOCUMENT),
    SET_CHANNEL_TOPIC: (SetChannelTopicArgs, "Set a Slack channel's topic.", TOOL_SET_CHANNEL_TOPIC),
    READ_CHANNEL: (ReadChannelArgs, "Read a Slack channel's most recent messages.", TOOL_READ_CHANNEL),
}


def validate_arguments(tool: str, arguments: dict[str, Any]) -> str | None:
    """Why ``arguments`` are not acceptable for ``tool`` (for the model), or None when they are."""
    spec = _TOOLS.get(tool)
    if spec is None:
        return f"There is no tool named {tool!r}; the tools are {', '.join(_TOOLS)}."
    try:
        spec[0].model_validate(arguments)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in err.errors())
        return f"The arguments for {tool} are not valid ({problems}). Nothing was run; fix them and try again."
    return None


def _activity_input(tool: str, args: BaseModel, key: str) -> object:
    if isinstance(args, PostMessageArgs):
        return PostMessageInput(channel=args.channel, text=args.text, idempotency_key=key)
    if isinstance(args, ScheduleMessageArgs):
        return ScheduleMessageInput(channel=args.channel, text=args.text, post_at=args.post_at, idempotency_key=key)
    if isinstance(args, ShareDocumentArgs):
        return ShareDocumentInput(channel=args.channel, title=args.title, markdown=args.markdown, idempotency_key=key)
    if isinstance(args, SetChannelTopicArgs):
        return SetTopicInput(channel=args.channel, topic=args.topic)
    if isinstance(args, ReadChannelArgs):
        return ReadChannelInput(channel=args.channel, limit=args.limit)
    raise TypeError(f"no activity input for {tool}")


async def _run_activity(activity: str, payload: object) -> ToolResult:
    try:
        return await durable().execute_activity(
            activity,
            payload,
            result_type=ToolResult,
            start_to_close_timeout=SLACK_START_TO_CLOSE,
            policy=SLACK_RETRY_POLICY,
        )
    except StepFailed as err:
        if err.non_retryable:
            # Slack said no for good (bad token, missing scope): the agent hears it, the run goes on.
            return ToolResult(ok=False, summary=err.message, error=err.error_type)
        raise


def _tool(approvals: ToolApprovals, agent_name: str, name: str) -> FunctionTool:
    model, description, activity = _TOOLS[name]

    async def needs_approval(_ctx: RunContextWrapper[Any], params: dict[str, Any], _call_id: str) -> bool:
        # Arguments that do not validate run nothing (the invocation refuses them), so no one is asked.
        return validate_arguments(name, params) is None and await approvals.needs_approval(name, params)

    async def invoke(ctx: ToolContext[Any], raw_arguments: str) -> str:
        try:
            arguments = json.loads(raw_arguments or "{}")
        except ValueError:
            return f"The arguments for {name} are not JSON. Nothing was run."
        if not isinstance(arguments, dict):
            return f"The arguments for {name} must be a JSON object. Nothing was run."
        problem = validate_arguments(name, arguments)
        if problem is not None:
            return problem
        args = model.model_validate(arguments)
        record = approvals.started(agent_name, name, arguments, ctx.tool_call_id)
        key = f"{durable().workflow_id()}:tool:{ctx.tool_call_id}"
        result = await _run_activity(activity, _activity_input(name, args, key))
        await approvals.finished(record, result)
        return result.summary

    return FunctionTool(
        name=name,
        description=description,
        params_json_schema=ensure_strict_json_schema(model.model_json_schema()),
        on_invoke_tool=invoke,
        strict_json_schema=True,
        needs_approval=needs_approval,
    )


def executor_tools(approvals: ToolApprovals, agent_name: str) -> list[FunctionTool]:
    """The tools the executor agent gets, bound to this workflow's approvals."""
    return [_tool(approvals, agent_name, name) for name in _TOOLS]
