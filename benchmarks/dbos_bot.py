"""``signoff bot`` on the DBOS engine, as a child process of the engines benchmark.

With ``SIGNOFF_ENGINE=dbos`` the bot alone is a deployment: the engine runs the workflows in the
bot's process and the bot reaches them through ``DbosGateway``. The command line does not start
this yet on this branch, so the benchmark puts the same pieces together here: DBOS on
``infra.dbos.dbos_config(settings)``, the queue registered, ``DbosEngine`` with the worker's
activities and model provider, and ``bot.server.run_http`` with the gateway. Settings come from
the environment, as for ``signoff bot``.

    python -m benchmarks.dbos_bot --port 3000
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os

from dbos import DBOS, DBOSClient

from bot.dbos_gateway import DbosGateway
from bot.server import run_http
from core.engine_messages import QUEUE
from infra.dbos import check_database, dbos_config, system_database_url
from infra.settings import Settings
from infra.slack import slack_session
from worker.dbos_engine import DbosEngine
from worker.slack_pacing import ChannelPacer
from worker.worker import model_provider, worker_activities, worker_slack_client

# How often DBOS looks for queued workflows and (on SQLite) for messages. DBOS's default is a
# second; signoff's DBOS stack (in progress) uses 0.1 s, and so does this benchmark.
POLLING_SECONDS = 0.1


async def serve(settings: Settings, port: int) -> None:
    url = system_database_url(settings)
    check_database(url)
    async with slack_session() as session:
        config = dbos_config(settings)
        config["notification_listener_polling_interval_sec"] = POLLING_SECONDS
        DBOS(config=config)
        slack = worker_slack_client(settings, session)
        DbosEngine(worker_activities(settings, slack, ChannelPacer()), model_provider(settings))
        DBOS.launch()
        try:
            await DBOS.register_queue_async(QUEUE, polling_interval_sec=POLLING_SECONDS)
            client = DBOSClient(system_database_url=url)
            try:
                gateway = DbosGateway(client, workflow_settings=settings.workflow)
                await run_http(settings, port, "127.0.0.1", gateway=gateway)
            finally:
                client.destroy()
        finally:
            DBOS.destroy(destroy_registry=False)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dbos_bot", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve(Settings.from_env(os.environ), args.port))


if __name__ == "__main__":
    main()
