"""Recorded histories of every workflow path replay against the current code (determinism)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from signoff.settings import Settings
from tests.support.record_histories import SCENARIOS
from workflows import ApprovalWorkflow, ReportGenerationWorkflow
from workflows.worker import agents_plugin, workflow_runner

HISTORIES = Path(__file__).parent / "histories"


def test_every_path_has_a_recorded_history() -> None:
    recorded = {path.stem for path in HISTORIES.glob("*.json")}
    assert recorded == set(SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_history_replays(name: str) -> None:
    history = WorkflowHistory.from_json(name, (HISTORIES / f"{name}.json").read_text())
    replayer = Replayer(
        workflows=[ReportGenerationWorkflow, ApprovalWorkflow],
        plugins=[agents_plugin(Settings())],
        workflow_runner=workflow_runner(),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{name} no longer replays: {result.replay_failure}"
