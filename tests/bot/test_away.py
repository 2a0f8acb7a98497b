"""``/signoff away until <date> [to @person]``: bad input refused with the reason and nothing stored; the
requests already waiting for the person handed over through the workflow's own update; the Home says
so; ``back`` ends it. The flow runs on Temporal's dev server (the requests waiting for someone are
found through visibility)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from bot.listeners.away import Back, CommandRefused, DmReminders, Help, parse_signoff
from signoff.activities.settings import Away, Preferences
from signoff.contracts.workflow_io import HandoffKind, Phase
from signoff.sandbox import SlackSandbox
from signoff.temporal.devserver import DevServer
from tests.support.bot import RunningBot, bot_settings, worker_and_bot
from tests.support.engines import phase_of, running_stack
from tests.support.flows import start_via_slack, thread_of
from tests.support.slack import APPROVER_1, APPROVER_2, OUTSIDER, thread_texts
from tests.support.waiting import eventually

TODAY = date(2026, 12, 7)


def test_the_command_s_grammar() -> None:
    assert parse_signoff("", APPROVER_1, TODAY) == Help()
    assert parse_signoff(" back ", APPROVER_1, TODAY) == Back()
    assert parse_signoff("dm off", APPROVER_1, TODAY) == DmReminders(on=False)
    assert parse_signoff("DM on", APPROVER_1, TODAY) == DmReminders(on=True)
    assert parse_signoff("away until 2026-12-07", APPROVER_1, TODAY) == Away(APPROVER_1, TODAY)
    assert parse_signoff("away  until 2026-12-24 to <@U0APPROV2|approver2>", APPROVER_1, TODAY) == Away(
        APPROVER_1, date(2026, 12, 24), APPROVER_2
    )


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("away until 2026-12-06", "2026-12-06 is in the past (today is 2026-12-07 UTC): nothing changed."),
        ("away until tomorrow", "`tomorrow` is not a date"),
        ("away until 2026-12-24 to <@U0APPROV1|me>", "You cannot hand your requests to yourself"),
        ("away until 2026-12-24 to alice", "Name the person as a mention"),
        ("holiday", "I did not understand that."),
    ],
)
def test_bad_input_is_refused_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(CommandRefused) as refused:
        parse_signoff(text, APPROVER_1, TODAY)
    assert why in str(refused.value)


def test_preferences_keep_who_is_away_until_the_day_ends(tmp_path: Path) -> None:
    preferences = Preferences(tmp_path / "preferences.sqlite")
    preferences.set_away(Away(APPROVER_1, TODAY, APPROVER_2))
    preferences.set_away(Away(OUTSIDER, TODAY - timedelta(days=1)))
    assert preferences.away([APPROVER_1, OUTSIDER, APPROVER_2], TODAY) == [Away(APPROVER_1, TODAY, APPROVER_2)]
    assert preferences.away([APPROVER_1], TODAY + timedelta(days=1)) == []
    preferences.back(APPROVER_1)
    assert preferences.away([APPROVER_1], TODAY) == []
    assert preferences.dm_reminders(APPROVER_1)
    preferences.set_dm_reminders(APPROVER_1, False)
    assert not preferences.dm_reminders(APPROVER_1) and preferences.dm_reminders(APPROVER_2)


@pytest.fixture
async def stack(dev_server: DevServer, slack: SlackSandbox, tmp_path: Path) -> AsyncIterator[RunningBot]:
    settings = bot_settings(slack, approvers=[APPROVER_1, APPROVER_2])
    settings = dataclasses.replace(settings, preferences=str(tmp_path / "preferences.sqlite"))
    async with worker_and_bot(slack, await Client.connect(dev_server.address), settings) as bot:
        yield bot


async def _told(slack: SlackSandbox, user: str, after: int) -> str:
    """The next thing ``user`` was told (the command's ack or its response_url answer)."""

    def latest() -> str | None:
        seen = slack.ephemerals(user)[after:]
        return str(seen[-1].get("text")) if seen else None

    # The command's answer comes after it lists and hands over the requests: give a busy machine time.
    return await slack.wait_for(latest, timeout=60)


@pytest.mark.process
async def test_away_hands_the_waiting_requests_over_and_the_home_says_so(
    stack: RunningBot, slack: SlackSandbox
) -> None:
    workflow_id = (await start_via_slack(slack, stack.client, "Quarterly budget")).id
    progress = await phase_of(stack, workflow_id, Phase.PENDING_APPROVAL)
    preferences = stack.deps.preferences
    today = datetime.now(UTC).date()

    # A date in the past: refused with the reason, nothing stored, nothing handed over.
    before = len(slack.ephemerals(APPROVER_1))
    await slack.send_slash_command(APPROVER_1, "/signoff", f"away until {today - timedelta(days=1)}")
    assert "is in the past" in await _told(slack, APPROVER_1, before)
    assert preferences.away([APPROVER_1], today) == []

    # Away, to Oscar: the waiting request (found through visibility, which may lag) is delegated to him.
    until = today + timedelta(days=3)

    async def handed_over() -> str | None:
        before = len(slack.ephemerals(APPROVER_1))
        await slack.send_slash_command(APPROVER_1, "/signoff", f"away until {until} to <@{OUTSIDER}|oscar>")
        told = await _told(slack, APPROVER_1, before)
        return told if "1 waiting request(s) handed over" in told else None

    told = await eventually(handed_over, timeout=120, interval=0.5)
    assert f"You are away until {until}: your requests go to <@{OUTSIDER}>" in told
    assert preferences.away([APPROVER_1], today) == [Away(APPROVER_1, until, OUTSIDER)]
    state = await stack.deps.gateway.progress(workflow_id)
    assert state.deciders == [OUTSIDER, APPROVER_2]
    [handoff] = state.handoffs
    assert (handoff.kind, handoff.to_user, handoff.reason) == (HandoffKind.DELEGATE, OUTSIDER, f"Away until {until}.")
    await slack.wait_for(
        lambda: any(f"delegated this request to <@{OUTSIDER}>" in t for t in thread_texts(slack, thread_of(progress)))
    )

    # The Home says so, until they are back.
    await slack.open_home(APPROVER_1)
    await slack.wait_for(lambda: "You are away until" in json.dumps(slack.home_view(APPROVER_1)))
    await slack.send_slash_command(APPROVER_1, "/signoff", "back")
    await slack.wait_for(lambda: preferences.away([APPROVER_1], today) == [])
    published = len(slack.calls_to("views.publish"))
    await slack.open_home(APPROVER_1)
    await slack.wait_for(lambda: len(slack.calls_to("views.publish")) > published)
    assert "You are away until" not in json.dumps(slack.home_view(APPROVER_1))


@pytest.fixture
async def skipping_stack(
    time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path
) -> AsyncIterator[RunningBot]:
    settings = bot_settings(slack, approvers=[APPROVER_1, APPROVER_2])
    settings = dataclasses.replace(settings, preferences=str(tmp_path / "preferences.sqlite"))
    async with running_stack("temporal", slack, settings, temporal_client=time_env.client, tmp_path=tmp_path) as bot:
        yield bot


async def test_a_new_request_skips_the_approvers_who_are_away(skipping_stack: RunningBot, slack: SlackSandbox) -> None:
    """Read by the workflow as its first draft opens (the worker's activity, the same file the bot writes)."""
    until = datetime.now(UTC).date() + timedelta(days=2)
    skipping_stack.deps.preferences.set_away(Away(APPROVER_1, until, OUTSIDER))
    skipping_stack.deps.preferences.set_away(Away(APPROVER_2, until))

    workflow_id = (await start_via_slack(slack, skipping_stack.client, "Hiring freeze")).id
    progress = await phase_of(skipping_stack, workflow_id, Phase.PENDING_APPROVAL)

    assert progress.deciders == [OUTSIDER]
    assert [(h.kind, h.user_id, h.to_user) for h in progress.handoffs] == [
        (HandoffKind.DELEGATE, APPROVER_1, OUTSIDER),
        (HandoffKind.STEP_ASIDE, APPROVER_2, None),
    ]
    texts = await slack.wait_for(
        lambda: (t := thread_texts(slack, thread_of(progress))) and any("stepped out" in x for x in t) and t
    )
    assert any(f"delegated this request to <@{OUTSIDER}>" in t and f"Away until {until}" in t for t in texts)
