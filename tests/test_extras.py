"""The extras stay optional: signoff's base install (uv.lock without the ``dbos``, ``restate`` and ``otel``
extras and without the dev group) imports and runs, and a setting that needs a missing extra is a one-line error
with the install command and exit code 2, not a traceback.

The base install is real: a fresh venv with exactly the locked base packages, from uv's cache
(``make install`` filled it; what is not there is fetched as ``make install`` does), and this
checkout on its ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from signoff.config.extras import Extra, require_extra
from signoff.config.settings import SettingsError
from tests.test_architecture import copy_tree, lint_imports

ROOT = Path(__file__).resolve().parent.parent
UV = Path(sys.executable).parent / "uv"
# The module's venv (built once, by whichever test runs first) counts toward that test's timeout.
pytestmark = pytest.mark.timeout(180)
# What the extras bring that the base install must not need.
EXTRAS_ONLY = ("dbos", "psycopg", "sqlalchemy", "opentelemetry.exporter.otlp", "restate", "hypercorn")
# Every entry point's module, and the modules they choose an engine or tracing in.
BASE_MODULES = (
    "signoff.cli",
    "signoff.dev",
    "bot.app",
    "bot.server",
    "signoff.worker",
    "signoff.temporal.connection",
    "signoff.sandbox",
)


def _uv(*args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run([str(UV), *args], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, f"uv {' '.join(args)}: {result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def base_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the locked base dependencies only: no extras, no dev group, not signoff itself."""
    home = tmp_path_factory.mktemp("base-install")
    requirements = home / "requirements.txt"
    requirements.write_text(
        _uv("export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes", "--format", "requirements-txt")
    )
    venv = home / "venv"
    _uv("venv", "--quiet", "--python", sys.executable, str(venv))
    # From the cache `make install` filled; a wheel it did not hold (installed before uv managed .venv)
    # comes from the index, as `make install` takes it.
    _uv("pip", "install", "--quiet", "-r", str(requirements), env={**os.environ, "VIRTUAL_ENV": str(venv)})
    return venv / "bin" / "python"


def _run(python: Path, cwd: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    # A clean environment and an empty directory (no .env): only the settings given here.
    env = {"PATH": os.environ["PATH"], "HOME": str(cwd), "PYTHONPATH": str(ROOT), **settings}
    return subprocess.run([str(python), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_the_base_install_lacks_the_extras(base_python: Path, tmp_path: Path) -> None:
    for module in EXTRAS_ONLY:
        result = _run(base_python, tmp_path, "-c", f"import {module}")
        assert result.returncode != 0, f"{module} is in the base install"


@pytest.mark.slow
def test_every_entry_point_imports_without_the_extras(base_python: Path, tmp_path: Path) -> None:
    imports = "; ".join(f"import {module}" for module in BASE_MODULES)
    result = _run(base_python, tmp_path, "-c", imports)
    assert result.returncode == 0, result.stderr

    result = _run(base_python, tmp_path, "-m", "signoff.cli", "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: signoff" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "settings", "expected"),
    [
        (
            "worker",
            {"SIGNOFF_ENGINE": "dbos"},
            "signoff worker: SIGNOFF_ENGINE=dbos needs signoff's dbos extra (dbos, psycopg, sqlalchemy not installed):"
            " pip install 'signoff[dbos]'",
        ),
        (
            "bot",
            {"SIGNOFF_ENGINE": "dbos", "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "secret"},
            "signoff bot: SIGNOFF_ENGINE=dbos needs signoff's dbos extra",
        ),
        (
            "worker",
            {"SIGNOFF_ENGINE": "restate"},
            "signoff worker: SIGNOFF_ENGINE=restate needs signoff's restate extra (restate, hypercorn not installed):"
            " pip install 'signoff[restate]'",
        ),
        (
            "worker",
            {"SIGNOFF_TRACING": "console"},
            "signoff worker: SIGNOFF_TRACING=console needs signoff's otel extra"
            " (opentelemetry.exporter.otlp.proto.http not installed): pip install 'signoff[otel]'",
        ),
        ("setup", {"SIGNOFF_TRACING": "otlp"}, "signoff setup: SIGNOFF_TRACING=otlp needs signoff's otel extra"),
        (
            "worker",
            {"SIGNOFF_PREFERENCES": "postgresql://signoff:s3cret@db:5432/preferences"},
            "signoff worker: SIGNOFF_PREFERENCES=postgresql://… needs signoff's dbos extra (psycopg not installed):"
            " pip install 'signoff[dbos]'",
        ),
    ],
)
def test_a_setting_that_needs_a_missing_extra_is_a_one_line_error(
    base_python: Path, tmp_path: Path, command: str, settings: dict[str, str], expected: str
) -> None:
    result = _run(base_python, tmp_path, "-m", "signoff.cli", command, **settings)

    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(expected), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr


@pytest.mark.slow
def test_dev_with_the_dbos_engine_stops_before_starting_anything(base_python: Path, tmp_path: Path) -> None:
    result = _run(base_python, tmp_path, "-m", "signoff.cli", "dev", "--engine", "dbos")

    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("signoff dev: SIGNOFF_ENGINE=dbos needs signoff's dbos extra"), result.stderr
    assert not (tmp_path / ".data").exists()


@pytest.mark.slow
def test_a_client_with_tracing_on_needs_the_otel_extra_before_it_connects(base_python: Path, tmp_path: Path) -> None:
    # The library path (a caller of connect_client, not the CLI): the same error, before any connection.
    script = (
        "import asyncio\n"
        "from signoff.config.settings import Settings, SettingsError\n"
        "from signoff.temporal.connection import connect_client\n"
        "settings = Settings.from_env({'SIGNOFF_TRACING': 'console', 'TEMPORAL_ADDRESS': '127.0.0.1:9'})\n"
        "try:\n"
        "    asyncio.run(connect_client(settings))\n"
        "except SettingsError as err:\n"
        "    print(err)\n"
    )
    result = _run(base_python, tmp_path, "-c", script)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("SIGNOFF_TRACING=console needs signoff's otel extra"), result.stdout


def test_require_extra_names_the_setting_the_missing_modules_and_the_install_command() -> None:
    with pytest.raises(SettingsError) as raised:
        require_extra(Extra("extra", ("json", "no_such_module", "no_such_package.sub")), "SIGNOFF_X=y")

    assert str(raised.value) == (
        "SIGNOFF_X=y needs signoff's extra extra (no_such_module, no_such_package.sub not installed):"
        " pip install 'signoff[extra]'"
    )
    require_extra(Extra("present", ("json", "importlib.util")), "SIGNOFF_X=y")


@pytest.mark.parametrize(
    ("forbidden_import", "contract"),
    [
        ("import dbos", "Only the DBOS modules import DBOS"),
        ("import sqlalchemy", "Only the DBOS modules import DBOS"),
        ("import opentelemetry.sdk.trace", "Only signoff.temporal.tracing imports OpenTelemetry"),
    ],
)
def test_an_import_of_an_extra_outside_its_modules_breaks_the_build(
    tmp_path: Path, forbidden_import: str, contract: str
) -> None:
    root = copy_tree(tmp_path)
    with (root / "bot" / "app.py").open("a") as source:
        source.write(f"\n{forbidden_import}  # added by test_extras\n")

    result = lint_imports(root)

    assert result.returncode != 0, result.stdout
    assert contract in result.stdout.split("Broken contracts", 1)[-1], result.stdout
