"""The deploy's activities: summarize the changes, and "deploy" (recorded, nothing real happens)."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

from temporalio import activity

from examples.deploy.shared import ChangeSummary, Deployment, DeployRequest

log = logging.getLogger(__name__)

# Slack's edit form holds 3,000 characters: longer notes could be approved but not edited.
MAX_NOTES_CHARS = 3000


@activity.defn
async def summarize_changes(request: DeployRequest) -> ChangeSummary:
    """The release notes the approvers read (a real one would ask the VCS or the CI for the changes)."""
    title = f"Deploy {request.service} {request.version} to {request.environment}"
    since = f" (running: {request.previous_version})" if request.previous_version else ""
    rollback = f"Redeploy {request.previous_version}." if request.previous_version else "Redeploy the previous version."
    head = f"## {request.service} {request.version}{since}\n\n### Changes\n"
    tail = f"\n\n### Rollback\n{rollback}"
    lines: list[str] = []
    for number, change in enumerate(request.changes):
        line = f"- {change.strip()}"
        more = f"- … and {len(request.changes) - number} more"
        if len(head) + len("\n".join([*lines, line, more])) + len(tail) > MAX_NOTES_CHARS:
            lines.append(more)
            break
        lines.append(line)
    return ChangeSummary(title=title, release_notes=head + ("\n".join(lines) or "- (no changes listed)") + tail)


class DeployActivities:
    """A deploy that only records what it would deploy: in ``deployments`` and, when ``ledger`` is
    given, as one JSON line per deployment in that file. A retried activity records nothing twice:
    the deployment id is the idempotency key a real deploy tool would take."""

    def __init__(self, ledger: Path | None = None) -> None:
        self.ledger = ledger
        self.deployments: list[Deployment] = []

    @activity.defn
    async def deploy(self, deployment: Deployment) -> Deployment:
        done = self._recorded(deployment.deployment_id)
        if done is not None:
            return done
        self.deployments.append(deployment)
        if self.ledger is not None:
            self.ledger.parent.mkdir(parents=True, exist_ok=True)
            with self.ledger.open("a", encoding="utf-8") as ledger:
                ledger.write(json.dumps(dataclasses.asdict(deployment)) + "\n")
        log.info(
            "Deployed %s %s to %s (%s)",
            deployment.service,
            deployment.version,
            deployment.environment,
            deployment.deployment_id,
        )
        return deployment

    def _recorded(self, deployment_id: str) -> Deployment | None:
        for deployment in self.deployments:
            if deployment.deployment_id == deployment_id:
                return deployment
        if self.ledger is not None and self.ledger.exists():
            for line in self.ledger.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    entry = json.loads(line)
                    if entry.get("deployment_id") == deployment_id:
                        return Deployment(**entry)
        return None
