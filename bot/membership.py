"""Who is in a Slack conversation, as Slack says, remembered for a minute.

Who may see and decide a request depends on membership of its channel (``signoff/contracts/access.py``).
Slack answers it with ``conversations.members`` (the ``channels:read`` and ``groups:read``
scopes the app already has; Tier 4, 100+ calls a minute), a channel's whole member list in
cursor pages: one answer serves every decision and every viewer's list in that channel until it
expires. ``users.conversations`` (the viewer's channels) needs the same scopes but is Tier 3 and
answers for one person only, so a list shown to many people would ask once per person; the
channels a list names are at most the list's length, and few in practice.

Both answers expire after ``ttl`` seconds (a member who left stops counting within a minute).
When Slack cannot say (an error, a rate limit, a channel the app cannot see, a DM without the
``im:read`` scope), nobody counts as a member: refused, never guessed. Lookups of one channel
at the same moment share one call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 60.0
# conversations.members' largest page (Slack: "no larger than 1000").
PAGE_SIZE = 1000
# 100,000 members: past this the answer is "cannot say" rather than minutes of paging.
MAX_PAGES = 100
# Conversations remembered at once (the oldest answer dropped first).
MAX_REMEMBERED = 4096


@dataclass(frozen=True)
class Members:
    """A conversation's members, or (``users`` None) why Slack could not say."""

    users: frozenset[str] | None
    problem: str | None = None

    def __contains__(self, user_id: object) -> bool:
        return self.users is not None and user_id in self.users


class ChannelMembership:
    """``conversations.members``, cached per conversation for ``ttl`` seconds."""

    def __init__(self, ttl: float = DEFAULT_TTL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._known: dict[str, tuple[float, Members]] = {}
        self._asking: dict[str, asyncio.Future[Members]] = {}

    async def members(self, client: AsyncWebClient, channel_id: str) -> Members:
        known = self._known.get(channel_id)
        if known is not None and known[0] > self._clock():
            return known[1]
        asking = self._asking.get(channel_id)
        if asking is not None:
            try:
                return await asyncio.shield(asking)
            except asyncio.CancelledError:
                if not asking.cancelled():
                    raise  # this caller was cancelled
                # The caller that was asking was cancelled: ask again.
                return await self.members(client, channel_id)
        future: asyncio.Future[Members] = asyncio.get_running_loop().create_future()
        self._asking[channel_id] = future
        try:
            answer = await self._ask(client, channel_id)
            future.set_result(answer)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as err:
            future.set_exception(err)
            # Nobody else may be waiting on it: don't let the loop warn about an unread exception.
            future.exception()
            raise
        finally:
            del self._asking[channel_id]
        if answer.users is not None or answer.problem == _CANNOT_SEE:
            self._remember(channel_id, answer)
        return answer

    async def is_member(self, client: AsyncWebClient, channel_id: str | None, user_id: str) -> bool:
        return bool(channel_id) and user_id in await self.members(client, channel_id or "")

    async def channels_with(self, client: AsyncWebClient, channel_ids: Iterable[str | None], user_id: str) -> set[str]:
        """Which of ``channel_ids`` ``user_id`` is in (each asked at once, through the cache)."""
        distinct = sorted({channel for channel in channel_ids if channel})
        answers = await asyncio.gather(*(self.members(client, channel) for channel in distinct))
        return {channel for channel, members in zip(distinct, answers, strict=True) if user_id in members}

    def _remember(self, channel_id: str, answer: Members) -> None:
        self._known[channel_id] = (self._clock() + self._ttl, answer)
        while len(self._known) > MAX_REMEMBERED:
            del self._known[next(iter(self._known))]

    async def _ask(self, client: AsyncWebClient, channel_id: str) -> Members:
        if channel_id.startswith("S"):
            return await self._ask_group(client, channel_id)
        users: set[str] = set()
        cursor: str | None = None
        try:
            for _ in range(MAX_PAGES):
                response = await client.conversations_members(channel=channel_id, limit=PAGE_SIZE, cursor=cursor)
                users.update(str(user) for user in response.get("members") or [])
                cursor = ((response.get("response_metadata") or {}).get("next_cursor")) or None
                if cursor is None:
                    return Members(frozenset(users))
        except SlackApiError as err:
            error = str(err.response.get("error"))
            log.info("conversations.members of %s refused: %s", channel_id, error)
            if error in _DEFINITE:
                return Members(None, _CANNOT_SEE)
            return Members(None, f"Slack did not say who is in the channel ({error})")
        except (aiohttp.ClientError, TimeoutError) as err:
            log.info("conversations.members of %s unreachable: %s", channel_id, err)
            return Members(None, "signoff could not reach Slack to ask who is in the channel")
        log.warning("conversations.members of %s: more than %d pages; treated as unknown", channel_id, MAX_PAGES)
        return Members(None, "the channel has too many members for signoff to check")

    async def _ask_group(self, client: AsyncWebClient, group_id: str) -> Members:
        """A user group's members (``usergroups.users.list``: the usergroups:read scope, Tier 2; one page)."""
        try:
            response = await client.usergroups_users_list(usergroup=group_id)
        except SlackApiError as err:
            error = str(err.response.get("error"))
            log.info("usergroups.users.list of %s refused: %s", group_id, error)
            if error in _DEFINITE:
                return Members(None, _CANNOT_SEE)
            return Members(None, f"Slack did not say who is in the user group ({error})")
        except (aiohttp.ClientError, TimeoutError) as err:
            log.info("usergroups.users.list of %s unreachable: %s", group_id, err)
            return Members(None, "signoff could not reach Slack to ask who is in the user group")
        return Members(frozenset(str(user) for user in response.get("users") or []))


# Slack's answer will not change within the minute: the app cannot see the conversation, or may not ask.
_DEFINITE = frozenset(
    {
        "channel_not_found",
        "missing_scope",
        "method_not_supported_for_channel_type",
        "not_in_channel",
        "no_such_subteam",
        "plan_upgrade_required",
    }
)
_CANNOT_SEE = "signoff cannot see who is in the channel"
