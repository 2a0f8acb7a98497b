"""The webhook activity over real HTTP: signed so a receiver can verify it (the docs' snippet, below),
and never sent where it must not go: private, loopback and link-local addresses (literal, or names
resolving there, checked on every delivery), plain http beyond loopback, redirects."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from temporalio.exceptions import ApplicationError

from signoff.activities import webhooks
from signoff.activities.webhooks import WebhookActivities, vet_target
from signoff.contracts.api import WEBHOOK_REFUSED, WebhookInput
from tests.support.api import CI_KEY, KEYS
from tests.support.webhooks import receiver, verify, verify_signoff_webhook

BODY = json.dumps({"id": "api-1", "status": "approved", "thread": None, "result": None})


class StubDns(AbstractResolver):
    """A DNS that answers ``answers[host]`` (one list per lookup, the last repeated): a rebinding name
    answers differently each time."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.lookups: dict[str, int] = {}

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        count = self.lookups.get(host, 0)
        self.lookups[host] = count + 1
        addresses = self.answers[host][min(count, len(self.answers[host]) - 1)]
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        return None


def delivery(url: str, key: str = CI_KEY.name) -> WebhookInput:
    return WebhookInput(workflow_id="api-1", url=url, api_key=key, body=BODY)


async def refused(activities: WebhookActivities, url: str) -> ApplicationError:
    with pytest.raises(ApplicationError) as raised:
        await activities.deliver_webhook(delivery(url))
    assert raised.value.type == WEBHOOK_REFUSED and raised.value.non_retryable, raised.value
    return raised.value


async def test_delivered_signed_and_verifiable() -> None:
    async with receiver() as hook:
        await WebhookActivities(KEYS, allow_private=True).deliver_webhook(delivery(hook.base + "/hook?token=t"))
    [(path, headers, body)] = hook.received
    assert path == "/hook" and body == BODY.encode()
    assert headers["Content-Type"] == "application/json"
    timestamp, signature = headers["Signoff-Timestamp"], headers["Signoff-Signature"]
    assert verify(CI_KEY.secret, timestamp, signature, body)
    # A forged body, another key's secret, or a replay of an old delivery fail the check.
    assert not verify(CI_KEY.secret, timestamp, signature, body + b" ")
    assert not verify(KEYS[1].secret, timestamp, signature, body)
    assert not verify(CI_KEY.secret, str(int(timestamp) - 600), signature, body)
    assert verify_signoff_webhook(CI_KEY.secret, headers, body) and not verify_signoff_webhook(CI_KEY.secret, {}, body)


async def test_private_loopback_and_link_local_literals_are_refused() -> None:
    activities = WebhookActivities(KEYS, allow_private=False)
    async with receiver() as hook:
        port = hook.base.rsplit(":", 1)[1]
        for url in (
            f"http://127.0.0.1:{port}/hook",
            f"https://127.0.0.1:{port}/hook",
            f"https://[::1]:{port}/hook",
            f"https://[::ffff:127.0.0.1]:{port}/hook",
            "https://10.0.0.7/hook",
            "https://192.168.1.1/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://0.0.0.0/hook",
        ):
            await refused(activities, url)
    assert hook.received == []


async def test_names_resolving_to_private_addresses_are_refused() -> None:
    dns = StubDns(
        {
            "loopback.example": [["127.0.0.1"]],
            "internal.example": [["10.1.2.3"]],
            "metadata.example": [["169.254.169.254"]],
            # One public address and one private: any unsafe address refuses the name.
            "mixed.example": [["93.184.216.34", "10.0.0.1"]],
        }
    )
    activities = WebhookActivities(KEYS, allow_private=False, resolver=lambda: dns)
    async with receiver() as hook:
        port = hook.base.rsplit(":", 1)[1]
        for host in dns.answers:
            error = await refused(activities, f"https://{host}:{port}/hook")
            assert "resolves to" in error.message
        # localhost, by the machine's own resolver.
        await refused(WebhookActivities(KEYS, allow_private=False), f"https://localhost:{port}/hook")
    assert hook.received == []


async def test_a_name_rebound_after_the_check_is_refused_at_delivery() -> None:
    # Public when the API checked it, loopback when the webhook is sent: checked again, refused.
    dns = StubDns({"rebind.example": [["93.184.216.34"], ["127.0.0.1"]]})
    assert await vet_target("https://rebind.example/hook", allow_private=False, inner=dns) is None
    await refused(WebhookActivities(KEYS, allow_private=False, resolver=lambda: dns), "https://rebind.example/hook")


async def test_plain_http_goes_to_loopback_only() -> None:
    dns = StubDns({"hooks.example": [["93.184.216.34"]]})
    activities = WebhookActivities(KEYS, allow_private=True, resolver=lambda: dns)
    error = await refused(activities, "http://hooks.example/hook")
    assert "https" in error.message


async def test_redirects_are_not_followed() -> None:
    async with receiver(status=302) as hook:
        with pytest.raises(ApplicationError) as raised:
            await WebhookActivities(KEYS, allow_private=True).deliver_webhook(delivery(hook.base + "/hook"))
    # Not a 2xx: tried again later by the workflow's policy; the redirect's target never reached.
    assert "302" in raised.value.message and not raised.value.non_retryable
    assert [path for path, _, _ in hook.received] == ["/hook"]


async def test_a_receiver_that_fails_is_tried_again() -> None:
    async with receiver(status=503) as hook:
        with pytest.raises(ApplicationError) as raised:
            await WebhookActivities(KEYS, allow_private=True).deliver_webhook(delivery(hook.base + "/hook"))
    assert "503" in raised.value.message and not raised.value.non_retryable


async def test_a_key_the_worker_does_not_have_is_refused() -> None:
    async with receiver() as hook:
        with pytest.raises(ApplicationError) as raised:
            await WebhookActivities(KEYS, allow_private=True).deliver_webhook(delivery(hook.base + "/hook", "gone"))
    assert raised.value.type == WEBHOOK_REFUSED and "'gone'" in raised.value.message
    assert hook.received == []


async def test_the_api_check_refuses_what_delivery_would() -> None:
    dns = StubDns({"metadata.example": [["169.254.169.254"]], "hooks.example": [["93.184.216.34"]]})
    assert "link-local" in (await vet_target("https://metadata.example/x", allow_private=False, inner=dns) or "")
    assert "private" in (await vet_target("https://10.0.0.1/x", allow_private=False) or "")
    assert "loopback" in (await vet_target("https://localhost/x", allow_private=False) or "")
    assert await vet_target("https://hooks.example/x", allow_private=False, inner=dns) is None
    assert await vet_target("http://localhost:8080/x", allow_private=True) is None


class SilentDns(AbstractResolver):
    """A DNS that never answers."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def close(self) -> None:
        return None


async def test_a_name_that_does_not_resolve_in_time_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhooks, "RESOLVE_TIMEOUT_SECONDS", 0.05)
    problem = await vet_target("https://slow.example/hook", allow_private=False, inner=SilentDns())
    assert problem == "slow.example did not resolve within 0.05 s"
