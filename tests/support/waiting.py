"""Waiting for something to become true: poll it against a deadline, never sleep a guessed time.

The deadline only catches a hang: on a busy machine a condition may take far longer than
usual to hold, and the test still passes. (The sandbox's own ``SlackSandbox.wait_for`` does
the same for what Slack saw, and names the recorded calls when it gives up.)
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar, overload

T = TypeVar("T")


# A check returns what it found or a falsy "not yet" (None, False); the overloads give the caller
# what was found, typed, whether the check is a coroutine function or a plain one.
@overload
async def eventually(
    check: Callable[[], Awaitable[T | Literal[False] | None]], timeout: float = 15.0, interval: float = 0.05
) -> T: ...


@overload
async def eventually(
    check: Callable[[], T | Literal[False] | None], timeout: float = 15.0, interval: float = 0.05
) -> T: ...


async def eventually(check: Callable[[], Any], timeout: float = 15.0, interval: float = 0.05) -> Any:
    """Call ``check`` (plain or async) until it returns something truthy, and return that.

    Fails with the last value after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        last = check()
        if inspect.isawaitable(last):
            last = await last
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")
        await asyncio.sleep(interval)
