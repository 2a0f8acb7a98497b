"""The HTTP API as a caller sees it: keys, a client whose every answer is checked against the server's
own OpenAPI document (the status documented for the operation, the content type, the schema), and the
``api`` fixture (a pytest plugin of tests/conftest.py): the bot with the API on, on each engine."""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # no stubs; mcp brings it

from bot.server import EVENTS_PATH
from signoff.config.api_keys import ApiKey
from signoff.sandbox import SlackSandbox
from tests.support.bot import RunningBot, bot_settings
from tests.support.engines import REQUEST_ENGINES, running_stack
from tests.support.postgres import database_url

CI_KEY = ApiKey("ci", "ci-secret-0123456789abcdef0123456789")
OTHER_KEY = ApiKey("other-team", "other-secret-0123456789abcdef01234567")
# Limited to #approvals.
LIMITED_KEY = ApiKey("approvals-only", "limited-secret-0123456789abcdef012345", frozenset({"C0APPROVE"}))
KEYS = (CI_KEY, OTHER_KEY, LIMITED_KEY)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def problem_field(self) -> str | None:
        return self.body.get("field") if isinstance(self.body, dict) else None


def _template_of(document: dict[str, Any], path: str) -> str:
    for template in document["paths"]:
        pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            return str(template)
    raise AssertionError(f"{path} is not in the OpenAPI document")


def conforms(document: dict[str, Any], method: str, path: str, answer: Answer) -> None:
    """``answer`` is what the document says ``method path`` answers with that status."""
    operation = document["paths"][_template_of(document, path)][method.lower()]
    documented = operation["responses"].get(str(answer.status))
    assert documented is not None, f"{method} {path}: {answer.status} is not documented ({answer.body})"
    if "$ref" in documented:
        documented = document["components"]["responses"][documented["$ref"].rsplit("/", 1)[1]]
    content_type = answer.headers.get("Content-Type", "").split(";")[0]
    assert content_type in documented["content"], f"{method} {path}: {content_type} not documented"
    schema = documented["content"][content_type].get("schema")
    if schema is not None:
        Draft202012Validator({**schema, "components": document["components"]}).validate(answer.body)


@dataclass
class ApiCaller:
    """Calls the API at ``base`` (the bot's root URL) as ``key`` (None: no Authorization header)."""

    session: aiohttp.ClientSession
    base: str
    key: ApiKey | None = CI_KEY
    document: dict[str, Any] = field(default_factory=dict)

    async def load_document(self) -> dict[str, Any]:
        async with self.session.get(self.base + "/v1/openapi.json") as response:
            assert response.status == 200
            self.document = await response.json()
        return self.document

    def as_key(self, key: ApiKey | None) -> ApiCaller:
        return ApiCaller(self.session, self.base, key, self.document)

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        authorization: str | None = None,
    ) -> Answer:
        sent = dict(headers or {})
        if authorization is not None:
            sent["Authorization"] = authorization
        elif self.key is not None:
            sent["Authorization"] = f"Bearer {self.key.secret}"
        if json_body is not None:
            data = json.dumps(json_body).encode()
            sent.setdefault("Content-Type", "application/json")
        async with self.session.request(method, self.base + path, data=data, headers=sent) as response:
            text = await response.text()
            answer = Answer(response.status, dict(response.headers), json.loads(text) if text else None)
        if not self.document:
            await self.load_document()
        conforms(self.document, method, path.split("?")[0], answer)
        return answer

    async def create(self, request: dict[str, Any], **kwargs: Any) -> Answer:
        return await self.call("POST", "/v1/requests", json_body=request, **kwargs)

    async def read(self, request_id: str, wait: float | str | None = None) -> Answer:
        query = f"?wait={wait}" if wait is not None else ""
        return await self.call("GET", f"/v1/requests/{request_id}{query}")

    async def cancel(self, request_id: str) -> Answer:
        return await self.call("POST", f"/v1/requests/{request_id}/cancel")


ApiStack = Callable[..., contextlib.AbstractAsyncContextManager[tuple[ApiCaller, RunningBot]]]


@pytest.fixture(params=REQUEST_ENGINES)
def api_engine(request: pytest.FixtureRequest) -> str:
    """The engine an ``api`` test runs on: each, in turn."""
    return str(request.param)


@pytest.fixture
def api(
    api_engine: str, time_env: Any, slack: SlackSandbox, tmp_path: Path, request: pytest.FixtureRequest
) -> ApiStack:
    """``api(**settings)``: the bot with the API on (the test keys) in front of ``engine``, and a caller
    as the ``ci`` key; ``settings`` replace the bot's (``webhook_allow_private``, ``api_rate_per_minute``)."""

    @contextlib.asynccontextmanager
    async def start(**settings: Any) -> AsyncIterator[tuple[ApiCaller, RunningBot]]:
        name = api_engine
        if api_engine == "dbos-postgres":
            server: str = request.getfixturevalue("postgres_url")
            name = "dbos-postgres:" + database_url(server, f"api_{uuid.uuid4().hex[:8]}")
        configured = replace(bot_settings(slack), api_keys=KEYS, **settings)
        async with (
            running_stack(name, slack, configured, temporal_client=time_env.client, tmp_path=tmp_path) as bot,
            aiohttp.ClientSession() as session,
        ):
            caller = ApiCaller(session, bot.url.removesuffix(EVENTS_PATH))
            await caller.load_document()
            yield caller, bot

    return start
