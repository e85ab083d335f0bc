"""Shared fixtures: ``app`` and ``client`` for the test-client layer, and ``serve``, which
runs an app with hypercorn on 127.0.0.1 at a free port (``base_url = await serve(app)``)
for the real-server layers (tests/server, tests/extensions, tests/browser), and
``redis_server``, a real Redis server on 127.0.0.1 at a free port (``redis_server.url``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from typing import Any

import pytest

from quart import Quart
from redis_support import RedisServer, redis_required
from server.serving import running_server

ServeFn = Callable[..., Awaitable[str]]


@pytest.fixture
def app() -> Quart:
    # static_folder=None keeps the URL map free of the static rule, so host
    # matching and routing tests see exactly the rules they register.
    return Quart(__name__, static_folder=None)


@pytest.fixture
def client(app: Quart):
    return app.test_client()


@pytest.fixture
async def serve() -> AsyncIterator[ServeFn]:
    """``base_url = await serve(app, **hypercorn_config)``; stopped at teardown."""
    async with AsyncExitStack() as stack:

        async def _serve(app: Any, **config: Any) -> str:
            return await stack.enter_async_context(running_server(app, **config))

        yield _serve


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A Redis server of the test's own, stopped and its files removed at teardown."""
    reason = redis_required()
    if reason is not None:
        pytest.skip(reason)
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.close()
