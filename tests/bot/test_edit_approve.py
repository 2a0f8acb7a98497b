"""Edit & approve through Slack: the sandbox delivers signed HTTP to the bot, a real worker runs
the workflows on the time-skipping server.

A report's draft offers Edit & approve; its modal holds the draft's text, refuses an empty one
inline, and approves the approver's edit with a comment: the report's result is the edited text
and the thread says who edited it and how much. The requester may not. A draft too long for
Slack's form offers no Edit & approve and says why, and its other buttons work (a forged edit of it:
the workflow refuses it, so nothing is cut); a draft that needs two
approvals offers none either, and a forged click is refused. A SignoffRequest offers Edit & approve
only when the caller allows edits.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from signoff.contracts.workflow_io import Phase
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from signoff.slack.action_ids import ButtonValue, ModalMetadata
from tests.support.block_checks import assert_valid_everything
from tests.support.bot import RunningBot, bot_settings, worker_and_bot
from tests.support.flows import start_via_slack, waiting_draft
from tests.support.models import LongDraftProvider
from tests.support.slack import (
    APPROVER_1,
    APPROVER_2,
    CHANNEL,
    REQUESTER,
    buttons,
    deploy_request,
    draft_messages,
    ephemeral_texts,
    thread_texts,
    told,
)
from tests.support.temporal import closed
from tests.support.waiting import eventually
from workflows.human_loop import HumanReviewedWorkflow

APPROVERS = [APPROVER_1, APPROVER_2]
# The form's limit, written out here rather than taken from the product's constant.
SLACK_FORM_CHARS = 3000
ALL_BUTTONS = [action_ids.APPROVE, action_ids.EDIT_APPROVE, action_ids.REQUEST_REVISION, action_ids.REJECT]
WITHOUT_EDIT = list(action_ids.DECISION_ACTIONS_WITHOUT_EDITS)
COMMENT = "Tightened the summary and added the budget"
# Written after every draft by the long-draft model: each draft is well over the form's limit.
LONG_APPENDIX = "\n\n## Appendix\n" + "".join(
    f"- Site survey note {n}: roof, shade and grid access.\n" for n in range(80)
)


def edit_values(text: str, comment: str | None = None) -> dict[str, dict[str, str]]:
    values = {action_ids.EDIT_BLOCK: {action_ids.EDIT_INPUT: text}}
    if comment is not None:
        values[action_ids.COMMENT_BLOCK] = {action_ids.COMMENT_INPUT: comment}
    return values


def inputs(modal: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The modal's input blocks by block id."""
    return {block["block_id"]: block for block in modal["blocks"] if block["type"] == "input"}


async def click_edit(slack: SlackSandbox, user: str, draft: dict, raw_value: str | None = None) -> None:
    """``user`` clicks Edit & approve on ``draft`` (a forged click with ``raw_value``)."""
    if raw_value is None:
        result = await slack.click_button(user, CHANNEL, draft["ts"], action_ids.EDIT_APPROVE)
    else:
        result = await slack.click_button_raw(user, CHANNEL, draft["ts"], action_ids.EDIT_APPROVE, raw_value)
    assert result.acked, result


async def open_edit_form(slack: SlackSandbox, user: str, draft: dict) -> dict:
    """``user`` clicks Edit & approve on ``draft``; the modal it opened."""
    await click_edit(slack, user, draft)
    [modal] = await slack.wait_for(lambda: slack.open_views(user))
    assert modal["callback_id"] == action_ids.EDIT_APPROVE_MODAL
    return modal


async def try_to_edit(
    slack: SlackSandbox, user: str, draft: dict, text: str | None = None, raw_value: str | None = None
) -> str:
    """``user`` tries Edit & approve: clicks, and if the form opens, submits ``text`` (default: as
    prefilled). Whether refused at the click or at the submission, returns what they were told."""
    seen = len(ephemeral_texts(slack, user))
    await click_edit(slack, user, draft, raw_value)
    await slack.wait_for(lambda: slack.open_views(user) or ephemeral_texts(slack, user)[seen:])
    for modal in slack.open_views(user):
        assert modal["callback_id"] == action_ids.EDIT_APPROVE_MODAL
        prefilled = inputs(modal)[action_ids.EDIT_BLOCK]["element"]["initial_value"]
        result = await slack.submit_view(user, modal["id"], edit_values(prefilled if text is None else text))
        assert result.acked and not (result.payload or {}).get("response_action"), result
    [told_them] = await slack.wait_for(lambda: ephemeral_texts(slack, user)[seen:])
    return told_them


async def decisions(handle: WorkflowHandle) -> list:
    return (await handle.query(HumanReviewedWorkflow.progress)).decisions


async def test_edit_and_approve_a_report_with_a_comment(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with worker_and_bot(slack, time_env.client, bot_settings(slack, approvers=APPROVERS)) as bot:
        handle = await start_via_slack(slack, bot.client, "Solar panels for farms")
        thread_ts, draft = await waiting_draft(slack, handle)
        assert buttons(draft) == ALL_BUTTONS
        original = await handle.query(HumanReviewedWorkflow.current_draft)
        assert 0 < len(original) <= SLACK_FORM_CHARS and "## Summary" in original

        # The requester may not approve their own request, edited or not.
        refusal = await try_to_edit(slack, REQUESTER, draft, original + "\nMine now.")
        assert "someone else has to decide" in refusal
        assert await decisions(handle) == []
        assert await handle.query(HumanReviewedWorkflow.current_draft) == original

        # An approver's form holds the draft's text, for revision 1, with an optional comment.
        modal = await open_edit_form(slack, APPROVER_1, draft)
        fields = inputs(modal)
        assert set(fields) == {action_ids.EDIT_BLOCK, action_ids.COMMENT_BLOCK}
        text_input = fields[action_ids.EDIT_BLOCK]["element"]
        assert text_input["action_id"] == action_ids.EDIT_INPUT and text_input["multiline"] is True
        assert text_input["initial_value"] == original
        assert not fields[action_ids.EDIT_BLOCK].get("optional")
        assert fields[action_ids.COMMENT_BLOCK]["optional"] is True
        metadata = ModalMetadata.decode(modal["private_metadata"])
        assert (metadata.workflow_id, metadata.revision) == (handle.id, 1)

        # An empty text (only spaces and newlines) is refused inline: the modal stays, nothing changes.
        empty = await slack.submit_view(APPROVER_1, modal["id"], edit_values("  \n \n", COMMENT))
        assert empty.payload and empty.payload["response_action"] == "errors", empty
        assert set(empty.payload["errors"]) == {action_ids.EDIT_BLOCK}
        assert [view["id"] for view in slack.open_views(APPROVER_1)] == [modal["id"]], "the modal stays open"
        # So is a text longer than the form holds.
        too_long = await slack.submit_view(APPROVER_1, modal["id"], edit_values("x" * (SLACK_FORM_CHARS + 1)))
        assert too_long.payload and set(too_long.payload.get("errors") or {}) == {action_ids.EDIT_BLOCK}
        assert slack.open_views(APPROVER_1)
        assert await decisions(handle) == []

        # The edit: one line reworded (one removed, one added), two lines added at the end.
        lines = original.splitlines()
        summary_at = lines.index("## Summary") + 1
        lines[summary_at] = "Solar panels pay for themselves on most farms within seven years."
        lines += ["## Budget", "- Panels and inverters: 40,000 EUR per farm"]
        edited = "\n".join(lines)
        sent = await slack.submit_view(APPROVER_1, modal["id"], edit_values(edited, COMMENT))
        assert sent.acked and not (sent.payload or {}).get("response_action"), sent
        assert not slack.open_views(APPROVER_1)
        await told(slack, APPROVER_1, "Recorded your approval of revision 1")

        # The edited text is the report.
        assert await handle.result() == edited
        final = await handle.query(HumanReviewedWorkflow.progress)
        assert final.phase is Phase.APPROVED
        [decision] = final.decisions
        assert (decision.user_id, decision.revision, decision.edited, decision.notes) == (APPROVER_1, 1, True, COMMENT)
        assert await handle.query(HumanReviewedWorkflow.current_draft) == edited

        # The thread quotes the comment and says who edited, and how much.
        texts = thread_texts(slack, thread_ts)
        assert any(f"<@{APPROVER_1}> approved revision 1.\n>{COMMENT}" in text for text in texts), texts
        [note] = [text for text in texts if "edited revision 1" in text]
        assert f"<@{APPROVER_1}> edited revision 1 before approving" in note
        assert f"3 lines added, 1 line removed ({len(original):,} → {len(edited):,} characters)" in note
        assert any("Revision 1 is approved" in text for text in texts)
        [done] = draft_messages(slack, thread_ts)
        assert buttons(done) == [] and f"Approved by <@{APPROVER_1}>" in json.dumps(done["blocks"])
        assert "40,000 EUR per farm" in json.dumps(done["blocks"]), "the approved draft shows the edited text"
    assert_valid_everything(slack)


async def test_a_draft_too_long_for_the_form_has_no_edit_button(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    models = LongDraftProvider(LONG_APPENDIX)
    settings = bot_settings(slack, approvers=APPROVERS)
    async with worker_and_bot(slack, time_env.client, settings, models=models) as bot:
        handle = await start_via_slack(slack, bot.client, "Solar panels for farms")
        thread_ts, draft = await waiting_draft(slack, handle)
        text = await handle.query(HumanReviewedWorkflow.current_draft)
        assert len(text) > SLACK_FORM_CHARS and text.endswith(LONG_APPENDIX)

        # No Edit & approve, and the draft says why; the other buttons are there.
        assert buttons(draft) == WITHOUT_EDIT
        blocks = json.dumps(draft["blocks"])
        assert f"This draft is {len(text):,} characters" in blocks and "cannot be edited here" in blocks

        # Request revision works: notes through its modal, revision 2 (as long) comes back the same way.
        await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.REQUEST_REVISION)
        [modal] = await slack.wait_for(lambda: slack.open_views(APPROVER_1))
        assert modal["callback_id"] == action_ids.REVISION_MODAL
        await slack.submit_view(
            APPROVER_1, modal["id"], {action_ids.NOTES_BLOCK: {action_ids.NOTES_INPUT: "Add maintenance costs"}}
        )
        await told(slack, APPROVER_1, "Sent revision 1 back to the writer")

        async def revision_two() -> dict | None:
            if (await handle.query(HumanReviewedWorkflow.progress)).revision != 2:
                return None
            drafts = draft_messages(slack, thread_ts)
            return drafts[-1] if len(drafts) == 2 and buttons(drafts[-1]) else None

        second = await eventually(revision_two)
        assert buttons(second) == WITHOUT_EDIT
        assert "cannot be edited here" in json.dumps(second["blocks"])
        revised = await handle.query(HumanReviewedWorkflow.current_draft)
        assert len(revised) > SLACK_FORM_CHARS and "maintenance" in revised.lower()

        # Approve works, and approves the whole text.
        await slack.click_button(APPROVER_2, CHANNEL, second["ts"], action_ids.APPROVE)
        await told(slack, APPROVER_2, "Recorded your approval of revision 2")
        assert await handle.result() == revised
        [decision_1, decision_2] = await decisions(handle)
        assert not decision_1.edited and not decision_2.edited
        assert not any("edited revision" in text for text in thread_texts(slack, thread_ts))
    assert_valid_everything(slack)


async def test_a_forged_edit_of_a_draft_too_long_for_the_form_never_truncates_it(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    settings = bot_settings(slack, approvers=APPROVERS)
    async with worker_and_bot(slack, time_env.client, settings, models=LongDraftProvider(LONG_APPENDIX)) as bot:
        handle = await start_via_slack(slack, bot.client, "Solar panels for farms")
        _, draft = await waiting_draft(slack, handle)
        text = await handle.query(HumanReviewedWorkflow.current_draft)
        assert len(text) > SLACK_FORM_CHARS
        # A forged click (the draft has no such button). Whether the click or the submission of the form as prefilled is refused, nothing is cut.
        await try_to_edit(slack, APPROVER_1, draft, raw_value=ButtonValue(handle.id, 1).encode())
        assert await handle.query(HumanReviewedWorkflow.current_draft) == text
        assert await decisions(handle) == []
        await handle.cancel()
        await closed(handle)


async def test_with_two_approvals_needed_edits_are_refused(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    settings = bot_settings(slack, approvers=APPROVERS, required_approvals=2)
    async with worker_and_bot(slack, time_env.client, settings) as bot:
        handle = await start_via_slack(slack, bot.client, "Wind farms")
        _, draft = await waiting_draft(slack, handle)
        assert buttons(draft) == WITHOUT_EDIT
        original = await handle.query(HumanReviewedWorkflow.current_draft)

        # A forged Edit & approve click: refused, at the click or when the form is submitted.
        value = ButtonValue(handle.id, 1).encode()
        refusal = await try_to_edit(slack, APPROVER_1, draft, original + "\nOne more line.", raw_value=value)
        assert "request a revision instead" in refusal
        assert await decisions(handle) == []
        assert await handle.query(HumanReviewedWorkflow.current_draft) == original
        await handle.cancel()
        await closed(handle)


async def _ask(bot: RunningBot, queue: str, **request: Any) -> WorkflowHandle:
    """A SignoffRequest started by name with plain JSON, as any caller would."""
    return await bot.client.start_workflow(
        "SignoffRequest",
        deploy_request(**request),
        id=f"deploy-approval-{uuid.uuid4()}",
        task_queue=queue,
        result_type=dict,
    )


async def test_a_signoff_request_offers_edits_only_when_the_caller_allows_them(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    settings = bot_settings(slack)
    async with worker_and_bot(slack, time_env.client, settings) as bot:
        plain = await _ask(bot, settings.task_queue)
        _, draft = await waiting_draft(slack, plain)
        assert buttons(draft) == WITHOUT_EDIT
        await slack.click_button(APPROVER_2, CHANNEL, draft["ts"], action_ids.APPROVE)
        assert (await plain.result())["edited"] is False

        editable = await _ask(bot, settings.task_queue, allow_edits=True, allow_revision=False)
        thread_ts, draft = await waiting_draft(slack, editable)
        assert buttons(draft) == [action_ids.APPROVE, action_ids.EDIT_APPROVE, action_ids.REJECT]
        modal = await open_edit_form(slack, APPROVER_1, draft)
        body = inputs(modal)[action_ids.EDIT_BLOCK]["element"]["initial_value"]
        assert body.startswith("## Changes")
        edited = body + "\n- Canary at 5% first"
        await slack.submit_view(APPROVER_1, modal["id"], edit_values(edited, "Canary first, please"))
        result = await editable.result()
    assert result["outcome"] == "approved" and result["text"] == edited and result["edited"] is True
    assert result["notes"] == "Canary first, please" and result["decided_by"] == [APPROVER_1]
    assert any(f"<@{APPROVER_1}> edited revision 1 before approving" in text for text in thread_texts(slack, thread_ts))
    assert_valid_everything(slack)


async def test_approve_with_a_comment_where_the_text_cannot_be_edited(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    settings = bot_settings(slack)
    async with worker_and_bot(slack, time_env.client, settings) as bot:
        request = await _ask(bot, settings.task_queue)
        thread_ts, draft = await waiting_draft(slack, request)
        assert action_ids.COMMENT_APPROVE in buttons(draft)
        await slack.click_button(APPROVER_2, CHANNEL, draft["ts"], action_ids.COMMENT_APPROVE)
        [modal] = await slack.wait_for(lambda: slack.open_views(APPROVER_2))
        assert modal["callback_id"] == action_ids.COMMENT_APPROVE_MODAL
        empty = await slack.submit_view(
            APPROVER_2, modal["id"], {action_ids.COMMENT_BLOCK: {action_ids.COMMENT_INPUT: "   "}}
        )
        assert empty.payload and action_ids.COMMENT_BLOCK in empty.payload["errors"]
        assert await decisions(request) == []
        sent = await slack.submit_view(
            APPROVER_2,
            modal["id"],
            {action_ids.COMMENT_BLOCK: {action_ids.COMMENT_INPUT: "Rollback plan checked <!channel>"}},
        )
        assert sent.acked
        result = await request.result()
    assert result["outcome"] == "approved" and result["edited"] is False
    assert result["notes"] == "Rollback plan checked <!channel>"
    texts = thread_texts(slack, thread_ts)
    # Quoted in the thread, escaped: no ping.
    assert any("Rollback plan checked &lt;!channel&gt;" in text for text in texts)
    assert not any("<!channel>" in text for text in texts)
    assert_valid_everything(slack)
