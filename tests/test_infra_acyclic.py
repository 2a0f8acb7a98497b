"""infra's modules import each other one way: the settings read the Temporal profile
(``infra.temporal_profile``), the client (``infra.temporal``) reads the settings, and the settings
importing the client back, even from inside a function as they once did, breaks the build."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_architecture import copy_tree, lint_imports


@pytest.mark.parametrize(
    ("module", "import_back"),
    [
        ("infra/settings.py", "import infra.temporal"),
        ("infra/settings.py", "def _load() -> None:\n    from infra.temporal import load_temporal"),
        ("infra/temporal_profile.py", "import infra.settings"),
    ],
)
def test_a_cycle_inside_infra_breaks_the_build(tmp_path: Path, module: str, import_back: str) -> None:
    root = copy_tree(tmp_path)
    with (root / module).open("a") as source:
        source.write(f"\n\n{import_back}  # added by test_infra_acyclic\n")

    result = lint_imports(root)

    assert result.returncode != 0, result.stdout
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert "infra's modules import each other one way" in broken, result.stdout
