"""One DBOS workflow around one patch, run as a process by tests/dbos/test_patches.py.

``probe`` checks ``PATCH`` through the engine's ``DbosDurable.patched_async`` (the "new code"; the
"old code", ``PROBE_CODE=old``, has no patch check), runs the branch it got as a step, then waits
for a message ``go`` and returns the branch's name::

    python -m tests.dbos.patch_probe --park ID     # start ID, print "parked ID" once past the branch, wait
    python -m tests.dbos.patch_probe --finish ID…  # recover what was parked, start any new ID, finish them all

``--finish`` prints ``{id: branch}`` as JSON on stdout. The database is SIGNOFF_DATABASE_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

from dbos import DBOS, SetWorkflowID, WorkflowHandleAsync

from signoff.config.settings import Settings
from signoff.dbos.config import dbos_config
from signoff.dbos.engine import APPLICATION_VERSION, DbosDurable

PATCH = "probe-patch"
BRANCHES = ("old-branch", "new-branch")
# A hang, not a bound: the test kills a parked process.
WAIT_SECONDS = 600


@DBOS.step(name="old-branch")
async def old_branch() -> str:
    return "old-branch"


@DBOS.step(name="new-branch")
async def new_branch() -> str:
    return "new-branch"


@DBOS.workflow(name="patch-probe")
async def probe() -> str:
    # The engine's durable primitives, for this run (the probe needs only the patch check).
    durable = DbosDurable(None, {}, None)  # type: ignore[arg-type]
    new_code = os.environ.get("PROBE_CODE") != "old"
    branch = await (new_branch() if new_code and await durable.patched_async(PATCH) else old_branch())
    await DBOS.recv_async("go", timeout_seconds=WAIT_SECONDS)
    return branch


async def _past_the_branch(workflow_id: str) -> None:
    while True:
        steps = await DBOS.list_workflow_steps_async(workflow_id)
        if any(step["function_name"] in BRANCHES for step in steps):
            return
        await asyncio.sleep(0.05)


async def _park(workflow_id: str) -> None:
    with SetWorkflowID(workflow_id):
        await DBOS.start_workflow_async(probe)
    await _past_the_branch(workflow_id)
    print(f"parked {workflow_id}", flush=True)
    await asyncio.sleep(WAIT_SECONDS)


async def _finish(workflow_ids: list[str]) -> dict[str, str]:
    known = {status.workflow_id for status in await DBOS.list_workflows_async(workflow_ids=workflow_ids)}
    for workflow_id in workflow_ids:
        if workflow_id not in known:
            with SetWorkflowID(workflow_id):
                await DBOS.start_workflow_async(probe)
    results = {}
    for workflow_id in workflow_ids:
        await _past_the_branch(workflow_id)
        await DBOS.send_async(workflow_id, "go", topic="go")
        handle: WorkflowHandleAsync[str] = await DBOS.retrieve_workflow_async(workflow_id)
        results[workflow_id] = await handle.get_result()
    return results


async def _main(args: argparse.Namespace) -> None:
    config = dbos_config(Settings.from_env(os.environ), name="patch-probe")
    config["application_version"] = APPLICATION_VERSION
    DBOS(config=config)
    DBOS.launch()
    try:
        if args.park:
            await _park(args.park)
        else:
            print(json.dumps(await _finish(args.finish)), flush=True)
    finally:
        DBOS.destroy()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.dbos.patch_probe")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--park", metavar="ID")
    what.add_argument("--finish", nargs="+", metavar="ID")
    asyncio.run(_main(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
