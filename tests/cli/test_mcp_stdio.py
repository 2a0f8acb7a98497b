"""``signoff mcp`` over stdio: a real child process, its settings from the environment, driven by
the ``mcp`` SDK's own client, in front of a bot and its engine (Temporal's time-skipping server, or
DBOS on SQLite and PostgreSQL, or Restate): ask, click in the sandbox, the outcome; pending then get_signoff;
cancel; bad input; the identity its requests carry; the Agents SDK's ``MCPServerStdio`` driving the offline model."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, RunConfig, Runner
from agents.mcp import MCPServerStdio
from temporalio.testing import WorkflowEnvironment

from bot.api.mcp import APPROVAL_PROMPT, CANCEL_SIGNOFF, GET_SIGNOFF, REQUEST_SIGNOFF, STDIO_KEY_NAME
from signoff.models.offline import OfflineModelProvider
from signoff.sandbox import SlackSandbox
from tests.support.api import KEYS
from tests.support.bot import RunningBot, bot_settings
from tests.support.engines import REQUEST_ENGINES, on_the_stacks_restate, running_stack, seen_from_outside
from tests.support.mcp import answer_of, approve_when_posted, engine_environment, stdio_session, text_of
from tests.support.slack import APPROVER_1, CHANNEL, REQUESTER

DEPLOY: dict[str, Any] = {
    "title": "Rotate the production database password",
    "body": "Old one revoked after the switch.",
    "channel": CHANNEL,
    "requester": REQUESTER,
}


@dataclass
class Stack:
    bot: RunningBot
    # What `signoff mcp` reads: the engine, the API keys (for --key).
    environment: dict[str, str]


@pytest.fixture(params=REQUEST_ENGINES)
async def stack(
    request: pytest.FixtureRequest, time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path
) -> AsyncIterator[Stack]:
    settings = replace(bot_settings(slack), api_keys=KEYS)
    target = time_env.client.service_client.config.target_host
    engine, seen = seen_from_outside(request, request.param, settings, target, tmp_path, "mcp")
    keys = ",".join(f"{key.name}:{key.secret}" for key in KEYS if key.channels is None)
    with time_env.auto_time_skipping_disabled():
        async with running_stack(engine, slack, settings, temporal_client=time_env.client, tmp_path=tmp_path) as bot:
            environment = engine_environment(on_the_stacks_restate(bot, seen)) | {"SIGNOFF_API_KEYS": keys}
            yield Stack(bot, environment)


async def test_ask_over_stdio_click_approve_and_the_outcome(stack: Stack, slack: SlackSandbox) -> None:
    async with stdio_session(stack.environment) as session:
        tools = await session.list_tools()
        assert {tool.name for tool in tools.tools} == {REQUEST_SIGNOFF, GET_SIGNOFF, CANCEL_SIGNOFF, APPROVAL_PROMPT}
        clicking = asyncio.create_task(approve_when_posted(slack, DEPLOY["title"]))
        result = await session.call_tool(REQUEST_SIGNOFF, {**DEPLOY, "wait_seconds": 30})
        await clicking
    answer = answer_of(result)
    assert answer["status"] == "approved" and answer["result"]["decided_by"] == [APPROVER_1], answer
    # The audit names the stdio server's identity, as it names an API key.
    record = await stack.bot.deps.gateway.request_record(answer["id"])
    assert record.memo["api_key"] == STDIO_KEY_NAME


async def test_pending_then_get_signoff_then_cancel(stack: Stack, slack: SlackSandbox) -> None:
    async with stdio_session(stack.environment) as session:
        pending = answer_of(await session.call_tool(REQUEST_SIGNOFF, {**DEPLOY, "wait_seconds": 0}))
        still = answer_of(await session.call_tool(GET_SIGNOFF, {"id": pending["id"], "wait_seconds": 0.5}))
        cancelled = answer_of(await session.call_tool(CANCEL_SIGNOFF, {"id": pending["id"]}))
    assert pending["status"] == still["status"] == "pending" and pending["thread"]["channel"] == CHANNEL
    assert cancelled["status"] == "cancelled"


async def test_bad_input_over_stdio_names_the_field(stack: Stack, slack: SlackSandbox) -> None:
    async with stdio_session(stack.environment) as session:
        unknown = await session.call_tool(REQUEST_SIGNOFF, {**DEPLOY, "approvers": ["nobody"]})
        # Without --key there is no secret to sign a webhook with.
        webhook = await session.call_tool(REQUEST_SIGNOFF, {**DEPLOY, "callback_url": "https://example.com/h"})
    assert unknown.is_error and text_of(unknown).startswith("approvers"), text_of(unknown)
    assert webhook.is_error and text_of(webhook).startswith("callback_url: "), text_of(webhook)
    assert slack.messages(CHANNEL) == []


async def test_as_a_configured_key_its_name_and_limits_apply(stack: Stack, slack: SlackSandbox) -> None:
    async with stdio_session(stack.environment, "--key", "ci") as session:
        pending = answer_of(await session.call_tool(REQUEST_SIGNOFF, {**DEPLOY, "wait_seconds": 0}))
    record = await stack.bot.deps.gateway.request_record(pending["id"])
    assert record.memo["api_key"] == "ci"


def test_an_unknown_key_is_one_line_and_exit_2() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "signoff.cli", "--env-file", "/dev/null", "mcp", "--key", "nobody"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        check=False,
    )
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.strip().splitlines() == [
        "signoff mcp: --key 'nobody' is not one of the configured API keys (SIGNOFF_API_KEYS, SIGNOFF_API_KEYS_FILE)"
    ]


async def test_the_agents_sdk_over_stdio_asks_and_a_click_answers(stack: Stack, slack: SlackSandbox) -> None:
    """The Agents SDK's ``MCPServerStdio`` starting ``signoff mcp``, driving the offline executor."""
    server = MCPServerStdio(
        {
            "command": sys.executable,
            "args": ["-m", "signoff.cli", "--env-file", "/dev/null", "mcp"],
            "env": {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **stack.environment},
        },
        client_session_timeout_seconds=120,
    )
    agent = Agent(name="executor", instructions="You are signoff's executor agent.", mcp_servers=[server])
    async with server:
        clicking = asyncio.create_task(approve_when_posted(slack, DEPLOY["title"]))
        result = await Runner.run(
            agent,
            f"Task: {DEPLOY['title']} in <#{CHANNEL}|general>",
            run_config=RunConfig(model_provider=OfflineModelProvider()),
        )
        await clicking
    [line] = [line for line in str(result.final_output).splitlines() if line.startswith(f"1. `{REQUEST_SIGNOFF}`")]
    assert '"status": "approved"' in line, result.final_output
