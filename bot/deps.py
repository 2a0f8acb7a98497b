"""What the listeners need, injected by ``build_app``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.gateway import Gateway
from bot.membership import ChannelMembership
from infra.settings import Settings

# How long the App Home and /report list wait for progress queries, all together.
DEFAULT_LISTING_WAIT = 3.0
# Listeners' work after the ack (Temporal calls, Slack answers) running at once in one bot.
# Acks and follow-ups share one event loop: a burst of requests whose follow-ups all ran
# at once kept the loop busy and later acks waited behind them. Queued follow-ups wait
# their turn instead; a few at a time still start and decide far faster than people click.
DEFAULT_MAX_FOLLOW_UPS = 8


def _follow_up_slots() -> asyncio.Semaphore:
    return asyncio.Semaphore(DEFAULT_MAX_FOLLOW_UPS)


@dataclass
class Deps:
    settings: Settings
    gateway: Gateway
    listing_wait: float = DEFAULT_LISTING_WAIT
    # Hold one around everything a listener does after its ack (never nested).
    follow_ups: asyncio.Semaphore = field(default_factory=_follow_up_slots)
    # Who is in which channel (Slack's conversations.members, cached): who may see and decide.
    membership: ChannelMembership = field(default_factory=ChannelMembership)
