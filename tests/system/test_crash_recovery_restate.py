"""The crash test on the Restate engine: SIGKILL ``signoff bot`` (with SIGNOFF_ENGINE=restate it
serves the engine's endpoint, the process Restate calls) in the middle of the writer's model call;
Restate retries the run at the same endpoint URL once the restarted bot serves and registers it
again, and the run resumes from its journal without calling the research agent again or posting
anything twice.

The same figures as the Temporal and DBOS crash tests (tests/system/test_crash_recovery*.py), on a
real Restate server from node_modules.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from signoff.restate.server import RestateServer
from signoff.sandbox import SlackSandbox
from signoff.temporal.devserver import free_port
from tests.doubles.openai_standin import DEFAULT_API_KEY, OpenAIStandIn
from tests.restate.conftest import require_npm
from tests.support.crash import assert_resumed_without_repeats, bot_killed_during_the_writer_call

pytestmark = [pytest.mark.process, pytest.mark.slow, pytest.mark.timeout(240)]


async def test_endpoint_killed_during_the_writer_call(slack: SlackSandbox, tmp_path: Path) -> None:
    require_npm()
    async with RestateServer(tmp_path / "restate") as restate, OpenAIStandIn(delay_by_role={"writer": 30}) as models:
        env = {
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": slack.signing_secret,
            "SLACK_API_URL": slack.api_url,
            "SIGNOFF_ENGINE": "restate",
            "SIGNOFF_RESTATE_URL": restate.ingress_url,
            "SIGNOFF_RESTATE_ADMIN_URL": restate.admin_url,
            # The same at the restart: Restate resumes the run at the deployment's URL.
            "SIGNOFF_RESTATE_SERVICE_PORT": str(free_port()),
            "OPENAI_API_KEY": DEFAULT_API_KEY,
            "OPENAI_BASE_URL": models.base_url,
        }
        await bot_killed_during_the_writer_call(slack, models, env, tmp_path / "bot.log")
        assert_resumed_without_repeats(models, slack)
