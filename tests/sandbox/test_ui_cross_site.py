"""The sandbox page's actions refuse what another web site could make the demo user's browser send:
a "simple" (text/plain or form) POST, or any POST whose Origin or Sec-Fetch-Site says another site.
Refused with 403 and a JSON error; nothing is posted, delivered or changed."""

from __future__ import annotations

import json

import aiohttp
import pytest

from signoff.sandbox import SlackSandbox
from tests.support.slack import CHANNEL, REQUESTER
from tests.support.web import RecordingApp

MESSAGE = {"user": REQUESTER, "channel": CHANNEL, "text": "posted by another site"}
COMMAND = {"user": REQUESTER, "channel": CHANNEL, "text": "/report posted by another site"}


async def post(url: str, body: dict, headers: dict[str, str]) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http, http.post(url, data=json.dumps(body), headers=headers) as response:
        return response.status, await response.json()


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        # What <form enctype="text/plain"> or fetch(..., {mode: "no-cors"}) sends: no preflight.
        ({"Content-Type": "text/plain"}, "must be application/json"),
        ({"Content-Type": "application/x-www-form-urlencoded"}, "must be application/json"),
        ({"Content-Type": "application/json", "Origin": "https://evil.example"}, "cross-site request"),
        ({"Content-Type": "application/json", "Origin": "null"}, "cross-site request"),
        ({"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, "cross-site request cannot act"),
        ({"Content-Type": "application/json", "Sec-Fetch-Site": "same-site"}, "same-site request cannot act"),
    ],
)
@pytest.mark.parametrize("body", [MESSAGE, COMMAND], ids=["message", "slash command"])
async def test_a_post_another_site_could_make_is_refused_and_changes_nothing(
    slack: SlackSandbox, app: RecordingApp, headers: dict[str, str], error: str, body: dict
) -> None:
    status, answer = await post(slack.url + "/ui/api/post", body, headers)
    assert status == 403 and answer["ok"] is False and error in answer["error"], answer
    assert slack.messages(CHANNEL) == [] and app.received == [] and slack.deliveries == []


@pytest.mark.parametrize("path", ["/ui/api/click", "/ui/api/submit", "/ui/api/close", "/ui/api/home"])
async def test_every_action_refuses_a_cross_site_post(slack: SlackSandbox, app: RecordingApp, path: str) -> None:
    status, answer = await post(slack.url + path, {"user": REQUESTER}, {"Content-Type": "text/plain"})
    assert status == 403 and "application/json" in answer["error"], answer
    status, answer = await post(
        slack.url + path, {"user": REQUESTER}, {"Content-Type": "application/json", "Origin": "https://evil.example"}
    )
    assert status == 403 and "cross-site" in answer["error"], answer
    assert app.received == [] and slack.deliveries == []


async def test_the_pages_own_post_is_accepted(slack: SlackSandbox, app: RecordingApp) -> None:
    """What the page's fetch sends: JSON, its own origin, same-origin."""
    headers = {"Content-Type": "application/json", "Origin": slack.url, "Sec-Fetch-Site": "same-origin"}
    status, answer = await post(slack.url + "/ui/api/post", MESSAGE, headers)
    assert status == 200 and answer["ok"], answer
    assert [m["text"] for m in slack.messages(CHANNEL)] == [MESSAGE["text"]]
