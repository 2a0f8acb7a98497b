"""What each person sets for themselves from Slack (``/signoff``), and the store it is kept in.

Away until a date (and to whom their requests go meanwhile), and DM reminders off. The bot writes
them when a person types the command; the worker's activities read them (a request opening checks
who is away, a DM reminder checks the opt-out). ``SIGNOFF_PREFERENCES`` says where:

- a SQLite file (``signoff.activities.settings.Preferences``; the default, ``.data/`` under the working
  directory): no service of its own, but the bot and the worker must see the same file (one host);
- a PostgreSQL URL (``signoff.activities.postgres_preferences``): what bot replicas and workers on
  separate hosts share, since SQLite over a network filesystem is not safe.

Every call is blocking and short (one transaction): the bot's handlers and the activities run them
in a thread (``asyncio.to_thread``), never on the event loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Protocol


@dataclass(frozen=True)
class Away:
    """``user_id`` is away through ``until`` (a UTC day); their requests go to ``delegate``, or (None) to
    the other approvers."""

    user_id: str
    until: date
    delegate: str | None = None


class PreferenceStore(Protocol):
    """Each call raises ``PreferencesUnavailable`` when the store cannot be used (and changes nothing)."""

    def set_away(self, away: Away) -> None:
        """Record (or replace) ``away.user_id``'s absence."""

    def back(self, user_id: str) -> None:
        """End ``user_id``'s absence, if any."""

    def away(self, user_ids: Iterable[str], today: date) -> list[Away]:
        """Those of ``user_ids`` away on ``today``, in their order (an absence that ended is not one)."""

    def set_dm_reminders(self, user_id: str, on: bool) -> None:
        """Turn ``user_id``'s DM reminders on or off."""

    def dm_reminders(self, user_id: str) -> bool:
        """Whether ``user_id`` gets reminders in their DM with the app (on unless turned off)."""


def still_away(found: Mapping[str, Away], wanted: Iterable[str], today: date) -> list[Away]:
    """Of ``wanted`` (in order), those ``found`` away on ``today``."""
    return [found[user] for user in wanted if user in found and found[user].until >= today]


class PreferencesUnavailable(RuntimeError):
    """The store cannot be read or written now (its database is down or refuses signoff); the message
    names where it is, never a password."""
