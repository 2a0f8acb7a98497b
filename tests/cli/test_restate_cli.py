"""The command line on ``SIGNOFF_ENGINE=restate``, as real processes: a component that cannot reach
Restate, or finds something else at its URL, or a ``signoff dev`` without the Restate server
installed, says why in one line and exits 2; the Temporal-only commands say they are; ``signoff
audit`` reads Restate; ``signoff dev --engine restate`` stops its Restate server with it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from signoff.restate.server import RestateServer
from signoff.temporal.devserver import free_port
from tests.restate.conftest import require_npm
from tests.support.audit import signoff_audit_with
from tests.support.processes import ChildProcess, signoff_command, wait_until_serving
from tests.support.waiting import eventually

pytestmark = [pytest.mark.process, pytest.mark.slow]

BOT = {"SLACK_SIGNING_SECRET": "secret"}
READY = "Press Ctrl-C to stop."
STOPPED = "Stopped. Data kept in .data/ for the next run."


def _restate(ingress: str, admin: str | None = None, **more: str) -> dict[str, str]:
    return {
        "SIGNOFF_ENGINE": "restate",
        "SIGNOFF_RESTATE_URL": ingress,
        "SIGNOFF_RESTATE_ADMIN_URL": admin or ingress,
        "SIGNOFF_RESTATE_SERVICE_PORT": str(free_port()),
        # A worker without it warns that it cannot post (a line of its own).
        "SLACK_BOT_TOKEN": "xoxb-test",
        **more,
    }


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


@pytest.fixture
async def not_restate() -> AsyncIterator[str]:
    """An HTTP server that answers every request, 404, as most servers do: not Restate."""
    runner = web.AppRunner(web.Application())
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_worker_and_bot_stop_at_start_when_restate_cannot_be_reached() -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    for command, env in (("worker", _restate(nowhere)), ("bot", _restate(nowhere, **BOT))):
        result = await asyncio.to_thread(signoff_command, command, env=env)
        assert result.returncode == 2, result.stderr
        line = _one_line(result.stderr)
        assert line.startswith(f"signoff {command}: SIGNOFF_RESTATE_URL='{nowhere}': cannot reach Restate's ingress")


async def test_a_url_that_answers_but_is_not_restate_is_refused_at_start(not_restate: str) -> None:
    result = await asyncio.to_thread(signoff_command, "worker", env=_restate(not_restate))
    assert result.returncode == 2, result.stderr
    assert _one_line(result.stderr) == (
        f"signoff worker: SIGNOFF_RESTATE_URL='{not_restate}' answers, but not as Restate's ingress "
        "(GET /restate/health: HTTP 404)"
    )


async def test_a_malformed_restate_url_stops_the_worker_and_never_shows_its_password() -> None:
    result = await asyncio.to_thread(
        signoff_command, "worker", env=_restate("ftp://signoff:hunter22@restate.example:8080")
    )
    assert result.returncode == 2, result.stderr
    line = _one_line(result.stderr)
    assert "SIGNOFF_RESTATE_URL" in line and "is not an http(s) URL" in line
    assert "hunter22" not in result.stderr + result.stdout


async def test_the_temporal_only_commands_say_so_on_restate() -> None:
    env = {"SIGNOFF_ENGINE": "restate"}
    setup = await asyncio.to_thread(signoff_command, "setup", env=env)
    assert setup.returncode == 2
    assert _one_line(setup.stderr).startswith(
        "signoff setup: registers Temporal's search attributes; SIGNOFF_ENGINE=restate has nothing to set up"
    )
    demo = await asyncio.to_thread(signoff_command, "demo-terminal", env=env)
    assert demo.returncode == 2
    assert _one_line(demo.stderr) == (
        "signoff demo-terminal: runs on Temporal's dev server only; for SIGNOFF_ENGINE=restate "
        "use `signoff dev --engine restate`"
    )


async def test_audit_reads_restate_and_says_what_it_cannot(tmp_path: Path, not_restate: str) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    unreachable = await signoff_audit_with(_restate(nowhere), "report-T1-C1-abc")
    assert unreachable.returncode == 2
    assert "cannot reach Restate's ingress" in _one_line(unreachable.stderr)

    foreign = await signoff_audit_with(_restate(not_restate), "report-T1-C1-abc")
    assert foreign.returncode == 2
    assert "answers, but not as Restate's ingress" in _one_line(foreign.stderr)

    require_npm()
    async with RestateServer(tmp_path / "restate") as server:
        unknown = await signoff_audit_with(_restate(server.ingress_url, server.admin_url), "report-T1-C1-abc")
    assert unknown.returncode == 1, unknown.stderr
    assert _one_line(unknown.stderr) == (
        f"signoff audit: no workflow 'report-T1-C1-abc' in Restate at {server.admin_url} (SIGNOFF_RESTATE_ADMIN_URL)"
    )


def _dev(tmp_path: Path, *, without_the_server: bool = False, env: dict[str, str] | None = None) -> ChildProcess:
    """``signoff dev --engine restate`` on free ports (tests/support/dev_stack.py); ``without_the_server``:
    as on a machine where ``make install`` found no npm (no node_modules, nothing on PATH)."""
    ports = [str(free_port()) for _ in range(3)]
    command: tuple[str, ...] = ("-m", "tests.support.dev_stack")
    if without_the_server:
        empty = tmp_path / "checkout"
        empty.mkdir()
        command = (
            "-c",
            "import sys; from pathlib import Path; import signoff.restate.server as server; "
            f"server.restate_server_binary.__defaults__ = (Path({str(empty)!r}),); "
            "from tests.support.dev_stack import main; sys.exit(main(sys.argv[1:]))",
        )
    return ChildProcess(
        [str(tmp_path / "data"), *ports, "--engine", "restate"],
        {"PATH": "/usr/bin:/bin"} if without_the_server else (env or {}),
        tmp_path / "dev.log",
        command=command,
    )


@pytest.mark.timeout(180)
async def test_dev_without_the_restate_server_installed_says_how_to_install_it(tmp_path: Path) -> None:
    dev = _dev(tmp_path, without_the_server=True)
    dev.start()
    await eventually(lambda: not dev.running(), timeout=60)
    assert dev.process is not None and dev.process.returncode == 2, dev.output()
    said = [line for line in dev.output().splitlines() if line.startswith("signoff dev:")]
    assert said == [
        "signoff dev: the Restate server is not installed: `make install` puts @restatedev/restate-server "
        "in node_modules/ (it needs Node.js and npm)"
    ], dev.output()
    assert "Traceback" not in dev.output()


def _restate_servers_on(data_dir: Path) -> list[int]:
    """The pids of the restate-server processes running on ``data_dir`` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"restate-server") and os.fsencode(data_dir) in argv:
            found.append(int(entry.name))
    return found


async def _running_dev(tmp_path: Path) -> tuple[ChildProcess, Path]:
    """``signoff dev --engine restate`` once it is ready, and its Restate server's data directory
    (the one server running on it)."""
    require_npm()
    dev = _dev(tmp_path)
    dev.start()
    restate_data = tmp_path / "data" / "restate"
    try:
        # Ready, or gone (a dev that stopped at start is not waited for).
        await eventually(lambda: READY in dev.output() or not dev.running(), timeout=90)
        assert READY in dev.output(), "signoff dev stopped before it was ready"
        assert len(_restate_servers_on(restate_data)) == 1, dev.output()
    except AssertionError as err:
        dev.stop()
        # What it printed says where it stopped (the log goes with the test's directory).
        raise AssertionError(f"{err}\n--- signoff dev printed:\n{dev.output()}") from None
    except BaseException:
        dev.stop()
        raise
    return dev, restate_data


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the processes from /proc")
@pytest.mark.timeout(180)
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
async def test_dev_on_restate_serves_and_stops_its_restate_server_with_it(tmp_path: Path, stop: int) -> None:
    dev, restate_data = await _running_dev(tmp_path)
    try:
        assert "Restate UI:" in dev.output()
        assert dev.process is not None
        dev.process.send_signal(stop)
        await eventually(lambda: not dev.running(), timeout=60)
        assert dev.process.returncode == 0, dev.output()
        assert dev.output().strip().splitlines()[-1] == STOPPED
        assert _restate_servers_on(restate_data) == [], "the Restate server outlived signoff dev"
    finally:
        dev.stop()
    assert "Traceback" not in dev.output()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the processes from /proc")
@pytest.mark.timeout(180)
async def test_a_killed_dev_takes_its_restate_server_with_it(tmp_path: Path) -> None:
    """No stop() runs at a SIGKILL (nor when a hung stop is killed): the server goes all the same,
    and the data directory is free for the next start."""
    dev, restate_data = await _running_dev(tmp_path)
    try:
        dev.kill()
        await eventually(lambda: _restate_servers_on(restate_data) == [], timeout=30)

        dev.start()
        await eventually(lambda: dev.output().count(READY) == 2, timeout=90)
    finally:
        dev.stop()


def _served_times(worker: ChildProcess, starts: int) -> bool:
    return worker.output().count("Restate engine serving on") == starts


async def _deployments(admin_url: str) -> list[dict[str, object]]:
    async with aiohttp.ClientSession() as session, session.get(f"{admin_url}/deployments") as response:
        assert response.status == 200, await response.text()
        found: list[dict[str, object]] = (await response.json())["deployments"]
        return found


@pytest.mark.timeout(180)
async def test_worker_serves_and_registers_the_endpoint_once_whatever_its_starts(tmp_path: Path) -> None:
    """``signoff worker`` is the endpoint Restate calls: registered at start, the same deployment at
    the next start (the same URL, the same handlers), and SIGTERM stops it."""
    require_npm()
    async with RestateServer(tmp_path / "restate") as server:
        port = free_port()
        env = _restate(server.ingress_url, server.admin_url, SIGNOFF_RESTATE_SERVICE_PORT=str(port))
        worker = ChildProcess(["worker"], env, tmp_path / "worker.log")
        registered = []
        for starts in (1, 2):
            worker.start()
            try:
                await wait_until_serving(f"http://127.0.0.1:{port}/health", worker, timeout=60)
                # This start's line (the log keeps the one before): registered, and listening for SIGTERM.
                await eventually(partial(_served_times, worker, starts), timeout=60)
                registered.append(await _deployments(server.admin_url))
                assert worker.process is not None
                worker.process.send_signal(signal.SIGTERM)
                await eventually(lambda: not worker.running(), timeout=30)
                assert worker.process.returncode == 0, worker.output()
            finally:
                worker.stop()
    first, again = registered
    assert [str(d["uri"]).rstrip("/") for d in first] == [f"http://127.0.0.1:{port}"], first
    assert [d["id"] for d in again] == [d["id"] for d in first]
    services = first[0]["services"]
    assert isinstance(services, list)
    assert {service["name"] for service in services} == {
        "ReportGenerationWorkflow",
        "ApprovalWorkflow",
        "SignoffRequest",
        "SignoffToolCallLog",
    }
    assert "Traceback" not in worker.output()


class _HeldRegistration:
    """Restate's admin API passed through, except that a registration (``POST /deployments``) is held
    until ``released``: a worker is stopped while it registers."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.registering = asyncio.Event()
        self.released = asyncio.Event()
        self.url = ""

    async def _pass_on(self, request: web.Request) -> web.Response:
        if request.method == "POST" and request.path == "/deployments":
            self.registering.set()
            await self.released.wait()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method, f"{self.admin_url}{request.path_qs}", data=await request.read(), headers=headers
            ) as answer,
        ):
            return web.Response(status=answer.status, body=await answer.read(), content_type=answer.content_type)

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[_HeldRegistration]:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._pass_on)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"
        try:
            yield self
        finally:
            self.released.set()
            await runner.cleanup()


@pytest.mark.timeout(180)
async def test_a_sigterm_while_the_worker_registers_stops_it(tmp_path: Path) -> None:
    """The SDK's app takes SIGTERM for itself at its endpoint's first request (the health check); a
    SIGTERM from then until the registration was done went to it alone, and the worker never stopped
    (a deploy that stops a starting worker waited for its SIGKILL)."""
    require_npm()
    async with RestateServer(tmp_path / "restate") as server, _HeldRegistration(server.admin_url).serving() as admin:
        port = free_port()
        env = _restate(server.ingress_url, admin.url, SIGNOFF_RESTATE_SERVICE_PORT=str(port))
        worker = ChildProcess(["worker"], env, tmp_path / "worker.log")
        worker.start()
        try:
            await wait_until_serving(f"http://127.0.0.1:{port}/health", worker, timeout=60)
            await eventually(admin.registering.is_set, timeout=60)
            assert worker.process is not None
            worker.process.send_signal(signal.SIGTERM)
            admin.released.set()
            await eventually(lambda: not worker.running(), timeout=30)
            assert worker.process.returncode == 0, worker.output()
        finally:
            worker.stop()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the processes from /proc")
@pytest.mark.timeout(180)
async def test_dev_on_a_service_port_in_use_says_which_setting_and_stops_its_server(tmp_path: Path) -> None:
    require_npm()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        dev = _dev(tmp_path, env={"SIGNOFF_RESTATE_SERVICE_PORT": str(port)})
        dev.start()
        try:
            await eventually(lambda: not dev.running(), timeout=90)
        finally:
            dev.stop()
    assert dev.process is not None and dev.process.returncode == 2, dev.output()
    said = [line for line in dev.output().splitlines() if line.startswith("signoff dev:")]
    assert said == [f"signoff dev: cannot listen on port {port} (SIGNOFF_RESTATE_SERVICE_PORT): Address already in use"]
    assert _restate_servers_on(tmp_path / "data" / "restate") == []
    assert "Traceback" not in dev.output()
