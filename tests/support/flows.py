"""A request through Slack, as people make it: the requester's slash command, its draft waiting
for a decision in the thread, and replies people type in that thread."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from temporalio.client import Client, WorkflowHandle

from bot.gateway import workflow_id_for
from signoff.contracts.workflow_io import Phase, Progress, WorkflowKind
from signoff.sandbox import DeliveryResult, SlackSandbox
from tests.support.slack import CHANNEL, REQUESTER, open_drafts, thread_texts, told, workflow_id_in
from tests.support.starts import exists
from tests.support.waiting import eventually
from workflows.human_loop import HumanReviewedWorkflow


def thread_of(progress: Progress) -> str:
    """The ts of the workflow's thread; the test fails if it has none yet."""
    assert progress.thread is not None, f"{progress.workflow_id} has no thread yet"
    return progress.thread.ts


KINDS = {"/report": WorkflowKind.REPORT, "/plan": WorkflowKind.PLAN}


async def start_via_slack(
    slack: SlackSandbox,
    client: Client,
    text: str,
    command: str = "/report",
    *,
    channel: str = CHANNEL,
    confirmed: bool = True,
    started: Callable[[str], Awaitable[bool]] | None = None,
) -> WorkflowHandle:
    """The requester types ``command text`` in ``channel``; the workflow it started.

    The ack must promise the thread's link. ``confirmed``: also wait for the workflow's own
    "Started your …" ephemeral, which names the same workflow (it needs a worker); else wait until
    the workflow exists (on Temporal, or as ``started`` says: another engine's gateway).
    """
    before = len(slack.ephemerals(REQUESTER))
    result = await slack.send_slash_command(REQUESTER, command, text, channel_id=channel)
    assert result.acked, result
    assert "I'll send you the link to its thread here" in (result.body or ""), result
    workflow_id = workflow_id_for(KINDS[command], slack.workspace.team_id, channel, f"{command}:{result.trigger_id}")
    if confirmed:
        confirmation = await told(slack, REQUESTER, "Started your", after=before)
        assert workflow_id_in(confirmation) == workflow_id, confirmation
    else:
        # The ack comes before the start (the start is journaled): the workflow exists a moment later.
        await eventually(lambda: (started or (lambda wid: exists(client, wid)))(workflow_id))
    return client.get_workflow_handle(workflow_id)


async def waiting_draft(
    slack: SlackSandbox, handle: WorkflowHandle, channel: str = CHANNEL, timeout: float = 30
) -> tuple[str, dict]:
    """(thread ts, the draft message with its buttons) once the workflow waits for a decision.

    Also waits for the note after the draft, the last post of the draft's turn: from then on
    the thread is quiet until someone decides.
    """

    async def thread_ts() -> str | None:
        state = await handle.query(HumanReviewedWorkflow.progress)
        return state.thread.ts if state.thread and state.phase is Phase.PENDING_APPROVAL else None

    ts = await eventually(thread_ts, timeout=timeout)
    [draft] = await slack.wait_for(lambda: open_drafts(slack, ts, channel) or None, timeout=timeout)
    await slack.wait_for(
        lambda: any("ready for a decision" in text for text in thread_texts(slack, ts, channel)), timeout=timeout
    )
    return ts, draft


async def reply_in_thread(
    slack: SlackSandbox, user: str, thread_ts: str, text: str, channel: str = CHANNEL
) -> DeliveryResult:
    """``user`` types ``text`` in the thread; the app acknowledged Slack's ``message`` event for it."""
    message, delivered = await slack.post_as_user(user, channel, text, thread_ts=thread_ts)
    assert message["thread_ts"] == thread_ts, message
    assert delivered is not None and delivered.acked, delivered
    return delivered
