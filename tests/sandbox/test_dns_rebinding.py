"""A page whose name is rebound to 127.0.0.1 cannot use the sandbox: it answers only to an IP or localhost.

After DNS rebinding, the attacker's page at ``http://evil.example:<port>`` talks to the sandbox
same-origin: its Origin matches its Host, so the page's Origin check passes, and the Web API's
token is the well-known ``xoxb-sandbox``. What gives it away is the ``Host`` header, which always
carries the attacker's name: refused (421) before any handler runs, nothing read or changed.
"""

from __future__ import annotations

import json

import aiohttp
import pytest

from signoff.sandbox import SlackSandbox
from signoff.sandbox.server import host_it_serves
from tests.support.slack import CHANNEL, REQUESTER
from tests.support.web import RecordingApp

MESSAGE = {"user": REQUESTER, "channel": CHANNEL, "text": "posted after a DNS rebinding"}


async def _as_host(method: str, url: str, host: str, **kwargs: object) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http, http.request(method, url, headers={"Host": host}, **kwargs) as response:  # type: ignore[arg-type]
        return response.status, await response.json(content_type=None)


async def test_the_rebound_pages_post_is_refused_and_changes_nothing(slack: SlackSandbox, app: RecordingApp) -> None:
    port = slack.url.rsplit(":", 1)[1]
    evil = f"evil.example:{port}"
    body = json.dumps(MESSAGE)
    headers = {"Content-Type": "application/json", "Origin": f"http://{evil}", "Sec-Fetch-Site": "same-origin"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(slack.url + "/ui/api/post", data=body, headers={**headers, "Host": evil}) as response,
    ):
        assert response.status == 421
        assert (await response.json())["error"] == "invalid_host"
    assert slack.messages(CHANNEL) == [] and app.received == [] and slack.deliveries == []


async def test_the_web_api_with_the_known_token_answers_nothing_to_a_rebound_name(slack: SlackSandbox) -> None:
    await slack.post_as_user(REQUESTER, CHANNEL, "a private word")
    port = slack.url.rsplit(":", 1)[1]
    status, answer = await _as_host(
        "POST",
        slack.api_url + "conversations.history",
        f"evil.example:{port}",
        data={"token": slack.bot_token, "channel": CHANNEL},
    )
    assert status == 421 and "a private word" not in json.dumps(answer)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "10.0.0.5"])
async def test_an_address_or_localhost_is_served(slack: SlackSandbox, host: str) -> None:
    port = slack.url.rsplit(":", 1)[1]
    status, answer = await _as_host(
        "POST", slack.api_url + "auth.test", f"{host}:{port}", data={"token": slack.bot_token}
    )
    assert status == 200 and answer["ok"] is True


def test_which_hosts_are_served() -> None:
    assert host_it_serves("127.0.0.1:8080") and host_it_serves("localhost") and host_it_serves("[::1]:8080")
    assert host_it_serves("app.localhost:8080") and host_it_serves("[::1]")
    assert not host_it_serves("evil.example:8080")
    assert not host_it_serves("127.0.0.1.evil.example")
    assert not host_it_serves("localhost.evil.example:8080")
    assert not host_it_serves("") and not host_it_serves("[::1")
