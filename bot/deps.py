"""What the listeners need, injected by ``build_app``."""

from __future__ import annotations

from dataclasses import dataclass

from bot.gateway import TemporalGateway
from signoff.settings import Settings

# How long /report waits for the workflow to post its thread before confirming without a link.
DEFAULT_THREAD_WAIT = 5.0
# How long the App Home and /report list wait for progress queries, all together.
DEFAULT_LISTING_WAIT = 3.0


@dataclass
class Deps:
    settings: Settings
    gateway: TemporalGateway
    thread_wait: float = DEFAULT_THREAD_WAIT
    listing_wait: float = DEFAULT_LISTING_WAIT
