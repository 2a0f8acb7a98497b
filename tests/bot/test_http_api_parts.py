"""The HTTP API's parts alone: the wait clamp, request ids, the key ring, each key's pace."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # no stubs; mcp brings it

from bot.api.auth import KeyRing
from bot.api.openapi import openapi_document
from bot.api.problems import ProblemError
from bot.api.ratelimit import RateLimiter
from bot.api.routes import MAX_WAIT_SECONDS, parse_wait, request_id
from tests.support.api import CI_KEY, KEYS, OTHER_KEY


@pytest.mark.parametrize(("raw", "seconds"), [(None, 0.0), ("", 0.0), ("5", 5.0), ("2.5", 2.5), ("60", 60.0)])
def test_wait_within_bounds(raw: str | None, seconds: float) -> None:
    assert parse_wait(raw) == seconds


@pytest.mark.parametrize("raw", ["61", "1e9", "1e309", "inf", "99999999999999999999999"])
def test_a_huge_wait_is_clamped(raw: str) -> None:
    assert parse_wait(raw) == MAX_WAIT_SECONDS


@pytest.mark.parametrize("raw", ["-1", "nan", "soon", "-inf"])
def test_a_wait_that_is_not_a_duration_is_refused_naming_it(raw: str) -> None:
    with pytest.raises(ProblemError) as refused:
        parse_wait(raw)
    assert refused.value.status == 400 and refused.value.errors[0].field == "wait"


def test_request_ids_are_per_key_and_deterministic() -> None:
    assert request_id("ci", "deploy-1") == request_id("ci", "deploy-1")
    assert request_id("ci", "deploy-1") != request_id("other-team", "deploy-1")
    # The separator keeps ("a", "b:c") and ("a:b", "c") apart.
    assert request_id("a", "b:c") != request_id("a:b", "c")


def test_the_key_ring_matches_whole_secrets_only() -> None:
    ring = KeyRing(KEYS)
    assert ring.match(CI_KEY.secret) is CI_KEY and ring.match(OTHER_KEY.secret) is OTHER_KEY
    for wrong in ("", CI_KEY.secret[:-1], CI_KEY.secret + "x", CI_KEY.secret.upper(), f" {CI_KEY.secret}"):
        assert ring.match(wrong) is None
    assert not KeyRing(())


def test_each_key_has_its_own_pace() -> None:
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    limiter.take("ci")
    limiter.take("ci")
    with pytest.raises(ProblemError) as refused:
        limiter.take("ci")
    assert refused.value.status == 429 and refused.value.headers["Retry-After"] == "30"
    limiter.take("other-team")
    now[0] = 30.0  # one request's worth refilled
    limiter.take("ci")
    with pytest.raises(ProblemError):
        limiter.take("ci")


def test_the_openapi_document_is_openapi_3_1_with_valid_schemas() -> None:
    document = openapi_document()
    assert document["openapi"] == "3.1.0"
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    # Every field of the request is documented, the API's own and SignoffRequest's.
    fields = document["components"]["schemas"]["CreateRequest"]["properties"]
    assert {"id", "callback_url", "title", "body", "channel", "approvers", "metadata"} <= set(fields)
    assert document["components"]["schemas"]["CreateRequest"]["additionalProperties"] is False
