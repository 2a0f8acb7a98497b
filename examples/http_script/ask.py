"""Clean up old files, but only once a person in Slack says yes: a plain Python script (no Temporal)
asking through signoff's HTTP API with ``signoff_client.SignoffHTTP`` (README.md here).

    SIGNOFF_API_KEY=… python examples/http_script/ask.py --dir ./build-cache --older-than-days 30

It lists what it would delete, asks for sign-off in Slack, waits for the decision, and deletes
only if approved. The request's idempotency key is made from the list, so running it again after
a crash (or Ctrl-C) waits for the same request instead of asking twice.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

from signoff_client import SignoffAPIError, SignoffHTTP, SignoffRequestInput, SignoffUnreachable

# The exit codes: approved and done; not approved (rejected, sent back, expired, cancelled);
# signoff refused the request or could not be reached.
APPROVED, NOT_APPROVED, FAILED = 0, 1, 2
# The body lists at most this many files (the rest are counted).
LISTED = 50


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, required=True, help="the directory to clean up")
    parser.add_argument("--older-than-days", type=float, default=30.0, help="delete files older than this")
    parser.add_argument("--channel", default="C0APPROVE", help="Slack channel id (default: the sandbox's #approvals)")
    parser.add_argument("--requester", default="U0REQUEST", help="Slack user id (default: the sandbox's Riley)")
    parser.add_argument("--wait-seconds", type=float, default=3600.0, help="how long to wait for a decision")
    parser.add_argument(
        "--url", default=os.environ.get("SIGNOFF_URL", "http://127.0.0.1:3000"), help="signoff's bot (SIGNOFF_URL)"
    )
    return parser.parse_args(argv)


def stale_files(directory: Path, older_than_days: float) -> list[Path]:
    cutoff = time.time() - older_than_days * 86400
    return sorted(path for path in directory.rglob("*") if path.is_file() and path.stat().st_mtime < cutoff)


def describe(directory: Path, files: list[Path]) -> str:
    size = sum(path.stat().st_size for path in files)
    lines = [f"{len(files)} files, {size:,} bytes, in `{directory}`:"]
    lines += [f"• `{path.relative_to(directory)}`" for path in files[:LISTED]]
    if len(files) > LISTED:
        lines.append(f"… and {len(files) - LISTED} more")
    return "\n".join(lines)


def files_phrase(count: int) -> str:
    return f"{count} old file" if count == 1 else f"{count} old files"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    api_key = os.environ.get("SIGNOFF_API_KEY")
    if not api_key:
        print("Set SIGNOFF_API_KEY to a secret of signoff's SIGNOFF_API_KEYS (make demo prints one).", file=sys.stderr)
        return FAILED
    directory = args.dir.resolve()
    files = stale_files(directory, args.older_than_days)
    if not files:
        print(f"Nothing older than {args.older_than_days:g} days in {directory}.")
        return APPROVED
    request = SignoffRequestInput(
        title=f"Delete {files_phrase(len(files))} from {directory.name}",
        body=describe(directory, files),
        channel=args.channel,
        requester=args.requester,
        metadata={"directory": str(directory), "files": len(files)},
    )
    # The same files, the same request: a re-run waits for it rather than asking again.
    listing = "\n".join(str(path) for path in files)
    idempotency_key = "cleanup-" + hashlib.sha256(listing.encode()).hexdigest()[:32]
    try:
        with SignoffHTTP(args.url, api_key) as signoff:
            asked = signoff.create(request, idempotency_key=idempotency_key)
            where = f" (thread {asked.thread.ts} in {asked.thread.channel})" if asked.thread else ""
            print(f"Asked for sign-off: {asked.id}{where}; waiting …", flush=True)
            answer = signoff.get(asked.id, wait=args.wait_seconds)
    except SignoffAPIError as err:
        print(f"signoff refused: {err}" + (f" (field {err.field})" if err.field else ""), file=sys.stderr)
        return FAILED
    except SignoffUnreachable as err:
        print(f"signoff is not reachable at {args.url}: {err}", file=sys.stderr)
        return FAILED
    if answer.result is None or answer.result.outcome != "approved":
        why = answer.result.notes if answer.result else ""
        print(f"Not deleting anything: {answer.status}" + (f" ({why})" if why else ""))
        return NOT_APPROVED
    for path in files:
        path.unlink(missing_ok=True)
    print(f"Deleted {files_phrase(len(files))}, approved by {', '.join(answer.result.decided_by)}.")
    return APPROVED


if __name__ == "__main__":
    sys.exit(main())
