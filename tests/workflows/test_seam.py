"""The engine seam in signoff's own words (issue 20): step policies and failures, the activities'
context, search attributes and memo, the same on Temporal, on DBOS and on Restate.

Temporal runs on the time-skipping server; DBOS in a child process on SQLite
(``tests/workflows/seam_probe.py``), Restate in a child process with its own server
(``tests/restate/seam_probe.py``), so what each imported can be checked.
"""

from __future__ import annotations

import ast
import asyncio
import json
import pickle
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow
from temporalio.api.common.v1 import RetryPolicy as RetryPolicyProto
from temporalio.client import WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from signoff.contracts.activity_io import MODEL_RETRY_POLICY, SLACK_PERMANENT_ERROR, SLACK_RETRY_POLICY
from signoff.contracts.steps import StepFailed, StepPolicy
from signoff.contracts.workflow_io import ReportRequest, SlackOrigin
from signoff.sandbox import SlackSandbox
from signoff.worker import model_activity_parameters, temporal_activity
from tests.restate.conftest import require_npm
from tests.support.slack import REQUESTER
from tests.support.temporal import running_worker, with_agents_plugin, worker_settings
from tests.workflows import seam_probe
from workflows import ReportGenerationWorkflow
from workflows.human_loop import SETTINGS_RETRY_POLICY
from workflows.runtime import durable, retry_policy

ROOT = Path(__file__).parents[2]

# The policies exactly as the workflows and the worker gave them to Temporal before the seam (the
# histories hold older ones too, from before SLACK_RETRY_POLICY retried without limit: replay does
# not compare policies, but a new run's command must not change).
RECORDED_POLICIES = {
    "slack": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=2),
        maximum_attempts=0,
        non_retryable_error_types=[SLACK_PERMANENT_ERROR],
    ),
    "model": RetryPolicy(
        initial_interval=timedelta(seconds=2),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=30),
        maximum_attempts=4,
    ),
    "settings": RetryPolicy(maximum_attempts=5),
}
OURS = {"slack": SLACK_RETRY_POLICY, "model": MODEL_RETRY_POLICY, "settings": SETTINGS_RETRY_POLICY}


def _proto(policy: RetryPolicy) -> RetryPolicyProto:
    proto = RetryPolicyProto()
    policy.apply_to_proto(proto)
    return proto


# ---------------------------------------------------------------------- policies


@pytest.mark.parametrize("name", sorted(OURS))
def test_each_step_policy_is_temporals_retry_policy_byte_for_byte(name: str) -> None:
    mapped = retry_policy(OURS[name])
    assert mapped == RECORDED_POLICIES[name]
    assert _proto(mapped).SerializeToString(deterministic=True) == _proto(RECORDED_POLICIES[name]).SerializeToString(
        deterministic=True
    )


def test_the_model_activity_gets_the_model_policy() -> None:
    assert model_activity_parameters().retry_policy == RECORDED_POLICIES["model"]


def test_a_policy_retries_and_waits_as_temporal_would() -> None:
    assert [SLACK_RETRY_POLICY.wait_after(n) for n in (1, 2, 8)] == [
        timedelta(seconds=1),
        timedelta(seconds=2),
        timedelta(minutes=2),
    ]
    # No maximum interval: 100 initial intervals, as Temporal's server fills in.
    assert SETTINGS_RETRY_POLICY.wait_after(20) == timedelta(seconds=100)
    assert SLACK_RETRY_POLICY.retries_after(1000, "SlackTransientError", non_retryable=False)
    assert not SLACK_RETRY_POLICY.retries_after(1, SLACK_PERMANENT_ERROR, non_retryable=False)
    assert not SLACK_RETRY_POLICY.retries_after(1, "SlackTransientError", non_retryable=True)
    assert MODEL_RETRY_POLICY.retries_after(3, None, non_retryable=False)
    assert not MODEL_RETRY_POLICY.retries_after(4, None, non_retryable=False)


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"initial_interval": timedelta(0)}, "initial_interval"),
        ({"backoff_coefficient": 0.5}, "backoff_coefficient"),
        ({"maximum_interval": timedelta(milliseconds=1)}, "maximum_interval"),
        ({"maximum_attempts": -1}, "maximum_attempts"),
    ],
)
def test_a_policy_that_cannot_be_is_refused(fields: dict[str, Any], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        StepPolicy(**fields)


def test_a_step_failure_survives_the_pickle_dbos_records_a_runs_error_in() -> None:
    failed = StepFailed(
        "slack_start_thread",
        ApplicationError("chat.postMessage failed: not_in_channel", "not_in_channel", type=SLACK_PERMANENT_ERROR),
        error_type=SLACK_PERMANENT_ERROR,
        message="chat.postMessage failed: not_in_channel",
        details=("not_in_channel",),
        non_retryable=True,
    )
    loaded = pickle.loads(pickle.dumps(failed))
    assert isinstance(loaded, StepFailed) and str(loaded) == "slack_start_thread failed"
    assert seam_probe.described(loaded) == {**seam_probe.described(failed), "cause": "NoneType"}


# ---------------------------------------------------------------------- both engines

# What a workflow sees of each probe step, on either engine.
EXPECTED = {
    seam_probe.REFUSED: {
        "step": seam_probe.REFUSED,
        "error_type": SLACK_PERMANENT_ERROR,
        "message": "chat.postMessage failed: not_in_channel",
        "details": ["not_in_channel"],
        "non_retryable": False,
        "cancelled": False,
        "cause": "ApplicationError",
    },
    seam_probe.DOWN: {
        "step": seam_probe.DOWN,
        "error_type": "SlackTransientError",
        "message": "chat.postMessage: Slack is unavailable",
        "details": [],
        "non_retryable": False,
        "cancelled": False,
        "cause": "ApplicationError",
    },
    seam_probe.FLAKY: {"result": "done"},
    seam_probe.RATE_LIMITED: {"result": "done"},
}
# Refused once (never retried), down three times (the policy's attempts), flaky twice.
EXPECTED_TOLD = [
    [seam_probe.REFUSED, 1, True],
    [seam_probe.DOWN, 1, True],
    [seam_probe.DOWN, 2, True],
    [seam_probe.DOWN, 3, True],
    [seam_probe.FLAKY, 1, True],
    [seam_probe.FLAKY, 2, True],
    [seam_probe.RATE_LIMITED, 1, True],
    [seam_probe.RATE_LIMITED, 2, True],
]


@workflow.defn(name="SeamProbe", sandboxed=False)
class SeamProbeWorkflow:
    @workflow.run
    async def run(self, step: str) -> dict[str, Any]:
        try:
            outcome: object = await durable().execute_activity(
                step, result_type=str, start_to_close_timeout=seam_probe.TIMEOUT, policy=seam_probe.QUICK
            )
        except StepFailed as err:
            outcome = err
        return seam_probe.described(outcome)


async def test_temporal_raises_step_failed_and_tells_activities_their_attempt(time_env: WorkflowEnvironment) -> None:
    seam_probe.told.clear()
    queue = f"seam-{uuid.uuid4()}"
    activities = [temporal_activity(name, fn) for name, fn in seam_probe.ACTIVITIES.items()]
    async with Worker(time_env.client, task_queue=queue, workflows=[SeamProbeWorkflow], activities=activities):
        seen = {
            step: await time_env.client.execute_workflow(
                SeamProbeWorkflow.run, step, id=f"seam-{uuid.uuid4()}", task_queue=queue
            )
            for step in seam_probe.STEPS
        }
    assert seen == EXPECTED
    assert [list(told) for told in seam_probe.told] == EXPECTED_TOLD


async def probed_in_a_child(module: str, argument: str) -> dict[str, Any]:
    """What ``python -m <module> <argument>`` printed last, as JSON (a probe of one engine)."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        argument,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await child.communicate()
    assert child.returncode == 0, err.decode()
    probed: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return probed


# A child process imports DBOS and the Agents SDK (seconds) before it runs.
@pytest.mark.timeout(120)
async def test_dbos_raises_step_failed_and_calls_the_activities_itself(tmp_path: Path) -> None:
    probed = await probed_in_a_child("tests.workflows.seam_probe", f"sqlite:///{tmp_path / 'seam.sqlite'}")
    assert probed["seen"] == EXPECTED
    assert probed["told"] == EXPECTED_TOLD
    # The wait Slack's Retry-After asked for, not the policy's 10 ms backoff (Temporal does this itself).
    assert probed["retry_gap"] >= seam_probe.RETRY_AFTER.total_seconds()
    # Plain async functions, called with the engine's StepContext: nothing of Temporal's test kit.
    assert probed["temporalio.testing"] is False


# The child starts a Restate server and imports the engine (seconds) before it runs.
@pytest.mark.timeout(120)
@pytest.mark.process
async def test_restate_raises_step_failed_and_calls_the_activities_itself(tmp_path: Path) -> None:
    require_npm()
    probed = await probed_in_a_child("tests.restate.seam_probe", str(tmp_path / "restate"))
    assert probed["seen"] == EXPECTED
    assert probed["told"] == EXPECTED_TOLD
    # The wait Slack's Retry-After asked for, not the policy's 10 ms backoff (Temporal does this itself).
    assert probed["retry_gap"] >= seam_probe.RETRY_AFTER.total_seconds()
    assert probed["temporalio.testing"] is False


async def test_a_report_whose_thread_slack_refuses_fails_on_temporal_as_it_did_before_the_seam(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    """The StepFailed leaves the workflow as the activity's own ActivityError: the run fails (it is not
    a workflow task failure, retried for ever), with the activity's failure as its cause."""
    settings = worker_settings(slack)
    nowhere = SlackOrigin(team_id="T0SANDBOX", channel_id="C0NOWHERE", requester_id=REQUESTER)
    async with running_worker(time_env.client, settings):
        handle = await with_agents_plugin(time_env.client, settings).start_workflow(
            ReportGenerationWorkflow.run,
            ReportRequest(topic="Wind farms", origin=nowhere, settings=settings.workflow),
            id=f"seam-{uuid.uuid4()}",
            task_queue=settings.task_queue,
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
    cause = failed.value.cause
    assert isinstance(cause, ActivityError) and cause.activity_type == "slack_start_thread"
    assert isinstance(cause.cause, ApplicationError) and cause.cause.type == SLACK_PERMANENT_ERROR
    assert cause.cause.details == ("channel_not_found",)


# ---------------------------------------------------------------------- only the seam calls the engine

# temporalio.workflow's primitives: workflow code asks ``durable()`` for them, so DBOS runs it too.
ENGINE_CALLS = {
    "execute_activity",
    "execute_activity_method",
    "execute_local_activity",
    "start_activity",
    "start_local_activity",
    "start_child_workflow",
    "execute_child_workflow",
    "upsert_search_attributes",
    "upsert_memo",
    "patched",
    "deprecate_patch",
    "now",
    "time",
    "sleep",
    "wait_condition",
    "info",
    "logger",
    "uuid4",
    "random",
}
# Temporal's failure types a workflow would catch instead of StepFailed, and its retry policy.
ENGINE_TYPES = {"ActivityError", "RetryPolicy"}


def engine_uses(source: str) -> list[str]:
    """``workflow.<primitive>`` uses and imports of Temporal's step types in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "workflow"
            and node.attr in ENGINE_CALLS
        ):
            found.append(f"line {node.lineno}: workflow.{node.attr}")
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("temporalio"):
            found += [f"line {node.lineno}: {a.name}" for a in node.names if a.name in ENGINE_TYPES]
    return found


WORKFLOW_MODULES = sorted(path for path in (ROOT / "workflows").glob("*.py") if path.name != "runtime.py") + sorted(
    (ROOT / "signoff" / "contracts").glob("*.py")
)


@pytest.mark.parametrize("path", WORKFLOW_MODULES, ids=lambda path: str(path.relative_to(ROOT)))
def test_workflow_code_reaches_the_engine_only_through_the_seam(path: Path) -> None:
    assert engine_uses(path.read_text()) == []


def test_the_check_finds_a_workflow_that_bypasses_the_seam() -> None:
    """What human_loop did before the seam: it upserted through temporalio.workflow itself."""
    bypass = (
        "from temporalio import workflow\n"
        "from temporalio.exceptions import ActivityError\n"
        "workflow.upsert_search_attributes([])\n"
        "workflow.upsert_memo({})\n"
    )
    assert engine_uses(bypass) == [
        "line 2: ActivityError",
        "line 3: workflow.upsert_search_attributes",
        "line 4: workflow.upsert_memo",
    ]
    assert len(WORKFLOW_MODULES) > 15
