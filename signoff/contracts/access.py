"""Who may see and who may decide a signoff request: the one rule the bot and the workflows share.

**Decide.** A person may decide on a request (approve, request a revision, reject, allow or deny
a tool call) when they are one of its named approvers; or, when it names no approvers, when they
are a member of its pool (``pool_of``): its user group when it has one (SIGNOFF_APPROVER_GROUP),
else its Slack channel. The requester never decides, even when named.

**See.** A person may see a request (the App Home, ``/report list``, ``/report status``, a draft's
text, a tool call's arguments) when they are its requester, one of its named approvers, a
member of its channel, or a member of its pool.

Membership is Slack's answer, which only the bot can ask (``conversations.members`` for a
channel, ``usergroups.users.list`` for a group, cached for a minute, ``bot/membership.py``). The bot
carries its answer in each decision (``member_of``: the pool it found the person in); the workflow's
validator applies the rule again with it, counting the person as a member only of the pool it was
checked against, and trusts it because only holders of access to the Temporal namespace (or the DBOS
database) can send an update: that is the trust boundary. A decision without ``member_of`` (an older
client) counts as from a non-member, so with no approvers named it is refused. Every place that
decides or shows who may decide (the thread, a DM reminder, the App Home, a reply typed in the thread)
asks about the same pool.

Pure functions, no I/O: workflow code imports this module.
"""

from __future__ import annotations

from collections.abc import Collection

REQUESTER_REFUSAL = "You requested this, so someone else has to decide on it."
NOT_AN_APPROVER = "You are not one of the approvers for this request."
NOT_A_MEMBER = "Only members of this request's channel may decide on it."


def decision_refusal(
    user_id: str, requester_id: str | None, approvers: Collection[str], *, channel_member: bool
) -> str | None:
    """Why ``user_id`` may not decide (a sentence to show them), or None when they may."""
    if user_id == requester_id:
        return REQUESTER_REFUSAL
    if approvers:
        return None if user_id in approvers else NOT_AN_APPROVER
    return None if channel_member else NOT_A_MEMBER


def may_decide(user_id: str, requester_id: str | None, approvers: Collection[str], *, channel_member: bool) -> bool:
    return decision_refusal(user_id, requester_id, approvers, channel_member=channel_member) is None


def may_see(
    user_id: str,
    requester_id: str | None,
    approvers: Collection[str],
    *,
    channel_member: bool,
    pool_member: bool = False,
) -> bool:
    """``pool_member``: a member of the request's user group (its pool), when it has one."""
    return user_id == requester_id or user_id in approvers or channel_member or pool_member


def pool_of(channel_id: str | None, group_id: str | None) -> str | None:
    """Where membership counts when a request names no approvers: its user group (``S…``) when it has
    one, else its channel. Membership of anything else counts for nothing (``member_of_channel``)."""
    return group_id or channel_id


def member_of_channel(member_of: str | None, channel_id: str | None) -> bool:
    """Whether the pool the bot checked (``member_of``) is the request's own (``channel_id``: its
    ``pool_of``): a check against another channel or group counts for nothing."""
    return bool(member_of) and member_of == channel_id
