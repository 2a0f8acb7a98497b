"""The layers point one way: the import contracts in pyproject.toml hold, and would catch a break.

``make lint`` runs the same contracts; these tests also prove each contract bites, by
adding one forbidden import to a copy of the tree and checking lint-imports refuses it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("signoff", "bot", "workflows", "tests", "benchmarks", "examples")
# The client's own distribution: copied to the copy's root, where it is imported from ahead of the installed one.
CLIENT = Path("clients/python/signoff_client")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    # Run from `root` so the packages are imported from there, not from the installed tree.
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_tree(dest: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            dest / package,
            ignore=shutil.ignore_patterns("__pycache__", "static", "histories", "*.json"),
        )
    shutil.copytree(ROOT / CLIENT, dest / CLIENT.name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def test_the_tree_keeps_every_import_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "forbidden_import", "contract"),
    [
        ("workflows/report.py", "import bot.gateway", "Layers point down"),
        ("workflows/thread.py", "import signoff.activities.slack", "Layers point down"),
        ("signoff/contracts/workflow_io.py", "import workflows.approval", "Layers point down"),
        ("bot/gateway.py", "import signoff.worker", "Layers point down"),
        ("signoff/worker.py", "import bot.app", "Layers point down"),
        ("signoff/config/settings.py", "import signoff.cli", "Layers point down"),
        ("signoff/sandbox/server.py", "import tests.doubles.openai_standin", "The Slack sandbox"),
        ("signoff/models/offline.py", "import tests.support.temporal", "Product code never imports tests"),
        ("signoff/worker.py", "import examples.deploy.workflows", "Product code never imports the examples"),
        ("examples/deploy/workflows.py", "import workflows.signoff_request", "Examples use signoff as any team would"),
        ("examples/deploy/shared.py", "import signoff.contracts.workflow_io", "Examples use signoff as any team would"),
        (
            "signoff_client/_models.py",
            "import signoff.contracts.workflow_io",
            "The client (clients/python, signoff_client) stands alone",
        ),
        ("signoff_client/_request.py", "import slack_sdk", "The client (clients/python, signoff_client) stands alone"),
        ("workflows/approval.py", "import slack_sdk", "Workflow code and the contracts stay deterministic"),
        ("signoff/slack/rendering/text.py", "import aiohttp", "Rendering is pure"),
        (
            "signoff/sandbox/store.py",
            "import signoff.sandbox.server",
            "Inside each package, siblings import each other one way",
        ),
        ("signoff/slack/client.py", "import signoff.activities.slack", "Layers point down"),
        ("signoff/contracts/access.py", "import signoff.config.settings", "Layers point down"),
        # A cycle inside a package, at any depth: bot, workflows, signoff and its subpackages.
        ("bot/gateway.py", "import bot.listeners.actions", "Inside each package, siblings import each other one way"),
        (
            "workflows/approval.py",
            "import workflows.human_loop",
            "Inside each package, siblings import each other one way",
        ),
        ("signoff/activities/slack.py", "import signoff.worker", "Layers point down"),
        # The settings read the Temporal profile; the client reads the settings, never back (they once
        # did from inside a function, which this contract sees too).
        (
            "signoff/config/settings.py",
            "import signoff.temporal.connection",
            "Inside each package, siblings import each other one way",
        ),
        (
            "signoff/config/settings.py",
            "def load() -> None:\n    import signoff.temporal.connection",
            "Inside each package, siblings import each other one way",
        ),
        (
            "signoff/config/temporal_profile.py",
            "import signoff.config.settings",
            "Inside each package, siblings import each other one way",
        ),
    ],
)
def test_a_forbidden_import_breaks_the_build(tmp_path: Path, module: str, forbidden_import: str, contract: str) -> None:
    root = copy_tree(tmp_path)
    with (root / module).open("a") as source:
        source.write(f"\n{forbidden_import}  # added by test_architecture\n")

    result = lint_imports(root)

    assert result.returncode != 0, result.stdout
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout
