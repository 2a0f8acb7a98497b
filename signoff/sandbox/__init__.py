"""A local stand-in for the parts of Slack the signoff app uses, over Slack's real protocols."""

from signoff.sandbox.delivery import DeliveryResult, NoRoute
from signoff.sandbox.directory import Channel, User, UserGroup
from signoff.sandbox.interactions import InteractionError
from signoff.sandbox.recording import Call
from signoff.sandbox.server import SlackSandbox
from signoff.sandbox.tiers import SlackTiers

__all__ = [
    "Call",
    "Channel",
    "DeliveryResult",
    "InteractionError",
    "NoRoute",
    "SlackSandbox",
    "SlackTiers",
    "User",
    "UserGroup",
]
