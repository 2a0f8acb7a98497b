"""Who and where: the sandbox workspace's users, channels and user groups.

These are configuration, fixed when the sandbox is built; they are not stored
in SQLite (a topic set through conversations.setTopic is, and the workspace lays it
over the configured one). A channel knows how to render itself the way Slack's Web API does.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

TEAM_DOMAIN = "sandbox"
APP_ID = "A0SIGNOFF"
BOT_USER_ID = "U0SIGNOFF"
BOT_ID = "B0SIGNOFF"
CREATED = 1_700_000_000


@dataclass(frozen=True)
class User:
    id: str
    name: str
    real_name: str
    is_bot: bool = False
    bot_id: str | None = None


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    members: frozenset[str]
    is_private: bool = False
    topic: str = ""
    is_im: bool = False
    topic_creator: str = ""
    topic_last_set: int = 0

    def to_slack(self, viewer: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private and not self.is_im,
            "is_group": self.is_private and not self.is_im,
            "is_im": self.is_im,
            "is_mpim": False,
            "is_private": self.is_private,
            "is_archived": False,
            "is_general": self.name == "general",
            "is_member": viewer in self.members,
            "created": CREATED,
            "creator": "U0REQUEST",
            "num_members": len(self.members),
            "topic": {"value": self.topic, "creator": self.topic_creator, "last_set": self.topic_last_set},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }


@dataclass(frozen=True)
class UserGroup:
    id: str
    handle: str
    name: str
    users: tuple[str, ...]


BOT_USER = User(BOT_USER_ID, "signoff", "Signoff", is_bot=True, bot_id=BOT_ID)

DEFAULT_USERS: tuple[User, ...] = (
    User("U0REQUEST", "riley", "Riley Requester"),
    User("U0APPROV1", "avery", "Avery Approver"),
    User("U0APPROV2", "blake", "Blake Approver"),
    User("U0OUTSIDE", "oscar", "Oscar Outsider"),
)

_EVERYONE = frozenset({u.id for u in DEFAULT_USERS} | {BOT_USER_ID})

DEFAULT_CHANNELS: tuple[Channel, ...] = (
    Channel("C0GENERAL", "general", _EVERYONE, topic="Company-wide"),
    Channel("C0APPROVE", "approvals", frozenset({"U0REQUEST", "U0APPROV1", "U0APPROV2", BOT_USER_ID})),
    Channel("C0RANDOM0", "random", _EVERYONE),
    # Everyone but the app: where a person has to invite the app first.
    Channel("C0WATERCO", "watercooler", _EVERYONE - {BOT_USER_ID}),
    Channel("G0PRIVATE", "leads-private", frozenset({"U0APPROV1", "U0APPROV2"}), is_private=True),
    # A private channel the app is in and Oscar is not: whose drafts he may neither see nor decide.
    Channel(
        "G0PROJECT",
        "project-private",
        frozenset({"U0REQUEST", "U0APPROV1", "U0APPROV2", BOT_USER_ID}),
        is_private=True,
    ),
)

# The bot token's scopes: manifest.yml's (tests/bot/test_manifest.py keeps the two the same). A method
# that needs one the token lacks answers missing_scope, naming what it needed and what the token has.
DEFAULT_BOT_SCOPES = frozenset(
    {
        "commands",
        "chat:write",
        "channels:history",
        "groups:history",
        "im:history",
        "im:write",
        "channels:read",
        "groups:read",
        "channels:write.topic",
        "groups:write.topic",
        "files:write",
        "usergroups:read",
    }
)

DEFAULT_USERGROUPS: tuple[UserGroup, ...] = (UserGroup("S0LEADS", "leads", "Leads", ("U0APPROV1",)),)


@dataclass
class Directory:
    """The workspace roster."""

    team_id: str
    users: dict[str, User] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    usergroups: dict[str, UserGroup] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        team_id: str,
        users: tuple[User, ...] | list[User],
        channels: tuple[Channel, ...] | list[Channel],
        usergroups: tuple[UserGroup, ...] | list[UserGroup],
    ) -> Directory:
        all_users = {u.id: u for u in users}
        all_users[BOT_USER.id] = BOT_USER
        return cls(
            team_id=team_id,
            users=all_users,
            channels={c.id: c for c in channels},
            usergroups={g.id: g for g in usergroups},
        )

    def conversation(self, id_or_name: str) -> Channel | None:
        """A channel by id or name ("C0GENERAL", "general", "#general"), or a user's DM with the bot.

        Like Slack, a user id names the direct message conversation between that user and the bot.
        """
        if id_or_name in self.channels:
            return self.channels[id_or_name]
        name = id_or_name.removeprefix("#")
        for channel in self.channels.values():
            if channel.name == name and not channel.is_im:
                return channel
        user_id = id_or_name
        if id_or_name.startswith("D"):
            user_id = "U" + id_or_name[1:]
        if user_id in self.users and not self.users[user_id].is_bot:
            return self.im_with(user_id)
        return None

    def by_id(self, conversation_id: str) -> Channel | None:
        """A conversation by its id only (``C…``, ``G…``, or a DM's ``D…``), as most Web API methods take it."""
        if conversation_id in self.channels:
            return self.channels[conversation_id]
        user_id = "U" + conversation_id[1:]
        if conversation_id.startswith("D") and user_id in self.users and not self.users[user_id].is_bot:
            return self.im_with(user_id)
        return None

    def set_topic(self, channel_id: str, value: str, creator: str, last_set: int) -> Channel:
        channel = replace(self.channels[channel_id], topic=value, topic_creator=creator, topic_last_set=last_set)
        self.channels[channel_id] = channel
        return channel

    def im_with(self, user_id: str) -> Channel:
        """The direct message conversation between a user and the bot (D + the user id's tail)."""
        im = Channel("D" + user_id[1:], user_id, frozenset({user_id, BOT_USER_ID}), is_private=True, is_im=True)
        self.channels.setdefault(im.id, im)
        return self.channels[im.id]
