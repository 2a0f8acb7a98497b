"""Slash commands: ``/report`` (start, status, list, cancel, help) and ``/plan``.

Each handler acks at once (with the answer itself when it needs no I/O, such
as help or a too-long topic) and does the Temporal and Slack calls after. A start
(``/report <topic>``, ``/plan``) is first written to the bot's journal (``bot.journal``),
then acked "Starting…" with its workflow id (known before the start), then started: an
acked start is on disk, and a bot killed before it ran starts it when it comes back
(``bot.replay``). A journal that cannot be written falls back to starting the workflow
before the ack, when the start ends within ``START_BEFORE_ACK``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics
from bot.deps import Deps
from bot.gateway import MAX_LISTED, AlreadyRunning, GatewayError, Listed, Listing, MaybeStarted
from bot.journal import JournalError, OwedStart
from bot.listeners.actions import may_see_request
from bot.listeners.away import (
    USAGE,
    Back,
    CommandRefused,
    DmReminders,
    Help,
    away_line,
    hand_over_pending,
    parse_signoff,
)
from signoff.activities.preference_store import Away, PreferencesUnavailable
from signoff.contracts.access import may_see
from signoff.contracts.mrkdwn import escape, truncate
from signoff.contracts.workflow_io import MAX_TOPIC_CHARS, Progress, SlackOrigin, WorkflowKind
from signoff.slack.rendering.lists import WorkflowRow, help_blocks, report_list_blocks, status_blocks

log = logging.getLogger(__name__)

REPORT = "/report"
PLAN = "/plan"
# What a person sets for themselves: away (and to whom), DM reminders (bot.away).
SIGNOFF = "/signoff"
COMMANDS = (REPORT, PLAN, SIGNOFF)

# How many running workflows /report list asks for their phase.
MAX_LIST_QUERIES = 20
_ECHO_CHARS = 200
_ID = re.compile(r"^\S+$")
_LINK_PROMISE = "I'll send you the link to its thread here."
# Without a journal to write to: how long /report and /plan wait for their start before acking. Slack
# wants the ack within 3 s of sending the command; this leaves over a second for the network both ways
# and a busy event loop. A start that has not ended by then is acked "Starting…" and finished after.
START_BEFORE_ACK = 1.5


@dataclass(frozen=True)
class Parsed:
    action: str  # "start", "status", "list", "cancel", "help"
    arg: str = ""


def parse_report(text: str) -> Parsed:
    """``/report`` text → what to do. A topic that merely starts with a keyword stays a topic."""
    text = text.strip()
    if not text:
        return Parsed("help")
    # Any whitespace separates the keyword (a tab, a newline, macOS's Option+Space).
    word, *tail = text.split(maxsplit=1)
    word, rest = word.lower(), (tail[0].strip() if tail else "")
    if word in ("help", "list") and not rest:
        return Parsed(word)
    if word == "status" and (not rest or _ID.match(rest)):
        return Parsed("status", rest)
    if word == "cancel" and _ID.match(rest or " "):
        return Parsed("cancel", rest)
    if word == "cancel" and not rest:
        return Parsed("usage_cancel")
    return Parsed("start", text)


def _blocks(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    return [block.to_dict() for block in blocks]


def _echo(text: str) -> str:
    return escape(truncate(text, _ECHO_CHARS))


def _usage(command: str) -> str:
    what = "topic" if command == REPORT else "task"
    return (
        f"Usage: `{command} &lt;{what}&gt;`, e.g. `{command} The state of solar power in Europe`. Try `/report help`."
    )


def _too_long(text: str, command: str) -> str:
    what = "topic" if command == REPORT else "task"
    return (
        f":warning: That {what} is {len(text):,} characters; the limit is {MAX_TOPIC_CHARS:,}. "
        "Shorten it and try again."
    )


def register(app: AsyncApp, deps: Deps) -> None:
    @app.command(REPORT)
    async def report_command(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        parsed = parse_report(command.get("text") or "")
        if parsed.action == "help":
            await ack(text="Signoff commands", blocks=_blocks(help_blocks()))
            return
        if parsed.action == "usage_cancel":
            await ack(text="Usage: `/report cancel &lt;workflow id&gt;` (the id is in `/report list` and the thread).")
            return
        if parsed.action == "start":
            if len(parsed.arg) > MAX_TOPIC_CHARS:
                await ack(text=_too_long(parsed.arg, REPORT))
                return
            await _journal_then_ack(deps, ack, respond, _owed(command, WorkflowKind.REPORT, parsed.arg))
            return
        await ack()
        async with deps.follow_ups:
            if parsed.action == "status":
                await _status(deps, client, respond, command, parsed.arg)
            elif parsed.action == "list":
                await _list(deps, client, respond, command["user_id"])
            elif parsed.action == "cancel":
                await _cancel(deps, client, respond, command, parsed.arg)

    @app.command(SIGNOFF)
    async def signoff_command(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        user = command["user_id"]
        try:
            parsed = parse_signoff(command.get("text") or "", user, datetime.now(UTC).date())
        except CommandRefused as err:
            await ack(text=f":no_entry_sign: {err}")
            return
        if isinstance(parsed, Help):
            await ack(text=USAGE)
            return
        await ack()
        async with deps.follow_ups:
            try:
                await _set_preference(deps, client, respond, command, parsed)
            except PreferencesUnavailable as err:
                # Said to the person without where the store is; the operator reads that in the log.
                log.warning("/signoff %s by %s: %s", type(parsed).__name__, user, err)
                await respond(
                    text=":warning: That could not be saved just now (signoff's preferences store is unavailable): "
                    "nothing changed. Try again in a moment.",
                    response_type="ephemeral",
                )

    @app.command(PLAN)
    async def plan_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        task = (command.get("text") or "").strip()
        if not task or task.lower() == "help":
            await ack(text=_usage(PLAN))
            return
        if len(task) > MAX_TOPIC_CHARS:
            await ack(text=_too_long(task, PLAN))
            return
        await _journal_then_ack(deps, ack, respond, _owed(command, WorkflowKind.PLAN, task))


async def _set_preference(
    deps: Deps,
    client: AsyncWebClient,
    respond: AsyncRespond,
    command: dict[str, Any],
    parsed: Away | DmReminders | Back,
) -> None:
    """``/signoff dm|back|away``: stored, then said (``PreferencesUnavailable``: nothing was)."""
    user = command["user_id"]
    preferences = deps.preferences
    if isinstance(parsed, DmReminders):
        await asyncio.to_thread(preferences.set_dm_reminders, user, parsed.on)
        state = (
            "on: reminders reach you in your DMs with the app too"
            if parsed.on
            else "off: reminders stay in the threads"
        )
        await respond(text=f":bell: DM reminders are {state}.", response_type="ephemeral")
    elif isinstance(parsed, Back):
        await asyncio.to_thread(preferences.back, user)
        await respond(text=":wave: Welcome back: new requests name you again.", response_type="ephemeral")
    else:
        await asyncio.to_thread(preferences.set_away, parsed)
        moved, problems = await hand_over_pending(deps, client, parsed, command.get("team_id"))
        text = f"{away_line(parsed)} {moved} waiting request(s) handed over."
        if problems:
            text += " Not handed over: " + "; ".join(problems)
        await respond(text=text, response_type="ephemeral")


def _origin(command: dict[str, Any]) -> SlackOrigin:
    return SlackOrigin(
        team_id=command["team_id"],
        channel_id=command["channel_id"],
        requester_id=command["user_id"],
        response_url=command.get("response_url") or None,
    )


def _request_key(command: dict[str, Any]) -> str:
    # trigger_id is unique per invocation and the same on a redelivery of it.
    return f"{command['command']}:{command.get('trigger_id') or command.get('response_url')}"


def _owed(command: dict[str, Any], kind: WorkflowKind, subject: str) -> OwedStart:
    return OwedStart(kind=kind, subject=subject, origin=_origin(command), request_key=_request_key(command))


async def _journal_then_ack(deps: Deps, ack: AsyncAck, respond: AsyncRespond, owed: OwedStart) -> None:
    """Write the start to the journal, ack "Starting…" with its workflow id, then start it and tell
    the requester if it did not start (on success the workflow itself sends the link to its thread)."""
    # Owed from the first moment: a shutdown waits for this start whether or not it was acked yet.
    with deps.follow_ups.tracked():
        try:
            entry = await deps.journal.add(owed)
        except JournalError as err:
            log.error("%s; starting before the ack instead", err)
            await _start_then_ack(deps, ack, respond, owed)
            return
        await ack(text=starting_text(deps, owed))
        # After the ack, a follow-up like any other: it waits for a slot rather than crowd the loop
        # that acks. Cancelled (the bot stopping) or failed unexpectedly: the entry stays for the next bot.
        async with deps.follow_ups.slot_after_acks():
            started, text = await start_owed(deps, owed)
        # Settled: forgotten before the requester is told, so a crash in between loses a message
        # but never starts what they were told did not start.
        await _forget(deps, entry)
        if not started:
            await respond(text=text)


async def _forget(deps: Deps, entry: int) -> None:
    try:
        await deps.journal.remove(entry)
    except JournalError as err:
        # Left in the journal: the next bot's start finds its workflow already started, and says nothing.
        log.warning("%s", err)


def starting_text(deps: Deps, owed: OwedStart) -> str:
    """The ack of a journaled start: it is under way, with its workflow id (and link, with a Temporal UI)."""
    return f":hourglass_flowing_sand: {_starting(owed)}: {_where(deps, owed.workflow_id)}. {_LINK_PROMISE}"


def _starting(owed: OwedStart) -> str:
    if owed.kind is WorkflowKind.REPORT:
        return f"Starting a report on _{_echo(owed.subject)}_"
    return f"Planning _{_echo(owed.subject)}_"


def _where(deps: Deps, workflow_id: str) -> str:
    ui = deps.gateway.ui_url(workflow_id)
    return f"<{ui}|`{workflow_id}`>" if ui else f"`{workflow_id}`"


async def _start_then_ack(deps: Deps, ack: AsyncAck, respond: AsyncRespond, owed: OwedStart) -> None:
    """Without the journal: start the workflow, then ack with the outcome; a start slower than
    ``START_BEFORE_ACK`` is acked "Starting…" and its outcome told after, unless it started."""
    start = asyncio.ensure_future(start_owed(deps, owed))
    done, _ = await asyncio.wait({start}, timeout=START_BEFORE_ACK)
    if done:
        await ack(text=start.result()[1])
        return
    metrics.STARTS_AFTER_ACK.labels(owed.kind.value).inc()
    await ack(text=f":hourglass_flowing_sand: {_starting(owed)}… {_LINK_PROMISE}")
    started, text = await start
    if not started:
        await respond(text=text)


async def start_owed(deps: Deps, owed: OwedStart) -> tuple[bool, str]:
    """Start the workflow; (whether it started, what to tell the requester)."""
    try:
        started = await owed.start(deps.gateway)
    except GatewayError as err:
        return False, failure_text(owed, err)
    log.debug("Started %s", started.workflow_id)
    where = _where(deps, started.workflow_id)
    return True, f":rocket: Your {owed.noun} on _{_echo(owed.subject)}_ is started: {where}. {_LINK_PROMISE}"


def failure_text(owed: OwedStart, err: GatewayError) -> str:
    """What the requester is told of a start that did not start."""
    if isinstance(err, AlreadyRunning):
        return f":information_source: {err}"
    if isinstance(err, MaybeStarted):
        return f":warning: {err}"
    return f":warning: Your {owed.noun} was not started. {err}"


_NOTHING_HERE = "Nothing has been started in this channel yet. Try `/report &lt;topic&gt;`."


async def _status(
    deps: Deps, client: AsyncWebClient, respond: AsyncRespond, command: dict[str, Any], workflow_id: str
) -> None:
    gateway = deps.gateway
    named = bool(workflow_id)
    try:
        if not workflow_id:
            latest = await gateway.latest_in_channel(command["team_id"], command["channel_id"])
            if latest is None:
                await respond(text=_NOTHING_HERE)
                return
            workflow_id = latest
        progress = await gateway.progress(workflow_id)
    except GatewayError as err:
        await respond(text=f":warning: {err}")
        return
    if not await may_see_request(deps, client, progress, command["user_id"]):
        # Answered as if it did not exist: neither its subject nor its requester is told.
        await respond(text=f":warning: {gateway.not_found(workflow_id)}" if named else _NOTHING_HERE)
        return
    blocks = status_blocks(progress)
    ui = gateway.ui_url(workflow_id)
    if ui:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"<{ui}|Open in the Temporal UI>")]))
    await respond(text=f"Status of {_echo(progress.subject)}", blocks=_blocks(blocks[:50]))


async def _list(deps: Deps, client: AsyncWebClient, respond: AsyncRespond, user_id: str) -> None:
    """The running workflows ``user_id`` may see (signoff/contracts/access.py), newest first."""
    gateway = deps.gateway
    try:
        if await gateway.lists_by_search_attributes():
            rows, looked_at, total = await _running_by_search_attributes(deps, client, user_id)
            more = (
                f"Showing what you can see among the newest {looked_at} of {total:,} running workflows."
                if total > looked_at
                else ""
            )
        else:
            rows, missing = await _running_newest(deps, client, user_id)
            more = f"{missing} more running workflow(s) did not report their status in time." if missing > 0 else ""
    except GatewayError as err:
        await respond(text=f":warning: {err}")
        return
    blocks = report_list_blocks(rows)
    if more:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=more)]))
    await respond(text=f"{len(rows)} open workflow(s)", blocks=_blocks(blocks[:50]))


async def _running_by_search_attributes(
    deps: Deps, client: AsyncWebClient, user_id: str
) -> tuple[list[WorkflowRow], int, int]:
    """The newest running workflows ``user_id`` may see, as visibility has them (phase from the
    search attribute, subject from the memo): no workflow is asked, and the total is counted by the
    server. Returns the rows, how many were looked at, and the total."""
    running, total = await deps.gateway.running(MAX_LISTED)
    member_of = await deps.membership.channels_with(client, _pools(running), user_id)
    seen = [item for item in running if _visible(item, user_id, member_of)]
    rows = [row for row in (item.as_row() for item in seen) if row is not None]
    return rows[:MAX_LIST_QUERIES], len(running), total


def _pools(items: Iterable[Listed | Progress]) -> list[str | None]:
    """The channels and user groups whose members may see ``items`` (asked once each, through the cache)."""
    return [where for item in items for where in (item.channel_id, item.pool_group)]


def _visible(item: Listed | Progress, user_id: str, member_of: set[str]) -> bool:
    """``member_of``: which of the items' channels and user groups ``user_id`` is in (``_pools``)."""
    return may_see(
        user_id,
        item.requester_id,
        item.approvers,
        channel_member=item.channel_id in member_of,
        pool_member=item.pool_group is not None and item.pool_group in member_of,
    )


async def _running_newest(deps: Deps, client: AsyncWebClient, user_id: str) -> tuple[list[WorkflowRow], int]:
    """Without the search attributes: the newest running workflows, each asked for its phase, those
    ``user_id`` may see; returns the rows and how many did not answer in time."""
    gateway = deps.gateway
    running = await gateway.list_workflows(Listing.RUNNING)
    asked = running[:MAX_LIST_QUERIES]
    answered = {
        p.workflow_id: p for p in await gateway.progress_of_many([w.workflow_id for w in asked], deps.listing_wait)
    }
    member_of = await deps.membership.channels_with(client, _pools(answered.values()), user_id)
    rows: list[WorkflowRow] = []
    missing = 0
    for item in asked:
        state = answered.get(item.workflow_id)
        row = None
        if state is None:
            missing += 1
        elif not _visible(state, user_id, member_of):
            continue
        else:
            row = replace(
                item, kind=state.kind, subject=state.subject, phase=state.phase, requester_id=state.requester_id
            ).as_row()
        if row is not None:
            rows.append(row)
    return rows, missing + len(running) - len(asked)


async def _cancel(
    deps: Deps, client: AsyncWebClient, respond: AsyncRespond, command: dict[str, Any], workflow_id: str
) -> None:
    gateway = deps.gateway
    user_id = command["user_id"]
    try:
        progress = await gateway.progress(workflow_id)
        if not await may_see_request(deps, client, progress, user_id):
            await respond(text=f":warning: {gateway.not_found(workflow_id)}")
            return
        if progress.phase.is_terminal:
            await respond(
                text=f"`{escape(workflow_id)}` has already finished ({progress.phase.value}); nothing to cancel."
            )
            return
        allowed = user_id == progress.requester_id or user_id in progress.approvers
        if not allowed:
            await respond(
                text=":no_entry: Only the person who requested it or one of its approvers can cancel "
                f"`{escape(workflow_id)}`. Nothing was changed."
            )
            return
        await gateway.cancel(workflow_id)
    except GatewayError as err:
        await respond(text=f":warning: {err}")
        return
    await respond(
        text=f":no_entry_sign: Cancelling _{_echo(progress.subject)}_ (`{escape(workflow_id)}`); "
        "the thread will say when it has stopped."
    )
