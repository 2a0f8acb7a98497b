"""The restate extra stays optional: only the signoff.restate modules import the Restate SDK and
hypercorn (an import contract in pyproject.toml), and the contract bites."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_architecture import copy_tree, lint_imports

CONTRACT = "Only the signoff.restate modules import the Restate SDK and its HTTP/2 server"


@pytest.mark.parametrize(
    ("module", "forbidden_import"),
    [
        ("bot/app.py", "import restate"),
        ("workflows/runtime.py", "from restate import Context"),
        ("signoff/config/settings.py", "import hypercorn.asyncio"),
    ],
)
def test_an_import_of_the_restate_extra_outside_signoff_restate_breaks_the_build(
    tmp_path: Path, module: str, forbidden_import: str
) -> None:
    root = copy_tree(tmp_path)
    with (root / module).open("a") as source:
        source.write(f"\n{forbidden_import}  # added by test_restate_extra\n")

    result = lint_imports(root)

    assert result.returncode != 0, result.stdout
    assert CONTRACT in result.stdout.split("Broken contracts", 1)[-1], result.stdout
