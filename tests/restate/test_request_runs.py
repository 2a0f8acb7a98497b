"""SignoffRequest on Restate, through the bot's gateway alone: a used id is refused, the memo comes
back from the run's state (or, before the run has set it, from its input), a long-poll of an undecided request returns after its wait, and the list
shows the request by its own fields (title, requester, channel). The API's, MCP's and the Workflow
Builder step's tests cover the rest on every engine (``REQUEST_ENGINES``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from bot.api.routes import request_id
from bot.gateway import AlreadyRunning, GatewayError, NotFound, RunStatus
from signoff.contracts.workflow_io import WorkflowKind
from signoff.sandbox import SlackSandbox
from tests.restate.conftest import require_npm
from tests.support.bot import bot_settings
from tests.support.engines import DBOS_FLOW, restate_stack
from tests.support.slack import APPROVER_1, CHANNEL, REQUESTER
from tests.support.waiting import eventually

pytestmark = [pytest.mark.process, DBOS_FLOW]

REQUEST = {"title": "Rotate the password", "body": "Old one revoked.", "channel": CHANNEL, "requester": REQUESTER}
MEMO = {"kind": WorkflowKind.REQUEST.value, "api_key": "ci", "body_sha256": "ab" * 32}


async def test_a_request_on_restate_through_the_gateway(
    time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_npm()
    settings = bot_settings(slack, approvers=[APPROVER_1])
    async with restate_stack(slack, settings, temporal_client=time_env.client, tmp_path=tmp_path) as bot:
        gateway = bot.deps.gateway
        workflow_id = request_id("ci", "deploy-42")
        await gateway.start_request(workflow_id, REQUEST, MEMO)
        with pytest.raises(AlreadyRunning):
            await gateway.start_request(workflow_id, REQUEST, MEMO)
        with pytest.raises(GatewayError):
            # Not a request's id: it would name no Restate workflow of signoff's.
            await gateway.start_request("report-T1-C1-x", REQUEST, MEMO)
        with pytest.raises(NotFound):
            await gateway.request_record(request_id("ci", "never-asked"))

        async def posted() -> bool:
            return (await gateway.request_record(workflow_id)).thread is not None

        await eventually(posted, timeout=30)
        record = await gateway.request_record(workflow_id, wait=0.6)
        assert (record.status, record.result, dict(record.memo)) == (RunStatus.RUNNING, None, MEMO)
        [listed] = [item for item in await gateway.list_workflows() if item.workflow_id == workflow_id]
        assert (listed.kind, listed.subject, listed.requester_id, listed.channel_id) == (
            WorkflowKind.REQUEST,
            REQUEST["title"],
            REQUEST["requester"],
            CHANNEL,
        )

        async def not_set_yet(workflow_id: str, key: str) -> dict[str, Any]:
            return {}

        # As before Restate has called the endpoint: no state, and the memo all the same (the API
        # compares it with the caller's key and body at once, however slow the engine is to start).
        monkeypatch.setattr(gateway, "_state", not_set_yet)
        assert dict((await gateway.request_record(workflow_id)).memo) == MEMO
