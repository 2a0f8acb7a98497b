"""The proxy's policy: globs, first rule wins, flags before the file, the read-only default, the
per-rule settings over the defaults, one-line errors, and the warning for a rule that allows all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.api.tool_policy import DEFAULT_WAIT_SECONDS, load_policy
from signoff.config.setting_types import SettingsError

POLICY = """
[defaults]
channel = "C0APPROVE"
approvers = ["U0ALICE", "U0BOB"]
wait_seconds = 20

[[rules]]
tools = ["drop_*", "delete_*"]
action = "ask"
required_approvals = 2
deadline_seconds = 3600

[[rules]]
tools = ["rm_rf"]
action = "deny"

[[rules]]
tools = ["list_*"]
action = "allow"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return path


def test_rules_by_glob_first_wins_with_the_defaults_beneath(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, POLICY))
    drop = policy.verdict("drop_table", read_only=True, destructive=False)
    assert drop.action == "ask" and drop.because.startswith("rule 1")
    assert (drop.ask.required_approvals, drop.ask.deadline_seconds) == (2, 3600)
    assert (drop.ask.channel, drop.ask.approvers) == ("C0APPROVE", ["U0ALICE", "U0BOB"])
    assert policy.verdict("rm_rf", read_only=None, destructive=None).action == "deny"
    assert policy.verdict("list_repos", read_only=False, destructive=True).action == "allow"
    assert policy.wait_seconds == 20


def test_no_rule_read_only_passes_everything_else_asks() -> None:
    policy = load_policy(None)
    assert policy.verdict("get", read_only=True, destructive=None).action == "allow"
    # Read-only and destructive at once: the destructive hint wins.
    assert policy.verdict("odd", read_only=True, destructive=True).action == "ask"
    assert policy.verdict("plain", read_only=None, destructive=None).action == "ask"
    assert policy.wait_seconds == DEFAULT_WAIT_SECONDS


def test_flags_come_before_the_file_and_override_its_defaults(tmp_path: Path) -> None:
    policy = load_policy(
        write(tmp_path, POLICY), channel="C0OTHER", deny=["drop_*"], allow=["delete_*"], wait_seconds=5
    )
    assert policy.verdict("drop_table", read_only=None, destructive=None).action == "deny"
    assert policy.verdict("delete_row", read_only=None, destructive=None).action == "allow"
    assert policy.verdict("plain", read_only=None, destructive=None).ask.channel == "C0OTHER"
    assert policy.wait_seconds == 5


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[[rules]]\ntools = ["x"]\naction = "maybe"', "rules.0.action"),
        ('[[rules]]\ntools = []\naction = "ask"', "rules.0.tools"),
        ('[[rules]]\ntools = ["x"]\naction = "ask"\napprovers = ["alice"]', "rules.0.approvers"),
        ('[defaults]\nchannel = "#general"', "defaults.channel"),
        ("[defaults]\nwait_seconds = -1", "defaults.wait_seconds"),
        ('[[rule]]\ntools = ["x"]', "rule"),
        ("tools = [", "not TOML"),
    ],
)
def test_a_wrong_policy_is_one_line_naming_the_field(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_policy(write(tmp_path, text))
    assert named in str(raised.value) and "\n" not in str(raised.value)


def test_a_rule_allowing_everything_is_accepted_with_a_warning(tmp_path: Path) -> None:
    policy = load_policy(None, allow=["*"])
    assert policy.verdict("drop_table", read_only=None, destructive=True).action == "allow"
    [warning] = policy.warnings()
    assert "allows every tool" in warning
    assert load_policy(write(tmp_path, POLICY)).warnings() == []


@pytest.mark.process
def test_the_command_exits_2_with_one_line_on_a_wrong_policy(tmp_path: Path) -> None:
    path = write(tmp_path, '[[rules]]\ntools = ["x"]\naction = "maybe"')
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "signoff.cli",
            "--env-file",
            "/dev/null",
            "mcp-proxy",
            "--policy",
            str(path),
            "--",
            "true",
        ],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        check=False,
    )
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("signoff mcp-proxy: ") and "rules.0.action" in line
