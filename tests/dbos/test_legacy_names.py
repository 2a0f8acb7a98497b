"""DBOS runs recorded before signoff became one package still load (issue 20: runs in flight recover).

``tests/histories/dbos/before-namespace.json`` holds every value a real DBOS run of the code before
the move stored (a report approved, a /plan with two tool calls allowed): workflow inputs, step
outputs, events and messages, as DBOS serialized them. Never re-record it: it is the old code's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dbos._serialization import DBOSDefaultSerializer, deserialize_value

import signoff.dbos.engine  # noqa: F401  (installs the old names, as the engine does when it runs)
from signoff.contracts.workflow_io import PlanRequest, ReportRequest

RECORDED = Path(__file__).parents[1] / "histories" / "dbos" / "before-namespace.json"


def _recorded() -> list[dict[str, Any]]:
    return [row for row in json.loads(RECORDED.read_text()) if row["serialization"] != "portable_json"]


def _classes(value: object, found: set[type]) -> set[type]:
    found.add(type(value))
    children: Any = value.values() if isinstance(value, dict) else value if isinstance(value, list | tuple) else ()
    if hasattr(value, "__dataclass_fields__"):
        children = [getattr(value, name) for name in value.__dataclass_fields__]
    elif (model_fields := getattr(type(value), "model_fields", None)) is not None:
        children = [getattr(value, name) for name in model_fields]
    for child in children:
        _classes(child, found)
    return found


def test_every_value_of_a_run_recorded_before_the_move_loads_as_todays_classes() -> None:
    rows = _recorded()
    assert len(rows) > 50
    classes: set[type] = set()
    for row in rows:
        _classes(deserialize_value(row["value"], row["serialization"], DBOSDefaultSerializer), classes)
    names = {f"{cls.__module__}.{cls.__qualname__}" for cls in classes}
    # Today's classes, not copies under the old names.
    assert {ReportRequest, PlanRequest} <= classes
    modules = {cls.__module__ for cls in classes}
    assert {
        "signoff.contracts.workflow_io",
        "signoff.contracts.tool_calls",
        "signoff.contracts.engine_messages",
    } <= modules
    assert not {name for name in names if name.startswith(("core.", "worker.", "infra."))}


def test_without_the_old_names_the_recorded_run_would_not_load() -> None:
    """The same values in an interpreter that never imported the DBOS engine: the move alone breaks them."""
    script = (
        "import json, sys\n"
        "from dbos._serialization import DBOSDefaultSerializer, deserialize_value\n"
        "rows = [r for r in json.load(open(sys.argv[1])) if r['serialization'] != 'portable_json']\n"
        "failed = 0\n"
        "for r in rows:\n"
        "    try: deserialize_value(r['value'], r['serialization'], DBOSDefaultSerializer)\n"
        "    except ModuleNotFoundError: failed += 1\n"
        "print(failed)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(RECORDED)], capture_output=True, text=True, check=True)
    assert int(result.stdout) > 0


def test_a_real_package_of_an_old_name_still_wins(tmp_path: Path) -> None:
    """The old names are a last resort: an installed ``core`` package is imported as itself."""
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "__init__.py").write_text("MINE = True\n")
    script = "import signoff.dbos.legacy_names as n; n.install(); import core; print(core.MINE)"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env={"PYTHONPATH": str(tmp_path)}
    )
    assert result.stdout.strip() == "True"


@pytest.mark.parametrize("module", ["signoff.contracts.workflow_io", "signoff.contracts.tool_calls"])
def test_the_real_modules_keep_their_own_spec(module: str) -> None:
    """Loading an old name must not relabel the module it points to."""
    spec = sys.modules[module].__spec__
    assert spec is not None and spec.name == module
