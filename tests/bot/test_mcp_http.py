"""The MCP server over Streamable HTTP at ``/mcp`` on the bot's port, through the ``mcp`` SDK's own
client (a real worker on the time-skipping server, the Slack sandbox, each engine): ask, click in
Slack, the outcome; pending, then get_signoff; cancel; bad input a tool error naming the field;
the bearer keys as ``/v1`` has them."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from mcp import MCPError
from temporalio.testing import WorkflowEnvironment

from bot.api.mcp import APPROVAL_PROMPT, CANCEL_SIGNOFF, GET_SIGNOFF, REQUEST_SIGNOFF
from bot.server import EVENTS_PATH
from signoff.sandbox import SlackSandbox
from tests.support.api import CI_KEY, LIMITED_KEY, OTHER_KEY, ApiStack
from tests.support.bot import bot_settings, running_bot
from tests.support.mcp import answer_of, approve_when_posted, http_session, text_of
from tests.support.slack import APPROVER_1, CHANNEL, REQUESTER
from tests.support.waiting import eventually

DEPLOY: dict[str, Any] = {
    "title": "Deploy payments-api v2.3.1",
    "body": "Rollback: `deploy v2.3.0`",
    "channel": CHANNEL,
    "requester": REQUESTER,
}


async def test_ask_click_approve_in_slack_and_the_tool_answers_the_outcome(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    reported: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reported.append(progress)

    with time_env.auto_time_skipping_disabled():
        async with api() as (caller, _), http_session(caller.base, CI_KEY) as session:
            tools = await session.list_tools()
            assert {tool.name for tool in tools.tools} == {
                REQUEST_SIGNOFF,
                GET_SIGNOFF,
                CANCEL_SIGNOFF,
                APPROVAL_PROMPT,
            }
            [request_tool] = [tool for tool in tools.tools if tool.name == REQUEST_SIGNOFF]
            assert {"title", "body", "approvers", "wait_seconds"} <= set(request_tool.input_schema["properties"])

            async def click_once_waiting() -> None:
                # Only once the tool said it waits: a click before the thread's post was read back
                # would be answered as already decided, with no progress to report.
                await eventually(lambda: reported, timeout=60)
                await approve_when_posted(slack, DEPLOY["title"])

            clicking = asyncio.create_task(click_once_waiting())
            result = await session.call_tool(REQUEST_SIGNOFF, DEPLOY, progress_callback=on_progress)
            await clicking
    answer = answer_of(result)
    assert answer["status"] == "approved", answer
    assert answer["result"]["decided_by"] == [APPROVER_1] and answer["result"]["text"] == DEPLOY["body"]
    assert reported[0] == 0


async def test_pending_then_get_signoff_waits_for_the_click(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    with time_env.auto_time_skipping_disabled():
        async with api() as (caller, _), http_session(caller.base, CI_KEY) as session:
            pending = answer_of(await session.call_tool(REQUEST_SIGNOFF, {**DEPLOY, "wait_seconds": 0}))
            assert pending["status"] == "pending" and pending["id"].startswith("api-") and pending["thread"]
            still = answer_of(await session.call_tool(GET_SIGNOFF, {"id": pending["id"], "wait_seconds": 0}))
            assert still["status"] == "pending"
            await approve_when_posted(slack, DEPLOY["title"])
            decided = answer_of(await session.call_tool(GET_SIGNOFF, {"id": pending["id"], "wait_seconds": 30}))
            # What /v1 shows for the same request, to the same key.
            read = await caller.read(pending["id"])
    assert decided["status"] == "approved" and decided == read.body


async def test_the_same_id_is_the_same_request_never_a_second_thread(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    async with api() as (caller, _), http_session(caller.base, CI_KEY) as session:
        first = answer_of(await session.call_tool(REQUEST_SIGNOFF, {**DEPLOY, "id": "deploy-1", "wait_seconds": 0}))
        again = answer_of(await session.call_tool(REQUEST_SIGNOFF, {**DEPLOY, "id": "deploy-1", "wait_seconds": 0}))
        other = await session.call_tool(REQUEST_SIGNOFF, {**DEPLOY, "title": "Deploy v9", "id": "deploy-1"})
    assert first == again
    assert other.is_error and "idempotency key was used for a different request" in text_of(other)
    assert len([message for message in slack.messages(CHANNEL) if "Deploy" in (message.get("text") or "")]) == 1


async def test_cancel_signoff_withdraws_it(time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack) -> None:
    async with api() as (caller, _), http_session(caller.base, CI_KEY) as session:
        pending = answer_of(await session.call_tool(REQUEST_SIGNOFF, {**DEPLOY, "wait_seconds": 0}))
        cancelled = answer_of(await session.call_tool(CANCEL_SIGNOFF, {"id": pending["id"]}))
        again = await session.call_tool(CANCEL_SIGNOFF, {"id": pending["id"]})
    assert cancelled["status"] == "cancelled"
    assert again.is_error and "already ended (cancelled)" in text_of(again)


async def test_bad_input_is_a_tool_error_naming_the_field_and_posts_nothing(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    bad: list[tuple[str, dict[str, Any], str]] = [
        (REQUEST_SIGNOFF, {**DEPLOY, "titel": "typo"}, "titel: unknown field"),
        (REQUEST_SIGNOFF, {**DEPLOY, "title": "x" * 151}, "title:"),
        (REQUEST_SIGNOFF, {**DEPLOY, "approvers": ["not-a-user"]}, "approvers"),
        (REQUEST_SIGNOFF, {"body": "no title"}, "title: Field required"),
        (REQUEST_SIGNOFF, {**DEPLOY, "wait_seconds": -1}, "wait_seconds:"),
        (REQUEST_SIGNOFF, {**DEPLOY, "callback_url": "http://example.com/hook"}, "callback_url:"),
        (GET_SIGNOFF, {"id": "api-" + "0" * 40}, "no such request"),
        (GET_SIGNOFF, {}, "id: Field required"),
        (CANCEL_SIGNOFF, {"id": "../etc"}, "no such request"),
        ("approve_it_yourself", {}, "no tool 'approve_it_yourself'"),
    ]
    async with api() as (caller, _), http_session(caller.base, CI_KEY) as session:
        for name, arguments, expected in bad:
            result = await session.call_tool(name, arguments)
            assert result.is_error and expected in text_of(result), (name, arguments, text_of(result))
            assert "Traceback" not in text_of(result)
    assert slack.messages(CHANNEL) == []


async def test_mcp_needs_a_valid_key(time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack) -> None:
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    async with api() as (caller, _), aiohttp.ClientSession() as http:
        answers = []
        for authorization in (None, f"Bearer {CI_KEY.secret}x", f"Basic {CI_KEY.secret}"):
            sent = headers | ({"Authorization": authorization} if authorization else {})
            async with http.post(caller.base + "/mcp", json=initialize, headers=sent) as response:
                answers.append((response.status, response.headers, await response.text()))
        # A session opened with one key is refused to another (as if it did not exist).
        session_ids: list[str] = []
        async with http_session(caller.base, CI_KEY, session_ids) as session:
            opened = answer_of(await session.call_tool(REQUEST_SIGNOFF, {**DEPLOY, "wait_seconds": 0}))
            [session_id] = session_ids
            list_tools = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
            sent = headers | {"Authorization": f"Bearer {OTHER_KEY.secret}", "Mcp-Session-Id": session_id}
            async with http.post(caller.base + "/mcp", json=list_tools, headers=sent) as response:
                hijack = response.status
        # Another key does not see the first key's request at all.
        async with http_session(caller.base, OTHER_KEY) as other:
            foreign = await other.call_tool(GET_SIGNOFF, {"id": opened["id"], "wait_seconds": 0})
    for status, response_headers, text in answers:
        assert status == 401 and response_headers["WWW-Authenticate"].startswith("Bearer"), text
        assert response_headers["Content-Type"].startswith("application/problem+json")
        assert CI_KEY.secret not in text
    assert hijack == 404
    assert foreign.is_error and "no such request" in text_of(foreign)


# The check runs before any engine call: once is enough.
@pytest.mark.parametrize("api_engine", ["temporal"])
async def test_a_page_from_another_web_origin_is_refused_even_with_a_key(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    """DNS rebinding: a page on evil.example resolved to the bot's address sends its own Origin."""
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "Authorization": f"Bearer {CI_KEY.secret}",
    }
    async with api() as (caller, _), aiohttp.ClientSession() as http:
        statuses = {}
        for origin in ("http://evil.example", "null", caller.base.replace("127.0.0.1", "localhost")):
            async with http.post(caller.base + "/mcp", json=call, headers=headers | {"Origin": origin}) as response:
                statuses[origin] = (response.status, await response.text())
        # A page served from the bot's own host and port is its own origin.
        async with http_session(caller.base, CI_KEY, origin=caller.base) as session:
            tools = await session.list_tools()
    assert all(status == 403 and "web origin" in text for status, text in statuses.values()), statuses
    assert {tool.name for tool in tools.tools} >= {REQUEST_SIGNOFF}
    assert slack.messages(CHANNEL) == []


async def test_a_key_limited_to_channels_asks_only_there(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    async with api() as (caller, _), http_session(caller.base, LIMITED_KEY) as session:
        elsewhere = await session.call_tool(REQUEST_SIGNOFF, {**DEPLOY, "wait_seconds": 0})
    assert elsewhere.is_error and text_of(elsewhere).startswith("channel: this API key may not ask in")
    assert slack.messages(CHANNEL) == []


async def test_mcp_is_off_without_keys(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with (
        running_bot(slack, bot_settings(slack), time_env.client) as bot,
        aiohttp.ClientSession() as http,
        http.post(bot.url.removesuffix(EVENTS_PATH) + "/mcp", json={}) as response,
    ):
        assert response.status == 404


async def test_while_the_bot_drains_mcp_is_refused(
    time_env: WorkflowEnvironment, slack: SlackSandbox, api: ApiStack
) -> None:
    async with api() as (caller, bot), http_session(caller.base, CI_KEY) as session:
        bot.deps.follow_ups.draining = True
        try:
            # The SDK's client tells an HTTP error only as "an error response": the status is below.
            with pytest.raises(MCPError):
                await session.call_tool(REQUEST_SIGNOFF, {**DEPLOY, "wait_seconds": 0})
            async with (
                aiohttp.ClientSession() as http,
                http.post(caller.base + "/mcp", json={}, headers={"Authorization": f"Bearer {CI_KEY.secret}"}) as raw,
            ):
                status, retry_after = raw.status, raw.headers.get("Retry-After")
        finally:
            bot.deps.follow_ups.draining = False
    assert status == 503 and retry_after == "1"
    assert slack.messages(CHANNEL) == []
