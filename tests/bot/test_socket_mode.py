"""Socket Mode: the same app, connected to the sandbox's WebSocket (hello, envelopes, acks by envelope id)."""

from __future__ import annotations

import contextlib

from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from bot.app import build_app
from bot.server import socket_mode_handler
from core.contracts import Phase
from sandbox import SlackSandbox
from tests.support.block_checks import assert_valid_everything
from tests.support.bot import bot_client, bot_settings
from tests.support.temporal import running_worker, wait_for_phase
from workflows.human_loop import HumanReviewedWorkflow


async def test_report_over_socket_mode_reaches_the_workflow(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    settings = bot_settings(slack, socket_mode=True, approvers=["U0APPROV1"])
    client = bot_client(time_env.client)
    app = build_app(settings, client)
    handler = socket_mode_handler(app, settings)
    async with running_worker(time_env.client, settings):
        await handler.connect_async()
        try:
            await slack.wait_for(lambda: slack.socket_mode.connected, timeout=10)
            result = await slack.send_slash_command("U0REQUEST", "/report", "Heat pumps", channel_id="C0GENERAL")
            assert result.transport == "socket_mode" and result.acked

            def confirmation() -> str | None:
                return next(
                    (
                        e["text"]
                        for e in slack.ephemerals("U0REQUEST")
                        if "Started your report" in (e.get("text") or "")
                    ),
                    None,
                )

            text = await slack.wait_for(confirmation, timeout=15)
            workflow_id = text.split("(`", 1)[1].split("`)", 1)[0]
            handle = client.get_workflow_handle(workflow_id)
            await wait_for_phase(handle, Phase.PENDING_APPROVAL)
            progress = await handle.query(HumanReviewedWorkflow.progress)
            assert progress.requester_id == "U0REQUEST" and progress.subject == "Heat pumps"
            assert progress.thread is not None and progress.thread.channel_id == "C0GENERAL"
            # Closed before the worker stops, so nothing is left running on the shared test server.
            await handle.cancel()
            with contextlib.suppress(WorkflowFailureError):
                await handle.result()
        finally:
            await handler.close_async()
    assert_valid_everything(slack)
