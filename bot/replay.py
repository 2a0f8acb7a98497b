"""Starting what a stopped bot left in its journal (``bot.journal``), before the new one serves.

A bot killed after acknowledging a start and before making it leaves the start in its journal; the
next bot on the same journal makes it at its own start. Each is started by its workflow's
deterministic id, refused if it exists (``AlreadyRunning``): an entry whose workflow was started
before the kill starts nothing and tells nobody anything. A start that fails now (the engine
unreachable) is kept and tried again every ``RETRY_EVERY``; one still failing ``GIVE_UP_AFTER`` its
ack is told to the requester (through its ``response_url``, good for 30 minutes) and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.deps import Deps
from bot.gateway import AlreadyRunning, GatewayError
from bot.journal import Entry, JournalError, OwedStart
from bot.listeners.commands import failure_text
from signoff.config.settings import SettingsError
from signoff.slack.response_urls import is_slack_response_url

log = logging.getLogger(__name__)

RETRY_EVERY = timedelta(seconds=10)
# Slack takes answers at a response_url for 30 minutes: the requester is told before that.
GIVE_UP_AFTER = timedelta(minutes=25)


async def replay_owed(deps: Deps) -> list[Entry]:
    """One attempt at every start in the journal; returns those still owed (to try again)."""
    try:
        entries = await deps.journal.owed()
    except JournalError as err:
        raise SettingsError(str(err)) from None
    if not entries:
        return []
    log.info("Starting %d acknowledged start(s) a stopped bot left in its journal", len(entries))
    return await _attempt(deps, entries)


async def _attempt(deps: Deps, entries: list[Entry]) -> list[Entry]:
    settled = await asyncio.gather(*(_settle(deps, entry) for entry in entries))
    left = [entry for entry, done in zip(entries, settled, strict=True) if not done]
    if left:
        log.warning(
            "%d acknowledged start(s) from the journal could not be made yet; trying again in %g s",
            len(left),
            RETRY_EVERY.total_seconds(),
        )
    return left


async def _settle(deps: Deps, entry: Entry) -> bool:
    """Start one entry's workflow; whether the entry is settled (started, already there, or given up)."""
    owed = entry.start
    try:
        started = await owed.start(deps.gateway)
    except AlreadyRunning:
        log.info("%s from the journal was already started", owed.workflow_id)
    except GatewayError as err:
        if time.time() - entry.written_at < GIVE_UP_AFTER.total_seconds():
            log.info("%s from the journal not started yet: %s", owed.workflow_id, err)
            return False
        log.warning("%s from the journal given up after %s: %s", owed.workflow_id, GIVE_UP_AFTER, err)
        await _tell(owed, failure_text(owed, err), deps.settings.slack_api_url)
    else:
        # The workflow sends the requester the link to its thread itself.
        log.info("Started %s from the journal", started.workflow_id)
    try:
        await deps.journal.remove(entry.number)
    except JournalError as err:
        log.warning("%s", err)
    return True


async def _tell(owed: OwedStart, text: str, slack_api_url: str | None) -> None:
    url = owed.origin.response_url
    if not url:
        return
    # Checked where it is used, as the worker does: a journal entry is a file anyone with the disk can edit.
    if not is_slack_response_url(url, slack_api_url):
        log.warning("%s: its response_url is not Slack's; the requester is not told", owed.workflow_id)
        return
    try:
        await AsyncWebhookClient(url).send(text=text, response_type="ephemeral", replace_original=False)
    except (aiohttp.ClientError, TimeoutError) as err:
        log.warning("could not tell the requester of %s: %s", owed.workflow_id, err)


async def _retry(deps: Deps, entries: list[Entry]) -> None:
    while entries:
        await asyncio.sleep(RETRY_EVERY.total_seconds())
        entries = await _attempt(deps, entries)


@contextlib.asynccontextmanager
async def replaying(deps: Deps) -> AsyncIterator[None]:
    """The journal's starts made (one attempt each) before the body runs; the failed ones tried again
    while it runs. Stopped at its end: what is still owed stays in the journal for the next bot."""
    left = await replay_owed(deps)
    retrying = asyncio.create_task(_retry(deps, left))
    try:
        yield
    finally:
        retrying.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await retrying
