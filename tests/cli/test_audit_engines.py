"""`signoff audit` on both engines: the same decided flows, audited through the engine's gateway
(``SIGNOFF_ENGINE``), give the same record on Temporal and on DBOS (SQLite, and PostgreSQL where
one runs). On DBOS the audit reads the system database through ``DBOSClient`` alone, as the command
does in a process of its own; its errors are the command's one-liners."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOSClient
from temporalio.testing import WorkflowEnvironment

from bot.dbos_gateway import DbosGateway
from signoff import cli
from signoff.config.settings import Engine, Settings, SettingsError
from signoff.contracts.workflow_io import Phase
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from signoff.temporal.devserver import free_port
from tests.support.audit import Run, signoff_audit_with
from tests.support.bot import RunningBot, bot_settings
from tests.support.engines import ENGINES, on_the_stacks_restate, phase_of, running_stack, seen_from_outside
from tests.support.flows import start_via_slack
from tests.support.slack import APPROVER_1, APPROVER_2, CHANNEL, REQUESTER, draft_messages, told
from tests.support.waiting import eventually

APPROVERS = [APPROVER_1, APPROVER_2]
# What differs between two runs of one flow whatever the engine: ids and times.
RUN_SPECIFIC = {"workflow_id", "run_id", "started_at", "closed_at", "waiting_since"}


@dataclass
class Audited:
    bot: RunningBot
    # The settings `signoff audit` would read on this engine (SIGNOFF_ENGINE and its address).
    settings: Settings


@pytest.fixture
async def stack(
    request: pytest.FixtureRequest, engine: str, time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path
) -> AsyncIterator[Audited]:
    """The bot on ``engine`` (each test's parameter), and the settings the command reads there."""
    settings = bot_settings(slack, approvers=APPROVERS)
    target = time_env.client.service_client.config.target_host
    engine, audit_settings = seen_from_outside(request, engine, settings, target, tmp_path, "audit")
    async with running_stack(engine, slack, settings, temporal_client=time_env.client, tmp_path=tmp_path) as bot:
        yield Audited(bot, on_the_stacks_restate(bot, audit_settings))


async def _decided_in_a_modal(slack: SlackSandbox, user: str, draft_ts: str, action: str, field: str) -> None:
    block, element = (
        (action_ids.NOTES_BLOCK, action_ids.NOTES_INPUT)
        if action == action_ids.REQUEST_REVISION
        else (action_ids.REASON_BLOCK, action_ids.REASON_INPUT)
    )
    await slack.click_button(user, CHANNEL, draft_ts, action)
    [modal] = await slack.wait_for(lambda: slack.open_views(user))
    await slack.submit_view(user, modal["id"], {block: {element: field}})


async def _draft(slack: SlackSandbox, stack: Audited, workflow_id: str, revision: int) -> dict[str, Any]:
    progress = await phase_of(stack.bot, workflow_id, Phase.PENDING_APPROVAL)
    assert progress.thread is not None
    ts = progress.thread.ts
    drafts = await slack.wait_for(lambda: len(draft_messages(slack, ts)) >= revision and draft_messages(slack, ts))
    return drafts[revision - 1]


async def _audited_once_ended(stack: Audited, workflow_id: str) -> dict[str, Any]:
    """The record once the run has ended (its phase is final a moment before: the thread's last note)."""

    async def ended() -> dict[str, Any] | None:
        record = await cli.audit(stack.settings, workflow_id)
        return record if record["status"] != "RUNNING" else None

    return await eventually(ended, timeout=30)


async def _rejected(slack: SlackSandbox, stack: Audited) -> str:
    """A report rejected on its first draft, with a reason (the modal's); its workflow id."""
    workflow_id = (await start_via_slack(slack, stack.bot.client, "Wind farms")).id
    draft = await _draft(slack, stack, workflow_id, 1)
    await _decided_in_a_modal(slack, APPROVER_1, draft["ts"], action_ids.REJECT, "Out of scope")
    await told(slack, APPROVER_1, "Rejected revision 1")
    return workflow_id


def _same_on_every_engine(record: dict[str, Any]) -> dict[str, Any]:
    """The record without what is one run's own, the times checked to be ISO-8601 in UTC."""
    for name in ("started_at", "closed_at", "waiting_since"):
        if record[name] is not None:
            assert datetime.fromisoformat(record[name]).utcoffset() is not None, (name, record[name])
    decisions = []
    for decision in record["decisions"]:
        assert datetime.fromisoformat(decision["at"]).utcoffset() is not None, decision
        decisions.append({k: v for k, v in decision.items() if k != "at"})
    thread = record["thread"]
    assert thread is not None and thread["ts"]
    return {k: v for k, v in record.items() if k not in RUN_SPECIFIC} | {
        "decisions": decisions,
        "thread": {"channel": thread["channel"]},
    }


@pytest.mark.parametrize("engine", ENGINES)
async def test_revised_then_approved_reads_the_same_on_every_engine(stack: Audited, slack: SlackSandbox) -> None:
    workflow_id = (await start_via_slack(slack, stack.bot.client, "Solar panels for farms")).id
    first = await _draft(slack, stack, workflow_id, 1)
    await _decided_in_a_modal(slack, APPROVER_1, first["ts"], action_ids.REQUEST_REVISION, "Add maintenance costs")
    await told(slack, APPROVER_1, "Sent revision 1 back to the writer")
    second = await _draft(slack, stack, workflow_id, 2)
    await slack.click_button(APPROVER_2, CHANNEL, second["ts"], action_ids.APPROVE)
    await told(slack, APPROVER_2, "Recorded your approval of revision 2")
    await phase_of(stack.bot, workflow_id, Phase.APPROVED)

    record = await _audited_once_ended(stack, workflow_id)
    assert (record["workflow_id"], record["status"]) == (workflow_id, "COMPLETED")
    assert record["closed_at"] is not None
    same = _same_on_every_engine(record)
    assert len(same.pop("review_rounds")) >= 2, "each revision reviewed"
    assert same == {
        "workflow_type": "ReportGenerationWorkflow",
        "status": "COMPLETED",
        "kind": "report",
        "subject": "Solar panels for farms",
        "phase": "approved",
        "outcome": "approved",
        "requester": REQUESTER,
        "api_key": None,
        "approvers": APPROVERS,
        "required_approvals": 1,
        "revision": 2,
        "approvals": [APPROVER_2],
        "reminders_sent": 0,
        "escalated": False,
        "decisions": [
            {
                "user_id": APPROVER_1,
                "kind": "request_revision",
                "revision": 1,
                "comment": "Add maintenance costs",
                "edited": False,
            },
            {"user_id": APPROVER_2, "kind": "approve", "revision": 2, "comment": "", "edited": False},
        ],
        "thread": {"channel": CHANNEL},
        "tool_calls": [],
        # Nobody claimed or delegated it: the approvers decided.
        "deciders": None,
        "handoffs": [],
    }


@pytest.mark.parametrize("engine", ENGINES)
async def test_rejected_with_a_reason_reads_the_same_on_every_engine(stack: Audited, slack: SlackSandbox) -> None:
    same = _same_on_every_engine(await _audited_once_ended(stack, await _rejected(slack, stack)))
    assert (same["status"], same["phase"], same["outcome"], same["revision"]) == (
        "COMPLETED",
        "rejected",
        "rejected",
        1,
    )
    assert same["decisions"] == [
        {"user_id": APPROVER_1, "kind": "reject", "revision": 1, "comment": "Out of scope", "edited": False}
    ]


@pytest.mark.parametrize("engine", ["dbos-sqlite"])
async def test_on_dbos_an_unknown_or_foreign_workflow_is_the_commands_error(stack: Audited) -> None:
    with pytest.raises(cli.AuditError, match=r"^no workflow 'no-such-workflow' in the DBOS database '.*dbos\.sqlite'"):
        await cli.audit(stack.settings, "no-such-workflow")

    # A workflow of another application on the same database, queued where no engine of signoff's looks.
    gateway = stack.bot.deps.gateway
    assert isinstance(gateway, DbosGateway)
    client: DBOSClient = gateway.client
    foreign = f"deploy-{uuid.uuid4().hex[:8]}"
    await client.enqueue_async(
        {"queue_name": "nobody-listens", "workflow_name": "DeployWorkflow", "workflow_id": foreign}
    )
    with pytest.raises(cli.AuditError, match="is a DeployWorkflow workflow, not one of signoff's"):
        await cli.audit(stack.settings, foreign)


async def test_on_dbos_a_database_that_is_not_there_is_not_made(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-ran-here.sqlite"
    settings = Settings(engine=Engine.DBOS, database_url=f"sqlite:///{missing}")
    with pytest.raises(SettingsError, match=r"there is no DBOS database at .*nothing-ran-here\.sqlite"):
        await cli.audit(settings, "whatever")
    assert not missing.exists()


async def _signoff_audit(settings: Settings, *args: str) -> Run:
    """The command as a person runs it on DBOS."""
    assert settings.database_url
    return await signoff_audit_with({"SIGNOFF_ENGINE": "dbos", "SIGNOFF_DATABASE_URL": settings.database_url}, *args)


@pytest.mark.process
@pytest.mark.parametrize("engine", ["dbos-sqlite"])
async def test_the_command_on_dbos_prints_the_record_and_exits_as_on_temporal(
    stack: Audited, slack: SlackSandbox, tmp_path: Path
) -> None:
    workflow_id = await _rejected(slack, stack)
    expected = await _audited_once_ended(stack, workflow_id)

    assert (await _signoff_audit(stack.settings, workflow_id)).json() == expected

    unknown = await _signoff_audit(stack.settings, "no-such-workflow")
    assert (unknown.returncode, unknown.stdout) == (1, "")
    assert unknown.stderr.startswith("signoff audit: no workflow 'no-such-workflow' in the DBOS database"), unknown

    elsewhere = replace(stack.settings, database_url=f"sqlite:///{tmp_path / 'elsewhere.sqlite'}")
    nowhere = await _signoff_audit(elsewhere, workflow_id)
    assert (nowhere.returncode, nowhere.stdout) == (2, "")
    assert nowhere.stderr.startswith("signoff audit: there is no DBOS database at"), nowhere
    assert "Traceback" not in nowhere.stderr


async def test_on_dbos_a_database_out_of_reach_is_the_commands_exit_2_line() -> None:
    url = f"postgresql://signoff:secret@127.0.0.1:{free_port()}/signoff"
    with pytest.raises(SettingsError, match=r"^cannot use the PostgreSQL database at 127\.0\.0\.1:") as refused:
        await cli.audit(Settings(engine=Engine.DBOS, database_url=url), "whatever")
    assert "secret" not in str(refused.value)
