"""A workflow parked by old code is finished by new code, on Restate (the engine's docstring: how
running workflows survive a deploy).

The old release knew every patch but ``DECIDED_PHASE_PATCH``; its run parks at the draft and the
release stops. The new release, which knows that patch too, is served where the run's deployment
is (``SIGNOFF_RESTATE_SERVICE_PORT``), registers (the same deployment: Restate keeps the run pinned
to it) and finishes the run when the approver clicks: on the old branch, since the run's first step
recorded what the code that started it knew, while a run the new release starts takes the new one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

import signoff.restate.engine
from signoff.contracts.workflow_io import Phase
from signoff.restate.admin import RestateAdmin
from signoff.restate.engine import RestateDurable
from signoff.restate.server import RestateServer
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from tests.restate.conftest import require_npm
from tests.restate.test_bot_restart import bot_on, parked_report, restate_settings
from tests.support.engines import phase_of
from tests.support.slack import APPROVER_1, CHANNEL, told
from workflows.patches import ALL_PATCHES, DECIDED_PHASE_PATCH


@pytest.mark.timeout(180)
@pytest.mark.process
async def test_a_run_parked_by_old_code_is_finished_by_new_code_on_its_old_branch(
    time_env: WorkflowEnvironment, slack: SlackSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_npm()
    asked: dict[str, dict[str, bool]] = {}
    patched_async = RestateDurable.patched_async

    async def noted(self: RestateDurable, patch_id: str) -> bool:
        taken = await patched_async(self, patch_id)
        asked.setdefault(self.workflow_id(), {})[patch_id] = taken
        return taken

    monkeypatch.setattr(RestateDurable, "patched_async", noted)
    real_known_patches: Callable[[], Awaitable[list[str]]] = signoff.restate.engine._known_patches

    async def old_release_patches() -> list[str]:
        return sorted(ALL_PATCHES - {DECIDED_PHASE_PATCH})

    async with RestateServer(tmp_path / "restate") as server:
        settings = restate_settings(slack, server)
        monkeypatch.setattr(signoff.restate.engine, "_known_patches", old_release_patches)
        async with bot_on(slack, settings, time_env) as old:
            parked = await parked_report(slack, old, "Solar panels for farms")

        monkeypatch.setattr(signoff.restate.engine, "_known_patches", real_known_patches)
        async with bot_on(slack, settings, time_env) as new:
            deployment = await RestateAdmin(server.admin_url).register(settings.restate_endpoint_url)
            assert not deployment.created  # the run's deployment, now serving the new release
            await slack.click_button(APPROVER_1, CHANNEL, parked.draft["ts"], action_ids.APPROVE)
            await told(slack, APPROVER_1, "Recorded your approval")
            finished = await phase_of(new, parked.workflow_id, Phase.APPROVED, timeout=60)

            fresh = await parked_report(slack, new, "Wind farms")
            await slack.click_button(APPROVER_1, CHANNEL, fresh.draft["ts"], action_ids.APPROVE)
            await phase_of(new, fresh.workflow_id, Phase.APPROVED, timeout=60)

    assert [d.user_id for d in finished.decisions] == [APPROVER_1]
    # The new release finished the old run on the branch its first release knew; a new run takes the new one.
    assert asked[parked.workflow_id][DECIDED_PHASE_PATCH] is False
    assert asked[fresh.workflow_id][DECIDED_PHASE_PATCH] is True
