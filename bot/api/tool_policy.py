"""Which tool calls ``signoff mcp-proxy`` and ``signoff hook`` let through, refuse, or ask a person about.

A policy is a small TOML file and/or flags: rules in order, each naming tools by glob (``fnmatch``:
``delete_*``, ``github.*``) with an action (``ask`` / ``allow`` / ``deny``) and, for ``ask``, who
decides (approvers, quorum), where (channel), how often to remind and when it times out (a deadline
denies). The first rule that names a tool decides; a tool no rule names is allowed when it says it
is read-only (``readOnlyHint: true`` and not ``destructiveHint: true``), and asks otherwise.

    [defaults]                       # every ask rule's, unless the rule says otherwise
    channel = "C0APPROVALS"
    approvers = ["U0ALICE", "U0BOB"]
    wait_seconds = 50                # how long one call waits before "approval pending, call again"

    [[rules]]
    tools = ["drop_*", "delete_*"]
    action = "ask"
    required_approvals = 2
    deadline_seconds = 3600

    [[rules]]
    tools = ["rm_rf"]
    action = "deny"
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from signoff.config.setting_types import SettingsError

Action = Literal["ask", "allow", "deny"]
# How long one call waits for a decision before it answers "pending, call again" (an MCP client's
# request timeout is often 60 s).
DEFAULT_WAIT_SECONDS = 50.0
MAX_WAIT_SECONDS = 600.0
# Globs that name every tool: a rule allowing one lets everything through (accepted, with a warning).
_EVERYTHING = frozenset({"*", "**", "*.*"})


class Ask(BaseModel):
    """Who decides an asked call, and how (each unset: the worker's settings)."""

    model_config = ConfigDict(extra="forbid")

    channel: str | None = Field(default=None, pattern=r"^[CG][A-Z0-9]{2,}$")
    approvers: list[str] | None = None
    required_approvals: int | None = Field(default=None, ge=1)
    reminder_seconds: int | None = Field(default=None, ge=1)
    deadline_seconds: int | None = Field(default=None, ge=1)

    @field_validator("approvers")
    @classmethod
    def _user_ids(cls, value: list[str] | None) -> list[str] | None:
        for approver in value or []:
            if not (approver.startswith(("U", "W")) and approver[1:].isalnum() and approver.isupper()):
                raise ValueError(f"{approver!r} is not a Slack user id like U0123ABCD")
        return value

    def over(self, defaults: Ask) -> Ask:
        """This rule's settings, each unset one taken from ``defaults``."""
        fields = set(Ask.model_fields)
        mine = self.model_dump(include=fields, exclude_unset=True, exclude_none=True)
        return Ask.model_validate(defaults.model_dump(include=fields, exclude_none=True) | mine)


class Defaults(Ask):
    wait_seconds: float = Field(default=DEFAULT_WAIT_SECONDS, ge=0, le=MAX_WAIT_SECONDS)


class Rule(Ask):
    tools: list[str] = Field(min_length=1)
    action: Action

    @field_validator("tools")
    @classmethod
    def _globs(cls, value: list[str]) -> list[str]:
        for glob in value:
            if not glob.strip():
                raise ValueError("a tool glob must not be empty")
        return value

    def names(self, tool: str) -> bool:
        return any(fnmatch.fnmatchcase(tool, glob) for glob in self.tools)


class _PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    defaults: Defaults = Field(default_factory=Defaults)
    rules: list[Rule] = Field(default_factory=list)


@dataclass(frozen=True)
class Verdict:
    """What the policy says of one call: the action, and for ``ask`` who decides and how."""

    action: Action
    ask: Ask
    # Why, in words (the rule's globs, or the tool's annotations).
    because: str


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...] = ()
    defaults: Defaults = field(default_factory=Defaults)

    @property
    def wait_seconds(self) -> float:
        return self.defaults.wait_seconds

    def verdict(self, tool: str, *, read_only: bool | None, destructive: bool | None) -> Verdict:
        """The first rule naming ``tool``; else allowed if it says it is read-only (and not
        destructive), asked otherwise."""
        for number, rule in enumerate(self.rules, 1):
            if rule.names(tool):
                return Verdict(rule.action, rule.over(self.defaults), f"rule {number} ({', '.join(rule.tools)})")
        if read_only and not destructive:
            return Verdict("allow", self.defaults.over(Ask()), "the tool says it is read-only (readOnlyHint)")
        return Verdict("ask", self.defaults.over(Ask()), "the tool does not say it is read-only")

    def warnings(self) -> list[str]:
        """What an operator should know at start: a rule that allows every tool."""
        return [
            f"policy rule {number} allows every tool ({', '.join(rule.tools)}): no call will be asked about"
            for number, rule in enumerate(self.rules, 1)
            if rule.action == "allow" and any(glob.strip() in _EVERYTHING for glob in rule.tools)
        ]


def _one_line(source: str, err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "policy"
    return f"{source}: {where}: {first['msg']}"


def load_policy(
    path: Path | None,
    *,
    channel: str | None = None,
    ask: Sequence[str] = (),
    allow: Sequence[str] = (),
    deny: Sequence[str] = (),
    wait_seconds: float | None = None,
) -> Policy:
    """The policy from ``path`` (TOML) and the flags; the flags' rules come first (deny, then ask,
    then allow), ``channel`` and ``wait_seconds`` override the file's defaults. ``SettingsError``
    (one line naming the file and the field) when either is wrong."""
    raw: dict[str, Any] = {}
    source = str(path) if path else "policy"
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as err:
            raise SettingsError(f"--policy {path}: cannot read it: {err.strerror or err}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise SettingsError(f"--policy {path}: not TOML: {err}") from None
    try:
        parsed = _PolicyFile.model_validate(raw)
        flags = [
            Rule(tools=[glob], action=cast(Action, action))
            for action, globs in (("deny", deny), ("ask", ask), ("allow", allow))
            for glob in globs
        ]
        overrides: dict[str, Any] = {}
        if channel is not None:
            overrides["channel"] = channel
        if wait_seconds is not None:
            overrides["wait_seconds"] = wait_seconds
        defaults = Defaults.model_validate(parsed.defaults.model_dump(exclude_none=True) | overrides)
    except ValidationError as err:
        raise SettingsError(_one_line(source, err)) from None
    return Policy(tuple(flags) + tuple(parsed.rules), defaults)
