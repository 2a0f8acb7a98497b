"""The App Home tab: drafts waiting for the viewer's decision and the viewer's own requests."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.gateway import MAX_LISTED, Gateway, GatewayError, Listed, Listing, RunFilter
from bot.listeners.away import away_line, today_away
from signoff.contracts import access
from signoff.contracts.tool_calls import ToolCallState
from signoff.contracts.workflow_io import DraftState, DraftView, Phase, Progress, WorkflowKind
from signoff.slack.rendering.lists import WaitingToolCall, WorkflowRow, home_view
from signoff.slack.rendering.text import MAX_BLOCKS_PER_VIEW, MAX_HOME_MINE

log = logging.getLogger(__name__)

# Progress queries per Home refresh; the rest of the listing is not asked.
MAX_HOME_QUERIES = 30
# Running plans asked for their waiting tool calls, besides the drafts.
MAX_HOME_TOOL_PLANS = 10
# A thread's permalink for the Inbox: Slack answers in milliseconds; one that does not is left out.
PERMALINK_SECONDS = 2.0


def may_decide(progress: Progress, user_id: str, *, channel_member: bool) -> bool:
    """Whether to list a draft for ``user_id``: waiting, not yet approved by them, and the rule
    (signoff/contracts/access.py) lets them decide; the validator still decides."""
    if progress.phase is not Phase.PENDING_APPROVAL or not progress.revision:
        return False
    if user_id in progress.approvals:
        return False
    return access.may_decide(user_id, progress.requester_id, progress.decide_now, channel_member=channel_member)


def tool_calls_for(progress: Progress, user_id: str, *, channel_member: bool) -> list[WaitingToolCall]:
    """A plan's tool calls waiting for ``user_id`` (the same rule as its draft's; the validator still decides)."""
    if progress.phase is not Phase.EXECUTING:
        return []
    if not access.may_decide(user_id, progress.requester_id, progress.decide_now, channel_member=channel_member):
        return []
    return [
        WaitingToolCall(progress, call)
        for call in progress.tool_calls
        if call.state is ToolCallState.PENDING and user_id not in call.decided_by
    ]


async def thread_links(client: AsyncWebClient, states: Sequence[Progress]) -> dict[str, str]:
    """Each thread's permalink by workflow id (chat.getPermalink, at once); one Slack would not give is left out."""
    threads = [(state.workflow_id, state.thread) for state in states if state.thread is not None]

    async def link(channel: str, ts: str) -> str | None:
        try:
            async with asyncio.timeout(PERMALINK_SECONDS):
                response = await client.chat_getPermalink(channel=channel, message_ts=ts)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as err:
            log.info("no permalink for %s/%s: %s", channel, ts, err)
            return None
        permalink = response.get("permalink")
        return permalink if isinstance(permalink, str) else None

    answers = await asyncio.gather(*(link(thread.channel_id, thread.ts) for _, thread in threads))
    return {workflow_id: answer for (workflow_id, _), answer in zip(threads, answers, strict=True) if answer}


async def build_home(deps: Deps, client: AsyncWebClient, user_id: str) -> View:
    """The viewer's Home: drafts they may decide on, and their own requests (signoff/contracts/access.py)."""
    gateway = deps.gateway
    note = None
    candidates: list[Listed]
    # None: the requester's own come from the answers to the progress queries.
    mine: Sequence[Progress | WorkflowRow] | None
    try:
        if await gateway.lists_by_search_attributes():
            candidates, mine = await _by_search_attributes(deps, client, user_id)
        else:
            candidates, mine = await _newest(gateway, user_id)
    except GatewayError as err:
        candidates, mine = [], []
        note = f":warning: {err}"
    states = await gateway.progress_of_many([item.workflow_id for item in candidates], deps.listing_wait)
    if len(states) < len(candidates) and note is None:
        note = f":hourglass: {len(candidates) - len(states)} workflow(s) did not answer in time and are not shown."
    # Each request's pool (signoff/contracts/access.py): its user group's members decide, else its channel's.
    pools = {state.workflow_id: access.pool_of(state.channel_id, state.pool_group) for state in states}
    member_of = await deps.membership.channels_with(client, pools.values(), user_id)
    pending = [
        (state, _draft(gateway, state))
        for state in states
        if may_decide(state, user_id, channel_member=pools[state.workflow_id] in member_of)
    ]
    tool_calls = [
        waiting
        for state in states
        for waiting in tool_calls_for(state, user_id, channel_member=pools[state.workflow_id] in member_of)
    ]
    waiting = {state.workflow_id: state for state, _ in pending} | {
        t.progress.workflow_id: t.progress for t in tool_calls
    }
    links = await thread_links(client, list(waiting.values()))
    if mine is None:
        mine = [state for state in states if state.requester_id == user_id]
    away = await today_away(deps, user_id, datetime.now(UTC).date())
    view = home_view(user_id, pending, mine, tool_calls, links, away=away_line(away) if away else None)
    if note:
        blocks = list(view.blocks or [])[: MAX_BLOCKS_PER_VIEW - 1]
        blocks.insert(2, ContextBlock(elements=[MarkdownTextObject(text=note)]))
        view = View(type="home", blocks=blocks)
    return view


async def _by_search_attributes(
    deps: Deps, client: AsyncWebClient, user_id: str
) -> tuple[list[Listed], list[WorkflowRow]]:
    """Visibility queries: what waits for this user (asked for its draft's state) and what they
    requested (shown from visibility alone, without waking finished workflows for a query).

    Drafts open to anyone (no approvers named) are kept only from channels the user is in, before
    any is asked: the newest of the namespace's elsewhere do not crowd theirs out."""
    gateway = deps.gateway
    waiting, requested, running = await asyncio.gather(
        gateway.waiting_for(user_id, MAX_LISTED),
        gateway.requested_by(user_id, MAX_HOME_MINE),
        gateway.list_workflows(RunFilter(state=Listing.RUNNING), MAX_LISTED),
    )
    # Plans running their tool calls: those may wait for this user too (the newest few).
    waiting += [
        item
        for item in running
        if item.kind is WorkflowKind.PLAN
        and item.phase is Phase.EXECUTING
        and item.requester_id != user_id
        and (not item.approvers or user_id in item.approvers)
    ][:MAX_HOME_TOOL_PLANS]
    # A pooled draft's pool: the user group an API request named (from its memo), else its channel. A
    # member of the deployment's group (SIGNOFF_APPROVER_GROUP) keeps every pooled draft, since
    # visibility does not say which the setting's group decides; the rule is applied to each one's progress.
    member_of = await deps.membership.channels_with(
        client,
        (access.pool_of(item.channel_id, item.pool_group) for item in waiting if user_id not in item.approvers),
        user_id,
    )
    group = deps.settings.workflow.policy.approver_group
    in_group = bool(group) and await deps.membership.is_member(client, group, user_id)
    waiting = [
        item
        for item in waiting
        if user_id in item.approvers
        or access.pool_of(item.channel_id, item.pool_group) in member_of
        or (in_group and not item.approvers)
    ]
    mine = [row for row in (item.as_row() for item in requested) if row is not None]
    return waiting[:MAX_HOME_QUERIES], mine


async def _newest(gateway: Gateway, user_id: str) -> tuple[list[Listed], None]:
    """Without the search attributes: the newest workflows of the namespace, each asked."""
    listed = await gateway.list_workflows()
    return [item for item in listed if item.running or item.requester_id == user_id][:MAX_HOME_QUERIES], None


def _draft(gateway: Gateway, state: Progress) -> DraftView:
    return DraftView(
        workflow_id=state.workflow_id,
        kind=state.kind,
        subject=state.subject,
        revision=state.revision,
        body="",
        state=DraftState.OPEN,
        approvals=list(state.approvals),
        required_approvals=state.required_approvals,
        workflow_url=gateway.ui_url(state.workflow_id),
        # Its buttons name the pool, so a click is checked against the group, as in the thread.
        pool_group=state.pool_group,
    )


async def refresh_home(deps: Deps, client: AsyncWebClient, user_id: str) -> None:
    view = await build_home(deps, client, user_id)
    try:
        await client.views_publish(user_id=user_id, view=view)
    except SlackApiError as err:
        log.warning("views.publish for %s failed: %s", user_id, err.response.get("error"))
    except (aiohttp.ClientError, TimeoutError) as err:
        log.warning("views.publish unreachable: %s", err)
