"""The Inbox on the App Home: what waits for the viewer (drafts by kind, tool calls), oldest first, with
the deadline and one click to the thread; only what the viewer may decide (Temporal's dev server: the
Home lists through visibility, which the time-skipping server has not)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import Client

from signoff.contracts.workflow_io import Phase
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from signoff.temporal.devserver import DevServer
from tests.support.block_checks import assert_valid_everything
from tests.support.bot import RunningBot, bot_settings, worker_and_bot
from tests.support.engines import phase_of
from tests.support.flows import start_via_slack, thread_of
from tests.support.slack import APPROVER_1, APPROVER_2, CHANNEL, OUTSIDER, buttons, draft_messages
from tests.support.waiting import eventually

pytestmark = pytest.mark.process


@pytest.fixture
async def stack(dev_server: DevServer, slack: SlackSandbox) -> AsyncIterator[RunningBot]:
    settings = bot_settings(slack, approvers=[APPROVER_1, APPROVER_2])
    async with worker_and_bot(slack, await Client.connect(dev_server.address), settings) as bot:
        yield bot
    assert_valid_everything(slack)


async def home_of(slack: SlackSandbox, user: str) -> dict[str, Any]:
    published = len(slack.calls_to("views.publish"))
    await slack.open_home(user)
    # The Home asks visibility and every listed run: give a busy machine time.
    await slack.wait_for(lambda: len(slack.calls_to("views.publish")) > published, timeout=60)
    view = slack.home_view(user)
    assert view is not None
    return view


def thread_links(view: dict[str, Any]) -> list[str]:
    return [
        block["accessory"]["url"]
        for block in view["blocks"]
        if block.get("accessory", {}).get("action_id") == action_ids.OPEN_THREAD
    ]


async def test_the_inbox_groups_what_waits_oldest_first_with_deadlines_and_links(
    stack: RunningBot, slack: SlackSandbox
) -> None:
    tag = uuid.uuid4().hex[:8]
    first = (await start_via_slack(slack, stack.client, f"Solar {tag}")).id
    await phase_of(stack, first, Phase.PENDING_APPROVAL)
    second = (await start_via_slack(slack, stack.client, f"Wind {tag}")).id
    await phase_of(stack, second, Phase.PENDING_APPROVAL)
    plan = (await start_via_slack(slack, stack.client, "Announce the offsite in #random", "/plan")).id
    progress = await phase_of(stack, plan, Phase.PENDING_APPROVAL)
    [draft] = await slack.wait_for(lambda: draft_messages(slack, thread_of(progress)) or None)
    await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)
    await slack.wait_for(
        lambda: any(action_ids.TOOL_ALLOW in buttons(m) for m in slack.replies(CHANNEL, thread_of(progress))),
        timeout=30,
    )

    # The Home lists through visibility, which may lag a moment; the session's server holds other tests' runs.
    threads = [thread_of(await stack.deps.gateway.progress(wid)) for wid in (first, second, plan)]

    async def listed() -> dict[str, Any] | None:
        view = await home_of(slack, APPROVER_2)
        shown = json.dumps(view)
        return view if all(what in shown for what in (f"Solar {tag}", f"Wind {tag}", "#random")) else None

    view = await eventually(listed, timeout=120, interval=0.5)
    text = json.dumps(view)
    assert "*Reports* (" in text and "*Tool calls* (" in text
    assert text.index("*Reports*") < text.index(f"Solar {tag}") < text.index(f"Wind {tag}") < text.index("*Tool calls*")
    assert "deadline <!date^" in text
    # One click to each thread: its permalink.
    links = {link.rsplit("/p", 1)[-1] for link in thread_links(view)}
    assert {ts.replace(".", "") for ts in threads} <= links

    # Someone who may decide on none of them sees none of them.
    outsider = json.dumps(await home_of(slack, OUTSIDER))
    assert tag not in outsider
