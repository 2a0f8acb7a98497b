"""Run the Slack sandbox standalone: ``python -m signoff.sandbox --port 8080 --db .data/sandbox.sqlite3``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

from signoff.sandbox.server import SlackSandbox
from signoff.sandbox.tiers import SlackTiers, add_tiers_option


def _port(raw: str) -> int:
    """0 (any free port) to 65535; anything else is argparse's one-line error, exit 2."""
    try:
        port = int(raw)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a port number (0-65535; 0 picks a free one)")
    return port


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m signoff.sandbox", description="A local Slack stand-in for signoff."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=_port, default=8080)
    parser.add_argument("--db", help="SQLite file to keep state in (default: in memory)")
    parser.add_argument("--request-url", help="where to POST signed requests when no Socket Mode client is connected")
    parser.add_argument("--bot-token", default="xoxb-sandbox")
    parser.add_argument("--app-token", default="xapp-sandbox")
    parser.add_argument("--signing-secret", default="sandbox-signing-secret")
    parser.add_argument("--post-rate", type=float, help="chat.postMessage messages per second per channel")
    parser.add_argument("--burst", type=int, default=1)
    add_tiers_option(parser, "rate-limit the Web API by Slack's tiers")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    if args.db:
        Path(args.db).parent.mkdir(parents=True, exist_ok=True)
    sandbox = SlackSandbox(
        args.db,
        bot_token=args.bot_token,
        app_token=args.app_token,
        signing_secret=args.signing_secret,
        request_url=args.request_url,
        post_rate_per_channel=args.post_rate,
        burst=args.burst,
        slack_tiers=args.slack_tiers,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await sandbox.start(args.host, args.port)
    tiers = "" if args.slack_tiers == SlackTiers.OFF else f", Slack's rate-limit tiers on ({args.slack_tiers})"
    print(f"Slack sandbox on {sandbox.url} (Web API base_url {sandbox.api_url}{tiers})", flush=True)
    try:
        await stop.wait()
    finally:
        await sandbox.stop()
        print("Slack sandbox stopped", flush=True)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
