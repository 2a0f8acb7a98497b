"""manifest.yml (Socket Mode) and manifest.http.yml (HTTP) match the code: commands, events, interactivity,
transports and the least bot scopes; they differ only in the transport."""

from __future__ import annotations

import ast
import copy
import re
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import yaml

from bot.listeners import register_listeners
from bot.server import EVENTS_PATH
from signoff.sandbox.directory import DEFAULT_BOT_SCOPES
from signoff.sandbox.interactions import DEFAULT_BOT_EVENTS
from signoff.slack import action_ids
from tests.support.paths import ROOT

MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())
HTTP_MANIFEST = yaml.safe_load((ROOT / "manifest.http.yml").read_text())
# The host README tells people to replace in manifest.http.yml (a reserved name: it reaches nobody).
PLACEHOLDER_HOST = "your-signoff-host.example.com"

# Every file that calls Slack's Web API with the bot token: the product, not the sandbox that answers it.
SLACK_CALLERS = [
    *sorted((ROOT / "bot").rglob("*.py")),
    *sorted(path for path in (ROOT / "signoff").rglob("*.py") if "sandbox" not in path.relative_to(ROOT).parts),
]

# Bot scopes each Web API method needs (api.slack.com/methods). Methods needing none map to an empty set.
HISTORY = {"channels:history", "groups:history", "im:history"}
SCOPES_BY_METHOD: dict[str, set[str]] = {
    "chat.postMessage": {"chat:write"},
    "chat.update": {"chat:write"},
    "chat.postEphemeral": {"chat:write"},
    "chat.getPermalink": set(),
    # The report's streamed progress (signoff/activities/progress_stream.py): chat:write, per the methods' pages.
    "chat.startStream": {"chat:write"},
    "chat.appendStream": {"chat:write"},
    "chat.stopStream": {"chat:write"},
    "conversations.history": HISTORY,
    "conversations.replies": HISTORY,
    "views.open": set(),
    "views.publish": set(),
    "views.update": set(),
    "views.push": set(),
    # Bolt's one-time token check.
    "auth.test": set(),
    # The executor's tools (signoff/activities/slack_tools.py).
    "chat.scheduleMessage": {"chat:write"},
    # Slack's reference lists no scope for it: a bot sees the messages it scheduled.
    "chat.scheduledMessages.list": set(),
    "conversations.list": {"channels:read", "groups:read"},
    # Who may see and decide (bot/membership.py); a DM's members would need im:read, which the app
    # does not ask for: nobody but named approvers decides on a request in a DM.
    "conversations.members": {"channels:read", "groups:read"},
    "conversations.setTopic": {"channels:write.topic", "groups:write.topic"},
    # A retried DM reminder finds the DM it may have posted in (signoff/activities/slack.py): a 1:1 DM's scope.
    "conversations.open": {"im:write"},
    "files.getUploadURLExternal": {"files:write"},
    "files.completeUploadExternal": {"files:write"},
    # With SIGNOFF_APPROVER_GROUP: who is in the user group that decides (bot/membership.py).
    "usergroups.users.list": {"usergroups:read"},
    # The Workflow Builder step's end (signoff/activities/workflow_steps.py): no scope, any of the app's tokens.
    "functions.completeSuccess": set(),
    "functions.completeError": set(),
}
# The bot events a listener's Bolt event type is subscribed as: Bolt's "message" is every message.*
# event, and the app hears people's posts in public (message.channels) and private channels
# (message.groups) it is in; not in DMs (message.im) or group DMs (message.mpim).
BOT_EVENTS_BY_LISTENER: dict[str, set[str]] = {
    "app_home_opened": {"app_home_opened"},
    "message": {"message.channels", "message.groups"},
}
# Bolt's app.function listens to function_executed (for its callback id).
BOT_EVENTS_BY_FUNCTION_LISTENER = {"function_executed"}
# Bot scopes each event needs (docs.slack.dev/reference/events/<event>: "Required scopes").
SCOPES_BY_EVENT: dict[str, set[str]] = {
    "app_home_opened": set(),
    "message.channels": {"channels:history"},
    "message.groups": {"groups:history"},
    "function_executed": set(),
}
# slack_sdk helpers that call several methods.
SDK_HELPERS = {"files_upload_v2": {"files.getUploadURLExternal", "files.completeUploadExternal"}}
# slack_sdk method names: chat_postMessage → chat.postMessage.
_SDK_METHOD = re.compile(
    r"^(chat|conversations|views|users|usergroups|reactions|files|pins|auth|functions)_([a-zA-Z]+(?:_[a-z][a-zA-Z]*)?)$"
)


class RecordingApp:
    """Stands in for AsyncApp: records what the listener modules register."""

    def __init__(self) -> None:
        self.registered: dict[str, list[Any]] = {"command": [], "action": [], "view": [], "event": [], "function": []}

    def __getattr__(self, kind: str):
        if kind not in self.registered:
            raise AttributeError(kind)

        def decorator_factory(constraint: Any, *args: Any, **kwargs: Any):
            self.registered[kind].append(constraint)
            return lambda function: function

        return decorator_factory


def registered() -> dict[str, list[Any]]:
    app = RecordingApp()
    register_listeners(app, SimpleNamespace(gateway=None, settings=None))  # type: ignore[arg-type]
    return app.registered


def web_api_methods() -> set[str]:
    methods = set()
    for path in SLACK_CALLERS:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                methods |= SDK_HELPERS.get(node.func.attr, set())
                match = _SDK_METHOD.match(node.func.attr)
                if match:
                    methods.add(f"{match.group(1)}.{match.group(2).replace('_', '.')}")
    return methods


def test_slash_commands_match_the_listeners() -> None:
    in_manifest = {command["command"] for command in MANIFEST["features"]["slash_commands"]}
    assert in_manifest == set(registered()["command"]) == {"/report", "/plan", "/signoff"}
    for command in MANIFEST["features"]["slash_commands"]:
        assert command["description"] and command["usage_hint"]
        # /signoff takes a person (away … to @person): Slack sends mentions as ids only when escaping.
        escapes = command["command"] == "/signoff"
        assert command["should_escape"] is escapes, "the bot parses raw text and escapes it itself"


def test_events_and_interactivity_match_the_listeners() -> None:
    settings = MANIFEST["settings"]
    listeners = registered()
    subscribed = set().union(*(BOT_EVENTS_BY_LISTENER[event] for event in listeners["event"]))
    if listeners["function"]:
        subscribed |= BOT_EVENTS_BY_FUNCTION_LISTENER
    assert set(settings["event_subscriptions"]["bot_events"]) == subscribed
    assert sorted(listeners["event"]) == ["app_home_opened", "message"]
    # Buttons and modals need interactivity; their ids are the shared constants.
    # The three decision buttons, then the fallback that answers any other action id.
    assert listeners["action"] == [
        action_ids.APPROVE,
        action_ids.TOOL_ALLOW,
        action_ids.TOOL_ALWAYS_ALLOW,
        action_ids.TOOL_DENY,
        action_ids.TOOL_SHOW_ARGUMENTS,
        action_ids.EDIT_APPROVE,
        action_ids.COMMENT_APPROVE,
        action_ids.REQUEST_REVISION,
        action_ids.REJECT,
        action_ids.CLAIM,
        action_ids.RELEASE,
        action_ids.OPEN_THREAD,
        action_ids.DELEGATE,
        action_ids.ANY_OTHER_ACTION,
    ]
    assert set(listeners["view"]) == {
        action_ids.REVISION_MODAL,
        action_ids.REJECT_MODAL,
        action_ids.TOOL_DENY_MODAL,
        action_ids.EDIT_APPROVE_MODAL,
        action_ids.COMMENT_APPROVE_MODAL,
        action_ids.DELEGATE_MODAL,
    }
    assert settings["interactivity"]["is_enabled"] is True
    home = MANIFEST["features"]["app_home"]
    assert home["home_tab_enabled"] is True and home["messages_tab_enabled"] is True
    # Nothing reads what people type in the app's DMs (no message.im): the tab is read-only.
    assert "message.im" not in settings["event_subscriptions"]["bot_events"]
    assert home["messages_tab_read_only_enabled"] is True
    assert settings["socket_mode_enabled"] is True


def _request_urls(manifest: dict[str, Any]) -> list[str | None]:
    """Every URL Slack would call: each slash command's, the events' and the interactivity's."""
    return [
        *(command.get("url") for command in manifest["features"]["slash_commands"]),
        manifest["settings"]["event_subscriptions"].get("request_url"),
        manifest["settings"]["interactivity"].get("request_url"),
    ]


def test_socket_mode_manifest_has_no_request_urls() -> None:
    """Socket Mode apps need none (Slack sends everything over the socket): no placeholder to fill in."""
    assert MANIFEST["settings"]["socket_mode_enabled"] is True
    assert _request_urls(MANIFEST) == [None] * 5
    assert "://" not in (ROOT / "manifest.yml").read_text().split("display_information:")[1]


def test_http_manifest_points_every_request_at_the_bots_path() -> None:
    assert HTTP_MANIFEST["settings"]["socket_mode_enabled"] is False
    for url in _request_urls(HTTP_MANIFEST):
        assert url is not None
        parts = urlsplit(url)
        # Slack only calls HTTPS request URLs; the bot serves all three kinds at the one path.
        assert (parts.scheme, parts.netloc, parts.path) == ("https", PLACEHOLDER_HOST, EVENTS_PATH), url


def test_the_two_manifests_are_the_same_app() -> None:
    """Scopes, commands, events, the Home: all equal; only the transport differs."""
    assert HTTP_MANIFEST["oauth_config"] == MANIFEST["oauth_config"]
    without_transport = copy.deepcopy(HTTP_MANIFEST)
    for command in without_transport["features"]["slash_commands"]:
        del command["url"]
    del without_transport["settings"]["event_subscriptions"]["request_url"]
    del without_transport["settings"]["interactivity"]["request_url"]
    without_transport["settings"]["socket_mode_enabled"] = True
    assert without_transport == MANIFEST


def test_bot_scopes_are_exactly_what_the_calls_need() -> None:
    methods = web_api_methods()
    assert {"chat.postMessage", "chat.update", "chat.postEphemeral", "views.open", "views.publish"} <= methods
    unknown = methods - SCOPES_BY_METHOD.keys()
    assert not unknown, f"add the scopes of {sorted(unknown)} to SCOPES_BY_METHOD (and manifest.yml if needed)"
    events = MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    unknown = set(events) - SCOPES_BY_EVENT.keys()
    assert not unknown, f"add the scopes of {sorted(unknown)} to SCOPES_BY_EVENT (and manifest.yml if needed)"
    needed = (
        {"commands"}
        | set().union(*(SCOPES_BY_METHOD[m] for m in methods))
        | set().union(*(SCOPES_BY_EVENT[e] for e in events))
    )
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == needed
    # Typed answers read the thread's parent; their events need the history scopes of the channels they come from.
    assert "conversations.replies" in methods
    assert {"channels:history", "groups:history"} <= needed


def test_the_sandbox_subscribes_the_app_as_the_manifest_does() -> None:
    """The sandbox delivers people's posts to the app only for the events manifest.yml subscribes to."""
    assert set(DEFAULT_BOT_EVENTS) == set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])


def test_the_sandbox_grants_the_bot_token_the_manifests_scopes() -> None:
    """The sandbox refuses a call the token lacks a scope for (missing_scope) as Slack would: with
    exactly the scopes manifest.yml asks for, a call that works there works in Slack."""
    assert set(DEFAULT_BOT_SCOPES) == set(MANIFEST["oauth_config"]["scopes"]["bot"])
    assert "conversations.members" in web_api_methods()


def test_app_is_named_and_described() -> None:
    info = MANIFEST["display_information"]
    assert info["name"] and 10 <= len(info["description"]) <= 139
    assert MANIFEST["features"]["bot_user"]["display_name"]
