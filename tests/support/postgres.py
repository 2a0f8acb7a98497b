"""A real PostgreSQL server for the tests (Debian's package), started once per session on a free port.

Take the ``postgres_url`` fixture (the tests that do are marked ``process``, tests/conftest.py checks):
it is a ``postgresql://`` URL of the server's ``postgres`` database; :func:`database_url` names another
database on it (DBOS creates its own at launch). The cluster lives in a temporary directory with trust
auth, listens on 127.0.0.1 and keeps its unix socket in that directory, and is gone after the session.

``make test`` installs the server with scripts/ensure-postgres.sh; without it (``initdb`` on PATH or
under /usr/lib/postgresql/*/bin) the tests that need it are skipped with that reason, and fail in CI
(CI set). initdb refuses to run as root, so as root the server runs as the ``postgres`` user the
package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from signoff.temporal.devserver import free_port

STARTUP_TIMEOUT_SECONDS = 60.0
RUN_AS = "postgres"  # the system user Debian's package creates
# In CI a missing server is a broken install, not a reason to skip.
IN_CI = bool(os.environ.get("CI"))


class PostgresUnavailable(Exception):
    """Why no server can be started here."""


def _bin_dir() -> Path:
    on_path = shutil.which("initdb")
    if on_path and shutil.which("postgres"):
        return Path(on_path).resolve().parent
    installed = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if installed:
        return Path(installed[-1]).parent
    raise PostgresUnavailable(
        "PostgreSQL is missing (no initdb on PATH or under /usr/lib/postgresql/*/bin): "
        "run scripts/ensure-postgres.sh (make test does) or install Debian's postgresql package"
    )


def _owner() -> pwd.struct_passwd | None:
    """Who runs the server: None = this user; as root, the ``postgres`` user (initdb refuses root)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(RUN_AS)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root and there is no {RUN_AS!r} user to run PostgreSQL as (initdb refuses root); "
            "Debian's postgresql package creates it"
        ) from None


def database_url(server_url: str, name: str) -> str:
    """The URL of database ``name`` on the server ``server_url`` points at."""
    return server_url.rsplit("/", 1)[0] + "/" + name


class PostgresServer:
    """One throw-away cluster: ``initdb`` into a temporary directory, then ``postgres`` as a child."""

    def __init__(self) -> None:
        self.bin_dir = _bin_dir()
        self.owner = _owner()
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="signoff-postgres-"))
        self.data = self.directory / "data"
        self.log_file = self.directory / "postgres.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_owner(self) -> dict[str, object]:
        if self.owner is None:
            return {}
        return {"user": self.owner.pw_uid, "group": self.owner.pw_gid, "extra_groups": []}

    def start(self) -> None:
        if self.owner is not None:
            os.chown(self.directory, self.owner.pw_uid, self.owner.pw_gid)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}
        subprocess.run(
            [self.bin_dir / "initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"],
            cwd=self.directory,
            env=env,
            check=True,
            capture_output=True,
            **self._as_owner(),  # type: ignore[call-overload]
        )
        log = self.log_file.open("ab")
        self.process = subprocess.Popen(
            [
                self.bin_dir / "postgres",
                "-D",
                self.data,
                "-p",
                str(self.port),
                "-k",
                self.directory,
                "-c",
                "listen_addresses=127.0.0.1",
                # Throw-away data: no need to wait for the disk.
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
            ],
            cwd=self.directory,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            **self._as_owner(),  # type: ignore[call-overload]
        )
        self._wait_until_accepting()

    def _wait_until_accepting(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"postgres exited with {self.process.returncode}:\n{self.output()}")
            try:
                with psycopg.connect(self.url, connect_timeout=2) as connection:
                    connection.execute("SELECT 1")
                return
            except psycopg.OperationalError as err:
                if time.monotonic() > deadline:
                    raise AssertionError(f"postgres not accepting after {STARTUP_TIMEOUT_SECONDS}s: {err}") from None
            time.sleep(0.05)  # a poll interval, not a wait for something to settle

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # postgres's "fast" shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)

    def output(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server for the session; its ``postgres`` database's URL."""
    try:
        server = PostgresServer()
    except PostgresUnavailable as missing:
        if IN_CI:
            pytest.fail(str(missing))
        pytest.skip(str(missing))
    try:
        server.start()
        yield server.url
    finally:
        server.stop()
