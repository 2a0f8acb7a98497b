"""Shared pieces of the fault-injection tests (tests/test_faults_*.py).

What the sandbox saw (posts by idempotency key, live mentions anywhere), forged
but properly signed interactions, and the bot or worker as a real child process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import aiohttp

from sandbox import SlackSandbox
from sandbox.delivery import DeliveryResult
from signoff.devserver import free_port
from tests.support.processes import ChildProcess
from worker.slack_activities import POST_EVENT_TYPE

CHANNEL = "C0GENERAL"
ORIGIN_TEAM = "T0SANDBOX"
REQUESTER = "U0REQUEST"
APPROVER_1 = "U0APPROV1"
APPROVER_2 = "U0APPROV2"
OUTSIDER = "U0OUTSIDE"

# A broadcast or a user mention Slack would turn into a ping. Escaped forms (&lt;!channel&gt;) do not match.
LIVE_BROADCAST = re.compile(r"<!(channel|here|everyone)(\|[^>]*)?>")


# ---------------------------------------------------------------------------
# What the sandbox holds
# ---------------------------------------------------------------------------


def everything_in(slack: SlackSandbox, channel: str = CHANNEL) -> list[dict]:
    """Every stored message of ``channel``: top level and thread replies."""
    messages = []
    for parent in slack.messages(channel):
        messages.append(parent)
        messages.extend(slack.replies(channel, parent["ts"]))
    return messages


def post_keys(slack: SlackSandbox, channel: str = CHANNEL) -> Counter[str]:
    """How many stored messages carry each signoff idempotency key: every value must be 1."""
    keys: Counter[str] = Counter()
    for message in everything_in(slack, channel):
        metadata = message.get("metadata") or {}
        if metadata.get("event_type") == POST_EVENT_TYPE:
            keys[metadata["event_payload"]["key"]] += 1
    return keys


def assert_nothing_doubled(slack: SlackSandbox, channel: str = CHANNEL) -> Counter[str]:
    keys = post_keys(slack, channel)
    assert keys, "no signoff posts at all"
    doubled = {key: n for key, n in keys.items() if n > 1}
    assert not doubled, f"posted more than once: {doubled}"
    return keys


def is_draft(message_or_params: Mapping) -> bool:
    return "Draft revision" in json.dumps(message_or_params.get("blocks") or [])


def draft_messages(slack: SlackSandbox, thread_ts: str, channel: str = CHANNEL) -> list[dict]:
    return [m for m in slack.replies(channel, thread_ts) if is_draft(m)]


def draft_posts(slack: SlackSandbox) -> list:
    """chat.postMessage calls that carried a draft, whatever Slack answered."""
    return [call for call in slack.calls_to("chat.postMessage") if is_draft(call.params)]


def thread_texts(slack: SlackSandbox, thread_ts: str, channel: str = CHANNEL) -> list[str]:
    return [m.get("text") or "" for m in slack.replies(channel, thread_ts)]


def buttons(message: dict) -> list[str]:
    return [
        element["action_id"]
        for block in message.get("blocks") or []
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def ephemeral_texts(slack: SlackSandbox, user: str) -> list[str]:
    return [str(e.get("text") or "") + json.dumps(e.get("blocks") or []) for e in slack.ephemerals(user)]


async def told(slack: SlackSandbox, user: str, fragment: str, after: int = 0, timeout: float = 15) -> str:
    """Wait until ``user`` was shown (ephemerally) something containing ``fragment``, among messages after ``after``."""

    def seen() -> str | None:
        return next((t for t in ephemeral_texts(slack, user)[after:] if fragment in t), None)

    try:
        return await slack.wait_for(seen, timeout=timeout)
    except TimeoutError:
        raise AssertionError(f"{user} was not told {fragment!r}; they saw {ephemeral_texts(slack, user)}") from None


def all_recorded_text(slack: SlackSandbox) -> str:
    """Everything anyone could see: stored messages, ephemerals, views and every recorded call's params."""
    parts = [json.dumps(call.params, ensure_ascii=False) for call in slack.calls]
    for channel in (CHANNEL, "C0APPROVE"):
        parts.extend(json.dumps(m, ensure_ascii=False) for m in everything_in(slack, channel))
    parts.extend(json.dumps(e, ensure_ascii=False) for e in slack.ephemerals())
    return "\n".join(parts)


def assert_no_live_broadcast(slack: SlackSandbox) -> None:
    text = all_recorded_text(slack)
    match = LIVE_BROADCAST.search(text)
    assert match is None, (
        f"an unescaped {match.group(0)} reached Slack: …{text[max(0, match.start() - 200) : match.end() + 50]}…"
    )


# ---------------------------------------------------------------------------
# Forged, signed interactions
# ---------------------------------------------------------------------------


def block_actions(
    slack: SlackSandbox,
    user_id: str,
    message_ts: str,
    action_id: str,
    value: str | None,
    *,
    channel_id: str = CHANNEL,
    team_id: str | None = None,
) -> dict:
    """A block_actions payload shaped like the sandbox's (and Slack's), for tests to bend."""
    action: dict = {
        "action_id": action_id,
        "block_id": "forged",
        "text": {"type": "plain_text", "text": action_id},
        "type": "button",
        "action_ts": f"{time.time():.6f}",
    }
    if value is not None:
        action["value"] = value
    team = team_id or slack.workspace.team_id
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id, "name": user_id, "team_id": team},
        "api_app_id": "A0SIGNOFF",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id, "is_ephemeral": False},
        "trigger_id": slack.workspace.issue_trigger(user_id),
        "team": {"id": team, "domain": "forged"},
        "channel": {"id": channel_id, "name": "general"},
        "state": {"values": {}},
        "response_url": slack.url + "/response/forged",
        "actions": [action],
    }


async def deliver(slack: SlackSandbox, payload: dict) -> DeliveryResult:
    """Deliver ``payload`` as a signed interactive request, exactly as the sandbox delivers its own."""
    return await slack.delivery.send("interactive", payload, via="http")


# ---------------------------------------------------------------------------
# Child processes
# ---------------------------------------------------------------------------


def slack_env(slack: SlackSandbox) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": slack.signing_secret,
        "SLACK_API_URL": slack.api_url,
    }


async def wait_until_serving(url: str, process: ChildProcess, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            assert process.process is not None
            if process.process.poll() is not None:
                raise AssertionError(f"the process exited with {process.process.returncode}:\n{process.output()}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=1)) as response:
                    if response.status == 200:
                        return
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} not serving after {timeout}s:\n{process.output()}")
            await asyncio.sleep(0.1)


class BotProcess:
    """``signoff bot --port N`` as a real process, on a fixed port so it can be restarted in place."""

    def __init__(self, env: Mapping[str, str], log_file: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.child = ChildProcess(["bot", "--port", str(self.port)], env, log_file)

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def start(self) -> None:
        self.child.start()
        await wait_until_serving(f"http://127.0.0.1:{self.port}/healthz", self.child)

    def kill(self) -> None:
        self.child.kill()

    def stop(self) -> None:
        self.child.stop()


@contextlib.asynccontextmanager
async def bot_process(env: Mapping[str, str], log_file: Path) -> AsyncIterator[BotProcess]:
    bot = BotProcess(env, log_file)
    await bot.start()
    try:
        yield bot
    finally:
        bot.stop()
