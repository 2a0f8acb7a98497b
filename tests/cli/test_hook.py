"""Claude Code's two ways to ask signoff, against their documented shapes, with a real ``signoff hook``
and ``signoff mcp`` process in front of the bot and its worker on Temporal, the sandbox as Slack.

The ``PreToolUse`` hook (code.claude.com/docs/en/hooks): the payload on stdin (``session_id``,
``transcript_path``, ``cwd``, ``permission_mode``, ``hook_event_name``, ``tool_name``, ``tool_input``,
``tool_use_id``); the decision on stdout with exit 0 as ``hookSpecificOutput.permissionDecision``
(``allow`` / ``deny``) and ``permissionDecisionReason``; exit 2 blocks with stderr. The permission
prompt tool (``claude -p --permission-prompt-tool``): called with ``tool_name``, ``input`` and
``tool_use_id``, answering one text part holding ``{"behavior": "allow", "updatedInput": …}`` or
``{"behavior": "deny", "message": …}``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from bot.api.hook import HookInput, answer_hook
from bot.api.mcp import APPROVAL_PROMPT
from bot.api.tool_gate import ToolCallGate
from bot.api.tool_policy import load_policy
from signoff.config.ports import free_port
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from tests.support.api import KEYS
from tests.support.bot import RunningBot, bot_settings
from tests.support.engines import running_stack
from tests.support.mcp import engine_environment, pending_tool_call, stdio_session, text_of
from tests.support.slack import APPROVER_1, CHANNEL

# Generous: these wait on child processes and the engine on a loaded 2-core machine.
LOADED = 60.0

pytestmark = [pytest.mark.process, pytest.mark.slow]


def payload(tool: str, tool_input: dict[str, Any], session: str = "7f1c2e9a-session") -> dict[str, Any]:
    """A PreToolUse hook's input, every documented field."""
    return {
        "session_id": session,
        "transcript_path": f"/home/dev/.claude/projects/app/{session}.jsonl",
        "cwd": "/home/dev/app",
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": tool_input,
        "tool_use_id": "toolu_01ABCdef",
    }


@pytest.fixture
async def environment(
    time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path
) -> AsyncIterator[dict[str, str]]:
    settings = replace(bot_settings(slack), api_keys=KEYS)
    with time_env.auto_time_skipping_disabled():
        async with running_stack(
            "temporal", slack, settings, temporal_client=time_env.client, tmp_path=tmp_path
        ) as bot:
            yield _environment_of(bot, time_env)


def _environment_of(bot: RunningBot, time_env: WorkflowEnvironment) -> dict[str, str]:
    target = time_env.client.service_client.config.target_host
    settings = replace(bot.deps.settings, temporal_address=target)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **engine_environment(settings),
        "SIGNOFF_DEFAULT_CHANNEL": CHANNEL,
    }


async def hook(environment: dict[str, str], stdin: str, *flags: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "signoff.cli", "--env-file", "/dev/null", "hook", *flags),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment,
    )
    out, err = await process.communicate(stdin.encode())
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def decision_of(out: str) -> dict[str, Any]:
    document = json.loads(out)
    assert set(document) == {"hookSpecificOutput"}
    output: dict[str, Any] = document["hookSpecificOutput"]
    assert output["hookEventName"] == "PreToolUse"
    return output


async def click_when_posted(slack: SlackSandbox, tool: str, action: str, reason: str = "") -> None:
    message = await slack.wait_for(lambda: pending_tool_call(slack, tool), timeout=LOADED)
    await slack.click_button(APPROVER_1, CHANNEL, message["ts"], action)
    if action == action_ids.TOOL_DENY:
        [modal] = await slack.wait_for(lambda: slack.open_views(APPROVER_1), timeout=LOADED)
        await slack.submit_view(APPROVER_1, modal["id"], {action_ids.REASON_BLOCK: {action_ids.REASON_INPUT: reason}})


async def test_the_pre_tool_use_hook(environment: dict[str, str], slack: SlackSandbox) -> None:
    # Asked; Allow in Slack: the documented allow.
    rm = payload("Bash", {"command": "rm -rf dist/", "description": "Remove build output"})
    clicking = asyncio.create_task(click_when_posted(slack, "Bash", action_ids.TOOL_ALLOW))
    code, out, _ = await hook(environment, json.dumps(rm))
    await clicking
    assert code == 0 and decision_of(out)["permissionDecision"] == "allow"

    # Undecided within the bound: denied as pending, and the same call again joins it; Deny's reason reaches Claude.
    push = payload("Bash", {"command": "git push --force"})
    code, out, _ = await hook(environment, json.dumps(push), "--wait", "0.5")
    pending = decision_of(out)
    assert (
        code == 0
        and pending["permissionDecision"] == "deny"
        and "Approval pending" in pending["permissionDecisionReason"]
    )
    clicking = asyncio.create_task(click_when_posted(slack, "Bash", action_ids.TOOL_DENY, "Never force-push main"))
    code, out, _ = await hook(environment, json.dumps(push))
    await clicking
    denied = decision_of(out)
    assert denied["permissionDecision"] == "deny" and "Never force-push main" in denied["permissionDecisionReason"]
    asked = [m for m in slack.messages(CHANNEL) if "Tool call:" in (m.get("text") or "")]
    assert len(asked) == 2

    # A read the policy leaves to Claude Code; then every call the hook answered is in the key's
    # hook tool-call log, as signoff audit prints it.
    code, out, _ = await hook(environment, json.dumps(payload("Read", {"file_path": "/home/dev/app/README.md"})))
    assert (code, out) == (0, "")
    code, log_id, _ = await hook(environment, "", "--log-id")
    assert code == 0 and log_id.startswith("toolcalls-")
    record = json.loads(await audit(environment, log_id.strip()))
    calls = [(c["tool"], c["verdict"], c["upstream"], c["decision"]) for c in record["calls"]]
    assert calls == [
        ("Bash", "asked", "let-through", "allowed"),
        ("Bash", "asked", "not-run", "pending"),
        ("Bash", "asked", "not-run", "denied"),
        ("Read", "allowed-by-policy", "let-through", None),
    ]
    assert record["calls"][2]["decided_by"] == [APPROVER_1] and "Never force-push main" in record["calls"][2]["note"]


async def audit(environment: dict[str, str], record_id: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "signoff.cli", "--env-file", "/dev/null", "audit", record_id),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_the_permission_prompt_tool(environment: dict[str, str], slack: SlackSandbox) -> None:
    async with stdio_session(environment) as session:
        request = {
            "tool_name": "Write",
            "input": {"file_path": "/srv/app/.env", "content": "DEBUG=1\n"},
            "tool_use_id": "toolu_02",
        }
        clicking = asyncio.create_task(click_when_posted(slack, "Write", action_ids.TOOL_ALLOW))
        allowed = await session.call_tool(APPROVAL_PROMPT, request)
        await clicking
        assert json.loads(text_of(allowed)) == {"behavior": "allow", "updatedInput": request["input"]}

        request = {"tool_name": "Bash", "input": {"command": "terraform destroy"}}
        clicking = asyncio.create_task(click_when_posted(slack, "Bash", action_ids.TOOL_DENY, "Not on Fridays"))
        denied = json.loads(text_of(await session.call_tool(APPROVAL_PROMPT, request)))
        await clicking
        assert denied["behavior"] == "deny" and "Not on Fridays" in denied["message"]

        # Not the documented shape: a deny saying why, never an allow.
        wrong = json.loads(text_of(await session.call_tool(APPROVAL_PROMPT, {"tool": "Bash"})))
        assert wrong["behavior"] == "deny" and "tool_name" in wrong["message"]


async def test_the_hook_answers_read_only_tools_and_bad_input_without_the_engine() -> None:
    """Claude Code's read-only tools are left to Claude Code (no output), a policy deny is the documented
    deny, and input that is not the documented shape blocks (exit 2, one line): none reaches the engine."""

    def no_engine(hook: HookInput) -> contextlib.AbstractAsyncContextManager[ToolCallGate]:
        raise AssertionError(f"asked about {hook.tool_name}")

    policy = load_policy(None, deny=["mcp__github__delete_*"])
    read = json.dumps(payload("Read", {"file_path": "/home/dev/app/README.md"}))
    assert await answer_hook(read, policy, no_engine) == (0, "", "")
    delete = json.dumps(payload("mcp__github__delete_repo", {"repo": "app"}))
    code, out, _ = await answer_hook(delete, policy, no_engine)
    assert code == 0 and decision_of(out)["permissionDecision"] == "deny"
    for wrong in (
        json.dumps({"tool_name": "Bash"}),
        "not json",
        json.dumps(payload("Bash", {}) | {"hook_event_name": "PostToolUse"}),
    ):
        code, out, err = await answer_hook(wrong, policy, no_engine)
        assert (code, out) == (2, "") and err.startswith("signoff hook: ") and len(err.splitlines()) == 1


@pytest.mark.parametrize("engine", ["temporal", "dbos"])
async def test_the_hook_answers_when_the_engine_cannot_log_it(engine: str, tmp_path: Path) -> None:
    """An engine out of reach (Temporal on a closed port; DBOS without its database) delays no answer
    past the log's bound and changes none: the read is still left to Claude Code, a policy deny is
    still the documented deny, and stderr says the entry was not logged."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "SIGNOFF_DEFAULT_CHANNEL": CHANNEL,
        "SIGNOFF_PREFERENCES": str(tmp_path / "preferences.sqlite"),
    }
    if engine == "temporal":
        environment["TEMPORAL_ADDRESS"] = f"127.0.0.1:{free_port()}"
    else:
        environment |= {"SIGNOFF_ENGINE": "dbos", "SIGNOFF_DATABASE_URL": f"sqlite:///{tmp_path / 'none.sqlite'}"}
    code, out, err = await hook(environment, json.dumps(payload("Read", {"file_path": "README.md"})))
    assert (code, out) == (0, "") and "not logged" in err, err
    delete = json.dumps(payload("mcp__github__delete_repo", {"repo": "app"}))
    code, out, err = await hook(environment, delete, "--deny", "mcp__github__delete_*")
    assert code == 0 and decision_of(out)["permissionDecision"] == "deny" and "not logged" in err, err
