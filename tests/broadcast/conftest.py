"""Fixtures of the broadcast tests: ``url`` runs a test on both backends (``memory://``
and a real Redis server), ``broadcasts`` makes connected broadcasts that are closed at
teardown, after which no task may be left."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from leftover_tasks import our_tasks
from quart.broadcast import Broadcast
from redis_support import RedisServer

MakeBroadcast = Callable[..., Awaitable[Broadcast]]


@pytest.fixture(params=["memory", "redis"])
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each test that takes ``url`` runs on both backends."""
    if request.param == "memory":
        yield "memory://"
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        yield server.url


@pytest.fixture
async def broadcasts() -> AsyncIterator[MakeBroadcast]:
    """``await broadcasts(url, **options)``: a connected Broadcast, closed at teardown;
    then no task of the package may be left, and the loop must have reported nothing
    (a task destroyed while pending, an exception nobody retrieved)."""
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    made: list[Broadcast] = []

    async def make(url: str, **options: Any) -> Broadcast:
        broadcast = Broadcast(url, **options)
        await broadcast.connect()
        made.append(broadcast)
        return broadcast

    try:
        yield make
    finally:
        for broadcast in made:
            await broadcast.close()
        assert our_tasks() == []
        # Nor any other (redis-py's included): only the test's own task is running.
        assert asyncio.all_tasks() == {asyncio.current_task()}
        gc.collect()
        loop.set_exception_handler(None)
    assert reported == []
