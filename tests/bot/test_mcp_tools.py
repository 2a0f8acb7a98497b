"""The MCP tools' own parts (bot/api/mcp.py): the wait clamp, the schemas (the API's models), the
stdio identity."""

from __future__ import annotations

import pytest

from bot.api.mcp import (
    DEFAULT_WAIT_SECONDS,
    STDIO_KEY_NAME,
    TOOLS,
    GetSignoffArguments,
    stdio_key,
)
from bot.api.models import CreateRequest
from bot.api.routes import MAX_WAIT_SECONDS
from signoff.config.api_keys import ApiKey
from tests.support.api import KEYS, LIMITED_KEY


def test_a_huge_wait_is_clamped_and_the_default_is_fifty_seconds() -> None:
    assert GetSignoffArguments(id="api-x", wait_seconds=10**9).wait == MAX_WAIT_SECONDS
    assert GetSignoffArguments(id="api-x").wait == DEFAULT_WAIT_SECONDS == 50


def test_request_signoff_takes_the_api_request_fields_and_a_wait() -> None:
    [request_tool] = [tool for tool in TOOLS if tool.name == "request_signoff"]
    properties = request_tool.input_schema["properties"]
    assert set(properties) == set(CreateRequest.model_json_schema()["properties"]) | {"wait_seconds"}
    assert request_tool.input_schema.get("additionalProperties") is False
    for tool in TOOLS:
        # Claude Code's permission prompt answers at once or as pending: no request to keep waiting on.
        assert (tool.description and "get_signoff" in tool.description) or tool.name in (
            "cancel_signoff",
            "approval_prompt",
        )


def test_the_stdio_identity() -> None:
    assert stdio_key(KEYS, None).name == STDIO_KEY_NAME
    assert stdio_key(KEYS, "approvals-only") == LIMITED_KEY
    with pytest.raises(LookupError, match="'nobody' is not one of the configured API keys"):
        stdio_key(KEYS, "nobody")
    # A configured key of that name would see the stdio server's requests: refused.
    with pytest.raises(LookupError, match="an API key is named 'mcp-stdio'"):
        stdio_key((ApiKey(STDIO_KEY_NAME, "s" * 40),), None)
