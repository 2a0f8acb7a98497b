"""Which ``response_url`` the app may post to: Slack's, or the Slack the app is configured to use.

A ``response_url`` reaches the worker in workflow input, which any client of the Temporal namespace
can write: posting wherever it points would let such a client make the worker send requests to any
address it can reach (its local network included). So the bot checks it where it enters (a Slack
request) and the worker again before it posts, both with ``is_slack_response_url``.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, urlsplit

# Slack's response_urls: https://hooks.slack.com/commands/T…/…/… (slash commands), /actions/…
# (interactive messages and modals), /app/… (shortcuts). Not /services/…: an incoming webhook of
# any workspace, which would carry the app's messages out of this one.
SLACK_HOOKS_HOST = "hooks.slack.com"
SLACK_RESPONSE_URL_PATHS = ("/commands/", "/actions/", "/app/")
LOOPBACK = "(this machine)"


def is_slack_response_url(url: str, slack_api_url: str | None = None) -> bool:
    """Whether ``url`` is a response_url of Slack's, or at the scheme, host and port of ``slack_api_url``
    (``SLACK_API_URL``: the sandbox in tests and the demo, whose response_urls it serves itself)."""
    parts = _split(url)
    if parts is None or parts.username is not None or parts.password is not None:
        return False
    if (
        parts.scheme == "https"
        and parts.hostname == SLACK_HOOKS_HOST
        and _port(parts) == 443
        and parts.path.startswith(SLACK_RESPONSE_URL_PATHS)
    ):
        return True
    configured = _split(slack_api_url) if slack_api_url else None
    return configured is not None and _origin(parts) == _origin(configured)


def redacted(url: str) -> str:
    """What of ``url`` may be logged: its scheme, host and port (the path and query of a real one can post)."""
    parts = _split(url)
    if parts is None or not parts.hostname:
        return "(not a URL)"
    return f"{parts.scheme}://{parts.hostname}:{_port(parts)}"


def _split(url: str) -> SplitResult | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port out of range or not a number)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts


def _port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


def _origin(parts: SplitResult) -> tuple[str, str | None, int]:
    # A sandbox on this machine may be named localhost, 127.0.0.1 or (listening on all addresses)
    # 0.0.0.0 by either side: the same machine, as long as the port is the same.
    host = LOOPBACK if _is_loopback(parts.hostname) else parts.hostname
    return parts.scheme, host, _port(parts)


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified
