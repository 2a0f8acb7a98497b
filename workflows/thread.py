"""The workflow's Slack thread: every message it posts goes through a Slack activity.

Each post carries an idempotency key derived from the run id and a counter, so
an activity retried after a crash finds its earlier post instead of posting twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from signoff.contracts.activity_io import (
    SLACK_POST_DM_REMINDER,
    SLACK_POST_DRAFT,
    SLACK_POST_EPHEMERAL,
    SLACK_POST_THREAD_NOTE,
    SLACK_POST_TOOL_CALL,
    SLACK_RETRY_POLICY,
    SLACK_START_THREAD,
    SLACK_START_TO_CLOSE,
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
from signoff.contracts.workflow_io import DraftView, MessageRef, Phase, WorkflowKind
from workflows.patches import KEEP_POST_ON_CANCEL_PATCH
from workflows.runtime import durable

T = TypeVar("T")


async def finish_even_if_cancelled(call: Awaitable[T], keep: Callable[[T], None] | None = None) -> T:
    """Let a Slack call in flight complete when the workflow is cancelled, then cancel.

    Cancelling a half-done post would leave the thread in an unknown state (was the
    draft with its buttons posted or not?); a Slack call takes moments, so we wait for
    it and clean up knowing exactly what was posted. ``keep`` records the result before
    the cancellation goes on, so the cleanup can update what was just posted.
    """
    task = asyncio.ensure_future(call)
    try:
        result = await asyncio.shield(task)
    except asyncio.CancelledError:
        result = await task
        if keep is not None and durable().patched(KEEP_POST_ON_CANCEL_PATCH):
            keep(result)
        raise
    if keep is not None:
        keep(result)
    return result


async def tell_requester(
    channel_id: str,
    requester_id: str,
    text: str,
    *,
    thread: MessageRef | None = None,
    response_url: str | None = None,
) -> None:
    """Tell the requester ``text`` (mrkdwn, already safe) in the channel, only they see it.

    Linked to ``thread`` and to the workflow in the Temporal UI. When Slack refuses the ephemeral for
    good (the app is not in the channel, so it could not take the thread either), through the slash
    command's ``response_url``, still ephemerally in the channel; as a DM when that fails too.
    """
    await finish_even_if_cancelled(
        durable().execute_activity(
            SLACK_POST_EPHEMERAL,
            EphemeralInput(
                channel_id=channel_id,
                user_id=requester_id,
                text=text,
                thread=thread,
                workflow_id=durable().workflow_id(),
                dm_if_refused=True,
                response_url=response_url,
            ),
            start_to_close_timeout=SLACK_START_TO_CLOSE,
            result_type=str,
            policy=SLACK_RETRY_POLICY,
        )
    )


class SlackThread:
    """Posts to one channel thread; a no-op when the workflow has nowhere to post."""

    def __init__(self, channel_id: str | None, kind: WorkflowKind, subject: str, requester_id: str | None):
        self.channel_id = channel_id
        self.kind = kind
        self.subject = subject
        self.requester_id = requester_id
        self.parent: MessageRef | None = None
        # The control message (with the buttons) of the latest draft.
        self.draft_message: MessageRef | None = None
        self._posts = 0

    def _key(self) -> str:
        self._posts += 1
        return f"{durable().run_id()}:{self._posts}"

    def next_key(self) -> str:
        """A new idempotency key in this thread's sequence (for a post made elsewhere, e.g. a stream)."""
        return self._key()

    async def open(self, phase: Phase) -> None:
        if self.channel_id is None:
            return
        await finish_even_if_cancelled(
            durable().execute_activity(
                SLACK_START_THREAD,
                ThreadStartInput(
                    channel_id=self.channel_id,
                    workflow_id=durable().workflow_id(),
                    kind=self.kind,
                    subject=self.subject,
                    requester_id=self.requester_id,
                    idempotency_key=self._key(),
                ),
                start_to_close_timeout=SLACK_START_TO_CLOSE,
                result_type=MessageRef,
                policy=SLACK_RETRY_POLICY,
            ),
            keep=self._keep_parent,
        )
        if phase is not Phase.STARTING:
            await self.show_phase(phase)

    def _keep_parent(self, parent: MessageRef) -> None:
        self.parent = parent

    async def show_phase(self, phase: Phase) -> None:
        if self.parent is None:
            return
        await finish_even_if_cancelled(
            durable().execute_activity(
                SLACK_UPDATE_THREAD,
                ThreadUpdateInput(
                    thread=self.parent,
                    kind=self.kind,
                    subject=self.subject,
                    requester_id=self.requester_id,
                    workflow_id=durable().workflow_id(),
                    phase=phase,
                ),
                start_to_close_timeout=SLACK_START_TO_CLOSE,
                policy=SLACK_RETRY_POLICY,
            )
        )

    async def note(self, text: str) -> None:
        """Post ``text`` (mrkdwn; callers escape user and model text) in the thread."""
        if self.parent is None:
            return
        await finish_even_if_cancelled(
            durable().execute_activity(
                SLACK_POST_THREAD_NOTE,
                ThreadNoteInput(thread=self.parent, text=text, idempotency_key=self._key()),
                start_to_close_timeout=SLACK_START_TO_CLOSE,
                result_type=MessageRef,
                policy=SLACK_RETRY_POLICY,
            )
        )

    async def post_draft(self, view: DraftView) -> None:
        """Post a draft; its control message (the one with the buttons) becomes ``draft_message``."""
        if self.parent is None:
            return
        await finish_even_if_cancelled(
            durable().execute_activity(
                SLACK_POST_DRAFT,
                DraftPostInput(thread=self.parent, view=view, idempotency_key=self._key()),
                start_to_close_timeout=SLACK_START_TO_CLOSE,
                result_type=list[MessageRef],
                policy=SLACK_RETRY_POLICY,
            ),
            keep=self._keep_draft,
        )

    def _keep_draft(self, messages: list[MessageRef]) -> None:
        self.draft_message = messages[-1]

    async def update_draft(self, view: DraftView) -> None:
        """Re-render the latest draft's control message (buttons, approvals, outcome)."""
        message = self.draft_message
        if message is None:
            return
        await finish_even_if_cancelled(
            durable().execute_activity(
                SLACK_UPDATE_DRAFT,
                DraftUpdateInput(message=message, view=view),
                start_to_close_timeout=SLACK_START_TO_CLOSE,
                policy=SLACK_RETRY_POLICY,
            )
        )

    async def remind_by_dm(self, user_id: str, text: str, view: DraftView, reminder_number: int) -> None:
        """Remind ``user_id`` in their DM with the app, with the draft's buttons (Slack refusing it is no failure).

        Its key names the person and the round (revision, reminder number), not the thread's counter: a
        run that reminded before the keys existed keeps its thread's keys when it replays."""
        if self.parent is None or self.channel_id is None:
            return
        key = f"{durable().run_id()}:dm:{view.revision}:{reminder_number}:{user_id}"
        await finish_even_if_cancelled(
            durable().execute_activity(
                SLACK_POST_DM_REMINDER,
                DmReminderInput(
                    user_id=user_id,
                    text=text,
                    view=view,
                    thread=self.parent,
                    channel_id=self.parent.channel_id,
                    idempotency_key=key,
                ),
                start_to_close_timeout=SLACK_START_TO_CLOSE,
                result_type=str,
                policy=SLACK_RETRY_POLICY,
            )
        )

    async def post_tool_call(self, view: ToolCallView) -> MessageRef | None:
        """Post a tool call's approval message (with its buttons) in the thread."""
        if self.parent is None:
            return None
        return await finish_even_if_cancelled(
            durable().execute_activity(
                SLACK_POST_TOOL_CALL,
                ToolCallPostInput(thread=self.parent, view=view, idempotency_key=self._key()),
                start_to_close_timeout=SLACK_START_TO_CLOSE,
                result_type=MessageRef,
                policy=SLACK_RETRY_POLICY,
            )
        )

    async def update_tool_call(self, message: MessageRef, view: ToolCallView) -> None:
        """Re-render a tool call's message (approvals so far, the decision, buttons removed)."""
        await finish_even_if_cancelled(
            durable().execute_activity(
                SLACK_UPDATE_TOOL_CALL,
                ToolCallUpdateInput(message=message, view=view),
                start_to_close_timeout=SLACK_START_TO_CLOSE,
                policy=SLACK_RETRY_POLICY,
            )
        )
