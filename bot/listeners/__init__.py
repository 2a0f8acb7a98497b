"""Bolt listeners grouped by kind; each module has ``register(app, deps)``."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.deps import Deps
from bot.listeners import actions, commands, events, functions, messages, views


def register_listeners(app: AsyncApp, deps: Deps) -> None:
    commands.register(app, deps)
    actions.register(app, deps)
    views.register(app, deps)
    events.register(app, deps)
    messages.register(app, deps)
    functions.register(app, deps)
    # Last: it takes any action id no listener above claimed.
    actions.register_fallback(app, deps)
