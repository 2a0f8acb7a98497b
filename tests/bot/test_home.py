"""App Home, /report list and /report status need Temporal visibility: these run on the real dev server."""

from __future__ import annotations

import json
import time

from temporalio.client import Client

from core import action_ids
from core.action_ids import ButtonValue
from core.contracts import Phase
from sandbox import SlackSandbox
from signoff.devserver import DevServer
from tests.support.block_checks import assert_valid_everything
from tests.support.bot import bot_client, bot_settings, running_bot
from tests.support.temporal import running_worker, wait_for_phase

CHANNEL = "C0APPROVE"
REQUESTER = "U0REQUEST"
APPROVER = "U0APPROV1"


def home_buttons(view: dict) -> list[tuple[str, str]]:
    return [
        (element["action_id"], element["value"])
        for block in view.get("blocks") or []
        if block["type"] == "actions"
        for element in block["elements"]
    ]


async def click_on_home(slack: SlackSandbox, user: str, action_id: str, value: str) -> None:
    """A click on the App Home: Slack sends block_actions with a ``view`` container."""
    view = slack.home_view(user)
    assert view is not None
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user, "name": user, "team_id": slack.workspace.team_id},
        "api_app_id": "A0SIGNOFF",
        "container": {"type": "view", "view_id": view["id"]},
        "trigger_id": slack.workspace.issue_trigger(user),
        "team": {"id": slack.workspace.team_id, "domain": "sandbox"},
        "view": view,
        "actions": [{"action_id": action_id, "block_id": "home", "type": "button", "value": value, "action_ts": "1"}],
    }
    result = await slack.delivery.send("interactive", payload)
    assert result.acked


async def test_home_list_and_status_from_visibility(dev_server: DevServer, slack: SlackSandbox) -> None:
    settings = bot_settings(slack, approvers=[APPROVER])
    plain = await Client.connect(dev_server.address)
    client = bot_client(plain)
    async with running_worker(plain, settings), running_bot(slack, settings, client):
        await slack.send_slash_command(REQUESTER, "/report", "Battery storage", channel_id=CHANNEL)
        text = await slack.wait_for(
            lambda: next(
                (e["text"] for e in slack.ephemerals(REQUESTER) if "Started your" in (e.get("text") or "")), None
            ),
            timeout=15,
        )
        handle = client.get_workflow_handle(text.split("(`", 1)[1].split("`)", 1)[0])
        await wait_for_phase(handle, Phase.PENDING_APPROVAL)

        # The approver's Home lists the draft with its buttons (visibility may lag a moment).
        deadline = time.monotonic() + 15
        while True:
            await slack.open_home(APPROVER)
            view = await slack.wait_for(lambda: slack.home_view(APPROVER), timeout=10)
            ours = [b for b in home_buttons(view) if ButtonValue.decode(b[1]).workflow_id == handle.id]
            if ours or time.monotonic() > deadline:
                break
        assert [a for a, _ in ours] == list(action_ids.DECISION_ACTIONS)

        # Approving from the Home: acked, told in the app's DM, the Home refreshed without it.
        published = len(slack.calls_to("views.publish"))
        await click_on_home(slack, APPROVER, action_ids.APPROVE, ours[0][1])
        dm = "D" + APPROVER[1:]
        await slack.wait_for(
            lambda: any("Recorded your approval" in (m.get("text") or "") for m in slack.messages(dm)), timeout=15
        )
        await handle.result()
        await slack.wait_for(lambda: len(slack.calls_to("views.publish")) > published, timeout=10)
        assert handle.id not in json.dumps(slack.home_view(APPROVER))

        # The requester's Home lists their request with its status.
        await slack.open_home(REQUESTER)
        requester_view = await slack.wait_for(lambda: slack.home_view(REQUESTER), timeout=10)
        assert "Your requests" in json.dumps(requester_view) and "Battery storage" in json.dumps(requester_view)

        # /report status with no id: the latest in this channel.
        await slack.send_slash_command(REQUESTER, "/report", "status", channel_id=CHANNEL)
        await slack.wait_for(
            lambda: any("Battery storage" in json.dumps(e.get("blocks") or []) for e in slack.ephemerals(REQUESTER)),
            timeout=15,
        )

        # /report list answers from visibility.
        await slack.send_slash_command(REQUESTER, "/report", "list", channel_id=CHANNEL)
        await slack.wait_for(
            lambda: any("open workflow" in (e.get("text") or "") for e in slack.ephemerals(REQUESTER)), timeout=15
        )
    assert_valid_everything(slack)
