"""The seam's failing steps (``tests/workflows/seam_probe.py``) run by the Restate engine.

``python -m tests.restate.seam_probe DATA_DIR`` starts a Restate server on ``DATA_DIR``, serves a probe
workflow whose run is a ``RestateDurable`` calling one of the probe activities, registers it, runs
each step through the ingress and prints, as JSON, what each run saw (the ``StepFailed`` it caught,
the attempts the activity was told) and whether ``temporalio.testing`` was ever imported (the engine
calls the activities itself). A child process, so that last is this engine's alone.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import aiohttp
import restate

from signoff.restate.admin import RestateAdmin
from signoff.restate.endpoint import ServiceEndpoint
from signoff.restate.engine import RestateDurable
from signoff.restate.server import RestateServer
from tests.workflows.seam_probe import ACTIVITIES, STEPS, ProbeRun, probed, retry_gap, told

SERVICE = "SeamProbe"


def probe_service() -> restate.Workflow:
    service = restate.Workflow(SERVICE)

    @service.main(name="run")
    async def run(ctx: restate.WorkflowContext, step: str) -> dict[str, Any]:
        durable = RestateDurable(ctx, ProbeRun(), ACTIVITIES, None)  # type: ignore[arg-type]
        await durable.begin()  # as the engine starts every run
        return await probed(durable, step)

    return service


async def _on_restate(data_dir: Path) -> dict[str, Any]:
    async with RestateServer(data_dir) as server, ServiceEndpoint([probe_service()]) as endpoint:
        await RestateAdmin(server.admin_url).register(endpoint.url)
        seen = {}
        async with aiohttp.ClientSession() as session:
            for step in STEPS:
                async with session.post(f"{server.ingress_url}/{SERVICE}/seam-{step}/run", json=step) as answer:
                    assert answer.status == 200, await answer.text()
                    seen[step] = await answer.json()
    return {
        "seen": seen,
        "told": told,
        "retry_gap": retry_gap(),
        "temporalio.testing": "temporalio.testing" in sys.modules,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_on_restate(Path(sys.argv[1])))), flush=True)
