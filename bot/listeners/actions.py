"""The decision buttons: Approve sends the update; Request revision and Reject open modals.

A tool call's buttons work the same way: Allow and Always allow send the update, Deny opens a
modal for an optional reason; "Show full arguments" opens the call's arguments whole.

The same buttons appear on the draft in the thread and on the App Home
(container type ``view``); the answer goes where the click came from.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.gateway import Gateway, GatewayError, Refused
from bot.listeners.home import refresh_home
from bot.membership import Members
from bot.replies import Where, tell
from signoff.contracts.access import NOT_A_MEMBER, may_see
from signoff.contracts.mrkdwn import mentions
from signoff.contracts.workflow_io import DecisionKind, DecisionReceipt, HandoffKind, Progress
from signoff.slack import action_ids
from signoff.slack.action_ids import ButtonValue
from signoff.slack.rendering.modals import (
    comment_approve_modal,
    delegate_modal,
    edit_approve_modal,
    reject_modal,
    revision_modal,
)
from signoff.slack.rendering.tool_calls import tool_arguments_modal, tool_deny_modal

log = logging.getLogger(__name__)

# How long opening a modal may spend looking up the subject: the trigger_id lives 3 s.
SUBJECT_LOOKUP_SECONDS = 1.0
BROKEN_BUTTON = (
    ":warning: That button is damaged or out of date; nothing was changed. Use the buttons on the latest draft."
)
UNKNOWN_BUTTON = (
    ":warning: signoff does not know that button (it may come from another version of the app); "
    "nothing was changed. Use the buttons on the latest draft."
)


def confirmation(receipt: DecisionReceipt) -> str:
    if receipt.handoff is not None:
        return handoff_confirmation(receipt)
    if receipt.kind is DecisionKind.APPROVE:
        if receipt.required_approvals > 1:
            count = f"({len(receipt.approvals)} of {receipt.required_approvals})"
            rest = "" if receipt.quorum_met else "; waiting for more approvals"
            return f":white_check_mark: Recorded your approval of revision {receipt.revision} {count}{rest}."
        return f":white_check_mark: Recorded your approval of revision {receipt.revision}."
    if receipt.kind is DecisionKind.REQUEST_REVISION:
        return f":repeat: Sent revision {receipt.revision} back to the writer with your notes."
    return f":no_entry: Rejected revision {receipt.revision}."


def handoff_confirmation(receipt: DecisionReceipt) -> str:
    """What a Claim, Release or Delegate did."""
    if receipt.handoff is HandoffKind.CLAIM:
        return f":raising_hand: You claimed revision {receipt.revision}: you decide on it now."
    if receipt.handoff is HandoffKind.RELEASE:
        return ":leftwards_arrow_with_hook: You released it: anyone in the channel can claim it again."
    if receipt.handoff is HandoffKind.STEP_ASIDE:
        return ":palm_tree: You stepped out of it: the others decide."
    return f":arrow_right: Delegated: {mentions(list(receipt.deciders))} decide(s) on it now."


def tool_confirmation(receipt: DecisionReceipt) -> str:
    """What a tool call's Allow or Deny click did (``revision`` is the call's number)."""
    if receipt.kind is DecisionKind.APPROVE:
        if receipt.required_approvals > 1 and not receipt.quorum_met:
            return (
                f":white_check_mark: Recorded your approval of tool call {receipt.revision} "
                f"({len(receipt.approvals)} of {receipt.required_approvals}); waiting for more approvals."
            )
        return f":white_check_mark: Allowed tool call {receipt.revision}; it runs now."
    return f":no_entry: Denied tool call {receipt.revision}; the agent is told."


# What a person who may not see a request is told about it: no subject, no requester.
NOT_VISIBLE = ":no_entry_sign: You cannot see that request: it is in a channel you are not in."


async def request_channel(gateway: Gateway, where: Where, workflow_id: str) -> str | None:
    """The request's channel: where the click or reply happened, or (the App Home, a DM reminder) the
    workflow's own, so a click there goes through the same check as in the thread."""
    if where.channel_id is not None and not where.direct:
        return where.channel_id
    try:
        return (await gateway.progress(workflow_id)).channel_id
    except GatewayError as err:
        log.info("the channel of %s is unknown: %s", workflow_id, err)
        return None


async def send_decision(
    deps: Deps,
    client: AsyncWebClient,
    where: Where,
    workflow_id: str,
    decide: Callable[[str | None], Awaitable[DecisionReceipt]],
    confirm: Callable[[DecisionReceipt], str] = confirmation,
    *,
    pool: str | None = None,
) -> None:
    """Send one decision update and tell the decider the outcome (and refresh their Home).

    ``decide(member_of)`` gets the request's channel (or ``pool``, the user group a pooled request's
    button names) when Slack says the decider is in it, else None: the workflow's validator applies
    the rule (signoff/contracts/access.py) with it, against the pool it knows.
    """
    channel = pool or await request_channel(deps.gateway, where, workflow_id)
    members = await deps.membership.members(client, channel) if channel else Members(None)
    member_of = channel if where.user_id in members else None
    try:
        receipt = await decide(member_of)
    except Refused as err:
        text = str(err)
        if text == NOT_A_MEMBER and members.problem:
            text = f"{text} ({members.problem}; nothing was changed, try again in a minute.)"
        await tell(client, where, f":no_entry_sign: {text}")
        return
    except GatewayError as err:
        await tell(client, where, f":no_entry_sign: {err}")
        return
    await tell(client, where, confirm(receipt))
    if where.home:
        await refresh_home(deps, client, where.user_id)


async def may_see_request(deps: Deps, client: AsyncWebClient, progress: Progress, user_id: str) -> bool:
    """Whether ``user_id`` may see the request ``progress`` describes (signoff/contracts/access.py)."""
    member = await deps.membership.is_member(client, progress.channel_id, user_id)
    pool_member = not member and await deps.membership.is_member(client, progress.pool_group, user_id)
    return may_see(user_id, progress.requester_id, progress.approvers, channel_member=member, pool_member=pool_member)


def _team(body: dict[str, Any]) -> str | None:
    return (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id")


def _button(body: dict[str, Any]) -> ButtonValue | None:
    actions = body.get("actions") or []
    if not actions:
        return None
    try:
        return ButtonValue.decode(actions[0].get("value"))
    except ValueError as err:
        log.info("undecodable button value: %s", err)
        return None


async def _clicked(client: AsyncWebClient, body: dict[str, Any]) -> tuple[Where, ButtonValue] | None:
    """Where a click came from and what its button carries; a damaged button is told, and None."""
    where = Where.of_action(body)
    value = _button(body)
    if value is None:
        await tell(client, where, BROKEN_BUTTON)
        return None
    return where, value


async def _open_view(client: AsyncWebClient, where: Where, body: dict[str, Any], view: View) -> None:
    try:
        await client.views_open(trigger_id=body["trigger_id"], view=view)
    except SlackApiError as err:
        error = err.response.get("error")
        log.warning("views.open failed: %s", error)
        await tell(client, where, f":warning: Slack did not open the form ({error}); click the button again.")
    except (aiohttp.ClientError, TimeoutError) as err:
        log.warning("views.open unreachable: %s", err)


def register(app: AsyncApp, deps: Deps) -> None:
    gateway = deps.gateway

    async def decide_on_click(
        body: dict[str, Any],
        client: AsyncWebClient,
        decide: Callable[[ButtonValue, str, str | None, str | None], Awaitable[DecisionReceipt]],
        confirm: Callable[[DecisionReceipt], str] = confirmation,
    ) -> None:
        """A button that decides at once: ``decide(button, user, team, member_of)``, the clicker told the outcome."""
        async with deps.follow_ups:
            clicked = await _clicked(client, body)
            if clicked is None:
                return
            where, value = clicked
            await send_decision(
                deps,
                client,
                where,
                value.workflow_id,
                lambda member_of: decide(value, where.user_id, _team(body), member_of),
                confirm,
                pool=value.pool,
            )

    async def visible_progress(client: AsyncWebClient, where: Where, workflow_id: str) -> Progress | None:
        """The request's progress, when the clicker may see it; else they are told, and None."""
        progress = await gateway.progress(workflow_id)
        if await may_see_request(deps, client, progress, where.user_id):
            return progress
        await tell(client, where, NOT_VISIBLE)
        return None

    @app.action(action_ids.APPROVE)
    async def approve(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await decide_on_click(
            body,
            client,
            lambda value, user, team, member_of: gateway.approve(
                value.workflow_id, value.revision, user, team, member_of=member_of
            ),
        )

    async def open_modal(body: dict[str, Any], client: AsyncWebClient, kind: DecisionKind | None) -> None:
        """The form for ``kind`` (None: Delegate)."""
        # Not queued behind other follow-ups (deps.follow_ups): the click's trigger_id expires
        # 3 s after the click, and views.open must come before.
        clicked = await _clicked(client, body)
        if clicked is None:
            return
        where, value = clicked
        subject = value.workflow_id
        try:
            async with asyncio.timeout(SUBJECT_LOOKUP_SECONDS):
                progress = await visible_progress(client, where, value.workflow_id)
                if progress is None:
                    return
                subject = progress.subject or subject
        except (TimeoutError, GatewayError) as err:
            # The modal still opens, without the subject; the validator decides when it is submitted.
            log.info("subject lookup for the modal skipped: %s", err)
        metadata = where.modal_metadata(value.workflow_id, value.revision, value.pool)
        if kind is None:
            view = delegate_modal(metadata, subject)
        elif kind is DecisionKind.REQUEST_REVISION:
            view = revision_modal(metadata, subject)
        elif kind is DecisionKind.APPROVE:
            view = comment_approve_modal(metadata, subject)
        else:
            view = reject_modal(metadata, subject, reason_required=deps.settings.workflow.policy.reject_reason_required)
        await _open_view(client, where, body, view)

    async def allow_tool(body: dict[str, Any], client: AsyncWebClient, *, always: bool) -> None:
        await decide_on_click(
            body,
            client,
            lambda value, user, team, member_of: gateway.allow_tool_call(
                value.workflow_id, value.revision, user, team, always=always, member_of=member_of
            ),
            tool_confirmation,
        )

    @app.action(action_ids.TOOL_ALLOW)
    async def tool_allow(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await allow_tool(body, client, always=False)

    @app.action(action_ids.TOOL_ALWAYS_ALLOW)
    async def tool_always_allow(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await allow_tool(body, client, always=True)

    @app.action(action_ids.TOOL_DENY)
    async def tool_deny(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        # Not queued behind other follow-ups: the trigger_id expires 3 s after the click.
        clicked = await _clicked(client, body)
        if clicked is None:
            return
        where, value = clicked
        tool = "this tool"
        try:
            async with asyncio.timeout(SUBJECT_LOOKUP_SECONDS):
                if await visible_progress(client, where, value.workflow_id) is None:
                    return
                record = await gateway.tool_call(value.workflow_id, value.revision)
                tool = record.tool if record else tool
        except (TimeoutError, GatewayError) as err:
            log.info("tool lookup for the deny modal skipped: %s", err)
        view = tool_deny_modal(where.modal_metadata(value.workflow_id, value.revision, value.pool), tool)
        await _open_view(client, where, body, view)

    @app.action(action_ids.TOOL_SHOW_ARGUMENTS)
    async def tool_show_arguments(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        clicked = await _clicked(client, body)
        if clicked is None:
            return
        where, value = clicked
        try:
            async with asyncio.timeout(SUBJECT_LOOKUP_SECONDS * 2):
                if await visible_progress(client, where, value.workflow_id) is None:
                    return
                record = await gateway.tool_call(value.workflow_id, value.revision)
        except (TimeoutError, GatewayError) as err:
            await tell(client, where, f":warning: Could not read that tool call right now ({err}); try again.")
            return
        if record is None:
            await tell(client, where, f":warning: There is no tool call {value.revision} in that run.")
            return
        await _open_view(client, where, body, tool_arguments_modal(record))

    @app.action(action_ids.EDIT_APPROVE)
    async def edit_approve(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        # Not queued: the trigger_id expires 3 s after the click. The draft's text is needed to
        # open the form at all, so this lookup is not optional.
        clicked = await _clicked(client, body)
        if clicked is None:
            return
        where, value = clicked
        try:
            async with asyncio.timeout(SUBJECT_LOOKUP_SECONDS * 2):
                progress = await visible_progress(client, where, value.workflow_id)
                if progress is None:
                    return
                text = await gateway.current_draft(value.workflow_id)
                subject = progress.subject
        except (TimeoutError, GatewayError) as err:
            await tell(client, where, f":warning: Could not read the draft right now ({err}); click again.")
            return
        metadata = where.modal_metadata(value.workflow_id, value.revision)
        await _open_view(client, where, body, edit_approve_modal(metadata, subject, text))

    @app.action(action_ids.COMMENT_APPROVE)
    async def comment_approve(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await open_modal(body, client, DecisionKind.APPROVE)

    @app.action(action_ids.REQUEST_REVISION)
    async def request_revision(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await open_modal(body, client, DecisionKind.REQUEST_REVISION)

    @app.action(action_ids.REJECT)
    async def reject(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await open_modal(body, client, DecisionKind.REJECT)

    def hand_over(action_id: str, method: Callable[[Gateway], Callable[..., Awaitable[DecisionReceipt]]]) -> None:
        """Claim or Release: sent at once, like Approve."""

        @app.action(action_id)
        async def clicked(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
            await ack()
            await decide_on_click(
                body,
                client,
                lambda value, user, team, member_of: method(gateway)(
                    value.workflow_id, value.revision, user, team, member_of=member_of
                ),
            )

    hand_over(action_ids.CLAIM, lambda engine: engine.claim)
    hand_over(action_ids.RELEASE, lambda engine: engine.release)

    @app.action(action_ids.OPEN_THREAD)
    async def open_thread(ack: AsyncAck) -> None:
        # A URL button: Slack opens the thread itself and still tells the app, which must ack.
        await ack()

    @app.action(action_ids.DELEGATE)
    async def delegate(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await open_modal(body, client, None)


def register_fallback(app: AsyncApp, deps: Deps) -> None:
    """Answer any other action id; register it after every other listener.

    Bolt gives a request to the first listener that matches, and without this one an
    unknown button gets a 404, which Slack shows as a bare error on the button.
    """

    @app.action(action_ids.ANY_OTHER_ACTION)
    async def unknown_button(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        action_id = ((body.get("actions") or [{}])[0]).get("action_id")
        log.info("unknown action id %r", action_id)
        async with deps.follow_ups:
            await tell(client, Where.of_action(body), UNKNOWN_BUTTON)
