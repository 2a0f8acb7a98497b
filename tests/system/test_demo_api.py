"""``make demo`` (``signoff dev``) and the HTTP API: it prints the API's URL, the MCP endpoint and a
ready dev API key (made once, kept in the data directory, owner-only, the same after a restart);
with that key, examples/http_script/ask.py, run on a fresh virtualenv holding only
``signoff-client[http]``, asks for sign-off; the request is a thread on the sandbox page like any
other, an approver approves it there, and the script acts on the answer (deletes the old files).

The demo runs as a process (tests/support/dev_stack.py), driven as a person would through the
sandbox page's API (/ui/api/…); the script is a process of the fresh virtualenv's interpreter.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from signoff_client import AsyncSignoffHTTP, SignoffAuthError, SignoffRequestInput

from signoff.dev import DEV_API_KEY_FILE
from signoff.slack import action_ids
from tests.examples.test_client_only import APP_ONLY, UNBUILT, client_only_python, distributions
from tests.support.paths import ROOT
from tests.support.processes import ChildProcess
from tests.support.slack import APPROVALS_CHANNEL, APPROVER_1, REQUESTER
from tests.support.waiting import eventually
from tests.system.test_demo_shutdown import Demo, _buttons

# A fresh virtualenv, then `signoff dev` started twice and the script as a process: ~40 s alone.
pytestmark = [pytest.mark.process, pytest.mark.slow, pytest.mark.timeout(300)]

OLD_SECONDS = 40 * 86400


def banner_value(output: str, label: str) -> str:
    found = re.findall(rf"^  {label}:\s+(\S+)", output, re.MULTILINE)
    assert found, f"no {label!r} line in:\n{output}"
    return str(found[-1])


def old_files(directory: Path) -> list[Path]:
    """Three files 40 days old and one new one in ``directory``."""
    directory.mkdir()
    old = [directory / name for name in ("a.o", "b.o", "nested/c.o")]
    for path in old:
        path.parent.mkdir(exist_ok=True)
        path.write_text("stale")
        os.utime(path, (time.time() - OLD_SECONDS, time.time() - OLD_SECONDS))
    (directory / "fresh.o").write_text("new")
    return old


async def _thread_of(demo: Demo, title: str) -> list[dict[str, Any]] | None:
    """The thread titled ``title`` in #approvals as the sandbox page shows it (the parent first), or None."""
    channel = await demo.call("GET", f"/ui/api/channels/{APPROVALS_CHANNEL}?user={APPROVER_1}")
    parents = [m for m in channel["messages"] if m.get("thread_ts") == m["ts"] and title in m.get("text", "")]
    if not parents:
        return None
    path = f"/ui/api/channels/{APPROVALS_CHANNEL}/threads/{parents[0]['ts']}?user={APPROVER_1}"
    thread = await demo.call("GET", path)
    return list(thread["messages"])


async def test_the_demo_prints_a_working_api_key_and_the_example_script_asks_with_only_the_client(
    tmp_path: Path,
) -> None:
    python = client_only_python(tmp_path, "[http]")
    installed = distributions(python)
    assert {"signoff-client", "httpx2", "temporalio", "pydantic"} <= installed
    assert not installed & APP_ONLY, installed & APP_ONLY
    caller = tmp_path / "caller"
    shutil.copytree(ROOT / "examples", caller / "examples", ignore=UNBUILT)
    cache = caller / "build-cache"
    stale = old_files(cache)

    demo = Demo(tmp_path, "temporal")
    await demo.start()
    try:
        printed = demo.process.output()
        api_url = banner_value(printed, "HTTP API")
        key = banner_value(printed, "API key")
        base = api_url.removesuffix("/v1/requests")
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base), api_url
        assert banner_value(printed, "MCP") == f"{base}/mcp"
        # Kept in the data directory, for its owner only; never a secret of the repository's.
        key_file = tmp_path / "data" / DEV_API_KEY_FILE
        assert key_file.read_text().strip() == key and len(key) >= 32
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert key not in (ROOT / "signoff" / "dev.py").read_text()

        script = ChildProcess(
            ["--dir", str(cache), "--requester", REQUESTER],
            {"SIGNOFF_URL": base, "SIGNOFF_API_KEY": key},
            tmp_path / "ask.log",
            command=("examples/http_script/ask.py",),
            stdout_file=tmp_path / "ask.out",
            cwd=caller,
            python=python,
        )
        script.start()
        try:
            await eventually(lambda: "Asked for sign-off" in script.stdout() or not script.running(), timeout=60)
            assert script.running(), f"{script.output()}{script.stdout()}"

            async def draft_waiting() -> dict[str, Any] | None:
                thread = await _thread_of(demo, "Delete 3 old files")
                drafts = [m for m in thread or [] if action_ids.APPROVE in _buttons(m)]
                return drafts[0] if drafts else None

            # On the sandbox page like any other thread: its draft with the decision buttons.
            draft = await eventually(draft_waiting, timeout=60)
            assert "nested/c.o" in str(draft)
            clicked = await demo.call(
                "POST",
                "/ui/api/click",
                {"user": APPROVER_1, "channel": APPROVALS_CHANNEL, "ts": draft["ts"], "action_id": action_ids.APPROVE},
            )
            assert clicked["acked"], clicked
            await eventually(lambda: not script.running(), timeout=60)
        finally:
            script.stop()
        said = script.stdout()
        assert script.process is not None and script.process.returncode == 0, f"{script.output()}{said}"
        assert f"Deleted 3 old files, approved by {APPROVER_1}." in said
        assert not any(path.exists() for path in stale) and (cache / "fresh.o").exists()

        # Another key is refused; the printed one is the same after a restart.
        async with AsyncSignoffHTTP(base, key + "x") as forged:
            with pytest.raises(SignoffAuthError):
                await forged.create(SignoffRequestInput(title="t", body="b", channel=APPROVALS_CHANNEL))
        await demo.ctrl_c()
        await demo.start()
        assert banner_value(demo.process.output(), "API key") == key
        await demo.ctrl_c()
    finally:
        demo.process.stop()
    assert "Traceback" not in demo.process.output()
