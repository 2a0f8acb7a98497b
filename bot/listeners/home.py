"""The App Home tab: drafts waiting for the viewer's decision and the viewer's own requests."""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.gateway import GatewayError
from core.contracts import DraftState, DraftView, Phase, Progress
from core.rendering.lists import home_view
from core.rendering.text import MAX_BLOCKS_PER_VIEW

log = logging.getLogger(__name__)

# Progress queries per Home refresh; the rest of the listing is not asked.
MAX_HOME_QUERIES = 30


def may_decide(progress: Progress, user_id: str) -> bool:
    """Mirrors the validator's rules closely enough to list a draft; the validator still decides."""
    if progress.phase is not Phase.PENDING_APPROVAL or not progress.revision:
        return False
    if user_id == progress.requester_id or user_id in progress.approvals:
        return False
    return not progress.approvers or user_id in progress.approvers


async def build_home(deps: Deps, user_id: str) -> View:
    gateway = deps.gateway
    note = None
    pending: list[tuple[Progress, DraftView]] = []
    mine: list[Progress] = []
    try:
        listed = await gateway.list_workflows("")
    except GatewayError as err:
        listed = []
        note = f":warning: {err}"
    wanted = [item for item in listed if item.running or item.requester_id == user_id][:MAX_HOME_QUERIES]
    states = await gateway.progress_of_many([item.workflow_id for item in wanted], deps.listing_wait)
    if len(states) < len(wanted) and note is None:
        note = f":hourglass: {len(wanted) - len(states)} workflow(s) did not answer in time and are not shown."
    for state in states:
        if may_decide(state, user_id):
            pending.append(
                (
                    state,
                    DraftView(
                        workflow_id=state.workflow_id,
                        kind=state.kind,
                        subject=state.subject,
                        revision=state.revision,
                        body="",
                        state=DraftState.OPEN,
                        approvals=list(state.approvals),
                        required_approvals=state.required_approvals,
                        workflow_url=gateway.ui_url(state.workflow_id),
                    ),
                )
            )
        if state.requester_id == user_id:
            mine.append(state)
    view = home_view(user_id, pending, mine)
    if note:
        blocks = list(view.blocks or [])[: MAX_BLOCKS_PER_VIEW - 1]
        blocks.insert(2, ContextBlock(elements=[MarkdownTextObject(text=note)]))
        view = View(type="home", blocks=blocks)
    return view


async def refresh_home(deps: Deps, client: AsyncWebClient, user_id: str) -> None:
    view = await build_home(deps, user_id)
    try:
        await client.views_publish(user_id=user_id, view=view)
    except SlackApiError as err:
        log.warning("views.publish for %s failed: %s", user_id, err.response.get("error"))
    except (aiohttp.ClientError, TimeoutError) as err:
        log.warning("views.publish unreachable: %s", err)
