"""Whether a namespace has signoff's search attributes, and registering them, on the real dev server
(`signoff dev` registers them on `default`; a fresh namespace stands for a cluster where nobody ran
`signoff setup`) and on the time-skipping test server (no operator service: never upsert there)."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client

from signoff.temporal.devserver import DevServer
from signoff.temporal.search_attributes import Registration, SearchAttributeCheck, SetupRefused, inspect, register
from tests.support.temporal import fresh_namespace, start_time_skipping


@pytest.mark.process
async def test_registered_on_the_dev_server_and_registered_once_on_a_fresh_namespace(dev_server: DevServer) -> None:
    default = await Client.connect(dev_server.address)
    assert (await inspect(default, "default")).registration is Registration.REGISTERED
    assert await register(default, "default") == []

    client = await fresh_namespace(default)
    before = await inspect(client, client.namespace)
    assert before.registration is Registration.MISSING
    assert set(before.missing) == {
        "SignoffKind",
        "SignoffRequester",
        "SignoffApprovers",
        "SignoffPhase",
        "SignoffChannel",
    }

    added = await register(client, client.namespace)
    assert set(added) == set(before.missing)
    assert (await inspect(client, client.namespace)).registration is Registration.REGISTERED
    # Idempotent: a second run adds nothing and says so.
    assert await register(client, client.namespace) == []


@pytest.mark.process
async def test_an_attribute_of_another_type_is_refused_with_what_to_do(dev_server: DevServer) -> None:
    client = await fresh_namespace(await Client.connect(dev_server.address))
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace, search_attributes={"SignoffPhase": IndexedValueType.INDEXED_VALUE_TYPE_TEXT}
        )
    )
    found = await inspect(client, client.namespace)
    assert found.registration is Registration.MISSING
    assert found.wrong_type == ("SignoffPhase is Text, not Keyword",)
    with pytest.raises(SetupRefused, match=r"SignoffPhase is Text, not Keyword.*cannot be changed"):
        await register(client, client.namespace)
    # Nothing was added.
    assert "SignoffKind" in (await inspect(client, client.namespace)).missing


@pytest.mark.process
async def test_a_no_is_asked_again_after_a_while_and_a_yes_is_kept(dev_server: DevServer) -> None:
    client = await fresh_namespace(await Client.connect(dev_server.address))
    now = [0.0]
    check = SearchAttributeCheck(client, client.namespace, consequence="(test)", clock=lambda: now[0])
    assert not await check.registered()
    await register(client, client.namespace)
    now[0] = 30.0
    assert not await check.registered(), "asked again only after a minute"
    now[0] = 61.0
    assert await check.registered()


async def test_the_time_skipping_server_cannot_tell_so_nothing_upserts() -> None:
    env = await start_time_skipping()
    try:
        found = await inspect(env.client, env.client.namespace)
        assert found.registration is Registration.REFUSED
        assert "UNIMPLEMENTED" in found.reason
        assert not await SearchAttributeCheck(env.client, env.client.namespace, consequence="(test)").registered()
    finally:
        await env.shutdown()
