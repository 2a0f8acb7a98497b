"""Ctrl-C on ``make demo``, ``make demo-dbos`` and ``make demo-restate`` (``signoff dev [--engine …]``) with a draft
waiting: it prints "Stopped." and nothing else, and the draft, still waiting, is approved after the
next start. On Temporal this is also ``make demo`` end to end: /report, the draft, a click.

The demo runs as a process (tests/support/dev_stack.py: the command line's ``signoff dev`` on free
ports and a data directory of the test's); the test drives it as a person would, through the
sandbox's web page API (/ui/api/…), and stops it with SIGINT, which is what Ctrl-C sends.
"""

from __future__ import annotations

import json
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from signoff.slack import action_ids
from signoff.temporal.devserver import free_port
from tests.support.processes import ChildProcess
from tests.support.slack import APPROVER_1, CHANNEL, REQUESTER
from tests.support.waiting import eventually

# `signoff dev` started twice (a Temporal dev server, or DBOS, each time) and a report to its draft: ~25 s alone.
pytestmark = [pytest.mark.process, pytest.mark.slow, pytest.mark.timeout(180)]

READY = "Press Ctrl-C to stop."
STOPPED = "Stopped. Data kept in .data/ for the next run."


class Demo:
    """``signoff dev --engine <engine>`` in ``data_dir``, started and stopped as often as asked."""

    def __init__(self, tmp_path: Path, engine: str) -> None:
        self.sandbox_port = free_port()
        ports = [str(self.sandbox_port), str(free_port()), str(free_port())]
        self.process = ChildProcess(
            [str(tmp_path / "data"), *ports, "--engine", engine],
            {},
            tmp_path / "demo.log",
            command=("-m", "tests.support.dev_stack"),
        )
        self.url = f"http://127.0.0.1:{self.sandbox_port}"

    async def start(self) -> None:
        seen = self.process.output().count(READY) if self.process.log_file.exists() else 0
        self.process.start()
        await eventually(lambda: self.process.output().count(READY) > seen, timeout=60)

    async def ctrl_c(self) -> str:
        """SIGINT, as Ctrl-C in the terminal; what it printed from then on, once it has exited."""
        assert self.process.process is not None
        before = len(self.process.output())
        self.process.process.send_signal(signal.SIGINT)
        await eventually(lambda: not self.process.running(), timeout=60)
        assert self.process.process.returncode == 0, self.process.output()[before:]
        return self.process.output()[before:]

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with aiohttp.ClientSession() as http, http.request(method, self.url + path, json=body) as response:
            assert response.status == 200, await response.text()
            return await response.json()


def _buttons(message: dict[str, Any]) -> list[str]:
    return [
        element["action_id"]
        for block in message.get("blocks") or []
        if block["type"] == "actions"
        for element in block["elements"]
    ]


async def _thread(demo: Demo) -> list[dict[str, Any]]:
    """The report's thread in #general (the parent first), or [] before it is there."""
    channel = await demo.call("GET", f"/ui/api/channels/{CHANNEL}?user={REQUESTER}")
    parents = [m for m in channel["messages"] if m.get("thread_ts") == m["ts"]]
    if not parents:
        return []
    thread = await demo.call("GET", f"/ui/api/channels/{CHANNEL}/threads/{parents[0]['ts']}?user={REQUESTER}")
    return list(thread["messages"])


@pytest.mark.parametrize("engine", ["dbos", "temporal", "restate"])
async def test_ctrl_c_with_a_draft_waiting_says_stopped_and_the_draft_is_approved_after_a_restart(
    tmp_path: Path, engine: str
) -> None:
    demo = Demo(tmp_path, engine)
    await demo.start()
    try:
        asked = await demo.call(
            "POST", "/ui/api/post", {"user": REQUESTER, "channel": CHANNEL, "text": "/report Heat pumps"}
        )
        assert asked["acked"], asked

        async def draft_waiting() -> list[dict[str, Any]] | None:
            thread = await _thread(demo)
            drafts = [m for m in thread if action_ids.APPROVE in _buttons(m)]
            # The note is the last post before the workflow waits for a decision.
            ready = any("is ready for a decision" in m.get("text", "") for m in thread)
            return thread if drafts and ready else None

        waiting = await eventually(draft_waiting, timeout=60)
        said = await demo.ctrl_c()
        assert said.strip().splitlines() == [STOPPED], said

        await demo.start()
        # Nothing changed while it was stopped: the same thread, the draft still waiting with its buttons.
        assert await _thread(demo) == waiting
        [draft] = [m for m in waiting if action_ids.APPROVE in _buttons(m)]
        clicked = await demo.call(
            "POST",
            "/ui/api/click",
            {"user": APPROVER_1, "channel": CHANNEL, "ts": draft["ts"], "action_id": action_ids.APPROVE},
        )
        assert clicked["acked"], clicked

        async def approved() -> list[dict[str, Any]] | None:
            thread = await _thread(demo)
            return thread if "Approved" in json.dumps(thread[0]["blocks"]) else None

        thread = await eventually(approved, timeout=60)
        keys = Counter(m["metadata"]["event_payload"]["key"] for m in thread if m.get("metadata"))
        assert keys and max(keys.values()) == 1, keys
        assert len([m for m in thread if m["ts"] == draft["ts"] or action_ids.APPROVE in _buttons(m)]) == 1
        assert (await demo.ctrl_c()).strip().splitlines() == [STOPPED]
    finally:
        demo.process.stop()
    assert "Traceback" not in demo.process.output()
