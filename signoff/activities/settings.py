"""The activity that hands a workflow the worker's settings.

A workflow started with only a topic (Temporal CLI, UI, the article's client)
reads the worker's configuration once, through this activity, so the
workflow code itself stays deterministic and never touches the environment.
"""

from __future__ import annotations

from dataclasses import replace

from signoff.activities.context import Activity
from signoff.contracts.activity_io import LOAD_WORKER_SETTINGS
from signoff.contracts.workflow_io import WorkflowSettings
from signoff.temporal.search_attributes import SearchAttributeCheck


class WorkerSettingsActivities:
    def __init__(self, settings: WorkflowSettings, search_attributes: SearchAttributeCheck | None = None):
        self._settings = settings
        self._search_attributes = search_attributes

    def by_name(self) -> dict[str, Activity]:
        return {LOAD_WORKER_SETTINGS: self.load_worker_settings}

    async def load_worker_settings(self) -> WorkflowSettings:
        if self._search_attributes is None:
            return self._settings
        # The workflow upserts its search attributes only where the namespace has them.
        return replace(self._settings, search_attributes=await self._search_attributes.registered())
