"""Answers typed in a draft's thread (``message.channels`` and ``message.groups`` events).

An approver replies ``approve``, ``reject: <reason>``, ``revise: <notes>``… in a signoff thread
(the grammar is ``bot/typed_replies.py``): the reply becomes the same validated update as the
buttons, on the draft's current revision, and the person is told the outcome (or the refusal)
ephemerally in the thread. Every other message is ignored without a word. Only a reply that
parses costs anything: one conversations.replies call for the thread's parent (remembered per
thread), one progress query, then the update.

A thread counts as a signoff thread when its parent was posted by this app, shows a workflow id
(``signoff/slack/rendering/drafts.py`` thread_parent), and that workflow says the thread is its own.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.gateway import Gateway, GatewayError
from bot.listeners.actions import send_decision
from bot.replies import Where, tell
from bot.typed_replies import ThreadReply, TypedDecision, parse_reply, thread_reply, workflow_id_shown
from signoff.contracts.workflow_io import DecisionKind, DecisionReceipt

log = logging.getLogger(__name__)

# Bolt's event type for every message.* subscription (manifest.yml: message.channels, message.groups).
EVENTS = ("message",)
# Threads whose parent was read, remembered (least recently used dropped first).
MAX_REMEMBERED_THREADS = 2048


class ParentUnreadable(Exception):
    """Slack did not give the thread's parent (a refusal, a rate limit, unreachable); the text says why."""


class SignoffThreads:
    """Which workflow a thread belongs to, read from its parent message once and remembered.

    A parent's workflow id never changes, so both answers (an id, or "not a signoff thread")
    are kept; a failed read raises ``ParentUnreadable`` and is not kept: the next reply reads again.
    """

    def __init__(self, size: int = MAX_REMEMBERED_THREADS) -> None:
        self._size = size
        self._known: OrderedDict[tuple[str, str], str | None] = OrderedDict()

    async def workflow_of(
        self, client: AsyncWebClient, channel_id: str, thread_ts: str, app: AsyncBoltContext
    ) -> str | None:
        key = (channel_id, thread_ts)
        if key in self._known:
            self._known.move_to_end(key)
            return self._known[key]
        try:
            response = await client.conversations_replies(channel=channel_id, ts=thread_ts, limit=1)
        except SlackApiError as err:
            error = err.response.get("error")
            log.info("could not read the parent of thread %s in %s: %s", thread_ts, channel_id, error)
            raise ParentUnreadable(f"Slack did not let signoff read this thread ({error})") from None
        except (aiohttp.ClientError, TimeoutError) as err:
            log.info("could not reach Slack to read thread %s in %s: %s", thread_ts, channel_id, err)
            raise ParentUnreadable("signoff could not reach Slack to read this thread") from None
        messages = response.get("messages") or []
        parent = messages[0] if messages else None
        workflow_id = None
        if isinstance(parent, Mapping) and parent.get("ts") == thread_ts and _posted_by_app(parent, app):
            workflow_id = workflow_id_shown(parent)
        self._known[key] = workflow_id
        if len(self._known) > self._size:
            self._known.popitem(last=False)
        return workflow_id


def _posted_by_app(message: Mapping[str, Any], app: AsyncBoltContext) -> bool:
    return bool(
        (app.bot_id and message.get("bot_id") == app.bot_id)
        or (app.bot_user_id and message.get("user") == app.bot_user_id)
    )


async def _decide(
    gateway: Gateway,
    workflow_id: str,
    revision: int,
    reply: ThreadReply,
    decision: TypedDecision,
    member_of: str | None,
) -> DecisionReceipt:
    user, team = reply.user_id, reply.team_id
    if decision.kind is DecisionKind.APPROVE:
        return await gateway.approve(workflow_id, revision, user, team, comment=decision.text, member_of=member_of)
    if decision.kind is DecisionKind.REQUEST_REVISION:
        return await gateway.request_revision(workflow_id, revision, user, team, decision.text, member_of=member_of)
    return await gateway.reject(workflow_id, revision, user, team, decision.text, member_of=member_of)


async def answer(
    deps: Deps,
    client: AsyncWebClient,
    threads: SignoffThreads,
    reply: ThreadReply,
    decision: TypedDecision,
    app: AsyncBoltContext,
) -> None:
    """Send a typed decision for the thread's workflow, if the thread is a signoff thread."""
    where = Where(reply.user_id, reply.channel_id, thread_ts=reply.thread_ts)
    try:
        workflow_id = await threads.workflow_of(client, reply.channel_id, reply.thread_ts, app)
    except ParentUnreadable as err:
        # Said only where Slack named the app as the thread's author: elsewhere it may be anyone's chatter.
        if reply.parent_user_id is not None and reply.parent_user_id == app.bot_user_id:
            await tell(client, where, f":warning: {err}; nothing was changed. Try again in a minute.")
        return
    if workflow_id is None:
        return
    gateway = deps.gateway
    try:
        progress = await gateway.progress(workflow_id)
    except GatewayError as err:
        await tell(client, where, f":no_entry_sign: {err}")
        return
    thread = progress.thread
    if thread is None or (thread.channel_id, thread.ts) != (reply.channel_id, reply.thread_ts):
        log.info("thread %s in %s shows %s, which has another thread", reply.thread_ts, reply.channel_id, workflow_id)
        return
    if typed_before(reply, progress.waiting_since):
        # A new revision was posted after this was typed: it answered a draft that is gone.
        await tell(
            client,
            where,
            f":no_entry_sign: Revision {progress.revision} was posted after your reply, so it was not applied; "
            "nothing was changed. Read the new revision and answer again.",
        )
        return
    await send_decision(
        deps,
        client,
        where,
        workflow_id,
        lambda member_of: _decide(gateway, workflow_id, progress.revision, reply, decision, member_of),
        # A pooled request's user group is where the typist's membership counts, as for its buttons.
        pool=progress.pool_group,
    )


def typed_before(reply: ThreadReply, waiting_since: datetime | None) -> bool:
    """Whether the reply was typed before the current revision started waiting."""
    if reply.ts is None or waiting_since is None:
        return False
    try:
        typed_at = float(reply.ts)
    except ValueError:
        return False
    return typed_at < waiting_since.timestamp()


def register(app: AsyncApp, deps: Deps) -> None:
    threads = SignoffThreads()

    @app.event("message")
    async def typed_answer(event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext) -> None:
        # Bolt acks events itself before this runs, and drops the app's own messages.
        reply = thread_reply(event)
        if reply is None:
            return
        decision = parse_reply(reply.text)
        if decision is None:
            return
        if reply.parent_user_id and context.bot_user_id and reply.parent_user_id != context.bot_user_id:
            return  # a thread someone else started: no Slack call needed to know
        async with deps.follow_ups:
            await answer(deps, client, threads, reply, decision, context)
