"""The deploy example's worker: ``python -m examples.deploy.worker`` (README.md here).

It runs the deploy workflow and its activities on the ``deploy-example`` task queue; signoff's
own worker (``make demo``, or ``signoff worker``) runs the sign-off on ``agent-workflows``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from examples.deploy.activities import DeployActivities, summarize_changes
from examples.deploy.shared import TASK_QUEUE
from examples.deploy.workflows import DeployWorkflow

# What the example "deployed", one JSON line per deployment.
LEDGER = Path(".data/deployments.jsonl")


def build_worker(client: Client, deployer: DeployActivities, task_queue: str = TASK_QUEUE) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[DeployWorkflow],
        activities=[summarize_changes, deployer.deploy],
    )


async def main() -> None:
    logging.basicConfig(level=logging.INFO)
    # Plain JSON is all SignoffRequest needs: the default data converter will do.
    client = await Client.connect(
        os.environ.get("TEMPORAL_ADDRESS", "localhost:7233"),
        namespace=os.environ.get("TEMPORAL_NAMESPACE", "default"),
    )
    worker = build_worker(client, DeployActivities(LEDGER))
    print(f"Deploy worker on task queue {TASK_QUEUE}; deployments are recorded in {LEDGER}. Ctrl-C stops it.")
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main())
