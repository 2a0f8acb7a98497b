"""What the HTTP API (``bot.api``), ``SignoffRequestWorkflow`` and the webhook activity agree on.

A request made through the API is ``SignoffRequest``'s own input plus two fields only the API sets:
the name of the key that asked (``api_key``: what the audit shows, and whose secret signs the
webhook) and where the result goes (``callback_url``). The webhook is an activity by name, like
every other step.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# A request's state as the API shows it (the client's, which callers read it with).
from signoff_client import RequestStatus as RequestStatus
from signoff_client import SignoffRequestInput

from signoff.contracts.steps import StepPolicy

# A key's name, as signoff/config/api_keys.py accepts it.
API_KEY_NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
MAX_CALLBACK_URL_CHARS = 2048
# MCP tool names are short identifiers; a longer one is refused before anything is asked.
MAX_PROXIED_TOOL_NAME_CHARS = 128
# The names loopback always has (the only plain-http target, and only where private targets are allowed).
LOOPBACK_NAMES = frozenset({"localhost"})

DELIVER_WEBHOOK = "deliver_webhook"
# One POST: a receiver that takes longer is cut and tried again.
WEBHOOK_START_TO_CLOSE = timedelta(seconds=10)
# Until a 2xx, with backoff, for a bounded time: 1 s, 2 s, 4 s … then every minute, 20 attempts
# (about 15 minutes). A target refused as unsafe is never retried.
WEBHOOK_REFUSED = "WebhookRefused"
WEBHOOK_RETRY_POLICY = StepPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=20,
    non_retryable_error_types=(WEBHOOK_REFUSED,),
)


def is_loopback_host(host: str) -> bool:
    """``host`` (a URL's hostname) names the loopback interface itself: ``localhost`` or a loopback literal."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def callback_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a webhook target by its text alone, or None. HTTPS only, except plain
    HTTP to loopback (a receiver in dev); no credentials in it. Where it resolves to is checked
    where it is used (the API, then every delivery)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        return f"not a URL: {err}"
    del port
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be an https:// URL"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials (user:password@)"
    if parts.fragment:
        return "must not have a #fragment"
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        return "must be https:// (plain http only to localhost, in development)"
    return None


def _safe_callback(url: str) -> str:
    if problem := callback_url_problem(url):
        raise ValueError(problem)
    return url


# A webhook target, as the API takes it and the workflow re-checks it: https:// (http://localhost in dev).
CallbackUrl = Annotated[str, Field(max_length=MAX_CALLBACK_URL_CHARS), AfterValidator(_safe_callback)]


class ProxiedToolCall(BaseModel):
    """One MCP tool call a person decides on (``signoff mcp-proxy``, ``signoff hook``, ``approval_prompt``):
    the request's message is the tool-call message, with the arguments exactly as they will run."""

    model_config = ConfigDict(extra="forbid")

    tool: str = Field(min_length=1, max_length=MAX_PROXIED_TOOL_NAME_CHARS)
    arguments: dict[str, Any]
    # Who asks, as the message names it ("Claude Code through signoff hook", the upstream's name).
    agent: str = Field(min_length=1, max_length=200)


class ApiSignoffRequest(SignoffRequestInput):
    """``SignoffRequest``'s input as the HTTP API starts it (``SignoffRequestWorkflow`` tells it by ``api_key``)."""

    api_key: str = Field(pattern=API_KEY_NAME_PATTERN)
    callback_url: CallbackUrl | None = None
    # A tool call to allow or deny instead of a body to approve (the body says the same in words).
    tool_call: ProxiedToolCall | None = None


def api_request_of(request: dict[str, Any]) -> bool:
    """Whether ``request`` (a workflow input) came through the HTTP API."""
    return "api_key" in request


@dataclass(frozen=True)
class WebhookInput:
    """One webhook to deliver: ``body`` (JSON text) to ``url``, signed with key ``api_key``'s secret."""

    workflow_id: str
    url: str
    api_key: str
    body: str
