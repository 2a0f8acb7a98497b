"""Which figures hold under Slack's rate-limit tiers: every benchmark's Slack sandbox, and what it saw.

The benchmarks make their sandboxes here (``slack_sandbox``, ``sandbox_args`` for one in a child
process). Without ``--slack-tiers`` the sandbox limits nothing but ``chat.postMessage`` per channel, as
before, and each benchmark's report says how many calls of each tier-limited method it made in its
busiest minute against Slack's budget: a figure holds under real tiers only if no method went over (or
if the product paces itself below it). With ``--slack-tiers`` the sandboxes enforce the tiers
(``signoff/sandbox/tiers.py``: 429 + Retry-After past the budget), the figures are measured under them, and the
report counts the 429s each method got.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from signoff.sandbox import SlackSandbox, SlackTiers
from signoff.sandbox.tiers import TIER_BY_METHOD, WINDOW_SECONDS

# The switch for the whole run (python -m benchmarks --slack-tiers).
TIERS = SlackTiers.OFF
# The in-process sandboxes the current benchmark made.
_made: list[SlackSandbox] = []


def slack_sandbox(**options: Any) -> SlackSandbox:
    """A sandbox for a benchmark, under the run's tiers, remembered for its report."""
    sandbox = SlackSandbox(slack_tiers=TIERS, **options)
    _made.append(sandbox)
    return sandbox


def sandbox_args() -> list[str]:
    """``python -m signoff.sandbox`` options for a sandbox in a child process, under the run's tiers."""
    return [] if TIERS is SlackTiers.OFF else ["--slack-tiers", TIERS.value]


@dataclass
class MethodUse:
    method: str
    budget: int  # a minute, under the tiers this report is against
    peak: int  # successful calls in the busiest minute
    limited: int  # 429s the sandbox answered (only when the run enforced the tiers)

    @property
    def over(self) -> bool:
        return self.peak > self.budget


@dataclass
class TierReport:
    bench: str
    enforced: bool
    tiers: SlackTiers
    methods: list[MethodUse] = field(default_factory=list)
    # A sandbox in a child process: its calls cannot be counted here.
    uncounted: bool = False

    @property
    def holds(self) -> bool | None:
        """Counted (not enforced): whether every method stayed within its budget; enforced: None (the
        figures were measured under the limits: their own verdicts say what holds)."""
        if self.uncounted or self.enforced:
            return None
        return not any(use.over for use in self.methods)

    def line(self) -> str:
        against = f"Slack's tiers ({self.tiers.value}{', enforced' if self.enforced else ', not enforced: counted'})"
        if self.uncounted:
            return (
                f"- **{self.bench}**: its sandbox ran in a child process, uncounted; its figures end at the ack "
                "(before any Slack call), so no tier touches them."
            )
        if not self.methods:
            return f"- **{self.bench}**: holds under {against}: no tier-limited call."
        uses = "; ".join(
            f"`{use.method}` {use.peak} in its busiest minute of {use.budget} allowed"
            + (f", {use.limited} answered 429" if use.limited else "")
            for use in self.methods
        )
        if self.enforced:
            # Measured under the limits: the figures themselves (met or missed) are what holds.
            return f"- **{self.bench}**: measured under {against}: {uses}; its figures above are what holds."
        verdict = "holds" if self.holds else "does NOT hold as measured (real Slack would have answered 429)"
        return f"- **{self.bench}**: {verdict} under {against}: {uses}."


def take_report(bench: str) -> TierReport:
    """What the sandboxes ``bench`` made saw of the tier-limited methods; forgets them."""
    tiers = TIERS if TIERS is not SlackTiers.OFF else SlackTiers.INTERNAL
    report = TierReport(bench, enforced=TIERS is not SlackTiers.OFF, tiers=tiers, uncounted=not _made)
    times: dict[str, list[float]] = defaultdict(list)
    limited: dict[str, int] = defaultdict(int)
    for sandbox in _made:
        for call in sandbox.calls:
            if tiers.per_minute(call.method) is None:
                continue
            if call.status == 429:
                limited[call.method] += 1
            else:
                times[call.method].append(call.time)
    _made.clear()
    for method in sorted(set(times) | set(limited), key=lambda m: (TIER_BY_METHOD.get(m, 0), m)):
        budget = tiers.per_minute(method)
        assert budget is not None
        report.methods.append(MethodUse(method, budget, _busiest_minute(sorted(times[method])), limited[method]))
    return report


def _busiest_minute(times: list[float]) -> int:
    """The most calls within any minute (a sliding window over sorted call times)."""
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= WINDOW_SECONDS:
            start += 1
        best = max(best, end - start + 1)
    return best


def section(reports: list[TierReport]) -> str:
    """The results' "Under Slack's tiers" section."""
    if not reports:
        return ""
    enforced = reports[0].enforced
    how = (
        "This run enforced them in every sandbox (`--slack-tiers`): the figures above were measured under them."
        if enforced
        else "This run did not enforce them (run `python -m benchmarks --slack-tiers` for that): each benchmark's "
        "busiest minute of each tier-limited method is set against Slack's budget. Over it, real Slack would "
        "have answered 429 and the figure would not hold as measured."
    )
    return "\n".join(
        [
            "## Under Slack's tiers",
            "",
            "`chat.update`, `conversations.history/replies/info` Tier 3 (50 a minute), `conversations.list/setTopic` "
            f"Tier 2 (20), per app and workspace; `chat.postMessage` ≈ 1 a second per channel throughout. {how}",
            "",
            *(report.line() for report in reports),
            "",
        ]
    )
