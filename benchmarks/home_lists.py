"""Lists at scale: the App Home of one approver among 10,000 workflows vs a raw ``list_workflows``.

One real report is parked for the approver (worker running, offline model, started through the
bot's gateway as `/report` starts it, so its settings say the namespace has the search attributes).
Then 10,000 newer workflows are started, listed as drafts waiting for someone else (their search
attributes set at start, on a task queue no worker polls). Then, one at a time and alternating:

* the Home handler (``bot.listeners.home.build_home``, in this process, on the real gateway): the
  two visibility queries (waiting for this approver, requested by them), the progress query of what
  waits, the Block Kit view; checked to hold the parked draft every time;
* the baseline: ``client.list_workflows`` with the same "waiting for this approver" query, the
  same limit and page size, read to the end.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from slack_sdk.web.async_client import AsyncWebClient

from benchmarks.drafts import wait_pending
from benchmarks.harness import (
    TEAM_ID,
    Figure,
    children,
    dev_server,
    log,
    ratio,
    summary,
    temporal_client,
    wait_until,
    worker_child,
)
from bot.deps import Deps
from bot.gateway import TemporalGateway
from bot.listeners.home import MAX_HOME_QUERIES, build_home
from signoff.config.settings import Settings
from signoff.contracts import search_attributes
from signoff.contracts.workflow_io import ApprovalPolicy, SlackOrigin, WorkflowSettings
from signoff.sandbox import SlackSandbox
from tests.support.visibility import start_idle_reports

NAME = "home lists"
APPROVER = "U0APPROV1"
REQUESTER = "U0REQUEST"
OTHER_APPROVER = "U0APPROV2"
# The Home adds its own work to the raw query (a second visibility query at once, the progress
# query of the draft through the worker, the view); beyond 3× the handler, not visibility, is the cost.
TARGET_RATIO = 3.0


async def run(tmp: Path, quick: bool) -> list[Figure]:
    newer = 1_000 if quick else 10_000
    samples = 10 if quick else 40  # per path
    task_queue = f"bench-lists-{uuid.uuid4().hex[:6]}"
    settings = WorkflowSettings(policy=ApprovalPolicy(approvers=[APPROVER]), max_review_rounds=1)
    home: list[float] = []
    raw: list[float] = []
    async with dev_server(tmp) as server, SlackSandbox() as sandbox:
        worker = worker_child(tmp, server.address, task_queue, sandbox.api_url)
        async with children(worker):
            client = await temporal_client(server.address)
            gateway = TemporalGateway(client, task_queue=task_queue, workflow_settings=settings)
            deps = Deps(settings=Settings(task_queue=task_queue), gateway=gateway)
            # Who is in which channel (the Home asks through a cache): the sandbox answers.
            slack_client = AsyncWebClient(token=sandbox.bot_token, base_url=sandbox.api_url)
            assert await gateway.lists_by_search_attributes(), "the dev server has the search attributes"
            origin = SlackOrigin(team_id=TEAM_ID, channel_id="C0GENERAL", requester_id=REQUESTER)
            started = await gateway.start_report("The one draft waiting for the approver", origin, uuid.uuid4().hex)
            await wait_pending(client, [started.workflow_id], timeout=120)

            began = time.monotonic()
            await start_idle_reports(client, newer, requester="U0FILLER", approvers=[OTHER_APPROVER], channel="C0ELSE")
            rate = newer / (time.monotonic() - began)
            log(f"{newer} newer workflows started at {rate:.0f}/s")
            total = newer + 1

            async def all_visible() -> bool:
                return (await client.count_workflows(search_attributes.running_query())).count >= total

            await wait_until(all_visible, timeout=300, interval=0.5, what=f"{total} workflows in visibility")
            bounded = {item.workflow_id for item in await gateway.list_workflows()}
            query = search_attributes.waiting_for_query(APPROVER)

            async def home_once() -> float:
                sent = time.perf_counter()
                view = await build_home(deps, slack_client, APPROVER)
                took = time.perf_counter() - sent
                assert started.workflow_id in json.dumps(view.to_dict()), "the Home lost the draft"
                return took * 1000

            async def raw_once() -> float:
                sent = time.perf_counter()
                found = [
                    execution.id
                    async for execution in client.list_workflows(
                        query, limit=MAX_HOME_QUERIES, page_size=MAX_HOME_QUERIES
                    )
                ]
                took = time.perf_counter() - sent
                assert found == [started.workflow_id], found
                return took * 1000

            # Two of each warm both paths up (connections, the worker's cache) and are not kept.
            for i in range(2 * samples + 4):
                if i % 2 == 0:
                    measured = await home_once()
                    if i >= 4:
                        home.append(measured)
                else:
                    measured = await raw_once()
                    if i >= 4:
                        raw.append(measured)
            log(f"lists: {len(home)} Home builds, {len(raw)} raw list_workflows")

    h, r = summary(home), summary(raw)
    p50_ratio = ratio(h["p50"], r["p50"])
    return [
        Figure(
            bench=NAME,
            name=f"Home for one approver among {total:,} workflows",
            unit="ms",
            p50=h["p50"],
            p99=h["p99"],
            base_p50=r["p50"],
            base_p99=r["p99"],
            ratio=p50_ratio,
            ratio_of="p50",
            target=f"≤ {TARGET_RATIO:g}× raw list_workflows (same query); the draft listed",
            met=p50_ratio <= TARGET_RATIO,
            n=h["n"],
            note=(
                f"{h['n']} Home builds and {r['n']} raw list_workflows, alternating, one at a time, on the dev "
                f"server (SQLite) with {total:,} running workflows, {newer:,} of them newer than the draft "
                f"(started at {rate:.0f}/s). The Home lists the draft every time; the bounded listing of "
                f"the newest {len(bounded)} (the lists before search attributes) "
                f"{'holds' if started.workflow_id in bounded else 'does not hold'} it. "
                f"p99 ratio {ratio(h['p99'], r['p99']):.2f}×."
            ),
            extra={"home": h, "raw": r, "newer": newer, "start_rate": rate},
        )
    ]
