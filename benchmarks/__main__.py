"""Run the benchmarks and print one table; write it to benchmarks/results/.

python -m benchmarks                 # the full run (≈ 28 minutes on 2 cores, 7 of them the lists)
python -m benchmarks --quick         # small counts, a smoke run (≈ 6 minutes)
python -m benchmarks --only ack      # one benchmark (repeatable, or comma-separated)
python -m benchmarks --slack-tiers   # every sandbox enforces Slack's rate-limit tiers (429 past a budget)
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
import tempfile
import time
import traceback
from pathlib import Path

from benchmarks import slack_tiers
from benchmarks.harness import RESULTS_DIR, Figure, machine, notes, table, write_results
from signoff.sandbox import SlackTiers
from signoff.sandbox.tiers import add_tiers_option

# name -> module; run in this order.
BENCHMARKS = {
    "ack": "benchmarks.ack_latency",
    "ack-paused": "benchmarks.ack_engine_elsewhere",
    "click": "benchmarks.click_applied",
    "dm": "benchmarks.dm_click",
    "tool": "benchmarks.tool_allow",
    "throughput": "benchmarks.start_throughput",
    "pending": "benchmarks.pending_scale",
    "crash": "benchmarks.crash_resume",
    "lists": "benchmarks.home_lists",
    "engines": "benchmarks.engines",
    "api": "benchmarks.api",
    "stream": "benchmarks.streamed_progress",
    "proxy": "benchmarks.proxy",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    parser.add_argument(
        "--only", action="append", default=[], metavar="NAME", help=f"run only these ({', '.join(BENCHMARKS)})"
    )
    parser.add_argument("--out", type=Path, default=None, help="results directory (default benchmarks/results)")
    parser.add_argument(
        "--pending",
        type=int,
        default=None,
        metavar="N",
        help="drafts for the pending-scale benchmark (default 1,000; 10,000 takes ≈ 2.5 h on 2 cores: parking, the reminder interval, the fan-out)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory with logs and SQLite files")
    add_tiers_option(
        parser,
        "every Slack sandbox enforces Slack's rate-limit tiers (without it, each benchmark counts its busiest minute per method against them)",
    )
    args = parser.parse_args(argv)
    selected = [name.strip() for item in args.only for name in item.split(",") if name.strip()]
    unknown = [name for name in selected if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    args.selected = selected or list(BENCHMARKS)
    return args


async def run_all(args: argparse.Namespace, tmp: Path) -> tuple[list[Figure], list[str], list[slack_tiers.TierReport]]:
    figures: list[Figure] = []
    errors: list[str] = []
    reports: list[slack_tiers.TierReport] = []
    for name in args.selected:
        print(f"== {name}", flush=True)
        directory = tmp / name
        directory.mkdir()
        started = time.monotonic()
        try:
            module = importlib.import_module(BENCHMARKS[name])
            if name == "pending" and args.pending:
                figures += await module.run(directory, args.quick, count=args.pending)
            else:
                figures += await module.run(directory, args.quick)
        except Exception as err:
            traceback.print_exc()
            errors.append(f"{name}: {type(err).__name__}: {err}")
            figures.append(Figure(bench=name, name="(failed)", unit="", met=False, note=f"{type(err).__name__}: {err}"))
        reports.append(slack_tiers.take_report(name))
        print(f"   {name} took {time.monotonic() - started:.0f} s; {reports[-1].line()[2:]}", flush=True)
    return figures, errors, reports


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    slack_tiers.TIERS = SlackTiers(args.slack_tiers)
    started = time.time()
    keep = tempfile.mkdtemp(prefix="signoff-bench-") if args.keep else None
    with tempfile.TemporaryDirectory(prefix="signoff-bench-") as scratch:
        tmp = Path(keep or scratch)
        figures, errors, reports = asyncio.run(run_all(args, tmp))
    meta = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(started)),
        "seconds": time.time() - started,
        "quick": args.quick,
        "benchmarks": args.selected,
        "machine": machine(),
        "errors": errors,
        "slack_tiers": args.slack_tiers,
        "under_slack_tiers": [
            {"bench": r.bench, "holds": r.holds, "methods": [vars(use) for use in r.methods]} for r in reports
        ],
    }
    stem = "results-quick" if args.quick else "results"
    if args.selected != list(BENCHMARKS):
        stem += "-" + "-".join(args.selected)
    if slack_tiers.TIERS is not SlackTiers.OFF:
        stem += f"-tiers-{slack_tiers.TIERS.value}"
    under_tiers = slack_tiers.section(reports)
    json_path, md_path = write_results(figures, meta, args.out or RESULTS_DIR, stem, under_tiers)
    print()
    print(table(figures))
    print()
    print(notes(figures))
    print()
    print(under_tiers)
    print(f"\nWritten {json_path} and {md_path} ({meta['seconds']:.0f} s).")
    if keep:
        print(f"Logs and databases kept in {keep}")
    missed = [f for f in figures if f.met is False]
    if errors:
        print("Errors: " + "; ".join(errors), file=sys.stderr)
        return 1
    if missed:
        print(f"{len(missed)} target(s) missed; see the notes.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
