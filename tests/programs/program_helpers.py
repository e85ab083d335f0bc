"""Helpers the three tutorial programs' tests share (a module of its own, so that importing
it never depends on which ``conftest`` pytest registered first)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

import pytest


def finishes_within(seconds: float) -> Callable[[Any], Any]:
    """A safety net, not a synchronisation: a test that hangs (a websocket handler that is
    never ended, say) fails after ``seconds`` instead of stalling the whole run."""

    def decorate(test: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(test)
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            task = asyncio.ensure_future(test(*args, **kwargs))
            done, _ = await asyncio.wait({task}, timeout=seconds)
            if not done:
                task.cancel()
                await asyncio.wait({task}, timeout=1)
                pytest.fail(f"hung: not finished within {seconds} seconds")
            return task.result()

        return guarded

    return decorate
