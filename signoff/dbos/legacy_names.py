"""The module names DBOS runs recorded before signoff became one package, so those runs still load.

DBOS stores workflow inputs, step outputs and events as pickles (its ``py_pickle`` format), and a
pickle names each class by module: a run started before the move (issue 20) holds
``core.contracts.ReportInput``, ``core.tool_calls.ToolCall`` and the like. Recovering or reading
such a run unpickles those names. This finder answers them with today's modules, and only them:
it sits last on ``sys.meta_path``, so an installed package called ``core`` (or ``worker``, ``infra``)
is still found first and wins; the old names are never installed as packages.

Tested over values recorded from a real DBOS run of the code before the move
(``tests/histories/dbos/before-namespace.json``).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Sequence

# Every module of the old layout whose classes could be in a pickle: the contracts and what the
# engine passes between steps. (A new module never needs a line here: it was never pickled by name.)
OLD_NAMES = {
    "core.contracts": "signoff.contracts.workflow_io",
    "core.activity_contracts": "signoff.contracts.activity_io",
    "core.tool_calls": "signoff.contracts.tool_calls",
    "core.usage": "signoff.contracts.usage",
    "core.access": "signoff.contracts.access",
    "core.engine_messages": "signoff.contracts.engine_messages",
    "core.search_attributes": "signoff.contracts.search_attributes",
    "core.action_ids": "signoff.slack.action_ids",
    "worker.dbos_engine": "signoff.dbos.engine",
    "worker.slack_tools": "signoff.activities.slack_tools",
    "worker.slack_activities": "signoff.activities.slack",
}
_PARENTS = {name.partition(".")[0] for name in OLD_NAMES}


class _Alias(importlib.abc.Loader):
    def __init__(self, target: str | None) -> None:
        self.target = target
        self._spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        if self.target is None:  # the old top-level name: an empty package, only to hold the aliases
            module = types.ModuleType(
                spec.name, "Old signoff module names, for unpickling (signoff.dbos.legacy_names)."
            )
            module.__path__ = []
            return module
        module = importlib.import_module(self.target)
        self._spec = module.__spec__  # the import system sets the alias's spec on it: put it back below
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        if self.target is not None:
            module.__spec__ = self._spec


class LegacyModuleNames(importlib.abc.MetaPathFinder):
    """Finds the old names, after every real finder has said no."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname in OLD_NAMES:
            return importlib.machinery.ModuleSpec(fullname, _Alias(OLD_NAMES[fullname]))
        if fullname in _PARENTS:
            return importlib.machinery.ModuleSpec(fullname, _Alias(None), is_package=True)
        return None


def install() -> None:
    """Add the finder once, last (idempotent)."""
    if not any(isinstance(finder, LegacyModuleNames) for finder in sys.meta_path):
        sys.meta_path.append(LegacyModuleNames())
