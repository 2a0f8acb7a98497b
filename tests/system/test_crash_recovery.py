"""Kill the worker mid model call; the restarted worker resumes without paying twice or posting twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import Client

from signoff.contracts.workflow_io import Phase
from signoff.sandbox import SlackSandbox
from signoff.temporal.connection import data_converter
from signoff.temporal.devserver import DevServer
from tests.doubles.openai_standin import DEFAULT_API_KEY, OpenAIStandIn
from tests.support.crash import assert_resumed_without_repeats, turn_posted
from tests.support.processes import ChildProcess, signoff_env
from tests.support.temporal import start_report, wait_for_phase, worker_settings
from tests.support.waiting import eventually

pytestmark = [pytest.mark.process, pytest.mark.slow]


# A worker process killed mid-activity and a second one recovering the run: ~16 s alone.
@pytest.mark.timeout(180)
async def test_worker_killed_during_the_writer_call(dev_server: DevServer, slack: SlackSandbox, tmp_path: Path) -> None:
    settings = worker_settings(slack)
    async with OpenAIStandIn(delay_by_role={"writer": 30}) as models:
        env = {
            **signoff_env(slack, dev_server.address, settings.task_queue),
            "OPENAI_API_KEY": DEFAULT_API_KEY,
            "OPENAI_BASE_URL": models.base_url,
        }
        worker = ChildProcess(["worker"], env, tmp_path / "worker.log")
        worker.start()
        try:
            client = await Client.connect(dev_server.address, data_converter=data_converter())
            handle = await start_report(client, settings, "Heat pumps in old houses")

            await eventually(lambda: models.count("writer", status="pending") == 1, timeout=60)
            assert models.count("research") == 1
            worker.kill()
            models.set_delay("writer", 0)

            worker.start()
            await wait_for_phase(handle, Phase.PENDING_APPROVAL, timeout=90)
            await turn_posted(slack, timeout=30)
        finally:
            worker.stop()

        assert_resumed_without_repeats(models, slack)
