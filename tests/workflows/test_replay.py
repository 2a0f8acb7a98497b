"""Recorded histories of every workflow path replay against the current code (determinism).

``histories/*.json`` are recorded with the current code; ``histories/before-<patch>/`` keep
histories recorded before a ``workflow.patched`` change, standing for workflows that were
already running when it was deployed: the patch's old branch must still replay them."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from signoff.config.settings import Settings
from signoff.worker import agents_plugin, workflow_runner
from tests.support.paths import HISTORIES
from tests.support.record_histories import SCENARIOS
from workflows import ApprovalWorkflow, ReportGenerationWorkflow, SignoffRequestWorkflow
from workflows.patches import (
    ACTION_FIRST_PATCH,
    BOUNDED_GATE_PATCH,
    BOUNDED_REQUEST_PATCH,
    DECIDED_PHASE_PATCH,
    EXECUTOR_TOOLS_PATCH,
    TELL_REQUESTER_PATCH,
    TIMER_DRIVEN_GATE_PATCH,
    TOOL_CALL_CLOSED_PATCH,
    TOOL_TARGETS_PATCH,
)


def test_every_path_has_a_recorded_history() -> None:
    recorded = {path.stem for path in HISTORIES.glob("*.json")}
    assert recorded == set(SCENARIOS)


BEFORE_PATCHES = sorted(HISTORIES.glob("before-*/*.json"))


def test_histories_from_before_each_patch_are_kept() -> None:
    kept = {path.parent.name for path in BEFORE_PATCHES}
    assert kept == {
        f"before-{patch}"
        for patch in (
            TELL_REQUESTER_PATCH,
            TIMER_DRIVEN_GATE_PATCH,
            EXECUTOR_TOOLS_PATCH,
            ACTION_FIRST_PATCH,
            DECIDED_PHASE_PATCH,
            BOUNDED_GATE_PATCH,
            BOUNDED_REQUEST_PATCH,
            TOOL_TARGETS_PATCH,
            TOOL_CALL_CLOSED_PATCH,
        )
    }


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_history_replays(name: str) -> None:
    await _replays(HISTORIES / f"{name}.json")


@pytest.mark.parametrize("path", BEFORE_PATCHES, ids=lambda path: f"{path.parent.name}/{path.stem}")
async def test_history_from_before_a_patch_replays(path: Path) -> None:
    await _replays(path)


def _history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.relative_to(HISTORIES).as_posix(), path.read_text())


async def _replays(path: Path) -> None:
    history = _history(path)
    replayer = Replayer(
        workflows=[ReportGenerationWorkflow, ApprovalWorkflow, SignoffRequestWorkflow],
        plugins=[agents_plugin(Settings())],
        workflow_runner=workflow_runner(),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{history.workflow_id} no longer replays: {result.replay_failure}"
