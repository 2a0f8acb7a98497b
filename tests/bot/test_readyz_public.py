"""/readyz on the public events port answers a bare status; why the bot is not ready (internal hosts,
addresses, errors) is only on the metrics port, which only operators reach."""

from __future__ import annotations

import aiohttp

from bot.app import build_app
from bot.metrics import build_metrics_app
from bot.server import build_web_app
from signoff.config.settings import Settings
from signoff.sandbox import SlackSandbox
from signoff.temporal.connection import connect_client
from signoff.temporal.devserver import free_port
from tests.support.web import serving


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def test_public_readyz_says_only_unavailable_while_the_metrics_port_says_why(slack: SlackSandbox) -> None:
    temporal = f"127.0.0.1:{free_port()}"  # nothing listens there: Temporal is down
    settings = Settings(
        temporal_address=temporal,
        slack_bot_token=slack.bot_token,
        slack_signing_secret=slack.signing_secret,
        slack_api_url=slack.api_url,
    )
    app = build_app(settings, await connect_client(settings, lazy=True))
    async with serving(build_web_app(app)) as public, serving(build_metrics_app(app.readiness)) as metrics:
        # Slack refuses the token: the metrics port says so, the public one only that it is not ready.
        slack.faults.fail("auth.test", error="invalid_auth")
        assert await get(public + "/readyz") == (503, "unavailable")
        slack.faults.fail("auth.test", error="invalid_auth")
        status, detail = await get(metrics + "/readyz")
        assert status == 503 and "Slack auth.test failed: invalid_auth" in detail, detail

        # Slack answers, Temporal is unreachable: likewise.
        assert await get(public + "/readyz") == (503, "unavailable")
        status, detail = await get(metrics + "/readyz")
        assert status == 503 and "Temporal is unreachable" in detail, detail
