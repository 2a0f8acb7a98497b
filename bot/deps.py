"""What the listeners need, injected by ``build_app``."""

from __future__ import annotations

from dataclasses import dataclass

from bot.gateway import TemporalGateway
from signoff.settings import Settings

# How long the App Home and /report list wait for progress queries, all together.
DEFAULT_LISTING_WAIT = 3.0


@dataclass
class Deps:
    settings: Settings
    gateway: TemporalGateway
    listing_wait: float = DEFAULT_LISTING_WAIT
