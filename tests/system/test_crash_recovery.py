"""Kill the worker mid model call; the restarted worker resumes without paying twice or posting twice."""

from __future__ import annotations

import uuid
from pathlib import Path

from temporalio.client import Client

from core.contracts import Phase, ReportRequest, SlackOrigin
from infra.temporal import data_converter
from sandbox import SlackSandbox
from signoff.devserver import DevServer
from tests.doubles.openai_standin import OpenAIStandIn
from tests.support.processes import ChildProcess
from tests.support.temporal import eventually, wait_for_phase
from workflows import ReportGenerationWorkflow

ORIGIN = SlackOrigin(team_id="T0SANDBOX", channel_id="C0GENERAL", requester_id="U0REQUEST")


def draft_posts(slack: SlackSandbox) -> list[dict]:
    return [
        call
        for call in slack.calls_to("chat.postMessage")
        if "Draft revision" in str(call.params.get("blocks", "")) and call.response.get("ok")
    ]


async def test_worker_killed_during_the_writer_call(dev_server: DevServer, slack: SlackSandbox, tmp_path: Path) -> None:
    task_queue = f"crash-{uuid.uuid4()}"
    async with OpenAIStandIn(delay_by_role={"writer": 30}) as models:
        env = {
            "TEMPORAL_ADDRESS": dev_server.address,
            "SIGNOFF_TASK_QUEUE": task_queue,
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_API_URL": slack.api_url,
            "OPENAI_API_KEY": models.api_key,
            "OPENAI_BASE_URL": models.base_url,
        }
        worker = ChildProcess(["worker"], env, tmp_path / "worker.log")
        worker.start()
        try:
            client = await Client.connect(dev_server.address, data_converter=data_converter())
            handle = await client.start_workflow(
                ReportGenerationWorkflow.run,
                ReportRequest(topic="Heat pumps in old houses", origin=ORIGIN),
                id=f"report-crash-{uuid.uuid4()}",
                task_queue=task_queue,
            )

            async def writer_in_flight() -> bool:
                return models.count("writer", status="pending") == 1

            await eventually(writer_in_flight, timeout=60)
            assert models.count("research") == 1
            worker.kill()
            models.set_delay("writer", 0)

            worker.start()
            await wait_for_phase(handle, Phase.PENDING_APPROVAL, timeout=90)
            # The note after the draft is the turn's last post: then every post has been made.
            await slack.wait_for(
                lambda: any(
                    "ready for a decision" in str(call.params.get("text"))
                    for call in slack.calls_to("chat.postMessage")
                ),
                timeout=30,
            )
        finally:
            worker.stop()

        # The research call finished before the crash and was not made again.
        assert models.count("research") == 1
        # The writer call that died with the worker was made once more; then the rewrite the
        # offline reviewer asks for. An uninterrupted run makes 2 writer calls.
        assert models.count("writer") == 3
        assert models.count("reviewer") == 2
        assert len(draft_posts(slack)) == 1
        parents = [call for call in slack.calls_to("chat.postMessage") if not call.params.get("thread_ts")]
        assert len(parents) == 1
