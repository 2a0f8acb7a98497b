"""The activity that hands a workflow the worker's settings.

A workflow started with only a topic (Temporal CLI, UI, the article's client)
reads the worker's configuration once, through this activity, so the
workflow code itself stays deterministic and never touches the environment.
"""

from __future__ import annotations

from temporalio import activity

from core.activity_contracts import LOAD_WORKER_SETTINGS
from core.contracts import WorkflowSettings


class WorkerSettingsActivities:
    def __init__(self, settings: WorkflowSettings):
        self._settings = settings

    @activity.defn(name=LOAD_WORKER_SETTINGS)
    async def load_worker_settings(self) -> WorkflowSettings:
        return self._settings
