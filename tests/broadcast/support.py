"""Helpers of the broadcast tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis

from quart.broadcast import Subscription
from redis_support import RedisServer

#: The most any step of a test waits (a failure, not a pause: nothing sleeps this long).
TIMEOUT = 5.0
PREFIX = "quart:broadcast:"


async def take(subscription: Subscription, count: int) -> list[Any]:
    """The next ``count`` messages of ``subscription`` (a failure after TIMEOUT)."""
    got: list[Any] = []
    async with asyncio.timeout(TIMEOUT):
        while len(got) < count:
            got.append(await anext(subscription))
    return got


async def take_with_ids(subscription: Subscription, count: int) -> list[tuple[Any, str | None]]:
    got: list[tuple[Any, str | None]] = []
    async with asyncio.timeout(TIMEOUT):
        while len(got) < count:
            message = await anext(subscription)
            got.append((message, subscription.last_id))
    return got


async def wait_until(condition: Callable[[], Awaitable[bool]]) -> None:
    """Poll a state only Redis knows (there is no event to await) until it holds; a
    failure after TIMEOUT."""
    async with asyncio.timeout(TIMEOUT):
        while not await condition():
            await asyncio.sleep(0.01)


async def numsub(url: str, channel: str, prefix: str = PREFIX) -> int:
    """How many connections Redis has subscribed to ``channel`` (PUBSUB NUMSUB)."""
    client = aioredis.Redis.from_url(url)
    try:
        [(_, count)] = await client.pubsub_numsub(prefix + channel)
        return int(count)
    finally:
        await client.aclose()


async def numsub_is(url: str, channel: str, expected: int, prefix: str = PREFIX) -> None:
    async def holds() -> bool:
        return await numsub(url, channel, prefix) == expected

    await wait_until(holds)


def outage(server: RedisServer, how: str) -> None:
    """Stop (``"stop"``) or kill (``"kill"``, SIGKILL) the server."""
    getattr(server, how)()
