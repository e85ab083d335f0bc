"""Quart-Redis 3.0.0 (with redis-py 5.3.1) on our quart, against a real redis-server on
127.0.0.1: ``RedisHandler(app)`` with ``REDIS_URI``, ``get_redis()`` in views (set, get and
incr across requests, and concurrent requests served by hypercorn), the connection opened
and pinged at startup and closed at shutdown (``app.test_app()``), ``REDIS_CONN_ATTEMPTS``,
and what happens when Redis is down.

What the extension does when Redis is down (documented here by the tests):
- at startup, it pings ``REDIS_CONN_ATTEMPTS`` times (default 3, two seconds apart) and
  then lets the error through, so the app does not start (``LifespanError``); a negative
  count skips the ping and the app starts without Redis;
- while serving, a view's Redis command raises redis-py's ``ConnectionError``: a 500 for
  that request; once Redis is back, the next command reconnects and the app carries on.

The connection is a class attribute of ``RedisHandler`` (one per process, not per app): it
outlives the app's shutdown (closed, not cleared), and an app started later replaces it
for every app. The ``quart_redis_state`` fixture clears it around each test.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import redis.asyncio
import redis.exceptions
from quart_redis import RedisHandler, RedisNotInitialized, get_redis

from quart import Quart
from quart.testing.app import LifespanError
from redis_support import RedisServer

CLIENT_NAME = "quart-redis-app"


@pytest.fixture(autouse=True)
def quart_redis_state() -> Iterator[None]:
    RedisHandler._connection = None
    yield
    RedisHandler._connection = None


@pytest.fixture
async def inspector(redis_server: RedisServer) -> AsyncIterator[redis.asyncio.Redis]:
    """The test's own connection to the server, to see what the app did."""
    client = redis.asyncio.Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    await client.aclose()


def make_app(uri: str, **config: Any) -> Quart:
    app = Quart(__name__)
    app.config["REDIS_URI"] = uri
    app.config.update(config)
    RedisHandler(app, client_name=CLIENT_NAME)  # keyword arguments go to redis-py

    @app.route("/")
    async def index() -> Any:  # the README's example
        redis = get_redis()
        val = await redis.get("my-key")
        if val is None:
            await redis.set("my-key", "it works!")
            val = await redis.get("my-key")
        return val

    @app.post("/hits")
    async def hit() -> dict[str, int]:
        return {"hits": await get_redis().incr("hits")}

    @app.put("/notes/<name>")
    async def put_note(name: str) -> tuple[str, int]:
        from quart import request

        await get_redis().set(f"note:{name}", await request.get_data())
        return "", 204

    @app.get("/notes/<name>")
    async def get_note(name: str) -> Any:
        note = await get_redis().get(f"note:{name}")
        return (note, 200) if note is not None else ("no such note", 404)

    return app


async def app_client_names(inspector: redis.asyncio.Redis) -> list[str]:
    clients = await inspector.client_list()
    return [client["name"] for client in clients if client["name"] == CLIENT_NAME]


async def test_readme_example(redis_server: RedisServer, inspector: redis.asyncio.Redis) -> None:
    app = make_app(redis_server.url)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        first = await client.get("/")
        assert await first.get_data() == b"it works!"
        await inspector.set("my-key", "changed behind its back")
        second = await client.get("/")
        assert await second.get_data() == b"changed behind its back"


async def test_set_get_and_incr_across_requests(
    redis_server: RedisServer, inspector: redis.asyncio.Redis
) -> None:
    app = make_app(redis_server.url)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        counts = [await (await client.post("/hits")).get_json() for _ in range(3)]
        assert counts == [{"hits": 1}, {"hits": 2}, {"hits": 3}]
        assert await inspector.get("hits") == "3"

        assert (await client.get("/notes/todo")).status_code == 404
        assert (await client.put("/notes/todo", data=b"buy milk")).status_code == 204
        response = await client.get("/notes/todo")
        assert await response.get_data() == b"buy milk"
        assert await inspector.get("note:todo") == "buy milk"


async def test_connection_opened_at_startup_and_closed_at_shutdown(
    redis_server: RedisServer, inspector: redis.asyncio.Redis
) -> None:
    app = make_app(redis_server.url)
    with pytest.raises(RedisNotInitialized):
        get_redis()
    assert await app_client_names(inspector) == []

    async with app.test_app():
        connection = get_redis()
        assert isinstance(connection, redis.asyncio.Redis)
        # Pinged at startup, before any request: the server knows the app's connection.
        assert await app_client_names(inspector) == [CLIENT_NAME]
        pool = connection.connection_pool
        assert [c.is_connected for c in pool._available_connections] == [True]

    # Closed at shutdown: the pool's connection is gone, and so is the server's client.
    assert not any(c.is_connected for c in pool._available_connections)
    async with asyncio.timeout(5):
        # Nothing tells us when the server has processed the close: ask until it has.
        while await app_client_names(inspector):
            await asyncio.sleep(0.01)
    # The extension keeps the closed connection rather than clearing it.
    assert get_redis() is connection


async def test_concurrent_requests_through_hypercorn(
    serve: Any, redis_server: RedisServer, inspector: redis.asyncio.Redis
) -> None:
    app = make_app(redis_server.url)
    base_url = await serve(app)  # hypercorn runs the lifespan: the connection opens
    assert await app_client_names(inspector)
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        responses = await asyncio.gather(*(client.post("/hits") for _ in range(20)))
        assert sorted(response.json()["hits"] for response in responses) == list(range(1, 21))
        assert (await client.get("/")).text == "it works!"
    assert await inspector.get("hits") == "20"


async def test_startup_fails_when_redis_is_down(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    redis_server.stop()
    app = make_app(redis_server.url, REDIS_CONN_ATTEMPTS=1)
    with (
        caplog.at_level(logging.WARNING, logger="quart_redis"),
        pytest.raises(LifespanError, match="Connect"),
    ):
        async with app.test_app():
            pytest.fail("the app must not start without Redis")
    messages = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "quart_redis"]
    assert messages == [
        ("WARNING", "Redis connection attempt 1 of 1 failed"),
        ("CRITICAL", "Redis connection failed"),
    ]


async def test_without_the_startup_ping_the_app_starts_and_redis_can_come_later(
    redis_server: RedisServer,
) -> None:
    redis_server.stop()
    app = make_app(redis_server.url, REDIS_CONN_ATTEMPTS=-1)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        down = await client.post("/hits")
        assert down.status_code == 500
        redis_server.start()
        up = await client.post("/hits")
        assert up.status_code == 200
        assert await up.get_json() == {"hits": 1}


async def test_redis_stopped_while_serving(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(redis_server.url)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        assert await (await client.post("/hits")).get_json() == {"hits": 1}

        redis_server.stop()
        caplog.clear()
        failed = await client.post("/hits")
        assert failed.status_code == 500  # through the error handlers, logged once
        errors = [r for r in caplog.records if r.exc_info is not None]
        assert len(errors) == 1
        assert errors[0].exc_info is not None
        assert isinstance(errors[0].exc_info[1], redis.exceptions.ConnectionError)

        redis_server.start()  # same port, empty (persistence is off)
        again = await client.post("/hits")
        assert again.status_code == 200
        assert await again.get_json() == {"hits": 1}
    # Shutdown closed the connection without complaint although it had been broken.


async def test_one_connection_per_process(redis_server: RedisServer) -> None:
    """A second app started in the same process takes over the connection of the first
    (here on database 1), and its shutdown closes the connection they share."""
    first = make_app(redis_server.url)
    second = make_app(redis_server.url.removesuffix("/0") + "/1")
    async with first.test_app() as first_app:
        replaced = get_redis()
        try:
            async with second.test_app():
                shared = get_redis()
                assert shared is not replaced
                await first_app.test_client().post("/hits")
                assert await shared.get("hits") == b"1"  # the first app wrote to database 1
                assert await replaced.get("hits") is None  # not to its own database 0
            # The shared connection was closed by the second app; redis-py reconnects on use.
            response = await first_app.test_client().post("/hits")
            assert await response.get_json() == {"hits": 2}
        finally:
            # Nobody closes the replaced connection: the extension forgot it.
            await replaced.aclose()
