"""A started Restate server answers the admin API's SQL at once: the bot's first status and list
read it (on a fresh server both health checks pass while the partition is still starting, and a
query then answers 500, "node lookup for partition 1 failed")."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from signoff.restate.server import RestateServer
from tests.restate.conftest import require_npm


async def test_a_started_server_answers_queries_at_once(tmp_path: Path) -> None:
    require_npm()
    async with (
        RestateServer(tmp_path / "restate") as server,
        aiohttp.ClientSession() as session,
        session.post(
            f"{server.admin_url}/query",
            json={"query": "SELECT status FROM sys_invocation LIMIT 1"},
            headers={"Accept": "application/json"},
        ) as answer,
    ):
        status, body = answer.status, await answer.text()
    assert status == 200, body
