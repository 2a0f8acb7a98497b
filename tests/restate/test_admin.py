"""signoff registers its service endpoint with Restate's admin API at start: idempotently, after
checking the URL is Restate's; every failure is one line naming the setting, with Restate's reason
when it refuses. Against the real server (``restate_server``) and real endpoints (restate-sdk on
hypercorn)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web

from signoff.config.ports import free_port
from signoff.config.settings import Settings, SettingsError
from signoff.restate.admin import RestateAdmin, check_ingress, register_at_start
from signoff.restate.endpoint import ServiceEndpoint
from signoff.restate.server import RestateServer
from signoff.sandbox import SlackSandbox
from tests.support.restate_services import greeter, greeter_object, unique_name

pytestmark = [pytest.mark.process, pytest.mark.slow]

TOKEN = "restate-cloud-key-never-shown"


async def _call(server: RestateServer, service: str, who: str) -> object:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{server.ingress_url}/restate/call/{service}/greet", json=who) as response,
    ):
        assert response.status == 200, await response.text()
        return await response.json()


@asynccontextmanager
async def _serving(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def _behind_a_token(upstream: str) -> AsyncIterator[str]:
    """``upstream`` (the real admin API) behind a gate that, as Restate Cloud's, wants ``TOKEN`` as a
    bearer token: 401 without it, 403 with another; with it, the request goes through unchanged."""

    async def forward(request: web.Request) -> web.Response:
        given = request.headers.get("Authorization")
        if given is None:
            return web.json_response({"message": "missing token"}, status=401)
        if given != f"Bearer {TOKEN}":
            return web.json_response({"message": "bad token"}, status=403)
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method, f"{upstream}{request.path_qs}", data=await request.read(), headers=request.headers
            ) as response,
        ):
            return web.Response(status=response.status, body=await response.read(), content_type=response.content_type)

    app = web.Application()
    app.router.add_route("*", "/{path:.*}", forward)
    async with _serving(app) as url:
        yield url


async def test_registering_the_same_endpoint_twice_is_one_deployment(restate_server: RestateServer) -> None:
    admin = RestateAdmin(restate_server.admin_url)
    name = unique_name("Greeter")
    async with ServiceEndpoint([greeter(name)]) as endpoint:
        first = await admin.register(endpoint.url)
        again = await admin.register(endpoint.url)
        answer = await _call(restate_server, name, "ada")

    assert (first.created, again.created) == (True, False)
    assert first.id == again.id
    assert first.services == again.services == (name,)
    assert first.handlers == frozenset({f"Service {name}/greet"})
    assert answer == "hello ada"


async def test_an_endpoint_changed_under_the_same_url_is_not_kept_silently(restate_server: RestateServer) -> None:
    admin = RestateAdmin(restate_server.admin_url)
    name = unique_name("Greeter")
    async with ServiceEndpoint([greeter(name)]) as endpoint:
        registered = await admin.register(endpoint.url)
        port = endpoint.port

    # New code on the same URL: Restate would keep the old deployment and answer 200.
    async with ServiceEndpoint([greeter(name, wave=True)], port=port) as changed:
        with pytest.raises(SettingsError) as refused:
            await admin.register(changed.url)
        replaced = await admin.register(changed.url, replace_changed=True)

    assert str(refused.value) == (
        f"Restate already has {changed.url} as deployment {registered.id}, serving other handlers than the "
        f"endpoint now does (Service {name}/wave_at); serve the changed code at a new URL "
        "(Restate's deployment versioning)"
    )
    assert replaced.id == registered.id
    assert replaced.handlers == frozenset({f"Service {name}/greet", f"Service {name}/wave_at"})


async def test_a_registration_restate_refuses_is_reported_with_its_reason(restate_server: RestateServer) -> None:
    admin = RestateAdmin(restate_server.admin_url)
    name = unique_name("Greeter")
    async with ServiceEndpoint([greeter(name)]) as endpoint:
        await admin.register(endpoint.url)
        # The same service, now a virtual object, at a new URL: a breaking change Restate refuses.
        async with ServiceEndpoint([greeter_object(name)]) as breaking:
            with pytest.raises(SettingsError) as refused:
                await admin.register(breaking.url)
        still = await _call(restate_server, name, "bob")

    assert str(refused.value) == (
        f"Restate refused to register {breaking.url} (SIGNOFF_RESTATE_ADMIN_URL='{restate_server.admin_url}', "
        f"HTTP 409): [META0006] detected a new service revision for '{name}' changing the service type from "
        "previous revision. Service type cannot be changed across revisions."
    )
    # Nothing changed: the service still runs on the deployment it had.
    assert still == "hello bob"


async def test_an_endpoint_that_is_not_a_restate_service_is_refused_with_restates_reason(
    restate_server: RestateServer,
) -> None:
    async with SlackSandbox() as sandbox:
        with pytest.raises(SettingsError) as refused:
            await RestateAdmin(restate_server.admin_url).register(sandbox.url)

    message = str(refused.value)
    assert message.startswith(f"Restate refused to register {sandbox.url} (SIGNOFF_RESTATE_ADMIN_URL="), message
    assert "[META00" in message, message
    assert "\n" not in message


async def test_a_url_that_answers_but_is_not_restate_is_refused_before_anything_is_sent() -> None:
    posted: list[str] = []

    async def anything(request: web.Request) -> web.Response:
        if request.method == "POST":
            posted.append(request.path)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("*", "/{path:.*}", anything)
    async with SlackSandbox() as sandbox, _serving(app) as lookalike:
        for url in (sandbox.url, lookalike):
            with pytest.raises(SettingsError) as refused:
                await RestateAdmin(url).register("http://127.0.0.1:9080")
            assert str(refused.value) == (
                f"SIGNOFF_RESTATE_ADMIN_URL='{url}' answers, but not as Restate's admin API (GET /version: HTTP "
                f"{404 if url == sandbox.url else 200})"
            )
            with pytest.raises(SettingsError, match=r"answers, but not as Restate's ingress \(GET /restate/health"):
                await check_ingress(url)
    assert posted == []


async def test_restates_other_port_is_not_taken_for_the_admin_api_or_the_ingress(
    restate_server: RestateServer,
) -> None:
    with pytest.raises(SettingsError, match=r"^SIGNOFF_RESTATE_ADMIN_URL=.* answers, but not as Restate's admin API"):
        await RestateAdmin(restate_server.ingress_url).version()
    with pytest.raises(SettingsError, match=r"^SIGNOFF_RESTATE_URL=.* answers, but not as Restate's ingress"):
        await check_ingress(restate_server.admin_url)


async def test_an_unreachable_restate_is_one_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(SettingsError) as admin_refused:
        await RestateAdmin(url).register("http://127.0.0.1:9080")
    with pytest.raises(SettingsError) as ingress_refused:
        await check_ingress(url)

    assert str(admin_refused.value) == (
        f"SIGNOFF_RESTATE_ADMIN_URL='{url}': cannot reach Restate's admin API (Connect call failed ('127.0.0.1', "
        f"{url.rsplit(':', 1)[1]}))"
    )
    assert str(ingress_refused.value).startswith(f"SIGNOFF_RESTATE_URL='{url}': cannot reach Restate's ingress (")


async def test_the_token_goes_to_restate_cloud_as_a_bearer_token_and_is_never_shown(
    restate_server: RestateServer,
) -> None:
    name = unique_name("Greeter")
    async with _behind_a_token(restate_server.admin_url) as gated, ServiceEndpoint([greeter(name)]) as endpoint:
        with pytest.raises(SettingsError) as without:
            await RestateAdmin(gated).version()
        with pytest.raises(SettingsError) as wrong:
            await RestateAdmin(gated, auth_token="not-the-key").register(endpoint.url)
        registered = await RestateAdmin(gated, auth_token=TOKEN).register(endpoint.url)
        answer = await _call(restate_server, name, "cy")

    assert str(without.value) == (
        f"SIGNOFF_RESTATE_ADMIN_URL='{gated}': Restate's admin API needs a token (HTTP 401); "
        "SIGNOFF_RESTATE_AUTH_TOKEN is the environment's API key"
    )
    assert str(wrong.value) == (
        f"SIGNOFF_RESTATE_ADMIN_URL='{gated}': Restate's admin API refused the token (HTTP 403); "
        "SIGNOFF_RESTATE_AUTH_TOKEN is the environment's API key"
    )
    assert "not-the-key" not in str(wrong.value)
    assert TOKEN not in repr(RestateAdmin(gated, auth_token=TOKEN))
    assert registered.created
    assert answer == "hello cy"


async def test_at_start_signoff_checks_both_urls_then_registers_its_endpoint(restate_server: RestateServer) -> None:
    name = unique_name("Greeter")
    port = free_port()
    settings = Settings.from_env({"SIGNOFF_RESTATE_SERVICE_PORT": str(port)})
    local = settings.on_local_restate(restate_server.ingress_url, restate_server.admin_url)
    # The ingress named as the admin API's URL: refused before anything is registered.
    swapped = settings.on_local_restate(restate_server.admin_url, restate_server.ingress_url)

    async with ServiceEndpoint([greeter(name)], port=port, host=local.restate_service_host) as endpoint:
        with pytest.raises(SettingsError, match=r"^SIGNOFF_RESTATE_URL=.* answers, but not as Restate's ingress"):
            await register_at_start(swapped)
        deployment = await register_at_start(local)
        again = await register_at_start(local)
        answer = await _call(restate_server, name, "dee")

    assert endpoint.url == local.restate_endpoint_url == f"http://127.0.0.1:{port}"
    assert (deployment.created, again.created, again.id) == (True, False, deployment.id)
    assert answer == "hello dee"
