"""The bot's metrics (/metrics on --metrics-port), liveness (/healthz) and readiness (/readyz)."""

from __future__ import annotations

import aiohttp
import pytest
from temporalio.testing import WorkflowEnvironment

from bot.app import build_app
from bot.metrics import InstrumentedApp, build_metrics_app
from bot.server import EVENTS_PATH
from signoff.config.settings import Settings
from signoff.contracts.workflow_io import Phase
from signoff.sandbox import SlackSandbox
from signoff.slack import action_ids
from signoff.temporal.connection import connect_client
from signoff.temporal.devserver import DevServer, free_port
from tests.support.bot import bot_settings, worker_and_bot
from tests.support.flows import start_via_slack, waiting_draft
from tests.support.scrape import scrape, value
from tests.support.slack import APPROVER_1, CHANNEL, OUTSIDER, told
from tests.support.temporal import wait_for_phase
from tests.support.waiting import eventually
from tests.support.web import serving

APPROVERS = [APPROVER_1]


async def get(url: str) -> tuple[int, str, dict[str, object] | None]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        body = await response.text()
        data = await response.json() if response.content_type == "application/json" else None
        return response.status, body, data


async def test_a_report_through_slack_moves_the_bots_metrics(
    time_env: WorkflowEnvironment, slack: SlackSandbox
) -> None:
    async with worker_and_bot(slack, time_env.client, bot_settings(slack, approvers=APPROVERS)) as bot:
        assert isinstance(bot.app, InstrumentedApp)
        async with serving(build_metrics_app(bot.app.readiness)) as metrics_base:
            metrics = metrics_base + "/metrics"
            before = await scrape(metrics)

            handle = await start_via_slack(slack, bot.client, "Solar panels for farms")
            await wait_for_phase(handle, Phase.PENDING_APPROVAL)
            _, draft = await waiting_draft(slack, handle)
            # A refusal (not an approver), whose answer meets one 429 from Slack first.
            slack.faults.rate_limit("chat.postEphemeral", retry_after=0)
            await slack.click_button(OUTSIDER, CHANNEL, draft["ts"], action_ids.APPROVE)
            await told(slack, OUTSIDER, "not one of the approvers")
            await slack.click_button(APPROVER_1, CHANNEL, draft["ts"], action_ids.APPROVE)
            await told(slack, APPROVER_1, "Recorded your approval")

            after = await scrape(metrics)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("signoff_bot_commands_started_total", kind="report") == 1
    assert moved("signoff_bot_ack_seconds_count", kind="command") == 1
    assert moved("signoff_bot_ack_seconds_count", kind="action") == 2
    # Acked well within Slack's 3 s: every ack of this test is in the 1 s bucket.
    assert moved("signoff_bot_ack_seconds_bucket", kind="action", le="1.0") == 2
    assert moved("signoff_bot_decisions_total", outcome="recorded") == 1
    assert moved("signoff_bot_decisions_total", outcome="refused") == 1
    assert moved("signoff_bot_refusals_total") == 1
    assert moved("signoff_bot_slack_rate_limited_total") == 1
    assert moved("signoff_bot_slack_api_errors_total", error="ratelimited") == 1
    # The start and the recorded update at least; the refused update answered, as an error.
    assert moved("signoff_bot_temporal_call_seconds_count", outcome="ok") >= 2
    # (Not "unreachable": that count is the process's, and a loaded CI machine's other tests in this
    # process may time a call out meanwhile; the refusal counted as an error above is what is pinned.)
    assert moved("signoff_bot_temporal_call_seconds_count", outcome="error") == 1
    assert moved("signoff_bot_temporal_call_seconds_sum", outcome="ok") > 0


async def test_health_and_readiness_on_the_bots_http_port(time_env: WorkflowEnvironment, slack: SlackSandbox) -> None:
    async with worker_and_bot(slack, time_env.client, bot_settings(slack)) as bot:
        base = bot.url.removesuffix(EVENTS_PATH)
        assert (await get(base + "/healthz"))[:2] == (200, "ok")
        # A bare status on the public port (the reason, when not ready, is on the metrics port).
        assert (await get(base + "/readyz"))[:2] == (200, "ok")


@pytest.mark.slow
@pytest.mark.process
async def test_readyz_503_until_slack_and_temporal_answer(slack: SlackSandbox, tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    port = free_port()
    settings = Settings(
        temporal_address=f"127.0.0.1:{port}",
        slack_bot_token=slack.bot_token,
        slack_signing_secret=slack.signing_secret,
        slack_api_url=slack.api_url,
    )
    # Temporal down: the bot starts all the same (lazily connected), live but not ready.
    app = build_app(settings, await connect_client(settings, lazy=True))
    slack.faults.fail("auth.test", error="invalid_auth")
    server = DevServer(tmp_path / "temporal.sqlite3", port=port)
    async with serving(build_metrics_app(app.readiness)) as base:
        assert (await get(base + "/healthz"))[0] == 200
        status, _, body = await get(base + "/readyz")
        assert status == 503 and body is not None
        assert body["ready"] is False and "Slack auth.test failed: " in str(body["reason"]), body
        assert "invalid_auth" in str(body["reason"])

        status, _, body = await get(base + "/readyz")
        assert status == 503 and body is not None and "Temporal is unreachable" in str(body["reason"]), body
        assert (await get(base + "/healthz"))[0] == 200

        await server.start()
        try:

            async def ready() -> bool:
                return (await get(base + "/readyz"))[0] == 200

            await eventually(ready, timeout=30, interval=0.5)
            assert (await get(base + "/readyz"))[2] == {"ready": True}
        finally:
            server.stop()
        # Down again: not ready again (Slack's auth.test is not asked twice).
        status, _, body = await get(base + "/readyz")
        assert status == 503 and body is not None and "Temporal" in str(body["reason"]), body
