"""The OpenAI Agents SDK's own MCP client (``MCPServerStreamableHttp``) driving signoff's offline model
against the bot's ``/mcp``: the agent asks for sign-off with ``request_signoff``, a person clicks
Approve in the sandbox, and the agent reports the outcome (its waiting on a request still pending,
with ``get_signoff``, is tests/models/test_offline_signoff_tools.py's)."""

from __future__ import annotations

import asyncio

from agents import Agent, RunConfig, Runner
from agents.mcp import MCPServerStreamableHttp
from temporalio.testing import WorkflowEnvironment

from bot.api.mcp import GET_SIGNOFF, REQUEST_SIGNOFF
from signoff.models.offline import OfflineModelProvider
from signoff.sandbox import SlackSandbox
from tests.support.api import CI_KEY, ApiStack
from tests.support.mcp import approve_when_posted
from tests.support.slack import CHANNEL

TITLE = "Deploy payments-api v2.3.1 to production"
TASK = f"Task: {TITLE} in <#{CHANNEL}|approvals>"


def _executor(server: MCPServerStreamableHttp) -> Agent:
    return Agent(
        name="executor",
        instructions="You are signoff's executor agent. Ask for sign-off before you act.",
        mcp_servers=[server],
    )


def _server(base: str) -> MCPServerStreamableHttp:
    return MCPServerStreamableHttp(
        {"url": base + "/mcp", "headers": {"Authorization": f"Bearer {CI_KEY.secret}"}},
        # A call waits for a person (up to request_signoff's wait_seconds).
        client_session_timeout_seconds=120,
    )


async def test_an_agent_asks_through_mcp_and_a_click_in_slack_answers_it(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    with time_env.auto_time_skipping_disabled():
        async with api() as (caller, _), _server(caller.base) as server:
            clicking = asyncio.create_task(approve_when_posted(slack, TITLE))
            result = await Runner.run(
                _executor(server), TASK, run_config=RunConfig(model_provider=OfflineModelProvider())
            )
            await clicking
    report = str(result.final_output)
    # The agent's report of its one call: the outcome the click gave, as the tool answered it.
    [line] = [line for line in report.splitlines() if line.startswith(f"1. `{REQUEST_SIGNOFF}`")]
    assert '"status": "approved"' in line and '"decided_by": ["U0APPROV1"]' in line, report
    assert GET_SIGNOFF not in report
