"""``/signoff``: what a person sets for themselves. ``away until <date> [to @person]``, ``back``,
``dm off`` / ``dm on``.

Away is kept in the preference store (``signoff.activities.preference_store``), where the worker reads it as a
request opens (new requests skip the absent approver). The requests already waiting for them are
handed over here, each through the workflow's own validated update: a delegation to the person named,
or, with nobody named, a step aside so the other approvers (or the channel) decide.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import date

from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.gateway import MAX_LISTED, GatewayError
from bot.membership import Members
from signoff.activities.preference_store import PreferencesUnavailable
from signoff.activities.settings import Away
from signoff.contracts.access import pool_of
from signoff.contracts.mrkdwn import escape, mention
from signoff.contracts.workflow_io import Phase

log = logging.getLogger(__name__)

USAGE = (
    "`/signoff away until YYYY-MM-DD [to @person]`: while you are away, your requests go to that person "
    "(or to the other approvers). `/signoff back`: you are back. `/signoff dm off` / `dm on`: reminders "
    "in your DMs with the app."
)
# A mention as Slack sends it in a command's text with escaping on (the manifest's should_escape).
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_AWAY = re.compile(r"^away\s+until\s+(\S+)(?:\s+to\s+(\S+))?$", re.IGNORECASE)


class CommandRefused(ValueError):
    """What is wrong with the command, to show as is; nothing was changed."""


@dataclass(frozen=True)
class DmReminders:
    on: bool


@dataclass(frozen=True)
class Back:
    pass


@dataclass(frozen=True)
class Help:
    pass


Command = Away | DmReminders | Back | Help


def parse_signoff(text: str, user_id: str, today: date) -> Command:
    """``/signoff`` text → what to do (``CommandRefused``: why not)."""
    words = " ".join(text.split())
    lowered = words.lower()
    if lowered in ("", "help"):
        return Help()
    if lowered == "back":
        return Back()
    if lowered in ("dm off", "dm on"):
        return DmReminders(on=lowered == "dm on")
    away = _AWAY.match(words)
    if away is None:
        raise CommandRefused(f"I did not understand that. {USAGE}")
    try:
        until = date.fromisoformat(away.group(1))
    except ValueError:
        raise CommandRefused(f"`{away.group(1)}` is not a date: write it as YYYY-MM-DD.") from None
    if until < today:
        raise CommandRefused(f"{until.isoformat()} is in the past (today is {today.isoformat()} UTC): nothing changed.")
    delegate = None
    if away.group(2) is not None:
        mentioned = _MENTION.match(away.group(2))
        if mentioned is None:
            raise CommandRefused(f"Name the person as a mention (`to @someone`), not `{away.group(2)}`.")
        delegate = mentioned.group(1)
        if delegate == user_id:
            raise CommandRefused("You cannot hand your requests to yourself while you are away.")
    return Away(user_id, until, delegate)


async def hand_over_pending(
    deps: Deps, client: AsyncWebClient, away: Away, team_id: str | None
) -> tuple[int, list[str]]:
    """Hand each request waiting for ``away.user_id`` to the delegate (or step aside): (how many were
    handed over, why the others were not)."""
    try:
        waiting = await deps.gateway.waiting_for(away.user_id, MAX_LISTED)
    except GatewayError as err:
        return 0, [f"the requests waiting for you could not be listed ({err})"]
    moved, problems = 0, []
    for item in waiting:
        try:
            if await _hand_over(deps, client, away, team_id, item.workflow_id):
                moved += 1
        except GatewayError as err:
            problems.append(f"_{escape(item.subject or item.workflow_id)}_: {err}")
    return moved, problems


async def _hand_over(deps: Deps, client: AsyncWebClient, away: Away, team_id: str | None, workflow_id: str) -> bool:
    """One request, through the workflow's validated update; False when it no longer waits for them."""
    gateway, user = deps.gateway, away.user_id
    progress = await gateway.progress(workflow_id)
    if progress.phase is not Phase.PENDING_APPROVAL or user not in progress.decide_now or user in progress.approvals:
        return False
    # Where membership counts (signoff/contracts/access.py): the request's user group, else its channel.
    pool = pool_of(progress.channel_id, progress.pool_group)
    members = await deps.membership.members(client, pool) if pool else Members(None)
    member_of = pool if user in members else None
    reason = f"Away until {away.until.isoformat()}."
    if away.delegate is None:
        await gateway.step_aside(workflow_id, progress.revision, user, team_id, reason, member_of=member_of)
        return True
    await gateway.delegate(
        workflow_id,
        progress.revision,
        user,
        team_id,
        away.delegate,
        reason,
        member_of=member_of,
        to_member_of=pool if away.delegate in members else None,
    )
    return True


def away_line(away: Away) -> str:
    to = f"to {mention(away.delegate)}" if away.delegate else "to the other approvers"
    return f":palm_tree: You are away until {away.until.isoformat()}: your requests go {to}. `/signoff back` when you return."


async def today_away(deps: Deps, user_id: str, today: date) -> Away | None:
    """``user_id``'s absence today, for their Home (the store unavailable: none shown, the Home still is)."""
    try:
        found = await asyncio.to_thread(deps.preferences.away, [user_id], today)
    except PreferencesUnavailable as err:
        log.warning("the Home of %s shows no absence: %s", user_id, err)
        return None
    return found[0] if found else None
