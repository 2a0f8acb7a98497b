"""What installing signoff writes into site-packages: three import names, and the client only its own.

A wheel's ``top_level.txt`` is the list of names ``pip install`` puts at the top of ``site-packages``.
Before issue 20 there were seven generic ones (``core``, ``infra``, ``worker``…), and ``workflows``
beside them collides with other packages' names; the brief keeps ``bot`` and ``workflows``.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UV = Path(sys.executable).parent / "uv"
# uv builds each wheel in an isolated environment with setuptools (from its cache, or the index).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def _wheel(source: Path, out: Path) -> zipfile.ZipFile:
    result = subprocess.run(
        [str(UV), "build", "--wheel", "--quiet", "--out-dir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert result.returncode == 0, result.stderr
    [wheel] = out.glob("*.whl")
    return zipfile.ZipFile(wheel)


def _top_level(wheel: zipfile.ZipFile) -> set[str]:
    [name] = [n for n in wheel.namelist() if n.endswith(".dist-info/top_level.txt")]
    return set(wheel.read(name).decode().split())


def test_the_app_installs_bot_workflows_and_signoff_only(tmp_path: Path) -> None:
    wheel = _wheel(ROOT, tmp_path / "app")

    assert _top_level(wheel) == {"bot", "workflows", "signoff"}
    names = wheel.namelist()
    assert {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")} == {
        "bot",
        "workflows",
        "signoff",
    }
    # The sandbox's page travels with it (package data), and no test double does.
    assert "signoff/sandbox/static/app.js" in names
    assert not [n for n in names if n.startswith("tests/") or "openai_standin" in n]


def test_the_client_installs_signoff_client_only(tmp_path: Path) -> None:
    wheel = _wheel(ROOT / "clients" / "python", tmp_path / "client")

    assert _top_level(wheel) == {"signoff_client"}
