"""Workflow starts as the bot's tests need them: held back until released, and whether one was made."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.client import Client, Interceptor, OutboundInterceptor, StartWorkflowInput, WorkflowHandle
from temporalio.service import RPCError

from tests.support.bot import bot_client


class HeldStarts(Interceptor):
    """Starts wait until ``release`` is set: a Temporal slower than the bot's wait before the ack."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.waiting = 0

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        held = self

        class Held(OutboundInterceptor):
            async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
                held.waiting += 1
                await held.release.wait()
                return await super().start_workflow(input)

        return Held(next)


def intercepted(client: Client, interceptor: Interceptor) -> Client:
    """The bot's client (``bot_client``) on ``client``'s connection, through ``interceptor``."""
    config = bot_client(client).config()
    config["interceptors"] = [interceptor]
    return Client(**config)


async def exists(client: Client, workflow_id: str) -> bool:
    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError:
        return False
    return True
