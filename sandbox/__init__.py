"""A local stand-in for the parts of Slack the signoff app uses, over Slack's real protocols."""

from sandbox.delivery import DeliveryResult, NoRoute
from sandbox.directory import Channel, User, UserGroup
from sandbox.interactions import InteractionError
from sandbox.recording import Call
from sandbox.server import SlackSandbox
from sandbox.tiers import SlackTiers

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
