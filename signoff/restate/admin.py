"""Restate's admin API as signoff uses it at start: check that a URL really is Restate's, then register
signoff's service endpoint with it (a *deployment*), idempotently.

Registering is ``POST /deployments``. The same endpoint serving the same services again is answered
200 with the deployment Restate already has, so every start may register. ``force`` is sent, ``false``,
because Restate's default is ``true``: it would overwrite the deployment with the same URL, which can
leave invocations in flight on the old code unrecoverable. With ``force: false`` Restate keeps the old
deployment *silently* when the endpoint at that URL changed; a dry run (discovery only) tells, and
that is refused here too: changed code takes a new URL (Restate's deployment versioning).

Every failure is a ``SettingsError`` of one line naming the setting: an unreachable URL, a URL that
answers but not as Restate, credentials refused, a registration refused (Restate's reason). Restate
Cloud takes its API key as a bearer token (``SIGNOFF_RESTATE_AUTH_TOKEN``); it never appears in a message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp

from signoff.config.settings import Settings, SettingsError, shown_url

ADMIN_URL_SETTING = "SIGNOFF_RESTATE_ADMIN_URL"
INGRESS_URL_SETTING = "SIGNOFF_RESTATE_URL"
AUTH_TOKEN_SETTING = "SIGNOFF_RESTATE_AUTH_TOKEN"
# Discovery (Restate calling the endpoint) happens inside the registration request.
CHECK_TIMEOUT = 10.0
REGISTER_TIMEOUT = 60.0


def auth_headers(auth_token: str | None) -> dict[str, str]:
    """The headers every request to Restate Cloud (admin API and ingress) carries; none without a token."""
    return {"Authorization": f"Bearer {auth_token}"} if auth_token else {}


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else f"{line[: limit - 1]}…"


def _unreachable_reason(error: Exception) -> str:
    if isinstance(error, aiohttp.ClientConnectorError) and error.os_error.strerror:
        return str(error.os_error.strerror)
    if isinstance(error, TimeoutError):
        return "no answer in time"
    return _one_line(str(error)) or type(error).__name__


@dataclass(frozen=True)
class _Answer:
    status: int
    text: str

    def json(self) -> Any:
        """The body as JSON; ``None`` when it is not JSON."""
        try:
            return json.loads(self.text)
        except ValueError:
            return None


async def _call(
    method: str,
    url: str,
    *,
    refers_to: str,
    api: str,
    auth_token: str | None,
    timeout: float,
    body: dict[str, Any] | None = None,
) -> _Answer:
    """One request to ``api`` (Restate's admin API or ingress) at ``url``; ``refers_to`` names the
    setting in the errors: unreachable, or credentials refused."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.request(method, url, json=body, headers=auth_headers(auth_token)) as response,
        ):
            answer = _Answer(response.status, await response.text(errors="replace"))
    except (aiohttp.ClientError, TimeoutError) as err:
        raise SettingsError(f"{refers_to}: cannot reach Restate's {api} ({_unreachable_reason(err)})") from None
    if answer.status in (401, 403):
        given = "refused the token" if auth_token else "needs a token"
        raise SettingsError(
            f"{refers_to}: Restate's {api} {given} (HTTP {answer.status}); "
            f"{AUTH_TOKEN_SETTING} is the environment's API key"
        )
    return answer


@dataclass(frozen=True)
class Deployment:
    """A deployment Restate has: its id, the endpoint's URL, what it serves (``handlers``: one
    ``"<service type> <service>/<handler>"`` each), and whether this registration created it."""

    id: str
    uri: str
    services: tuple[str, ...]
    handlers: frozenset[str]
    created: bool


def _deployment(endpoint_url: str, status: int, found: dict[str, Any]) -> Deployment:
    services = found.get("services", [])
    return Deployment(
        id=str(found["id"]),
        uri=endpoint_url,
        services=tuple(str(service["name"]) for service in services),
        handlers=frozenset(
            f"{service.get('ty')} {service['name']}/{handler['name']}"
            for service in services
            for handler in service.get("handlers", [])
        ),
        created=status == 201,
    )


@dataclass(frozen=True)
class RestateAdmin:
    """Restate's admin API at ``url`` (``SIGNOFF_RESTATE_ADMIN_URL``), with Restate Cloud's token if any."""

    url: str
    auth_token: str | None = field(default=None, repr=False)

    async def _call(self, method: str, path: str, timeout: float, body: dict[str, Any] | None = None) -> _Answer:
        return await _call(
            method,
            f"{self.url.rstrip('/')}{path}",
            refers_to=self._refers_to(),
            api="admin API",
            auth_token=self.auth_token,
            timeout=timeout,
            body=body,
        )

    def _refers_to(self) -> str:
        return f"{ADMIN_URL_SETTING}={shown_url(self.url)!r}"

    async def version(self) -> str:
        """The server's version, from ``GET /version``: proof that the URL is Restate's admin API
        before anything is sent to it. Raises ``SettingsError`` when it is not."""
        answer = await self._call("GET", "/version", CHECK_TIMEOUT)
        found = answer.json() if answer.status == 200 else None
        if not (
            isinstance(found, dict)
            and isinstance(found.get("version"), str)
            and isinstance(found.get("max_admin_api_version"), int)
        ):
            raise SettingsError(
                f"{self._refers_to()} answers, but not as Restate's admin API (GET /version: HTTP {answer.status})"
            )
        return found["version"]

    async def _post_deployment(self, endpoint_url: str, *, use_http_11: bool, force: bool, dry_run: bool) -> Deployment:
        answer = await self._call(
            "POST",
            "/deployments",
            REGISTER_TIMEOUT,
            {"uri": endpoint_url, "use_http_11": use_http_11, "force": force, "dry_run": dry_run},
        )
        found = answer.json()
        if answer.status not in (200, 201) or not isinstance(found, dict):
            reason = found.get("message") if isinstance(found, dict) else answer.text
            raise SettingsError(
                f"Restate refused to register {shown_url(endpoint_url)} "
                f"({self._refers_to()}, HTTP {answer.status}): {_one_line(str(reason)) or 'no reason given'}"
            )
        return _deployment(endpoint_url, answer.status, found)

    async def register(
        self, endpoint_url: str, *, use_http_11: bool = False, replace_changed: bool = False
    ) -> Deployment:
        """Register the service endpoint at ``endpoint_url`` (Restate discovers its services there),
        after checking this is Restate. Registering it again unchanged returns the same deployment.

        Restate keeps the deployment it has for a URL, silently, when the endpoint there now serves
        other services or handlers: that is refused here (``SettingsError``) unless
        ``replace_changed``, which overwrites it (``force``: invocations in flight on the old code
        may not recover; for a dev server). ``use_http_11``: an endpoint served over HTTP/1.1
        (request-response mode only). Raises ``SettingsError`` with Restate's reason when it refuses."""
        await self.version()
        registered = await self._post_deployment(endpoint_url, use_http_11=use_http_11, force=False, dry_run=False)
        if registered.created:
            return registered
        # Discovery only (dry run): what the endpoint serves now, against what Restate registered.
        served = await self._post_deployment(endpoint_url, use_http_11=use_http_11, force=True, dry_run=True)
        if served.handlers == registered.handlers:
            return registered
        if not replace_changed:
            changed = sorted(served.handlers ^ registered.handlers)
            raise SettingsError(
                f"Restate already has {shown_url(endpoint_url)} as deployment {registered.id}, serving other "
                f"handlers than the endpoint now does ({', '.join(changed)}); serve the changed code at a new "
                "URL (Restate's deployment versioning)"
            )
        replaced = await self._post_deployment(endpoint_url, use_http_11=use_http_11, force=True, dry_run=False)
        return replace(replaced, created=False)


async def check_ingress(url: str, auth_token: str | None = None) -> None:
    """Raise ``SettingsError`` unless ``url`` (``SIGNOFF_RESTATE_URL``) is Restate's ingress: its
    ``GET /restate/health`` answers 200 with the list of services it serves."""
    refers_to = f"{INGRESS_URL_SETTING}={shown_url(url)!r}"
    answer = await _call(
        "GET",
        f"{url.rstrip('/')}/restate/health",
        refers_to=refers_to,
        api="ingress",
        auth_token=auth_token,
        timeout=CHECK_TIMEOUT,
    )
    found = answer.json() if answer.status == 200 else None
    if not (isinstance(found, dict) and isinstance(found.get("services"), list)):
        raise SettingsError(
            f"{refers_to} answers, but not as Restate's ingress (GET /restate/health: HTTP {answer.status})"
        )


async def register_at_start(settings: Settings, *, replace_changed: bool = False) -> Deployment:
    """What signoff does on Restate before it serves: check that ``SIGNOFF_RESTATE_URL`` is Restate's
    ingress and ``SIGNOFF_RESTATE_ADMIN_URL`` its admin API, then register signoff's service endpoint
    (``Settings.restate_endpoint_url``, which must already answer) with it. ``SettingsError``, one
    line, for anything wrong; ``replace_changed`` as for ``RestateAdmin.register``."""
    await check_ingress(settings.restate_url, settings.restate_auth_token)
    admin = RestateAdmin(settings.restate_admin_url, settings.restate_auth_token)
    return await admin.register(settings.restate_endpoint_url, replace_changed=replace_changed)
