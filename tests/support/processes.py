"""Run signoff components (the worker, the bot), or a test's own module, as real child processes, so
tests can SIGKILL them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import aiohttp

from signoff.sandbox import SlackSandbox
from signoff.temporal.devserver import free_port
from tests.support.paths import ROOT
from tests.support.waiting import eventually

# ``signoff <args>`` with no .env file: only what the test gives.
SIGNOFF_CLI = ("-m", "signoff.cli", "--env-file", os.devnull)


class ChildProcess:
    """``python <command> <args>`` (``signoff`` by default) in ``cwd`` with only ``env`` of the settings; its
    output in ``log_file``, or its stdout apart in ``stdout_file`` when given (a result to read).
    ``python`` is this test run's interpreter unless given (another virtualenv's)."""

    def __init__(
        self,
        args: list[str],
        env: Mapping[str, str],
        log_file: Path,
        *,
        command: Sequence[str] = SIGNOFF_CLI,
        stdout_file: Path | None = None,
        cwd: Path = ROOT,
        python: Path | str = sys.executable,
    ):
        self.python = str(python)
        self.args = args
        self.env = env
        self.log_file = log_file
        self.command = command
        self.stdout_file = stdout_file
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_file.open("ab")
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SLACK_", "OPENAI_", "SIGNOFF_", "TEMPORAL_", "DBOS"))
        }
        environment.update(self.env)
        self.process = subprocess.Popen(
            [self.python, *self.command, *self.args],
            cwd=self.cwd,
            env=environment,
            stdout=self.stdout_file.open("wb") if self.stdout_file else log,
            stderr=log if self.stdout_file else subprocess.STDOUT,
        )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stdout(self) -> str:
        assert self.stdout_file is not None, "this process's stdout goes to its log"
        return self.stdout_file.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye, as a crash would."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def output(self) -> str:
        return self.log_file.read_text(errors="replace")


def signoff_env(slack: SlackSandbox, temporal_address: str, task_queue: str) -> dict[str, str]:
    """The environment a signoff process needs to work with the sandbox and a Temporal server."""
    return {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": slack.signing_secret,
        "SLACK_API_URL": slack.api_url,
        "TEMPORAL_ADDRESS": temporal_address,
        "SIGNOFF_TASK_QUEUE": task_queue,
    }


async def wait_until_serving(url: str, child: ChildProcess, timeout: float = 30) -> None:
    """Until ``url`` answers 200; fails at once, with the process's output, if it exits."""
    async with aiohttp.ClientSession() as session:

        async def serving() -> bool:
            assert child.process is not None
            if child.process.poll() is not None:
                raise AssertionError(f"the process exited with {child.process.returncode}:\n{child.output()}")
            try:
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=1)) as response:
                    return response.status == 200
            except (aiohttp.ClientError, TimeoutError):
                # Not yet: a process starting on a loaded machine may not answer within this attempt's
                # second (a restarted bot in CI's full run did not); the poll's deadline still bounds it.
                return False

        try:
            await eventually(serving, timeout=timeout, interval=0.1)
        except AssertionError:
            if child.process is not None and child.process.poll() is not None:
                raise
            raise AssertionError(f"{url} not serving after {timeout}s:\n{child.output()}") from None


def _own_journal(env: Mapping[str, str], directory: Path) -> dict[str, str]:
    """``env`` with a bot journal in ``directory`` unless it names one: bots of tests running at once
    would otherwise share .data/'s, which one bot at a time may hold."""
    return {"SIGNOFF_BOT_JOURNAL": str(directory / "signoff-bot-journal.sqlite"), **env}


class BotProcess:
    """``signoff bot --port N`` as a real process, on a fixed port so it can be restarted in place
    (with the same journal: next to its log, unless ``env`` names one)."""

    def __init__(self, env: Mapping[str, str], log_file: Path, port: int | None = None, cwd: Path = ROOT) -> None:
        self.port = port or free_port()
        journal_dir = log_file.parent / f"bot-{self.port}"
        journal_dir.mkdir(parents=True, exist_ok=True)
        self.child = ChildProcess(["bot", "--port", str(self.port)], _own_journal(env, journal_dir), log_file, cwd=cwd)

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def start(self) -> None:
        self.child.start()
        await wait_until_serving(f"http://127.0.0.1:{self.port}/healthz", self.child)

    def kill(self) -> None:
        self.child.kill()

    def stop(self) -> None:
        self.child.stop()


def signoff_command(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``signoff <args>`` to its end with only ``env`` (no .env file), as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "signoff.cli", "--env-file", "/dev/null", *args],
        env={"PATH": "/usr/bin:/bin", **_own_journal(env, Path(tempfile.mkdtemp(prefix="signoff-journal-")))},
        capture_output=True,
        text=True,
        timeout=60,
    )
