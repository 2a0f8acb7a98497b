"""Crash resume: SIGKILL the worker while the writer's model call is in flight, restart it at once.

The worker runs as a child process against the OpenAI stand-in (``tests.doubles.openai_standin``),
whose writer answers only after 30 s, so the kill lands mid-call. Measured from the kill:
* the writer call made again by the restarted worker (the model activity's heartbeat timeout is
  10 s, then the retry policy's first interval of 2 s);
* the draft posted and pending approval (the next steps after the writer).
Counted: model calls that had finished before the kill and were made again (research), and
Slack messages posted twice (thread parents, drafts, repeated idempotency keys).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

from temporalio.service import RPCError

from benchmarks.harness import (
    TEAM_ID,
    Figure,
    dev_server,
    log,
    percentile,
    temporal_client,
    wait_until,
    worker_child,
)
from benchmarks.pending_scale import _duplicate_posts
from benchmarks.slack_tiers import slack_sandbox
from signoff.contracts.workflow_io import Phase, ReportRequest, SlackOrigin, WorkflowSettings
from tests.doubles.openai_standin import OpenAIStandIn
from workflows import ReportGenerationWorkflow

NAME = "crash resume"


async def _one(tmp: Path, address: str, index: int) -> dict:
    async with slack_sandbox() as slack, OpenAIStandIn(delay_by_role={"writer": 30}) as models:
        task_queue = f"bench-crash-{uuid.uuid4().hex[:6]}"
        worker = worker_child(
            tmp,
            address,
            task_queue,
            slack.api_url,
            {"OPENAI_API_KEY": models.api_key, "OPENAI_BASE_URL": models.base_url},
        )
        worker.name = f"worker-crash-{index}"
        worker.log_file = tmp / f"{worker.name}.log"
        client = await temporal_client(address)
        worker.start()
        try:
            handle = await client.start_workflow(
                ReportGenerationWorkflow.run,
                ReportRequest(
                    topic="Heat pumps in old houses",
                    origin=SlackOrigin(team_id=TEAM_ID, channel_id="C0GENERAL", requester_id="U0REQUEST"),
                    settings=WorkflowSettings(max_review_rounds=1),
                ),
                id=f"report-crash-{uuid.uuid4().hex[:8]}",
                task_queue=task_queue,
            )
            await wait_until(
                lambda: models.count("writer", status="pending") == 1, timeout=120, what="writer call in flight"
            )
            await asyncio.sleep(1)  # mid-call, past the first heartbeat
            research_before = models.count("research")
            killed = time.time()
            worker.kill()
            models.set_delay("writer", 0)
            worker.start()
            restarted = time.time()
            await wait_until(
                lambda: models.count("writer") >= 2, timeout=120, interval=0.02, what="writer call repeated"
            )
            writer_again = time.time()

            async def pending() -> bool:
                try:
                    return await handle.query(ReportGenerationWorkflow.get_status) == Phase.PENDING_APPROVAL.value
                except RPCError:  # the server gave up on the dead worker's sticky queue; not yet
                    return False

            await wait_until(pending, timeout=120, interval=0.05, what="draft pending approval")
            resumed = time.time()
            await asyncio.sleep(2)  # anything posted twice would show up now
        finally:
            worker.stop()
        posts = [c for c in slack.calls_to("chat.postMessage") if c.ok]
        parents = [c for c in posts if not c.params.get("thread_ts")]
        drafts = [c for c in posts if "Draft revision" in str(c.params.get("blocks", ""))]
        return {
            "kill_to_writer_again": writer_again - killed,
            "kill_to_pending": resumed - killed,
            "restart_seconds": restarted - killed,
            "research_repeated": models.count("research") - research_before,
            "research_calls": models.count("research"),
            "writer_calls": models.count("writer"),
            "duplicate_posts": _duplicate_posts(slack) + max(0, len(parents) - 1) + max(0, len(drafts) - 1),
        }


async def run(tmp: Path, quick: bool) -> list[Figure]:
    repeats = 1 if quick else 3
    results = []
    async with dev_server(tmp) as server:
        for i in range(repeats):
            result = await _one(tmp, server.address, i)
            log(
                f"crash {i + 1}: writer again after {result['kill_to_writer_again']:.1f} s, pending after {result['kill_to_pending']:.1f} s"
            )
            results.append(result)
    to_next = [r["kill_to_writer_again"] for r in results]
    to_pending = [r["kill_to_pending"] for r in results]
    repeated = sum(r["research_repeated"] for r in results)
    duplicates = sum(r["duplicate_posts"] for r in results)
    worst = max(to_pending)
    return [
        Figure(
            bench=NAME,
            name="kill → next step (writer call made again)",
            unit="s",
            p50=percentile(to_next, 50),
            p99=max(to_next),
            n=len(results),
            target="≤ 30 s",
            met=max(to_next) <= 30,
            note=(
                f"{len(results)} kill(s); p99 column = worst. Bounded by the model activity's heartbeat timeout (10 s) "
                "plus the retry policy's first interval (2 s); the worker itself is back in ≈ 1-2 s."
            ),
        ),
        Figure(
            bench=NAME,
            name="kill → draft pending approval",
            unit="s",
            p50=percentile(to_pending, 50),
            p99=worst,
            n=len(results),
            target="≤ 30 s",
            met=worst <= 30,
            note="Includes the repeated writer call, the AI review and posting the draft.",
        ),
        Figure(
            bench=NAME,
            name="finished model calls repeated / duplicate posts",
            unit="",
            p50=float(repeated),
            p99=float(duplicates),
            n=len(results),
            target="0 / 0",
            met=repeated == 0 and duplicates == 0,
            note=(
                "Median column = finished model calls (research) made again after the kill, summed over the kills; "
                "p99 column = Slack messages posted twice (thread parents, drafts, repeated idempotency keys), summed. "
                "Writer calls per run: "
                + ", ".join(str(r["writer_calls"]) for r in results)
                + " (the killed call, its retry, and the rewrite the offline reviewer asks for when rounds allow)."
            ),
        ),
    ]
