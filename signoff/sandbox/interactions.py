"""What a person does in Slack, turned into the requests Slack sends the app.

Each action builds Slack's payload (slash command, block_actions,
view_submission, view_closed, app_home_opened, a message they post), delivers it, and then does
what Slack does with the acknowledgement: a slash command's ack body becomes
a message, a view submission's ``response_action`` updates, pushes, clears or
keeps the modal.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from typing import Any

from signoff.sandbox import blocks as block_kit
from signoff.sandbox.delivery import Delivery, DeliveryResult, NoRoute, Via
from signoff.sandbox.directory import APP_ID, BOT_USER_ID, TEAM_DOMAIN, Channel, User
from signoff.sandbox.response_url import ResponseUrls
from signoff.sandbox.store import Message
from signoff.sandbox.workspace import SlackError, Workspace, new_id

log = logging.getLogger(__name__)

VERIFICATION_TOKEN = "sandbox-verification-token"
# The app's bot event subscriptions (manifest.yml settings.event_subscriptions.bot_events): which
# ``message`` events Slack sends it when a person posts.
DEFAULT_BOT_EVENTS = frozenset({"app_home_opened", "message.channels", "message.groups", "function_executed"})


def message_subscription(channel: Channel) -> str:
    """The bot event a message posted in ``channel`` is delivered under (message.channels, …)."""
    if channel.is_im:
        return "message.im"
    return "message.groups" if channel.is_private else "message.channels"


def channel_type(channel: Channel) -> str:
    """A message event's ``channel_type``: "channel", "group" (private) or "im"."""
    if channel.is_im:
        return "im"
    return "group" if channel.is_private else "channel"


def escape_typed(text: str) -> str:
    """What Slack's client does to typed text: &, < and > become entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class InteractionError(LookupError):
    """The interaction is impossible in Slack (no such button, view not open, ...)."""


class Interactions:
    def __init__(
        self,
        workspace: Workspace,
        delivery: Delivery,
        response_urls: ResponseUrls,
        bot_events: Iterable[str] = DEFAULT_BOT_EVENTS,
    ) -> None:
        self.workspace = workspace
        self.delivery = delivery
        self.response_urls = response_urls
        # What the app subscribes to; only message events are filtered by it (send_event sends anything).
        self.bot_events = frozenset(bot_events)

    # -- slash commands ------------------------------------------------------------------

    async def slash_command(
        self, user_id: str, command: str, text: str = "", *, channel_id: str = "C0GENERAL", via: Via = "auto"
    ) -> DeliveryResult:
        user = self._user(user_id)
        channel = self.workspace.channel(channel_id)
        trigger_id = self.workspace.issue_trigger(user.id)
        response_url = self.response_urls.issue(channel=channel.id, user=user.id)
        payload = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.workspace.team_id,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel.id,
            "channel_name": "directmessage" if channel.is_im else channel.name,
            "user_id": user.id,
            "user_name": user.name,
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
        result = await self.delivery.send("slash_commands", payload, accepts_response_payload=True, via=via)
        result.trigger_id, result.response_url = trigger_id, response_url
        if result.acked and result.payload:
            self._show_command_response(channel.id, user.id, result.payload)
        return result

    def _show_command_response(self, channel_id: str, user_id: str, ack: dict[str, Any]) -> None:
        """Slack shows a slash command's ack body: to the user, or to the channel if in_channel."""
        blocks = ack.get("blocks")
        if ack.get("response_type") == "in_channel":
            self.workspace.post_message(channel_id, text=ack.get("text"), blocks=blocks)
        else:
            self.workspace.post_ephemeral(channel_id, user_id, text=ack.get("text"), blocks=blocks)

    # -- buttons ------------------------------------------------------------------

    async def click_button(
        self,
        user_id: str,
        channel_id: str,
        message_ts: str,
        action_id: str,
        value: str | None = None,
        *,
        via: Via = "auto",
    ) -> DeliveryResult:
        """Click a button that is in the stored message (or in an ephemeral shown to this user)."""
        user = self._user(user_id)
        channel = self.workspace.channel(channel_id)
        message = self.workspace.store.get_message(channel.id, message_ts)
        ephemeral = None if message else self.workspace.store.get_ephemeral(channel.id, message_ts)
        if message is not None:
            found_blocks, rendered = message.blocks, self.workspace.render_message(message)
        elif ephemeral is not None and ephemeral.recipient == user.id:
            found_blocks, rendered = ephemeral.blocks, None
        else:
            raise InteractionError(f"no message {message_ts} in {channel.id} visible to {user.id}")
        found = block_kit.find_button(found_blocks, action_id)
        if found is None:
            raise InteractionError(f"message {message_ts} in {channel.id} has no button with action_id {action_id!r}")
        block_id, button = found
        if value is not None and value != button.get("value"):
            raise InteractionError(
                f"button {action_id!r} carries value {button.get('value')!r}, not {value!r}; use click_button_raw to forge one"
            )
        return await self.click_button_raw(
            user.id,
            channel.id,
            message_ts,
            action_id,
            value=button.get("value"),
            block_id=block_id,
            text=button.get("text"),
            message=rendered,
            is_ephemeral=message is None,
            via=via,
        )

    async def click_button_raw(
        self,
        user_id: str,
        channel_id: str,
        message_ts: str,
        action_id: str,
        value: str | None = None,
        *,
        block_id: str | None = None,
        text: dict[str, Any] | None = None,
        message: dict[str, Any] | None = None,
        is_ephemeral: bool = False,
        via: Via = "auto",
    ) -> DeliveryResult:
        """Deliver a block_actions payload as given, whether or not such a button exists."""
        user = self._user(user_id)
        channel = self.workspace.channel(channel_id)
        trigger_id = self.workspace.issue_trigger(user.id)
        response_url = self.response_urls.issue(
            channel=channel.id, user=user.id, message_ts=message_ts, is_ephemeral=is_ephemeral
        )
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id or "sandbox",
            "text": text or {"type": "plain_text", "text": action_id, "emoji": True},
            "type": "button",
            "action_ts": f"{time.time():.6f}",
        }
        if value is not None:
            action["value"] = value
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user_ref(user),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel.id,
                "is_ephemeral": is_ephemeral,
            },
            "trigger_id": trigger_id,
            "team": {"id": self.workspace.team_id, "domain": TEAM_DOMAIN},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel.id, "name": "directmessage" if channel.is_im else channel.name},
            "state": {"values": {}},
            "response_url": response_url,
            "actions": [action],
        }
        if message is not None:
            payload["message"] = message
        result = await self.delivery.send("interactive", payload, via=via)
        result.trigger_id, result.response_url = trigger_id, response_url
        return result

    # -- modals ------------------------------------------------------------------

    async def submit_view(
        self, user_id: str, view_id: str, values: dict[str, dict[str, str]] | None = None, *, via: Via = "auto"
    ) -> DeliveryResult:
        """Submit the user's top modal with input values ``{block_id: {action_id: value}}``."""
        user = self._user(user_id)
        stack = self.workspace.store.open_views(user.id)
        if not stack or stack[-1]["id"] != view_id:
            raise InteractionError(f"view {view_id} is not the modal {user.id} has on top")
        view = dict(stack[-1])
        view["state"] = {"values": _state_values(view["blocks"], values or {})}
        trigger_id = self.workspace.issue_trigger(user.id)
        payload = {
            "type": "view_submission",
            "team": {"id": self.workspace.team_id, "domain": TEAM_DOMAIN},
            "user": self._user_ref(user),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "trigger_id": trigger_id,
            "view": view,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        result = await self.delivery.send("interactive", payload, accepts_response_payload=True, via=via)
        result.trigger_id = trigger_id
        if result.acked:
            self._apply_response_action(user.id, result.payload or {})
        return result

    def _apply_response_action(self, user_id: str, ack: dict[str, Any]) -> None:
        action = ack.get("response_action")
        if action == "errors":
            return
        if action == "update":
            self.workspace.replace_top_view(user_id, ack.get("view"))
        elif action == "push":
            self.workspace.push_view_for(user_id, ack.get("view"))
        else:
            self.workspace.close_views(user_id, all_views=action == "clear")

    async def close_view(self, user_id: str, view_id: str, *, via: Via = "auto") -> DeliveryResult | None:
        """The user closes their top modal; the app hears view_closed only if it asked (notify_on_close)."""
        user = self._user(user_id)
        stack = self.workspace.store.open_views(user.id)
        if not stack or stack[-1]["id"] != view_id:
            raise InteractionError(f"view {view_id} is not the modal {user.id} has on top")
        top = stack[-1]
        closed = self.workspace.close_views(user.id, all_views=bool(top.get("clear_on_close")))
        if not top.get("notify_on_close"):
            return None
        payload = {
            "type": "view_closed",
            "team": {"id": self.workspace.team_id, "domain": TEAM_DOMAIN},
            "user": self._user_ref(user),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "view": top,
            "is_cleared": len(closed) > 1,
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return await self.delivery.send("interactive", payload, via=via)

    # -- events ------------------------------------------------------------------

    async def open_home(self, user_id: str, *, via: Via = "auto") -> DeliveryResult:
        user = self._user(user_id)
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user.id,
            "channel": self.workspace.directory.im_with(user.id).id,
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        home = self.workspace.store.home_view(user.id)
        if home is not None:
            event["view"] = home
        return await self.send_event(event, via=via)

    async def post_as_user(
        self, user_id: str, channel_id: str, text: str, *, thread_ts: str | None = None, via: Via = "auto"
    ) -> tuple[Message, DeliveryResult | None]:
        """A person types ``text`` in a channel or a thread, and Slack tells the app.

        The message is posted as the person, escaped as Slack's client does. The app gets
        Slack's ``message`` event (message.channels, message.groups or message.im by the
        conversation) only when it subscribes to that event and is a member of the
        conversation; the delivery is None when it does not, or nothing can be reached.
        """
        user = self._user(user_id)
        channel = self.workspace.channel(channel_id)
        message = self.workspace.post_message(channel.id, text=escape_typed(text), thread_ts=thread_ts, user=user.id)
        if message_subscription(channel) not in self.bot_events or BOT_USER_ID not in channel.members:
            return message, None
        try:
            return message, await self.send_event(self.message_event(message), via=via)
        except NoRoute as e:
            log.info("message %s in %s not delivered: %s", message.ts, channel.id, e)
            return message, None

    def message_event(self, message: Message) -> dict[str, Any]:
        """The Events API's ``message`` event for a stored message, as Slack sends it for a person's post:
        a reply carries ``thread_ts`` and ``parent_user_id``."""
        channel = self.workspace.channel(message.channel)
        rendered = self.workspace.render_message(message, include_metadata=False)
        event: dict[str, Any] = {"client_msg_id": str(uuid.uuid4()), **rendered}
        event.update(channel=channel.id, event_ts=message.ts, channel_type=channel_type(channel))
        return event

    async def send_event(self, event: dict[str, Any], *, via: Via = "auto") -> DeliveryResult:
        """Deliver any Events API event wrapped in Slack's event_callback envelope."""
        body = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.workspace.team_id,
            "context_team_id": self.workspace.team_id,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": new_id("Ev"),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.workspace.team_id,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        return await self.delivery.send("events_api", body, via=via)

    # -- helpers ------------------------------------------------------------------

    def _user(self, user_id: str) -> User:
        try:
            return self.workspace.user(user_id)
        except SlackError:
            raise InteractionError(f"no user {user_id} in the sandbox") from None

    def _user_ref(self, user: User) -> dict[str, Any]:
        return {"id": user.id, "username": user.name, "name": user.name, "team_id": self.workspace.team_id}


def _state_values(
    view_blocks: list[dict[str, Any]], values: dict[str, dict[str, str]]
) -> dict[str | None, dict[str | None, dict[str, Any]]]:
    """Slack's view.state.values: every input in the view, filled from ``values``."""
    state: dict[str | None, dict[str | None, dict[str, Any]]] = {}
    known: set[tuple[str | None, str | None]] = set()
    for block in view_blocks:
        if block["type"] != "input":
            continue
        element = block["element"]
        block_id: str | None = block.get("block_id")
        action_id: str | None = element.get("action_id")
        known.add((block_id, action_id))
        # ``values`` names inputs by their ids: one without an id can't have been given a value.
        value = values.get(block_id, {}).get(action_id) if block_id is not None and action_id is not None else None
        state.setdefault(block_id, {})[action_id] = _element_state(element, value)
    for block_id, actions in values.items():
        for action_id in actions:
            if (block_id, action_id) not in known:
                raise InteractionError(f"the view has no input {block_id}/{action_id}")
    return state


def _element_state(element: dict[str, Any], value: str | None) -> dict[str, Any]:
    kind = element["type"]
    if kind == "static_select":
        options = {o["value"]: o for o in element.get("options", [])}
        if value is not None and value not in options:
            raise InteractionError(f"{element.get('action_id')} has no option {value!r}")
        return {"type": kind, "selected_option": options.get(value) if value is not None else None}
    if kind == "users_select":
        # Slack's picker offers only the workspace's people: the value is a user id.
        return {"type": kind, "selected_user": value}
    if kind == "checkboxes":
        options = {o["value"]: o for o in element.get("options", [])}
        chosen = [options[v] for v in (value.split(",") if value else []) if v in options]
        return {"type": kind, "selected_options": chosen}
    return {"type": kind, "value": value}
