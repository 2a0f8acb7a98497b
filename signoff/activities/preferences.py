"""The activity that tells a request who among its approvers is away (``/signoff away``), from the
preferences file the bot writes (``signoff.config.preferences``)."""

from __future__ import annotations

import asyncio
from datetime import date

from signoff.activities.context import Activity
from signoff.config.preferences import Preferences
from signoff.contracts.activity_io import LOAD_AWAY, AwayNotice, AwayQuery


class PreferenceActivities:
    def __init__(self, preferences: Preferences):
        self._preferences = preferences

    def by_name(self) -> dict[str, Activity]:
        return {LOAD_AWAY: self.load_away}

    async def load_away(self, query: AwayQuery) -> list[AwayNotice]:
        away = await asyncio.to_thread(self._preferences.away, query.user_ids, date.fromisoformat(query.today))
        return [AwayNotice(each.user_id, each.until.isoformat(), each.delegate) for each in away]
