"""A step that fails for good says the same on every engine (the seam's ``StepFailed``, issue 20).

Slack refuses a report's thread for good (the app is not in the channel): the run fails, and the
requester is told what to do, in the channel, from Slack's error name the failure carries. On DBOS
the failure used to lose its cause on the way (``raise … from None``), and the requester was told
only that the step had failed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from signoff.contracts.workflow_io import Phase
from signoff.sandbox import SlackSandbox
from tests.support.bot import bot_settings
from tests.support.engines import phase_of, running_stack
from tests.support.flows import start_via_slack
from tests.support.slack import APPROVER_1, REQUESTER, told

WATERCOOLER = "C0WATERCO"  # #watercooler: everyone but the app


# On DBOS (and Restate) the test launches the engine in this process: seconds before the first step.
@pytest.mark.timeout(180)
@pytest.mark.parametrize("engine", ["temporal", "dbos-sqlite", pytest.param("restate", marks=pytest.mark.process)])
async def test_a_thread_slack_refuses_tells_the_requester_to_invite_the_app(
    engine: str, time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path
) -> None:
    settings = bot_settings(slack, approvers=[APPROVER_1])
    async with running_stack(engine, slack, settings, temporal_client=time_env.client, tmp_path=tmp_path) as bot:
        handle = await start_via_slack(
            slack, bot.client, "Wind farms", channel=WATERCOOLER, confirmed=False, started=bot.deps.gateway._started
        )
        notice = await told(slack, REQUESTER, "has stopped before it could post its thread", timeout=60)
        assert "I am not in this channel. Invite me (`/invite @signoff`), then run `/report` again" in notice
        assert "chat.postMessage failed: not_in_channel" in notice
        progress = await phase_of(bot, handle.id, Phase.FAILED)
    assert progress.outcome is not None and "not_in_channel" in progress.outcome
