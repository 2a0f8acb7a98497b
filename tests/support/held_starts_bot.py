"""``signoff bot`` whose workflow starts never end: ``python -m tests.support.held_starts_bot <port>``.

The bot of the command line (``bot.server.run_http`` on Temporal, or on the DBOS engine in its process
with ``SIGNOFF_ENGINE=dbos``; settings from the environment), except that every start waits forever
once handed to the gateway: a test can kill it right after it acknowledged requests, and be sure
none of their starts was made.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import NoReturn

from bot.app import build_gateway
from bot.dbos_gateway import DbosGateway
from bot.gateway import Started, TemporalGateway
from bot.server import connect_temporal, run_http
from signoff.config.settings import Engine, Settings
from signoff.contracts.workflow_io import SlackOrigin


async def _forever() -> NoReturn:
    await asyncio.Event().wait()
    raise AssertionError("never set")


class HeldTemporalStarts(TemporalGateway):
    async def start_report(self, topic: str, origin: SlackOrigin, request_key: str) -> Started:
        await _forever()

    async def start_plan(self, task: str, origin: SlackOrigin, request_key: str) -> Started:
        await _forever()


class HeldDbosStarts(DbosGateway):
    async def start_report(self, topic: str, origin: SlackOrigin, request_key: str) -> Started:
        await _forever()

    async def start_plan(self, task: str, origin: SlackOrigin, request_key: str) -> Started:
        await _forever()


async def main(port: int) -> None:
    settings = Settings.from_env(os.environ)
    if settings.engine is Engine.DBOS:
        from signoff.dbos.stack import engine_with_gateway

        async with engine_with_gateway(settings) as dbos:
            held = HeldDbosStarts(dbos.client, events=dbos.events, workflow_settings=dbos.workflow_settings)
            await run_http(settings, port, gateway=held)
        return
    real = build_gateway(settings, await connect_temporal(settings))
    temporal = HeldTemporalStarts(real.client, task_queue=real.task_queue, workflow_settings=real.workflow_settings)
    await run_http(settings, port, gateway=temporal)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(int(sys.argv[1])))
