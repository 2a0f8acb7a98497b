"""examples/deploy with nothing of signoff installed but its client.

``clients/python`` alone goes into a fresh virtualenv (temporalio and pydantic come with it; nothing
of Slack, OpenAI or DBOS, nor the app itself); the example's worker and starter run on that
interpreter from a directory that holds only ``examples/``; signoff's worker (this process, on the
dev server) and the bot serve the sign-off, and an approver approves it in the Slack sandbox.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.client import Client

from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from signoff.temporal.devserver import DevServer
from tests.examples.test_deploy import draft_of
from tests.support.bot import bot_settings, worker_and_bot
from tests.support.paths import ROOT
from tests.support.processes import ChildProcess
from tests.support.slack import APPROVALS_CHANNEL, APPROVER_1, APPROVER_2, REQUESTER, told
from tests.support.waiting import eventually

CLIENT = ROOT / "clients" / "python"
# What the app brings and a caller must not need.
APP_ONLY = {
    "signoff",
    "slack-bolt",
    "slack-sdk",
    "aiohttp",
    "openai",
    "openai-agents",
    "temporalio-openai-agents",
    "dbos",
    "prometheus-client",
}
UNBUILT = shutil.ignore_patterns("__pycache__", "build", "*.egg-info")


def run(*command: str | Path) -> str:
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def client_only_python(tmp: Path, extras: str = "") -> Path:
    """A new virtualenv with the client installed from a copy of clients/python (with ``extras``,
    like ``[http]``), nothing else."""
    source = shutil.copytree(CLIENT, tmp / "signoff-client", ignore=UNBUILT)
    venv = tmp / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "-q", f"{source}{extras}")
    return python


def distributions(python: Path) -> set[str]:
    listed = json.loads(run(python, "-m", "pip", "list", "--format=json"))
    return {re.sub(r"[-_.]+", "-", entry["name"]).lower() for entry in listed}


@pytest.mark.slow
@pytest.mark.process
# A fresh venv with the client, then the example's worker and starter as processes: ~28 s alone.
@pytest.mark.timeout(180)
async def test_the_deploy_example_runs_with_only_the_client_installed(
    dev_server: DevServer, slack: SlackSandbox, tmp_path: Path
) -> None:
    python = client_only_python(tmp_path)
    installed = distributions(python)
    assert {"signoff-client", "temporalio", "pydantic"} <= installed
    assert not installed & APP_ONLY, installed & APP_ONLY
    caller = tmp_path / "caller"
    shutil.copytree(ROOT / "examples", caller / "examples", ignore=UNBUILT)

    settings = bot_settings(slack)
    env = {"TEMPORAL_ADDRESS": dev_server.address}
    deploy_worker = ChildProcess(
        [], env, tmp_path / "worker.log", command=("-m", "examples.deploy.worker"), cwd=caller, python=python
    )
    ask = ["--channel", APPROVALS_CHANNEL, "--requester", REQUESTER, "--approver", APPROVER_1, "--approver", APPROVER_2]
    starter = ChildProcess(
        [*ask, "--signoff-task-queue", settings.task_queue],
        env,
        tmp_path / "starter.log",
        command=("-m", "examples.deploy.starter"),
        stdout_file=tmp_path / "starter.out",
        cwd=caller,
        python=python,
    )

    def outputs() -> str:
        return f"worker:\n{deploy_worker.output()}\nstarter:\n{starter.output()}{starter.stdout()}"

    def started() -> str | None:
        if found := re.search(r"^Started (\S+);", starter.stdout(), re.MULTILINE):
            return found[1]
        assert starter.running(), f"the starter exited before starting a deploy:\n{outputs()}"
        return None

    async with worker_and_bot(slack, await Client.connect(dev_server.address), settings) as bot:
        deploy_worker.start()
        try:
            starter.start()
            deploy_id = await eventually(started, timeout=60)
            signoff = bot.client.get_workflow_handle(f"{deploy_id}-signoff")
            _, draft = await draft_of(slack, signoff)
            await slack.click_button(APPROVER_2, APPROVALS_CHANNEL, draft["ts"], action_ids.APPROVE)
            await told(slack, APPROVER_2, "Recorded your approval of revision 1")
            await eventually(lambda: not starter.running(), timeout=60)
        finally:
            starter.stop()
            deploy_worker.stop()

    assert starter.process is not None and starter.process.returncode == 0, outputs()
    result = json.loads(starter.stdout().split("\n", 1)[1])
    assert result["deployed"] and result["outcome"] == "approved", outputs()
    assert result["decided_by"] == [APPROVER_2] and result["signoff_workflow_id"] == signoff.id
    assert "Retry card captures with the same idempotency key" in result["release_notes"]
    # The example's worker recorded the deployment in its ledger, in the caller's directory.
    [line] = (caller / ".data" / "deployments.jsonl").read_text().splitlines()
    deployment = json.loads(line)
    assert deployment["deployment_id"] == result["deployment_id"] and deployment["approved_by"] == [APPROVER_2]
