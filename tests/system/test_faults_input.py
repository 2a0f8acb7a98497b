"""Bad input through the real bot over signed HTTP from the sandbox: clear answers, nothing changes.

One stack for the module (sandbox, worker, bot on the time-skipping server) with one draft
waiting for a decision and one workflow that has finished; each case checks the answer and
that the waiting draft, its thread and the set of started workflows are exactly as before,
and that no broadcast mention reached Slack.

Covered elsewhere and not repeated here: empty revision notes refused in the modal, a stale
revision's button, the requester approving their own request, an outsider clicking, a double
click (tests/bot/test_flow.py::test_report_revise_stale_click_and_approve); the validators'
refusals one by one (tests/workflows/test_report.py::test_validator_refusals_leave_state_unchanged);
forged signatures (tests/bot/test_http.py).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from datetime import timedelta

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from bot.app import build_gateway
from bot.gateway import Started, TemporalGateway
from signoff.config.settings import Settings
from signoff.contracts.workflow_io import MAX_TOPIC_CHARS, MessageRef, SlackOrigin
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from signoff.slack.action_ids import ModalMetadata
from tests.support.bot import bot_client, bot_settings, worker_and_bot
from tests.support.flows import start_via_slack, waiting_draft
from tests.support.forged import block_actions, deliver, view_submission
from tests.support.slack import APPROVER_1, APPROVER_2, CHANNEL, REQUESTER, assert_no_live_broadcast, stored, told
from tests.support.waiting import eventually
from workflows.human_loop import HumanReviewedWorkflow

HOSTILE = "<!channel> <!here> <!everyone> <@U0APPROV1> <!subteam^S0LEADS>"
UNICODE = "Énergie ☀️ 太陽光 مرحبا 👩🏽‍🔬 e\u0301 \u200b"


class CountingGateway(TemporalGateway):
    """The real gateway, counting the workflows it was asked to start."""

    starts: list[str]

    async def start_report(self, topic: str, origin: SlackOrigin, request_key: str) -> Started:
        self.starts.append(topic)
        return await super().start_report(topic, origin, request_key)

    async def start_plan(self, task: str, origin: SlackOrigin, request_key: str) -> Started:
        self.starts.append(task)
        return await super().start_plan(task, origin, request_key)


@dataclass
class Stack:
    slack: SlackSandbox
    client: Client
    gateway: CountingGateway
    pending: WorkflowHandle
    thread_ts: str
    draft: dict
    finished: WorkflowHandle
    finished_draft: dict

    async def snapshot(self) -> tuple:
        """What must not change: the waiting workflow, everything in the channel, what was started."""
        progress = asdict(await self.pending.query(HumanReviewedWorkflow.progress))
        channel = [(m["ts"], m.get("text"), json.dumps(m.get("blocks"))) for m in self.slack.messages(CHANNEL)]
        thread = [
            (m["ts"], m.get("text"), json.dumps(m.get("blocks"))) for m in self.slack.replies(CHANNEL, self.thread_ts)
        ]
        return progress, channel, thread, list(self.gateway.starts)


@pytest.fixture(scope="module")
async def stack(module_time_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    # No reminder or deadline fires while the module runs, whatever time the test server skips.
    async with SlackSandbox(trigger_ttl=None) as slack:
        settings: Settings = bot_settings(
            slack,
            approvers=[APPROVER_1, APPROVER_2],
            reminder_interval=timedelta(days=3650),
            decision_deadline=None,
        )
        base = build_gateway(settings, bot_client(module_time_env.client))
        gateway = CountingGateway(
            base.client,
            task_queue=base.task_queue,
            workflow_settings=base.workflow_settings,
            update_timeout=timedelta(seconds=5),
        )
        gateway.starts = []
        async with worker_and_bot(slack, module_time_env.client, settings, gateway=gateway) as bot:
            finished = await start_via_slack(slack, bot.client, "Finished already")
            _, finished_draft = await waiting_draft(slack, finished)
            await slack.click_button(APPROVER_1, CHANNEL, finished_draft["ts"], action_ids.APPROVE)

            async def done() -> bool:
                return (await finished.describe()).close_time is not None

            await eventually(done)
            pending = await start_via_slack(slack, bot.client, "Waiting for a decision")
            thread_ts, draft = await waiting_draft(slack, pending)
            yield Stack(slack, bot.client, gateway, pending, thread_ts, draft, finished, finished_draft)
            await pending.terminate()


# ---------------------------------------------------------------------------
# Slash commands that start nothing
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "text", "answer"),
    [
        ("/report", "", "Signoff commands"),
        ("/report", "   \t ", "Signoff commands"),
        ("/plan", "", "Usage: `/plan"),
        ("/report", "x" * 10_000, f"the limit is {MAX_TOPIC_CHARS}"),
        ("/plan", "y" * 10_000, f"the limit is {MAX_TOPIC_CHARS}"),
        ("/report", "z" * (MAX_TOPIC_CHARS + 1), f"is {MAX_TOPIC_CHARS + 1} characters"),
        ("/report", (HOSTILE + " ") * 200, f"the limit is {MAX_TOPIC_CHARS}"),
        ("/report", "cancel", "Usage: `/report cancel"),
        ("/report", "status report-does-not-exist", "No such workflow"),
        ("/report", "cancel report-does-not-exist", "No such workflow"),
    ],
    ids=[
        "empty",
        "blank",
        "plan-empty",
        "10k",
        "plan-10k",
        "limit+1",
        "10k-mentions",
        "cancel-no-id",
        "status-unknown",
        "cancel-unknown",
    ],
)
async def test_command_that_starts_nothing(stack: Stack, command: str, text: str, answer: str) -> None:
    slack = stack.slack
    before = await stack.snapshot()
    seen = len(slack.ephemerals(REQUESTER))
    result = await slack.send_slash_command(REQUESTER, command, text, channel_id=CHANNEL)
    assert result.acked, result
    message = await told(slack, REQUESTER, answer, after=seen)
    assert "Started your" not in message
    assert await stack.snapshot() == before
    assert_no_live_broadcast(slack)


# ---------------------------------------------------------------------------
# Odd but valid topics: started, shown exactly, never a ping
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "topic", "shown"),
    [
        ("/report", UNICODE, UNICODE),
        ("/report", f"Wind {HOSTILE} farms", "&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt; &lt;@U0APPROV1&gt;"),
        ("/plan", f"Migrate {HOSTILE} & <https://evil.example|click>", "&lt;!channel&gt;"),
        ("/report", "w" * MAX_TOPIC_CHARS, "w" * 100),
    ],
    ids=["unicode", "mentions", "plan-mentions", "at-limit"],
)
async def test_odd_topic_is_started_and_shown_escaped(stack: Stack, command: str, topic: str, shown: str) -> None:
    slack = stack.slack
    handle = await start_via_slack(slack, stack.client, topic, command)
    try:
        state = await handle.query(HumanReviewedWorkflow.progress)
        assert state.subject == topic, "the topic reaches the workflow exactly as typed"

        async def thread() -> MessageRef | None:
            return (await handle.query(HumanReviewedWorkflow.progress)).thread

        ref = await eventually(thread)
        parent = stored(slack, CHANNEL, ref.ts)
        assert shown in json.dumps(parent["blocks"], ensure_ascii=False)
        assert_no_live_broadcast(slack)
    finally:
        await handle.terminate()


# ---------------------------------------------------------------------------
# Clicks that change nothing
# ---------------------------------------------------------------------------

DAMAGED = "damaged or out of date"


def _value(stack: Stack, **overrides: object) -> str:
    payload: dict = {"w": stack.pending.id, "r": 1}
    payload.update(overrides)
    return json.dumps({k: v for k, v in payload.items() if v is not None})


CLICKS: dict[str, tuple[str, Callable[[Stack], str | None], str | None, str]] = {
    # name: (action id, value builder, team, answer)
    "value-not-json": (action_ids.APPROVE, lambda s: '{"w": "report-x", "r": 1', None, DAMAGED),
    "value-absent": (action_ids.APPROVE, lambda s: None, None, DAMAGED),
    "value-missing-revision": (action_ids.APPROVE, lambda s: json.dumps({"w": s.pending.id}), None, DAMAGED),
    "value-missing-workflow": (action_ids.APPROVE, lambda s: json.dumps({"r": 1}), None, DAMAGED),
    "value-revision-a-string": (action_ids.APPROVE, lambda s: _value(s, r="1"), None, DAMAGED),
    "value-revision-true": (action_ids.APPROVE, lambda s: _value(s, r=True), None, DAMAGED),
    "value-revision-zero": (action_ids.APPROVE, lambda s: _value(s, r=0), None, DAMAGED),
    "value-a-list": (action_ids.APPROVE, lambda s: json.dumps([s.pending.id, 1]), None, DAMAGED),
    "value-huge": (action_ids.APPROVE, lambda s: _value(s, w="w" * 5000), None, DAMAGED),
    "value-mentions": (action_ids.APPROVE, lambda s: HOSTILE, None, DAMAGED),
    "reject-value-damaged": (action_ids.REJECT, lambda s: "{}", None, DAMAGED),
    "revise-value-damaged": (action_ids.REQUEST_REVISION, lambda s: "null", None, DAMAGED),
    "unknown-workflow": (
        action_ids.APPROVE,
        lambda s: _value(s, w="report-T0SANDBOX-C0GENERAL-0000"),
        None,
        "nothing was changed",
    ),
    "future-revision": (action_ids.APPROVE, lambda s: _value(s, r=99), None, "revision 1 is the current draft"),
    "another-team": (action_ids.APPROVE, lambda s: _value(s), "T0OTHERORG", "another Slack workspace"),
    "finished-workflow": (
        action_ids.APPROVE,
        lambda s: json.dumps({"w": s.finished.id, "r": 1}),
        None,
        "already finished",
    ),
    # The approver who approved it clicks again after the end: the same update id, so Temporal
    # answers with that first approval's result: a double click, recorded once.
    "finished-workflow-same-approver": (
        action_ids.APPROVE,
        lambda s: json.dumps({"w": s.finished.id, "r": 1}),
        None,
        "Recorded your approval of revision 1",
    ),
}
# Who clicks: an approver of both workflows who has not decided either (except where the case says).
CLICKER = {"finished-workflow-same-approver": APPROVER_1}


@pytest.mark.parametrize("case", list(CLICKS))
async def test_click_that_changes_nothing(stack: Stack, case: str) -> None:
    action_id, value, team, answer = CLICKS[case]
    slack = stack.slack
    user = CLICKER.get(case, APPROVER_2)
    before = await stack.snapshot()
    finished_before = asdict(await stack.finished.query(HumanReviewedWorkflow.progress))
    seen = len(slack.ephemerals(user))
    payload = block_actions(slack, user, stack.draft["ts"], action_id, value(stack), team_id=team)
    result = await deliver(slack, payload)
    assert result.acked, result
    message = await told(slack, user, answer, after=seen)
    assert not slack.open_views(user), "no form opened for a broken button"
    assert asdict(await stack.finished.query(HumanReviewedWorkflow.progress)) == finished_before
    assert await stack.snapshot() == before, message
    assert_no_live_broadcast(slack)


async def test_unknown_action_id_is_refused_and_changes_nothing(stack: Stack) -> None:
    """An action id this app never rendered (another app version's button, forged, empty): acked, explained."""
    slack = stack.slack
    before = await stack.snapshot()
    for action_id in ("signoff_approve_v2", "", "<!channel>"):
        seen = len(slack.ephemerals(APPROVER_1))
        payload = block_actions(slack, APPROVER_1, stack.draft["ts"], action_id, _value(stack))
        result = await deliver(slack, payload)
        assert result.acked, result
        await told(slack, APPROVER_1, "does not know that button", after=seen)
    assert await stack.snapshot() == before
    assert_no_live_broadcast(slack)


# ---------------------------------------------------------------------------
# Modal submissions: long, hostile and broken
# ---------------------------------------------------------------------------


async def open_modal(stack: Stack, user: str, action_id: str, draft: dict | None = None) -> dict:
    slack = stack.slack
    await slack.click_button(user, CHANNEL, (draft or stack.draft)["ts"], action_id)
    [modal] = await slack.wait_for(lambda: slack.open_views(user))
    return modal


@pytest.mark.parametrize(
    ("action_id", "block", "field", "text", "error"),
    [
        (action_ids.REQUEST_REVISION, action_ids.NOTES_BLOCK, action_ids.NOTES_INPUT, "n" * 10_000, "limited to 3,000"),
        (
            action_ids.REQUEST_REVISION,
            action_ids.NOTES_BLOCK,
            action_ids.NOTES_INPUT,
            (HOSTILE + " ") * 100,
            "limited to 3,000",
        ),
        (
            action_ids.REQUEST_REVISION,
            action_ids.NOTES_BLOCK,
            action_ids.NOTES_INPUT,
            " \n\t ",
            "Say what should change",
        ),
        (action_ids.REJECT, action_ids.REASON_BLOCK, action_ids.REASON_INPUT, "r" * 10_000, "limited to 3,000"),
    ],
    ids=["notes-10k", "notes-mentions-long", "notes-blank", "reason-10k"],
)
async def test_modal_input_refused_inline(
    stack: Stack, action_id: str, block: str, field: str, text: str, error: str
) -> None:
    slack = stack.slack
    modal = await open_modal(stack, APPROVER_2, action_id)
    try:
        before = await stack.snapshot()
        result = await slack.submit_view(APPROVER_2, modal["id"], {block: {field: text}})
        assert result.acked and result.payload is not None and result.payload["response_action"] == "errors"
        assert error in result.payload["errors"][block]
        assert slack.open_views(APPROVER_2), "the form stays open with the error"
        assert await stack.snapshot() == before
    finally:
        slack.workspace.close_views(APPROVER_2, all_views=True)


@pytest.mark.parametrize(
    "metadata",
    ["", "not json", json.dumps({"w": "x"}), json.dumps({"w": "x", "r": "1", "c": CHANNEL, "t": "1.2"}), HOSTILE],
    ids=["empty", "not-json", "missing-fields", "revision-a-string", "mentions"],
)
async def test_modal_with_broken_metadata_is_refused_inline(stack: Stack, metadata: str) -> None:
    slack = stack.slack
    before = await stack.snapshot()
    values = {action_ids.NOTES_BLOCK: {action_ids.NOTES_INPUT: "fine notes"}}
    payload = view_submission(slack, APPROVER_2, action_ids.REVISION_MODAL, metadata, values)
    result = await deliver(slack, payload)
    assert result.acked and result.payload is not None and result.payload["response_action"] == "errors"
    assert "out of date" in result.payload["errors"][action_ids.NOTES_BLOCK]
    assert await stack.snapshot() == before


async def test_forms_of_a_finished_workflow_are_refused(stack: Stack) -> None:
    slack = stack.slack
    before = await stack.snapshot()
    # The finished draft has no buttons left; a form opened from an old copy of it is refused on submit.
    metadata = ModalMetadata(stack.finished.id, 1, CHANNEL, stack.finished_draft["ts"]).encode()
    for callback, block, field in (
        (action_ids.REJECT_MODAL, action_ids.REASON_BLOCK, action_ids.REASON_INPUT),
        (action_ids.REVISION_MODAL, action_ids.NOTES_BLOCK, action_ids.NOTES_INPUT),
    ):
        seen = len(slack.ephemerals(APPROVER_2))
        payload = view_submission(slack, APPROVER_2, callback, metadata, {block: {field: "too late"}})
        result = await deliver(slack, payload)
        assert result.acked
        await told(slack, APPROVER_2, "already finished", after=seen)
    assert await stack.snapshot() == before
    assert (await stack.finished.describe()).close_time is not None


async def test_hostile_and_unicode_notes_are_accepted_and_shown_escaped(stack: Stack) -> None:
    """Valid notes full of mentions and odd characters: recorded, quoted escaped, reach the writer."""
    slack = stack.slack
    handle = await start_via_slack(slack, stack.client, "Notes test")
    try:
        thread_ts, draft = await waiting_draft(slack, handle)
        notes = f"{HOSTILE}\n{UNICODE}\n> quoted *bold* `code` & more"
        modal = await open_modal(stack, APPROVER_1, action_ids.REQUEST_REVISION, draft)
        await slack.submit_view(APPROVER_1, modal["id"], {action_ids.NOTES_BLOCK: {action_ids.NOTES_INPUT: notes}})
        await told(slack, APPROVER_1, "Sent revision 1 back to the writer")
        [decision] = (await handle.query(HumanReviewedWorkflow.progress)).decisions
        assert decision.notes == notes.strip()

        def quoted() -> str | None:
            return next(
                (
                    m["text"]
                    for m in slack.replies(CHANNEL, thread_ts)
                    if "requested a revision" in (m.get("text") or "")
                ),
                None,
            )

        text = await slack.wait_for(quoted)
        assert "&lt;!channel&gt;" in text and "&lt;@U0APPROV1&gt;" in text and "太陽光" in text
        assert_no_live_broadcast(slack)
    finally:
        await handle.terminate()
