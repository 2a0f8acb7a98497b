"""``python -m signoff.sandbox`` serves until SIGTERM and keeps state in the given file."""

from __future__ import annotations

import asyncio
import re
import signal
import sys

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from tests.support.slack import CHANNEL

pytestmark = pytest.mark.process


async def test_cli_serves_prints_its_url_and_stops_cleanly_on_sigterm(tmp_path):
    db = tmp_path / "data" / "sandbox.sqlite3"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "signoff.sandbox",
        "--port",
        "0",
        "--db",
        str(db),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=10)).decode()
        found = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert found, f"no URL in the sandbox's first line: {line!r}"
        url = found.group(0)
        client = AsyncWebClient(base_url=url + "/api/", token="xoxb-sandbox")
        await client.chat_postMessage(channel=CHANNEL, text="from the cli test")
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=10) == 0
    assert db.exists()
    assert b"stopped" in await process.stdout.read()
