"""Start one deploy and print how it ended: ``python -m examples.deploy.starter`` (README.md here).

The defaults fit ``make demo``'s Slack sandbox: the sign-off is asked in #approvals by Riley,
for Avery or Blake to decide.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
import uuid

from temporalio.client import Client

from examples.deploy.shared import SIGNOFF_TASK_QUEUE, TASK_QUEUE, DeployRequest
from examples.deploy.workflows import DeployWorkflow

DEFAULT_CHANGES = [
    "Retry card captures with the same idempotency key",
    "Time out the fraud check after 2 s instead of 10 s",
    "Log the acquirer's response code on declines",
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--service", default="payments-api")
    parser.add_argument("--version", default="v2.3.1")
    parser.add_argument("--previous-version", default="v2.3.0")
    parser.add_argument("--change", action="append", dest="changes", help="one change (repeat; default: three)")
    parser.add_argument("--channel", default="C0APPROVE", help="Slack channel id (default: the sandbox's #approvals)")
    parser.add_argument("--requester", default="U0REQUEST", help="Slack user id (default: the sandbox's Riley)")
    parser.add_argument(
        "--approver", action="append", dest="approvers", help="Slack user id (repeat; default: Avery and Blake)"
    )
    parser.add_argument("--deadline-seconds", type=int, default=None, help="expire the sign-off after this long")
    parser.add_argument("--signoff-task-queue", default=SIGNOFF_TASK_QUEUE)
    return parser.parse_args(argv)


async def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    client = await Client.connect(
        os.environ.get("TEMPORAL_ADDRESS", "localhost:7233"),
        namespace=os.environ.get("TEMPORAL_NAMESPACE", "default"),
    )
    request = DeployRequest(
        service=args.service,
        version=args.version,
        previous_version=args.previous_version,
        changes=args.changes or DEFAULT_CHANGES,
        channel=args.channel,
        requester=args.requester,
        approvers=args.approvers or ["U0APPROV1", "U0APPROV2"],
        decision_deadline_seconds=args.deadline_seconds,
        signoff_task_queue=args.signoff_task_queue,
    )
    handle = await client.start_workflow(
        DeployWorkflow.run,
        request,
        id=f"deploy-{args.service}-{args.version}-{uuid.uuid4().hex[:6]}",
        task_queue=TASK_QUEUE,
    )
    print(f"Started {handle.id}; the sign-off {handle.id}-signoff waits for a decision in Slack …", flush=True)
    result = await handle.result()
    print(json.dumps(dataclasses.asdict(result), indent=2))


if __name__ == "__main__":
    asyncio.run(main())
    # A short-lived Temporal client can abort in interpreter shutdown while the SDK's native threads
    # still run (temporalio/sdk-python#300: "PyGILState_Release … finalizing", SIGABRT after the
    # result was printed). The work is done and printed: exit without the shutdown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
