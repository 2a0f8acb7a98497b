"""The MCP server: the HTTP API's three operations as Model Context Protocol tools, on the official
``mcp`` SDK (its low-level server: the input schemas are the API's own pydantic models).

Two transports, one server: ``signoff mcp`` over stdio (``serve_stdio``), and Streamable HTTP at
``/mcp`` on the bot's port (``McpEndpoint``), behind the API's bearer keys. Every call goes through
``RequestsApi`` (``bot.api.routes``): the same validation, channel limits, idempotency, engine slots
and gateway as ``/v1``. A refusal is an MCP tool error naming the field (``isError``), never a
traceback.

Whose requests: over HTTP, the key presented (its name is what the audit shows, and only it sees
its requests). Over stdio there is no bearer: whoever runs ``signoff mcp`` holds the settings'
power, and its requests carry the name ``STDIO_KEY_NAME`` (or a configured key's, ``--key``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp_asgi.resource import ASGIContext
from mcp import types
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.types import Receive, Scope, Send

from bot.api.models import CreateRequest, RequestView
from bot.api.problems import ProblemError, invalid_body, refusing_while
from bot.api.routes import MAX_WAIT_SECONDS, RequestsApi
from bot.api.tool_gate import PENDING_WORDS, ToolCallGate, ToolCallRefused
from bot.api.tool_policy import Ask
from signoff.config.api_keys import ApiKey

log = logging.getLogger(__name__)
# The SDK's session manager says "starting" and "shutting down" at INFO each time the bot does:
# the bot's own lines say that, and Ctrl-C on the demo prints only "Stopped.".
logging.getLogger("mcp.server.streamable_http_manager").setLevel(logging.WARNING)

MCP_PATH = "/mcp"
SERVER_NAME = "signoff"
# The identity of a ``signoff mcp`` over stdio not given ``--key``: what the audit shows.
STDIO_KEY_NAME = "mcp-stdio"
# A tool waits this long for a decision unless told otherwise (most MCP clients give a call a minute).
DEFAULT_WAIT_SECONDS = 50.0
# While it waits, a progress notification this often (keeps a client's per-call timer alive).
PROGRESS_EVERY_SECONDS = 10.0
# Where the API key travels on Streamable HTTP: the ASGI scope the SDK hands each tool call.
_SCOPE_KEY = "signoff.api_key"

REQUEST_SIGNOFF = "request_signoff"
GET_SIGNOFF = "get_signoff"
CANCEL_SIGNOFF = "cancel_signoff"
# Claude Code's --permission-prompt-tool (mcp__<server>__approval_prompt): a tool call put to people in Slack.
APPROVAL_PROMPT = "approval_prompt"

_WAIT_DESCRIPTION = (
    f"Seconds to wait for the decision before answering (default {DEFAULT_WAIT_SECONDS:g}, at most "
    f"{MAX_WAIT_SECONDS:g}; 0 answers at once)."
)


class WaitArguments(BaseModel):
    wait_seconds: float = Field(default=DEFAULT_WAIT_SECONDS, ge=0, description=_WAIT_DESCRIPTION)

    @property
    def wait(self) -> float:
        return min(self.wait_seconds, MAX_WAIT_SECONDS)


class RequestSignoffArguments(CreateRequest, WaitArguments):
    """``request_signoff``: the HTTP API's request (``POST /v1/requests``), and how long to wait."""


class GetSignoffArguments(WaitArguments):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="The id request_signoff returned (api-…).")


class ApprovalPromptArguments(BaseModel):
    """What Claude Code sends its permission-prompt tool: the tool it wants to run and its input."""

    tool_name: str = Field(min_length=1, max_length=128, description="The tool Claude Code wants to run.")
    input: dict[str, Any] = Field(description="The tool's input, exactly as it would run.")
    tool_use_id: str | None = Field(default=None, description="Claude Code's id of this tool use.")


class CancelSignoffArguments(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="The id request_signoff returned (api-…).")


_AFTER = (
    "The answer is JSON: `id`, `status` (pending, approved, rejected, revision_requested, expired, "
    "cancelled or failed), `thread` (the Slack thread) and, once decided, `result` (who decided, "
    "their comment, an edited body if edits were allowed). `pending` means nobody has decided YET: "
    "it is not a refusal. Call get_signoff with the `id` to keep waiting; never ask again with "
    "request_signoff for the same thing (that would post a second thread)."
)

TOOLS = (
    types.Tool(
        name=REQUEST_SIGNOFF,
        title="Ask a person for sign-off in Slack",
        description=(
            "Ask a person to approve, reject or send back an action before you take it: posts the "
            "request in a Slack thread with buttons and waits for a decision. Call it before anything "
            "irreversible or outside what you were asked to do (deploying, deleting, spending, "
            "sending on someone's behalf). `title` is one line; `body` says what you will do and why "
            "(Slack markdown). Optional: `approvers` (Slack user ids) or `approver_group` (a Slack user "
            "group id, S…, whose members decide), `required_approvals`, "
            "`channel`, `decision_deadline_seconds`, `allow_edits` (the approver may edit `body`: "
            "use the edited body from the result), and `id` (your own key: calling again with the "
            "same `id` returns the same request, never a second thread; use it when retrying). "
            f"Proceed only when status is `approved`. {_AFTER}"
        ),
        input_schema=RequestSignoffArguments.model_json_schema(),
    ),
    types.Tool(
        name=GET_SIGNOFF,
        title="Check on (or keep waiting for) a sign-off",
        description=(
            "The state of a sign-off request made with request_signoff, waiting up to `wait_seconds` "
            f"for the decision. Call it again while the status is `pending`. {_AFTER}"
        ),
        input_schema=GetSignoffArguments.model_json_schema(),
        annotations=types.ToolAnnotations(read_only_hint=True, idempotent_hint=True),
    ),
    types.Tool(
        name=CANCEL_SIGNOFF,
        title="Withdraw a sign-off request",
        description=(
            "Withdraw a pending sign-off request made with request_signoff (for example when the "
            "action is no longer needed): its buttons are removed and the thread says it was "
            "cancelled. An error if it was already decided. Answers with the request as it stands."
        ),
        input_schema=CancelSignoffArguments.model_json_schema(),
        annotations=types.ToolAnnotations(destructive_hint=True, idempotent_hint=True),
    ),
    types.Tool(
        name=APPROVAL_PROMPT,
        title="Ask a person in Slack to allow a tool call",
        description=(
            "Claude Code's permission prompt (claude -p --permission-prompt-tool mcp__signoff__approval_prompt): "
            "posts the tool call in Slack with Allow / Deny and answers with Claude Code's permission "
            'result, {"behavior": "allow", "updatedInput": …} or {"behavior": "deny", "message": …}. '
            f"Waits up to {DEFAULT_WAIT_SECONDS:g} s; an undecided call is denied as pending (asking again "
            "with the same input joins the same request)."
        ),
        input_schema=ApprovalPromptArguments.model_json_schema(),
    ),
)

KeyOf = Callable[[ServerRequestContext[Any, Any]], ApiKey]
M = TypeVar("M", bound=BaseModel)


def _arguments(model: type[M], arguments: dict[str, Any] | None) -> M:
    try:
        return model.model_validate(arguments or {})
    except ValidationError as err:
        raise invalid_body(err) from None


def _error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=True)


def _fields_of(err: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(part) for part in e['loc']) or 'input'}: {e['msg']}" for e in err.errors())


def _permission(result: dict[str, Any]) -> types.CallToolResult:
    """Claude Code's permission result: the JSON object as the one text part."""
    return types.CallToolResult(content=[types.TextContent(text=json.dumps(result, ensure_ascii=False))])


def _answer(view: RequestView) -> types.CallToolResult:
    document = view.model_dump(mode="json")
    return types.CallToolResult(
        content=[types.TextContent(text=json.dumps(document, ensure_ascii=False))], structured_content=document
    )


@dataclass
class SignoffTools:
    """The tools, over ``api``; ``key_of`` names the caller of a call (its transport's identity)."""

    api: RequestsApi
    key_of: KeyOf

    def server(self) -> Server[Any]:
        return Server(SERVER_NAME, on_list_tools=self.list_tools, on_call_tool=self.call_tool)

    async def list_tools(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=list(TOOLS))

    async def call_tool(
        self, ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        calls: dict[
            str, Callable[[ServerRequestContext[Any, Any], ApiKey, dict[str, Any] | None], Awaitable[RequestView]]
        ]
        calls = {REQUEST_SIGNOFF: self._request, GET_SIGNOFF: self._get, CANCEL_SIGNOFF: self._cancel}
        if params.name == APPROVAL_PROMPT:
            return await self._approval_prompt(ctx, params.arguments)
        call = calls.get(params.name)
        if call is None:
            return _error(f"no tool {params.name!r}: {', '.join([*calls, APPROVAL_PROMPT])}")
        try:
            key = self.key_of(ctx)
            self.api.limiter.take(key.name)
            return _answer(await call(ctx, key, params.arguments))
        except ProblemError as err:
            # The API's refusal, as the model reads it: the detail names the field at fault.
            return _error(err.detail)

    async def _approval_prompt(
        self, ctx: ServerRequestContext[Any, Any], arguments: dict[str, Any] | None
    ) -> types.CallToolResult:
        """Claude Code's permission result for one tool call, as a JSON text part. Whatever goes wrong,
        the answer is a deny saying why: a prompt that fails never lets a call through."""
        try:
            parsed = ApprovalPromptArguments.model_validate(arguments or {})
            key = self.key_of(ctx)
            self.api.limiter.take(key.name)
        except (ValidationError, ProblemError) as err:
            detail = err.detail if isinstance(err, ProblemError) else _fields_of(err)
            return _permission({"behavior": "deny", "message": f"signoff could not ask: {detail}"})
        gate = ToolCallGate(self.api, key, f"approval_prompt\0{key.name}", "Claude Code (permission prompt)")
        try:
            decision = await gate.decide_for_caller(
                parsed.tool_name, parsed.input, Ask(), DEFAULT_WAIT_SECONDS, ctx.session.report_progress
            )
        except ToolCallRefused as err:
            return _permission({"behavior": "deny", "message": str(err)})
        if decision.outcome == "allowed":
            return _permission({"behavior": "allow", "updatedInput": parsed.input})
        if decision.outcome == "pending":
            return _permission({"behavior": "deny", "message": PENDING_WORDS.format(request=decision.request_id)})
        return _permission({"behavior": "deny", "message": f"Denied in Slack: {decision.reason}"})

    async def _request(
        self, ctx: ServerRequestContext[Any, Any], key: ApiKey, arguments: dict[str, Any] | None
    ) -> RequestView:
        parsed = _arguments(RequestSignoffArguments, arguments)
        body = CreateRequest.model_validate(parsed.model_dump(exclude={"wait_seconds"}, exclude_unset=True))
        if body.callback_url is not None and not key.secret:
            raise ProblemError.for_field(
                422,
                "invalid-request",
                "callback_url",
                "a webhook is signed with an API key's secret: start the server as one (signoff mcp --key NAME)",
            )
        idempotency_key = body.id or str(uuid.uuid4())
        view, _ = await self.api.submit(key, body, idempotency_key)
        return await self._waited(ctx, key, view, parsed.wait)

    async def _get(
        self, ctx: ServerRequestContext[Any, Any], key: ApiKey, arguments: dict[str, Any] | None
    ) -> RequestView:
        parsed = _arguments(GetSignoffArguments, arguments)
        view = await self.api.view(key, parsed.id, 0)
        return await self._waited(ctx, key, view, parsed.wait)

    async def _cancel(
        self, ctx: ServerRequestContext[Any, Any], key: ApiKey, arguments: dict[str, Any] | None
    ) -> RequestView:
        parsed = _arguments(CancelSignoffArguments, arguments)
        return await self.api.cancel_request(key, parsed.id)

    async def _waited(
        self, ctx: ServerRequestContext[Any, Any], key: ApiKey, view: RequestView, wait: float
    ) -> RequestView:
        """``view`` once decided or after ``wait`` seconds, a progress notification every
        ``PROGRESS_EVERY_SECONDS`` meanwhile (only to a caller that asked for progress)."""
        waited = 0.0
        while view.status == "pending" and waited < wait:
            await ctx.session.report_progress(waited, wait, f"waiting for a decision on {view.id}")
            step = min(PROGRESS_EVERY_SECONDS, wait - waited)
            view = await self.api.view(key, view.id, step)
            waited += step
        return view


# ---------------------------------------------------------------------- stdio


def stdio_key(keys: tuple[ApiKey, ...], name: str | None) -> ApiKey:
    """The identity of a stdio server: configured key ``name`` (its channel limits apply, its
    secret signs webhooks), or ``STDIO_KEY_NAME`` with any channel and no webhook secret."""
    if name is None:
        if any(key.name == STDIO_KEY_NAME for key in keys):
            # It would see (and cancel) the stdio server's requests: the name is the identity.
            raise LookupError(f"an API key is named {STDIO_KEY_NAME!r}: name another key with --key, or rename it")
        return ApiKey(STDIO_KEY_NAME, secret="")
    for key in keys:
        if key.name == name:
            return key
    raise LookupError(f"--key {name!r} is not one of the configured API keys (SIGNOFF_API_KEYS, SIGNOFF_API_KEYS_FILE)")


async def serve_stdio(api: RequestsApi, key: ApiKey) -> None:
    """Serve the tools on stdin/stdout as ``key`` until the client closes them."""
    server = SignoffTools(api, lambda ctx: key).server()
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


# ---------------------------------------------------------------------- Streamable HTTP


class McpEndpoint:
    """``/mcp`` on the bot's aiohttp server: the bearer key checked as ``/v1`` checks it (401 with a
    problem document), then the SDK's Streamable HTTP session manager (ASGI, through ``aiohttp_asgi``).
    A session is bound to the key that opened it (the SDK refuses it to any other key)."""

    def __init__(self, api: RequestsApi, *, draining: Callable[[], bool] = lambda: False) -> None:
        self.api = api
        # While the bot drains, /mcp is refused as /v1 is (503, its own middleware): nothing new starts.
        self.refusing = refusing_while(draining)
        self.sessions = StreamableHTTPSessionManager(SignoffTools(api, _key_of_scope).server())

    def routes(self) -> list[web.RouteDef]:
        return [web.route("*", MCP_PATH, self.handle)]

    async def running(self, app: web.Application) -> AsyncIterator[None]:
        """For ``app.cleanup_ctx``: the session manager runs while the server does, in a task of its
        own (its task group must be left in the task that entered it, and a server's start and
        cleanup may run in two)."""
        started = asyncio.Event()
        stop = asyncio.Event()

        async def run() -> None:
            async with self.sessions.run():
                started.set()
                await stop.wait()

        task = asyncio.create_task(run(), name="mcp-sessions")
        starting = asyncio.create_task(started.wait())
        await asyncio.wait([task, starting], return_when=asyncio.FIRST_COMPLETED)
        starting.cancel()
        if task.done():
            task.result()  # it failed to start: raised here
        yield
        stop.set()
        await task

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self.refusing(request, self._serve)
        except ProblemError as err:
            return err.response()

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        _same_origin_only(request)
        key = self.api.keys.caller(request)
        return await _StreamingContext(_with_key(self.sessions.handle_request, key), request, "").get_response()


def _same_origin_only(request: web.Request) -> None:
    """MCP's transport rule against DNS rebinding: a browser page from another origin may not talk
    to the server. Agents and CLIs send no ``Origin``; a browser always does, and a page served
    from this host sends this host. (The bearer key already keeps a rebinding page out; this is the
    second lock the spec asks for, and it holds for a key pasted into a browser tool.)"""
    origin = request.headers.get("Origin")
    if origin is None:
        return
    parsed = urlsplit(origin)
    if parsed.scheme not in ("http", "https") or parsed.netloc.lower() != request.host.lower():
        raise ProblemError(403, "forbidden-origin", f"requests from the web origin {origin!r} are refused")


class _StreamingContext(ASGIContext):
    """``aiohttp_asgi``'s bridge, with ASGI's ``receive`` as a streaming response needs it: once the
    body is read, it waits (the bridge's own answers an empty body again at once, forever, which
    spins the loop of an SSE response listening for a disconnect). The response ending ends the wait."""

    _body_read = False

    async def on_receive(self) -> dict[str, Any]:
        if self._body_read:
            await asyncio.Event().wait()
        message = await super().on_receive()
        self._body_read = not message["more_body"]
        return message


def _with_key(asgi: Callable[[Scope, Receive, Send], Awaitable[None]], key: ApiKey) -> Callable[..., Awaitable[None]]:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        # The SDK binds a session to its opener's identity (scope["user"]): the key's name, never its secret.
        user = AuthenticatedUser(AccessToken(token=key.name, client_id=key.name, scopes=[]))
        await asgi({**scope, "user": user, _SCOPE_KEY: key}, receive, send)

    return app


def _key_of_scope(ctx: ServerRequestContext[Any, Any]) -> ApiKey:
    request = ctx.request
    key = getattr(request, "scope", {}).get(_SCOPE_KEY)
    if not isinstance(key, ApiKey):
        raise ProblemError(401, "unauthorized", "send the API key as `Authorization: Bearer <key>`")
    return key
