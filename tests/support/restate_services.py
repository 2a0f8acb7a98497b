"""Trivial Restate services for the tests of running Restate (``tests/restate``): each test names its
own, since the server is shared and Restate keeps every service it was ever given."""

from __future__ import annotations

import uuid

import restate


def unique_name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def greeter(name: str, *, wave: bool = False) -> restate.Service:
    """A service ``name`` whose ``greet`` handler answers ``"hello <who>"`` (and ``wave``, when asked)."""
    service = restate.Service(name)

    @service.handler()
    async def greet(ctx: restate.Context, who: str) -> str:
        return f"hello {who}"

    if wave:

        @service.handler()
        async def wave_at(ctx: restate.Context, who: str) -> str:
            return f"*waves at {who}*"

    return service


def greeter_object(name: str) -> restate.VirtualObject:
    """A virtual object under the same kind of name: the same name as a ``greeter`` changes its type."""
    counter = restate.VirtualObject(name)

    @counter.handler()
    async def greet(ctx: restate.ObjectContext, who: str) -> str:
        return f"hello {who}"

    return counter
