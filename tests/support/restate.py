"""A real Restate server for the tests: the npm package's binary, in a temp directory, on free ports."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.support.paths import ROOT
from tests.support.waiting import eventually

BINARY_CANDIDATES = (ROOT / "node_modules" / ".bin" / "restate-server", Path("/tmp/rsdk/node_modules/.bin/restate-server"))


def restate_binary() -> Path | None:
    return next((path for path in BINARY_CANDIDATES if path.exists()), None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RestateServer:
    ingress_url: str
    admin_url: str

    async def register(self, endpoint: str) -> None:
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{self.admin_url}/deployments", json={"uri": endpoint, "force": True}) as response,
        ):
            assert response.status < 300, await response.text()


@contextlib.contextmanager
def restate_server(base: Path) -> Iterator[RestateServer]:
    binary = restate_binary()
    assert binary is not None, "the Restate server is missing: make install"
    ingress, admin, node = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "RESTATE_BASE_DIR": str(base),
        "RESTATE_INGRESS__BIND_ADDRESS": f"127.0.0.1:{ingress}",
        "RESTATE_ADMIN__BIND_ADDRESS": f"127.0.0.1:{admin}",
        "RESTATE_BIND_ADDRESS": f"127.0.0.1:{node}",
        "RESTATE_ADVERTISED_ADDRESS": f"http://127.0.0.1:{node}",
        "RESTATE_LOG_FILTER": "info",
    }
    base.mkdir(parents=True, exist_ok=True)
    with (base / "server.log").open("wb") as log:
        process = subprocess.Popen([str(binary)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=base)
    try:
        yield RestateServer(f"http://127.0.0.1:{ingress}", f"http://127.0.0.1:{admin}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(base, ignore_errors=True)


async def until_ready(server: RestateServer) -> None:
    async def ready() -> bool:
        try:
            async with aiohttp.ClientSession() as http, http.get(f"{server.admin_url}/health") as response:
                return response.status == 200
        except aiohttp.ClientError:
            return False

    await eventually(ready, timeout=60)


async def query(server: RestateServer, sql: str) -> list[dict]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.admin_url}/query", json={"query": sql}, headers={"Accept": "application/json"}) as r,
    ):
        return list(json.loads(await r.read())["rows"])


__all__ = ["RestateServer", "asyncio", "free_port", "query", "restate_binary", "restate_server", "until_ready"]
