"""Interactions the sandbox's own UI would never send, forged but properly signed.

Shaped like Slack's (and the sandbox's) payloads, for tests to bend: damaged button values,
foreign teams, broken form metadata, clicks on an App Home.
"""

from __future__ import annotations

import time
from typing import Any

from signoff.sandbox import SlackSandbox
from signoff.sandbox.delivery import DeliveryResult
from tests.support.slack import CHANNEL


def _button(action_id: str, value: str | None, block_id: str) -> dict[str, Any]:
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "text": {"type": "plain_text", "text": action_id},
        "type": "button",
        "action_ts": f"{time.time():.6f}",
    }
    if value is not None:
        action["value"] = value
    return action


def _who(slack: SlackSandbox, user_id: str, team: str) -> dict[str, Any]:
    return {
        "user": {"id": user_id, "username": user_id, "name": user_id, "team_id": team},
        "api_app_id": "A0SIGNOFF",
        "trigger_id": slack.workspace.issue_trigger(user_id),
        "team": {"id": team, "domain": "forged"},
    }


def block_actions(
    slack: SlackSandbox,
    user_id: str,
    message_ts: str,
    action_id: str,
    value: str | None,
    *,
    channel_id: str = CHANNEL,
    team_id: str | None = None,
) -> dict[str, Any]:
    """A click on a button of the message ``message_ts``."""
    team = team_id or slack.workspace.team_id
    return {
        "type": "block_actions",
        **_who(slack, user_id, team),
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id, "is_ephemeral": False},
        "channel": {"id": channel_id, "name": "general"},
        "state": {"values": {}},
        "response_url": slack.url + "/response/forged",
        "actions": [_button(action_id, value, "forged")],
    }


def home_actions(slack: SlackSandbox, user_id: str, action_id: str, value: str) -> dict[str, Any]:
    """A click on a button of ``user_id``'s App Home: Slack sends the view, and no channel."""
    view = slack.home_view(user_id)
    assert view is not None, f"{user_id} has no Home view"
    return {
        "type": "block_actions",
        **_who(slack, user_id, slack.workspace.team_id),
        "container": {"type": "view", "view_id": view["id"]},
        "view": view,
        "actions": [_button(action_id, value, "home")],
    }


def view_submission(
    slack: SlackSandbox, user_id: str, callback_id: str, private_metadata: str, values: dict[str, dict[str, str]]
) -> dict[str, Any]:
    """A form submitted with ``values`` ({block id: {action id: text}}) and whatever metadata."""
    return {
        "type": "view_submission",
        **_who(slack, user_id, slack.workspace.team_id),
        "view": {
            "id": "V0FORGED",
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {
                "values": {
                    block: {field: {"type": "plain_text_input", "value": text} for field, text in fields.items()}
                    for block, fields in values.items()
                }
            },
        },
    }


async def deliver(slack: SlackSandbox, payload: dict[str, Any]) -> DeliveryResult:
    """Deliver ``payload`` as a signed interactive request, exactly as the sandbox delivers its own."""
    return await slack.delivery.send(
        "interactive", payload, accepts_response_payload=payload["type"] == "view_submission", via="http"
    )


def slash_command(
    slack: SlackSandbox, user_id: str, command: str, text: str, *, response_url: str, channel_id: str = CHANNEL
) -> dict[str, Any]:
    """A slash command as Slack sends it, with whatever ``response_url``."""
    return {
        "token": "sandbox-verification-token",
        "team_id": slack.workspace.team_id,
        "team_domain": "forged",
        "channel_id": channel_id,
        "channel_name": "general",
        "user_id": user_id,
        "user_name": user_id,
        "command": command,
        "text": text,
        "api_app_id": "A0SIGNOFF",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": slack.workspace.issue_trigger(user_id),
    }


async def deliver_command(slack: SlackSandbox, payload: dict[str, Any]) -> DeliveryResult:
    """Deliver ``payload`` as a signed slash command over HTTP, as the sandbox delivers its own."""
    return await slack.delivery.send("slash_commands", payload, accepts_response_payload=True, via="http")
