"""`signoff setup`: registers signoff's search attributes on the configured namespace, once, as a real
command against real servers; a cluster that refuses (as Temporal Cloud's operator service does) gets
what to do there instead (exit 1), an unreachable one exits 2; one line of why, no traceback."""

from __future__ import annotations

import asyncio
import subprocess

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client

from signoff.temporal.devserver import DevServer, free_port
from tests.support.processes import signoff_command
from tests.support.temporal import fresh_namespace, start_time_skipping

pytestmark = [pytest.mark.process, pytest.mark.slow]


async def setup(address: str, namespace: str = "default") -> subprocess.CompletedProcess[str]:
    env = {"TEMPORAL_ADDRESS": address, "TEMPORAL_NAMESPACE": namespace}
    return await asyncio.to_thread(signoff_command, "setup", env=env)


async def test_registers_them_once(dev_server: DevServer) -> None:
    client = await fresh_namespace(await Client.connect(dev_server.address))
    first = await setup(dev_server.address, client.namespace)
    assert first.returncode == 0, first.stderr
    assert (
        f"Registered SignoffKind, SignoffRequester, SignoffApprovers, SignoffPhase, SignoffChannel in namespace {client.namespace!r}"
        in first.stdout
    )
    again = await setup(dev_server.address, client.namespace)
    assert again.returncode == 0, again.stderr
    assert "already registered" in again.stdout and "SignoffApprovers (KeywordList)" in again.stdout
    assert "Nothing to do." in again.stdout


async def test_an_attribute_of_another_type_is_left_alone_and_explained(dev_server: DevServer) -> None:
    client = await fresh_namespace(await Client.connect(dev_server.address))
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace, search_attributes={"SignoffKind": IndexedValueType.INDEXED_VALUE_TYPE_INT}
        )
    )
    clash = await setup(dev_server.address, client.namespace)
    assert clash.returncode == 1
    assert (
        "SignoffKind is Int, not Keyword" in clash.stderr
        and "temporal operator search-attribute remove" in clash.stderr
    )
    assert "Traceback" not in clash.stderr


async def test_a_cluster_that_refuses_gets_the_temporal_cloud_way() -> None:
    env = await start_time_skipping()  # no operator service, like a refusal
    try:
        refused = await setup(env.client.service_client.config.target_host)
    finally:
        await env.shutdown()
    assert refused.returncode == 1
    assert "refused to register signoff's search attributes in namespace 'default' (UNIMPLEMENTED" in refused.stderr
    assert "Cloud UI" in refused.stderr
    assert (
        'tcld namespace search-attributes add --namespace default --search-attribute "SignoffKind=Keyword"'
        in refused.stderr
    )
    assert '--search-attribute "SignoffApprovers=KeywordList"' in refused.stderr
    assert "Traceback" not in refused.stderr


async def test_unreachable_exits_2() -> None:
    nowhere = await setup(f"127.0.0.1:{free_port()}")
    assert nowhere.returncode == 2
    assert "signoff setup: cannot reach Temporal at 127.0.0.1:" in nowhere.stderr
    assert "Traceback" not in nowhere.stderr
