"""The ack-latency baseline: a bare Bolt ``AsyncApp`` whose handlers only ``ack()``.

Same Bolt settings as signoff's app (signing on, ``process_before_response=False``), same
Web API client and the same aiohttp adapter (``bot.server.build_web_app``), so the only
difference from the real bot is what the listeners do after the ack.

    python -m benchmarks.bare_app --port 3001 --api-url http://127.0.0.1:8080/api/
"""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp

from benchmarks.harness import BOT_TOKEN, SIGNING_SECRET
from bot.server import build_web_app
from signoff.slack.client import slack_client


def build_bare_app(api_url: str) -> AsyncApp:
    app = AsyncApp(
        client=slack_client(BOT_TOKEN, api_url),
        signing_secret=SIGNING_SECRET,
        process_before_response=False,
    )

    @app.command("/report")
    async def report(ack: AsyncAck) -> None:
        await ack()

    @app.action("signoff_approve")
    async def approve(ack: AsyncAck) -> None:
        await ack()

    return app


async def serve(port: int, api_url: str) -> None:
    runner = web.AppRunner(build_web_app(build_bare_app(api_url)), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bare_app")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-url", required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.api_url))


if __name__ == "__main__":
    main()
