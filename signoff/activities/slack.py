"""The activities that talk to Slack's Web API for the workflows (on either engine).

Its one job is the workflows' side of Slack: every Slack activity shares the same error
translation and the idempotent-post lookup below.

Retries belong to Temporal, not to the HTTP client: a retry that happens inside
the worker is invisible to the workflow history and, for chat.postMessage, can
post the same message twice. So the Slack client must have no retry handlers
(``slack_client`` builds one that way, and ``SlackActivities`` refuses one that
has them), and every Slack failure is turned into an ``ApplicationError`` that
tells Temporal what to do:

* HTTP 429 → ``SlackRateLimited`` with ``next_retry_delay`` = ``Retry-After``, so
  the next attempt waits what Slack asked, durably on the server rather than
  sleeping in the worker (repeated 429s of one call are spread at random beyond
  it, so that many workflows sharing a channel stop colliding).
* HTTP 5xx, Slack's documented transient errors, connection failures and
  timeouts → ``SlackTransientError``, retried with ``SLACK_RETRY_POLICY``'s backoff.
* Any other ``ok: false`` (invalid_auth, channel_not_found, not_in_channel,
  invalid_blocks, missing_scope, ...) → non-retryable ``SlackPermanentError``:
  Slack answered deliberately, and the same request gets the same answer. The
  message names the method and the Slack error code, never the token.

Posting is made idempotent across attempts: every message carries Slack message
metadata ``{"event_type": "signoff_post", "event_payload": {"key": ...}}``, and
an attempt after the first looks for a message with its key before posting, so a
post whose response was lost (timeout, worker crash) is found, not repeated.
Reading metadata back needs the ``channels:history`` / ``groups:history`` scopes.

Workflows import this module for the retry constants and the input types; do it
inside ``workflow.unsafe.imports_passed_through()`` since it imports slack_sdk.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient
from temporalio.exceptions import ApplicationError

from signoff.activities.context import Activity, current_step
from signoff.activities.preference_store import PreferenceStore, PreferencesUnavailable
from signoff.contracts.activity_io import (
    SLACK_PERMANENT_ERROR,
    SLACK_POST_DM_REMINDER,
    SLACK_POST_DRAFT,
    SLACK_POST_EPHEMERAL,
    SLACK_POST_THREAD_NOTE,
    SLACK_POST_TOOL_CALL,
    SLACK_RATE_LIMITED,
    SLACK_START_THREAD,
    SLACK_TRANSIENT_ERROR,
    SLACK_UPDATE_DRAFT,
    SLACK_UPDATE_THREAD,
    SLACK_UPDATE_TOOL_CALL,
    DmReminderInput,
    DraftPostInput,
    DraftUpdateInput,
    EphemeralInput,
    ThreadNoteInput,
    ThreadStartInput,
    ThreadUpdateInput,
    ToolCallPostInput,
    ToolCallUpdateInput,
)
from signoff.contracts.tool_calls import ToolCallView
from signoff.contracts.workflow_io import DraftView, MessageRef
from signoff.slack.pacing import ChannelBusy, ChannelPacer
from signoff.slack.rendering.drafts import dm_reminder_blocks, draft_messages, fallback_text, thread_parent
from signoff.slack.rendering.text import cut_mrkdwn
from signoff.slack.rendering.tool_calls import tool_call_message
from signoff.slack.response_urls import is_slack_response_url, redacted
from signoff.temporal.connection import workflow_url

# Slack error codes that say "try again later" rather than "this request is wrong".
TRANSIENT_ERRORS = frozenset(
    {
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)
# HTTP statuses worth retrying besides 5xx (and 429, handled on its own).
_TRANSIENT_STATUSES = frozenset({408})
# When a 429 carries no usable Retry-After: Slack's rate-limit windows are a minute.
DEFAULT_RETRY_AFTER = timedelta(seconds=30)
# Many workflows posting to one channel get the same Retry-After; retrying all of them exactly
# then makes them collide again each time until they run out of attempts (benchmarks: 20 drafts
# per channel at Slack's 1 message/s reached the 20th attempt; spread, the worst was the 8th). From the second 429 of a call on, the delay is
# drawn between Retry-After and Retry-After × 2^(attempt-1), at most this (never below Retry-After).
MAX_RATE_LIMIT_SPREAD = timedelta(seconds=60)

POST_EVENT_TYPE = "signoff_post"
# How far back an attempt searches for its own earlier post.
LOOKUP_PAGE_SIZE = 200
LOOKUP_MAX_PAGES = 10
# Slack's clock and ours disagree a little; look a bit before the first attempt.
_LOOKUP_CLOCK_SKEW = timedelta(minutes=2)
# Slack truncates message text past 40,000 characters; notes are much shorter,
# this only keeps a runaway note from failing with msg_too_long.
MAX_NOTE_CHARS = 39_000


def post_metadata(key: str) -> dict[str, Any]:
    return {"event_type": POST_EVENT_TYPE, "event_payload": {"key": key}}


def posted_key(message: Mapping[str, Any]) -> str | None:
    """The idempotency key a message was posted with (its ``signoff_post`` metadata), else None."""
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != POST_EVENT_TYPE:
        return None
    key = (metadata.get("event_payload") or {}).get("key")
    return key if isinstance(key, str) else None


def draft_part_key(idempotency_key: str, index: int) -> str:
    return f"{idempotency_key}/part{index}"


# ---------------------------------------------------------------------------
# Error translation
# ---------------------------------------------------------------------------


def _retry_after(headers: Mapping[str, str] | None) -> timedelta:
    value = None
    for name, raw in (headers or {}).items():
        if name.lower() == "retry-after":
            value = raw
            break
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        seconds = None
    if seconds is None or seconds <= 0:
        return DEFAULT_RETRY_AFTER
    return timedelta(seconds=seconds)


def rate_limit_delay(retry_after: timedelta, attempt: int) -> timedelta:
    """Retry-After on a call's first attempt; spread at random (exponentially) on later ones."""
    if attempt <= 1:
        return retry_after
    spread = retry_after * random.uniform(1, 2 ** min(attempt - 1, 16))
    return max(retry_after, min(spread, MAX_RATE_LIMIT_SPREAD))


def slack_api_error(method: str, err: SlackApiError, attempt: int = 1) -> ApplicationError:
    """The ApplicationError that tells Temporal how to handle a failed Slack call.

    ``attempt`` is the activity attempt that got the error (1 = first).
    """
    response = err.response
    status = getattr(response, "status_code", None) or 0
    data = getattr(response, "data", None)
    body: dict[str, Any] = data if isinstance(data, dict) else {}
    code = str(body.get("error") or f"http_{status}")
    # Slack names it both ways; "rate_limited" can come in an HTTP 200 body.
    if status == 429 or code in ("ratelimited", "rate_limited"):
        delay = rate_limit_delay(_retry_after(getattr(response, "headers", None)), attempt)
        return ApplicationError(
            f"{method}: rate limited by Slack; retrying in {delay.total_seconds():g}s",
            type=SLACK_RATE_LIMITED,
            next_retry_delay=delay,
        )
    if status >= 500 or status in _TRANSIENT_STATUSES or code in TRANSIENT_ERRORS:
        return ApplicationError(
            f"{method}: Slack is unavailable ({code}, HTTP {status})",
            type=SLACK_TRANSIENT_ERROR,
        )
    # invalid_blocks and friends explain themselves in response_metadata.messages.
    details = (
        body.get("response_metadata", {}).get("messages") if isinstance(body.get("response_metadata"), dict) else None
    )
    message = f"{method} failed: {code}"
    if details:
        message += " (" + "; ".join(str(d) for d in details[:5]) + ")"
    # The code rides along as the error's detail, for callers that act on it (not_in_channel…).
    return ApplicationError(message, code, type=SLACK_PERMANENT_ERROR, non_retryable=True)


def slack_error_code(err: ApplicationError) -> str | None:
    """Slack's error name of a permanent Slack failure (``not_in_channel``…), else None."""
    if err.type != SLACK_PERMANENT_ERROR or not err.details:
        return None
    code = err.details[0]
    return code if isinstance(code, str) else None


async def call_slack(method: str, call: Awaitable[AsyncSlackResponse]) -> AsyncSlackResponse:
    try:
        return await call
    except SlackApiError as err:
        # "from None": the SlackApiError carries the request (and its
        # Authorization header) on .response; nothing of it should travel
        # into the workflow history as a failure cause.
        attempt = current_step().attempt
        raise slack_api_error(method, err, attempt) from None
    except (TimeoutError, aiohttp.ClientError) as err:
        raise ApplicationError(
            f"{method}: could not reach Slack ({type(err).__name__})",
            type=SLACK_TRANSIENT_ERROR,
        ) from None


# ---------------------------------------------------------------------------
# Activities
# ---------------------------------------------------------------------------


class SlackActivities:
    """Slack side effects of the workflows: bound methods, each engine calls them by name (``by_name``)."""

    def __init__(
        self,
        client: AsyncWebClient,
        temporal_ui_url: str | None = None,
        namespace: str = "default",
        pacer: ChannelPacer | None = None,
        preferences: PreferenceStore | None = None,
    ) -> None:
        if client.retry_handlers:
            raise ValueError(
                "the Slack client has built-in retry handlers, which retry outside "
                "Temporal and can post a message twice; build it with "
                "signoff.activities.slack.slack_client() or retry_handlers=[]"
            )
        self._client = client
        self._temporal_ui_url = temporal_ui_url
        self._namespace = namespace
        # None: post as fast as Slack answers (tests against the Slack sandbox, which has no limit by default).
        self._pacer = pacer
        # What people set with /signoff (DM reminders off); None: nobody has turned anything off.
        self._preferences = preferences

    def _workflow_url(self, workflow_id: str) -> str | None:
        if not self._temporal_ui_url:
            return None
        return workflow_url(self._temporal_ui_url, self._namespace, workflow_id)

    def _with_url(self, view: DraftView) -> DraftView:
        if view.workflow_url or not self._temporal_ui_url:
            return view
        return dataclasses.replace(view, workflow_url=self._workflow_url(view.workflow_id))

    # -- idempotent posting -------------------------------------------------

    async def _find_posted(
        self,
        channel_id: str,
        thread_ts: str | None,
        keys: list[str],
        key_of: Callable[[dict[str, Any]], str | None] = posted_key,
    ) -> dict[str, str]:
        """ts of the messages already posted with one of ``keys`` (in a thread, or top level); ``key_of``:
        a message's key (by default its metadata's, as ``_post`` sets it)."""
        wanted = set(keys)
        found: dict[str, str] = {}
        cursor: str | None = None
        # Both lookups start shortly before the first attempt and read at most LOOKUP_MAX_PAGES pages:
        # the loop always ends. (Slack limits history/replies for distributed apps outside the
        # Marketplace to 1 call a minute and 15 messages a page: a retry then finds its post only
        # among the newest messages, and posts again past them. Internal apps keep Tier 3.)
        oldest = current_step().first_scheduled - _LOOKUP_CLOCK_SKEW
        for _ in range(LOOKUP_MAX_PAGES):
            if thread_ts is not None:
                response = await call_slack(
                    "conversations.replies",
                    self._client.conversations_replies(
                        channel=channel_id,
                        ts=thread_ts,
                        include_all_metadata=True,
                        limit=LOOKUP_PAGE_SIZE,
                        # Only what this activity could have posted: a long thread's older pages are skipped.
                        oldest=f"{max(0.0, oldest.timestamp()):.6f}",
                        cursor=cursor,
                    ),
                )
            else:
                response = await call_slack(
                    "conversations.history",
                    self._client.conversations_history(
                        channel=channel_id,
                        include_all_metadata=True,
                        limit=LOOKUP_PAGE_SIZE,
                        oldest=f"{max(0.0, oldest.timestamp()):.6f}",
                        cursor=cursor,
                    ),
                )
            for message in response.get("messages") or []:
                key = key_of(message)
                if key in wanted and key not in found:
                    found[key] = message["ts"]
            if len(found) == len(wanted):
                break
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        return found

    async def _post(
        self,
        channel_id: str,
        key: str,
        *,
        text: str,
        blocks: list[Block] | None = None,
        thread_ts: str | None = None,
    ) -> MessageRef:
        try:
            if self._pacer is not None:
                await self._pacer.acquire(channel_id)
        except ChannelBusy as busy:
            # Not a failure of Slack's: come back when this worker's queue for the channel has room.
            raise ApplicationError(
                f"chat.postMessage: {busy}; retrying in {busy.retry_after:.1f}s",
                type=SLACK_RATE_LIMITED,
                next_retry_delay=timedelta(seconds=busy.retry_after),
            ) from None
        response = await call_slack(
            "chat.postMessage",
            self._client.chat_postMessage(
                channel=channel_id,
                thread_ts=thread_ts,
                text=text,
                blocks=blocks,
                metadata=post_metadata(key),
                # The workflow link and model-written URLs would each unfurl
                # into a preview card, burying the draft.
                unfurl_links=False,
                unfurl_media=False,
            ),
        )
        return MessageRef(channel_id=response["channel"], ts=response["ts"])

    async def _post_once(
        self,
        channel_id: str,
        key: str,
        *,
        text: str,
        blocks: list[Block] | None = None,
        thread_ts: str | None = None,
    ) -> MessageRef:
        if current_step().attempt > 1:
            found = await self._find_posted(channel_id, thread_ts, [key])
            if key in found:
                current_step().logger.info("Slack message %s was posted by an earlier attempt", key)
                return MessageRef(channel_id=channel_id, ts=found[key])
        return await self._post(channel_id, key, text=text, blocks=blocks, thread_ts=thread_ts)

    def _parent_message(self, input: ThreadStartInput | ThreadUpdateInput) -> tuple[str, list[Block]]:
        """The thread's parent message for the input's phase: posted once, then updated in place."""
        return thread_parent(
            input.kind,
            input.subject,
            input.requester_id,
            input.workflow_id,
            input.phase,
            self._workflow_url(input.workflow_id),
        )

    # -- activities ---------------------------------------------------------

    async def start_thread(self, input: ThreadStartInput) -> MessageRef:
        """Post the thread's parent message; the workflow posts everything else under it."""
        text, blocks = self._parent_message(input)
        return await self._post_once(input.channel_id, input.idempotency_key, text=text, blocks=blocks)

    async def update_thread(self, input: ThreadUpdateInput) -> None:
        """Show the new phase on the parent message (chat.update is idempotent)."""
        text, blocks = self._parent_message(input)
        await call_slack(
            "chat.update",
            self._client.chat_update(channel=input.thread.channel_id, ts=input.thread.ts, text=text, blocks=blocks),
        )

    async def post_thread_note(self, input: ThreadNoteInput) -> MessageRef:
        return await self._post_once(
            input.thread.channel_id,
            input.idempotency_key,
            text=cut_mrkdwn(input.text, MAX_NOTE_CHARS),
            thread_ts=input.thread.ts,
        )

    async def post_draft(self, input: DraftPostInput) -> list[MessageRef]:
        """Post a draft as one or more thread replies; the last one holds the buttons.

        A retry resumes where the earlier attempt stopped: parts it already
        posted are found by their key and not posted again.
        """
        messages = draft_messages(self._with_url(input.view))
        keys = [draft_part_key(input.idempotency_key, i) for i in range(len(messages))]
        channel_id, thread_ts = input.thread.channel_id, input.thread.ts
        found: dict[str, str] = {}
        if current_step().attempt > 1:
            found = await self._find_posted(channel_id, thread_ts, keys)
            if found:
                current_step().logger.info(
                    "%d of %d draft messages were posted by an earlier attempt",
                    len(found),
                    len(keys),
                )
        refs: list[MessageRef] = []
        for key, message in zip(keys, messages, strict=True):
            if key in found:
                refs.append(MessageRef(channel_id=channel_id, ts=found[key]))
                continue
            refs.append(
                await self._post(channel_id, key, text=message.text, blocks=message.blocks, thread_ts=thread_ts)
            )
        return refs

    async def update_draft(self, input: DraftUpdateInput) -> None:
        """Rebuild the control message for the draft's new state (buttons only when OPEN)."""
        control = draft_messages(self._with_url(input.view))[-1]
        await call_slack(
            "chat.update",
            self._client.chat_update(
                channel=input.message.channel_id,
                ts=input.message.ts,
                text=control.text,
                blocks=control.blocks,
            ),
        )

    async def post_tool_call(self, input: ToolCallPostInput) -> MessageRef:
        """Post a tool call's approval message (with its buttons) in the thread."""
        text, blocks = tool_call_message(self._with_tool_url(input.view))
        return await self._post_once(
            input.thread.channel_id, input.idempotency_key, text=text, blocks=blocks, thread_ts=input.thread.ts
        )

    async def update_tool_call(self, input: ToolCallUpdateInput) -> None:
        """Re-render a tool call's message for its new state (buttons only while pending)."""
        text, blocks = tool_call_message(self._with_tool_url(input.view))
        await call_slack(
            "chat.update",
            self._client.chat_update(channel=input.message.channel_id, ts=input.message.ts, text=text, blocks=blocks),
        )

    def _with_tool_url(self, view: ToolCallView) -> ToolCallView:
        if view.workflow_url or not self._temporal_ui_url:
            return view
        return dataclasses.replace(view, workflow_url=self._workflow_url(view.workflow_id))

    async def post_dm_reminder(self, input: DmReminderInput) -> str:
        """Remind one decider in their DM with the app, with the draft's buttons: "dm", or "undelivered"
        when Slack refuses it for good (the workflow goes on: the thread has the reminder too).

        Posted once per key like the thread's posts: a retry opens the DM (``conversations.open``, the
        im:write scope: a user id names the DM for posting, but reading its history takes the ``D…`` id)
        and looks there for the reminder an earlier attempt may have posted before its answer was lost.
        An install from before im:write (missing_scope) posts again without looking, as it did then:
        the reminder still goes, at worst twice after a lost answer. A person who turned DM reminders
        off (``/signoff dm off``) is not sent one: "off"; nor is one whose choice cannot be read now
        (the preference store is unavailable): "undelivered", since the thread has the reminder anyway."""
        if self._preferences is not None:
            try:
                wanted = await asyncio.to_thread(self._preferences.dm_reminders, input.user_id)
            except PreferencesUnavailable as err:
                current_step().logger.warning(
                    "Did not remind %s by DM (their choice is unknown): %s", input.user_id, err
                )
                return "undelivered"
            if not wanted:
                return "off"
        link = await self._permalink(input.thread)
        where = f"<{link}|the thread in <#{input.channel_id}>>" if link else f"the thread in <#{input.channel_id}>"
        text = f"{input.text} Decide here or in {where}."
        view = self._with_url(input.view)
        key = input.idempotency_key
        # A user id as the channel posts in the app's DM with that user (chat:write is enough).
        channel = input.user_id
        try:
            if key is not None and current_step().attempt > 1:
                dm = await self._open_dm(input.user_id)
                if dm is not None:
                    if key in await self._find_posted(dm, None, [key]):
                        current_step().logger.info("DM reminder %s was posted by an earlier attempt", key)
                        return "dm"
                    channel = dm
            # Without a key (a run from before them): posted without looking, under a key no lookup asks for.
            key = key or f"dm-reminder:{input.view.workflow_id}"
            await self._post(channel, key, text=fallback_text(text), blocks=dm_reminder_blocks(text, view))
        except ApplicationError as err:
            if err.type != SLACK_PERMANENT_ERROR:
                raise
            current_step().logger.warning("Could not remind %s by DM: %s", input.user_id, err)
            return "undelivered"
        return "dm"

    async def _open_dm(self, user_id: str) -> str | None:
        """The id of the app's DM with ``user_id`` (conversations.open, Tier 3); None when the token lacks
        im:write (an install from before it asked for the scope). Other refusals raise."""
        try:
            response = await call_slack("conversations.open", self._client.conversations_open(users=[user_id]))
        except ApplicationError as err:
            if slack_error_code(err) != "missing_scope":
                raise
            current_step().logger.warning(
                "DM reminder to %s posted without looking for an earlier attempt's: the app lacks im:write "
                "(add it and reinstall the app)",
                user_id,
            )
            return None
        channel = response.get("channel") or {}
        dm = channel.get("id") if isinstance(channel, Mapping) else None
        return dm if isinstance(dm, str) and dm else None

    async def post_once(self, channel_id: str, key: str, *, text: str, thread_ts: str | None = None) -> MessageRef:
        """Post ``text`` once per ``key``, however often the calling activity is retried."""
        return await self._post_once(channel_id, key, text=text, thread_ts=thread_ts)

    async def find_in_thread(
        self, thread: MessageRef, keys: list[str], key_of: Callable[[dict[str, Any]], str | None]
    ) -> dict[str, str]:
        """ts of the thread's messages since this activity was first scheduled whose ``key_of`` is in ``keys``."""
        return await self._find_posted(thread.channel_id, thread.ts, keys, key_of)

    async def permalink(self, message: MessageRef) -> str | None:
        return await self._permalink(message)

    @property
    def client(self) -> AsyncWebClient:
        return self._client

    def by_name(self) -> dict[str, Activity]:
        """These activities by the names the workflows call them (recorded in histories: never renamed)."""
        return {
            SLACK_START_THREAD: self.start_thread,
            SLACK_UPDATE_THREAD: self.update_thread,
            SLACK_POST_THREAD_NOTE: self.post_thread_note,
            SLACK_POST_DRAFT: self.post_draft,
            SLACK_UPDATE_DRAFT: self.update_draft,
            SLACK_POST_EPHEMERAL: self.post_ephemeral,
            SLACK_POST_TOOL_CALL: self.post_tool_call,
            SLACK_UPDATE_TOOL_CALL: self.update_tool_call,
            SLACK_POST_DM_REMINDER: self.post_dm_reminder,
        }

    async def post_ephemeral(self, input: EphemeralInput) -> str:
        """Tell one person something only they see; "ephemeral", "response_url", "dm" or "undelivered"."""
        # Ephemeral messages (and DMs here: reading them back needs im:history) can't be
        # found again, so a retry may show the user the same note twice; that is harmless
        # and better than none.
        text = await self._with_links(input)
        try:
            await call_slack(
                "chat.postEphemeral",
                self._client.chat_postEphemeral(channel=input.channel_id, user=input.user_id, text=text),
            )
            return "ephemeral"
        except ApplicationError as err:
            if not input.dm_if_refused or err.type != SLACK_PERMANENT_ERROR:
                raise
            current_step().logger.info("Ephemeral to %s refused (%s)", input.user_id, err)
        if (
            input.response_url
            and self._may_respond(input.response_url)
            and await self._respond(input.response_url, text)
        ):
            return "response_url"
        current_step().logger.info("Sending %s a DM instead", input.user_id)
        try:
            # A user id as the channel posts in the app's DM with that user (chat:write is enough).
            await call_slack(
                "chat.postMessage",
                self._client.chat_postMessage(channel=input.user_id, text=text, unfurl_links=False, unfurl_media=False),
            )
            return "dm"
        except ApplicationError as err:
            if err.type != SLACK_PERMANENT_ERROR:
                raise
            # Nobody else can be told through Slack; the workflow goes on (or ends) regardless.
            current_step().logger.warning("Could not tell %s (%s): %s", input.user_id, err, input.text)
            return "undelivered"

    def _may_respond(self, response_url: str) -> bool:
        """Only Slack's response_urls (or the configured SLACK_API_URL's host): the URL comes from workflow
        input, which any Temporal client can write, and must not make the worker post anywhere else."""
        if is_slack_response_url(response_url, self._client.base_url):
            return True
        current_step().logger.warning(
            "Not posting to a response_url that is not Slack's (%s); sending a DM instead", redacted(response_url)
        )
        return False

    async def _respond(self, response_url: str, text: str) -> bool:
        """Answer the slash command through its response_url, ephemerally: Slack shows it to the requester
        where they typed the command, the app a member there or not. False when Slack refuses it (the URL
        expired after 30 minutes or was used 5 times). The URL itself is never logged: it can post."""
        webhook = AsyncWebhookClient(response_url, session=self._client.session, timeout=10)
        try:
            response = await webhook.send(text=text, response_type="ephemeral", replace_original=False)
        except (TimeoutError, aiohttp.ClientError) as err:
            raise ApplicationError(
                f"response_url: could not reach Slack ({type(err).__name__})", type=SLACK_TRANSIENT_ERROR
            ) from None
        if response.status_code >= 500:
            raise ApplicationError(
                f"response_url: Slack is unavailable (HTTP {response.status_code})", type=SLACK_TRANSIENT_ERROR
            )
        if response.status_code != 200:
            current_step().logger.info(
                "The command's response_url was refused: HTTP %d %s", response.status_code, response.body
            )
            return False
        return True

    async def _with_links(self, input: EphemeralInput) -> str:
        links = []
        if input.thread is not None:
            permalink = await self._permalink(input.thread)
            if permalink:
                links.append(f"<{permalink}|Follow it in the thread>")
            else:
                links.append(f"Follow it in the thread in <#{input.thread.channel_id}>")
        url = self._workflow_url(input.workflow_id) if input.workflow_id else None
        if url:
            links.append(f"<{url}|Temporal UI>")
        return f"{input.text} {' · '.join(links)}." if links else input.text

    async def _permalink(self, message: MessageRef) -> str | None:
        """The message's permalink, or None: a link is not worth retrying the whole activity for."""
        try:
            response = await call_slack(
                "chat.getPermalink",
                self._client.chat_getPermalink(channel=message.channel_id, message_ts=message.ts),
            )
        except ApplicationError as err:
            current_step().logger.info("No permalink for %s: %s", message.ts, err)
            return None
        return response.get("permalink")
