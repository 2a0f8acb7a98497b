"""What the listeners need, injected by ``build_app``."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from bot.follow_ups import FollowUps
from bot.gateway import Gateway
from bot.journal import Journal
from bot.membership import ChannelMembership
from signoff.activities.preference_store import PreferenceStore
from signoff.activities.settings import preference_store
from signoff.config.settings import Settings

# How long the App Home and /report list wait for progress queries, all together.
DEFAULT_LISTING_WAIT = 3.0


@dataclass
class Deps:
    settings: Settings
    gateway: Gateway
    listing_wait: float = DEFAULT_LISTING_WAIT
    # Hold one around everything a listener does after its ack (never nested): a shutdown drains them.
    follow_ups: FollowUps = field(default_factory=FollowUps)
    # Who is in which channel (Slack's conversations.members, cached): who may see and decide.
    membership: ChannelMembership = field(default_factory=ChannelMembership)
    # The starts acknowledged and not yet settled (``bot.journal``): on disk for ``signoff bot``.
    journal: Journal = field(default_factory=Journal.in_memory)

    @cached_property
    def preferences(self) -> PreferenceStore:
        """What people set with /signoff (the store the worker reads too: the same file, or the same
        PostgreSQL database from another host). One per bot, so its tables are created once."""
        return preference_store(self.settings.preferences)
