"""Worker SIGKILLed while a Slack post is in flight: the restarted worker finishes it without posting twice.

(The model-call crash is tests/system/test_crash_recovery.py.) The sandbox stores the draft
post and holds its answer; the worker dies waiting for it. The activity times out
(start-to-close, 30 s: Slack activities have no heartbeat), the next attempt on the
restarted worker looks the post up by its idempotency key in the message metadata,
finds it and returns it instead of posting again.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import Client

from signoff.contracts.activity_io import SLACK_START_TO_CLOSE
from signoff.contracts.workflow_io import ApproveInput, Phase
from signoff.sandbox import SlackSandbox
from signoff.temporal.connection import data_converter
from signoff.temporal.devserver import DevServer
from tests.support.flows import thread_of
from tests.support.processes import ChildProcess, signoff_env
from tests.support.slack import (
    APPROVER_1,
    CHANNEL,
    assert_nothing_doubled,
    buttons,
    draft_messages,
    draft_posts,
    is_draft,
    stored,
    thread_texts,
)
from tests.support.temporal import start_report, wait_for_phase, worker_settings
from workflows import ReportGenerationWorkflow

pytestmark = [pytest.mark.process, pytest.mark.slow]


# A worker process killed mid-post and a second one finishing the draft: ~16 s alone.
@pytest.mark.timeout(180)
async def test_worker_killed_while_the_draft_post_is_in_flight(
    dev_server: DevServer, slack: SlackSandbox, tmp_path: Path
) -> None:
    settings = worker_settings(slack, approvers=[APPROVER_1])
    # The draft post takes effect at once; its answer would come 5 s later, long after the kill.
    slack.faults.slow("chat.postMessage", 5, match=is_draft)
    worker = ChildProcess(
        ["worker"], signoff_env(slack, dev_server.address, settings.task_queue), tmp_path / "worker.log"
    )
    worker.start()
    try:
        client = await Client.connect(dev_server.address, data_converter=data_converter())
        handle = await start_report(client, settings, "Heat pumps in old houses")
        await slack.wait_for(lambda: draft_posts(slack), timeout=60)
        worker.kill()
        [posted] = draft_posts(slack)
        assert posted.ok, "the post took effect before the worker died"

        worker.start()
        await wait_for_phase(handle, Phase.PENDING_APPROVAL, timeout=60)  # queries wait out the dead worker
        state = await handle.query(ReportGenerationWorkflow.progress)
        assert state.phase is Phase.PENDING_APPROVAL and state.thread is not None
        # The note after the draft is posted only once post_draft has completed: up to start-to-close
        # for the dead attempt to time out, then the retry's own backoff.
        await slack.wait_for(
            lambda: any("is ready for a decision" in t for t in thread_texts(slack, thread_of(state))),
            timeout=SLACK_START_TO_CLOSE.total_seconds() + 30,
        )

        # The retry looked the draft up and found it: one draft post in all, one draft in the thread.
        assert len(draft_posts(slack)) == 1
        assert slack.calls_to("conversations.replies"), "the retry did not look for its earlier post"
        [draft] = draft_messages(slack, thread_of(state))
        assert isinstance(posted.response, dict) and draft["ts"] == posted.response["ts"]
        assert buttons(draft), "the draft that was found is the one with the buttons"

        # And the workflow goes on from there as if nothing happened.
        await handle.execute_update(ReportGenerationWorkflow.approve_draft, ApproveInput(1, APPROVER_1))
        await handle.result()
        assert buttons(stored(slack, CHANNEL, draft["ts"])) == []
    finally:
        worker.stop()
    keys = assert_nothing_doubled(slack)
    assert len(slack.messages(CHANNEL)) == 1 and sum(keys.values()) == len(keys)
