"""Quart-Rate-Limiter 0.12.1 on our quart: ``RateLimiter(app)`` and ``@rate_limit`` on routes
(one limit, several, ``limits=[RateLimit(...)]``), ``limit_blueprint``, the 429 with its
``Retry-After`` and the ``RateLimit-*`` headers on answers, the limit recovering after its
period, keys per client address (``X-Forwarded-For`` aware) or from a key function, skip
functions, ``rate_exempt`` against default limits, switching it off by config, the
``RedisStore`` on a real redis-server shared by two app instances, and limits enforced over
real HTTP by hypercorn."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from quart_rate_limiter import (
    RateLimit,
    RateLimiter,
    limit_blueprint,
    rate_exempt,
    rate_limit,
)
from quart_rate_limiter.redis_store import RedisStore
from redis import asyncio as aioredis

from quart import Blueprint, Quart, request
from quart.testing import QuartClient
from redis_support import RedisServer


async def user_key() -> str:
    return request.headers.get("X-User", "anonymous")


async def skip_admins() -> bool:
    return request.headers.get("X-User") == "admin"


def make_app(**limiter_options: Any) -> tuple[Quart, RateLimiter]:
    app = Quart(__name__)
    limiter = RateLimiter(app, **limiter_options)

    @app.get("/")
    @rate_limit(2, timedelta(seconds=10))
    async def index() -> str:
        return "index"

    @app.get("/layered")
    @rate_limit(3, timedelta(seconds=1))
    @rate_limit(4, timedelta(minutes=1))
    async def layered() -> str:
        return "layered"

    @app.get("/listed")
    @rate_limit(limits=[RateLimit(1, timedelta(seconds=30)), RateLimit(5, timedelta(hours=1))])
    async def listed() -> str:
        return "listed"

    @app.get("/per-user")
    @rate_limit(1, timedelta(minutes=1), key_function=user_key, skip_function=skip_admins)
    async def per_user() -> str:
        return f"hello {request.headers.get('X-User')}"

    @app.get("/brief")
    @rate_limit(1, timedelta(milliseconds=300))
    async def brief() -> str:
        return "brief"

    @app.get("/free")
    @rate_exempt
    async def free() -> str:
        return "free"

    @app.get("/plain")
    async def plain() -> str:
        return "plain"

    api = Blueprint("api", __name__, url_prefix="/api")

    @api.get("/a")
    async def api_a() -> str:
        return "a"

    @api.get("/b")
    async def api_b() -> str:
        return "b"

    limit_blueprint(api, 1, timedelta(minutes=1))
    app.register_blueprint(api)
    return app, limiter


@pytest.fixture
def limited_app() -> Quart:
    return make_app()[0]


@pytest.fixture
def limited_client(limited_app: Quart) -> QuartClient:
    return limited_app.test_client()


async def test_limit_then_429_with_retry_after(limited_client: QuartClient) -> None:
    first = await limited_client.get("/")
    assert first.status_code == 200
    assert first.headers["RateLimit-Limit"] == "2"
    assert first.headers["RateLimit-Remaining"] == "1"
    assert first.headers["RateLimit-Reset"] == "5"  # one request costs 10s / 2
    second = await limited_client.get("/")
    assert second.status_code == 200
    assert second.headers["RateLimit-Remaining"] == "0"
    assert second.headers["RateLimit-Reset"] == "10"

    refused = await limited_client.get("/")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "5"  # when the next request is allowed
    assert set(refused.headers.getlist("Retry-After")) == {"5"}
    assert "Too Many Requests" in await refused.get_data(as_text=True)
    assert refused.headers["RateLimit-Remaining"] == "0"
    # The refused request did not cost anything: still five seconds to wait.
    assert (await limited_client.get("/")).headers["Retry-After"] == "5"


async def test_retry_after_is_sent_twice(limited_client: QuartClient) -> None:
    """quart-rate-limiter 0.12.1's own bug: ``RateLimitExceeded`` sets werkzeug's
    ``retry_after`` (so werkzeug's ``TooManyRequests.get_headers`` adds Retry-After) and
    appends its own, on any Quart. Both carry the same value, which clients cope with."""
    for _ in range(2):
        await limited_client.get("/")
    refused = await limited_client.get("/")
    assert refused.headers.getlist("Retry-After") == ["5", "5"]


async def test_the_limit_recovers_after_its_period(limited_client: QuartClient) -> None:
    assert (await limited_client.get("/brief")).status_code == 200
    refused = await limited_client.get("/brief")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"  # rounded up to whole seconds
    # Time passing is the behaviour under test here: there is no event to await.
    await asyncio.sleep(0.35)
    assert (await limited_client.get("/brief")).status_code == 200


async def test_several_limits_on_one_route(limited_client: QuartClient) -> None:
    statuses = [(await limited_client.get("/layered")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]  # the 3 per second limit bites first
    response = await limited_client.get("/listed")
    # The headers describe the shortest-period limit.
    assert response.headers["RateLimit-Limit"] == "1"
    assert response.headers["RateLimit-Remaining"] == "0"
    response = await limited_client.get("/listed")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"


async def test_limits_count_per_client_address(limited_client: QuartClient) -> None:
    one = {"X-Forwarded-For": "192.0.2.1"}
    two = {"X-Forwarded-For": "192.0.2.2"}
    for _ in range(2):
        assert (await limited_client.get("/", headers=one)).status_code == 200
    assert (await limited_client.get("/", headers=one)).status_code == 429
    assert (await limited_client.get("/", headers=two)).status_code == 200
    assert (await limited_client.get("/")).status_code == 200  # 127.0.0.1, its own count


async def test_key_and_skip_functions(limited_client: QuartClient) -> None:
    ada = {"X-User": "ada"}
    assert (await limited_client.get("/per-user", headers=ada)).status_code == 200
    assert (await limited_client.get("/per-user", headers=ada)).status_code == 429
    response = await limited_client.get("/per-user", headers={"X-User": "bob"})
    assert await response.get_data(as_text=True) == "hello bob"
    for _ in range(3):  # admins are never limited
        assert (
            await limited_client.get("/per-user", headers={"X-User": "admin"})
        ).status_code == 200


async def test_blueprint_limit_applies_to_each_route(limited_client: QuartClient) -> None:
    assert (await limited_client.get("/api/a")).status_code == 200
    assert (await limited_client.get("/api/a")).status_code == 429
    assert (await limited_client.get("/api/b")).status_code == 200  # counted per endpoint
    assert (await limited_client.get("/api/b")).status_code == 429
    unlimited = await limited_client.get("/plain")
    assert unlimited.status_code == 200
    assert "RateLimit-Limit" not in unlimited.headers


async def test_default_limits_and_exemption() -> None:
    app, _ = make_app(default_limits=[RateLimit(1, timedelta(minutes=1))])
    client = app.test_client()
    assert (await client.get("/plain")).headers["RateLimit-Limit"] == "1"
    assert (await client.get("/plain")).status_code == 429
    for _ in range(3):
        response = await client.get("/free")
        assert response.status_code == 200
        assert "RateLimit-Limit" not in response.headers
    # A route's own limits add to the defaults.
    assert (await client.get("/")).status_code == 200
    assert (await client.get("/")).status_code == 429


async def test_default_key_function_of_the_limiter() -> None:
    app, _ = make_app(key_function=user_key)
    client = app.test_client()
    for _ in range(2):
        assert (await client.get("/", headers={"X-User": "ada"})).status_code == 200
    assert (await client.get("/", headers={"X-User": "ada"})).status_code == 429
    assert (await client.get("/", headers={"X-User": "bob"})).status_code == 200


async def test_disabled_by_config() -> None:
    app, _ = make_app(enabled=False)
    assert app.config["QUART_RATE_LIMITER_ENABLED"] is False
    client = app.test_client()
    for _ in range(4):
        response = await client.get("/")
        assert response.status_code == 200
        assert "RateLimit-Limit" not in response.headers


class ClosingRedisStore(RedisStore):
    """quart-rate-limiter 0.12.1's own bug: ``after_serving`` calls redis-py's ``close()``,
    deprecated since redis 5.0.1 (a DeprecationWarning, an error under our warnings
    policy, on any Quart). This store closes with ``aclose()``."""

    async def after_serving(self) -> None:
        assert self._redis is not None
        await self._redis.aclose()
        self._redis = None


async def test_redis_store_shared_by_two_instances(redis_server: RedisServer) -> None:
    first, _ = make_app(store=ClosingRedisStore(redis_server.url))
    second, _ = make_app(store=ClosingRedisStore(redis_server.url))
    redis = aioredis.from_url(redis_server.url, decode_responses=True)
    try:
        async with first.test_app() as one, second.test_app() as two:
            assert (await one.test_client().get("/")).status_code == 200
            keys = await redis.keys("*")
            assert keys == ["extensions.test_quart_rate_limiter-index-2-10.0-127.0.0.1"]
            float(await redis.get(keys[0]) or "")  # a theoretical arrival time, as a timestamp
            # The other "worker" sees the same count.
            response = await two.test_client().get("/")
            assert response.headers["RateLimit-Remaining"] == "0"
            refused = await one.test_client().get("/")
            assert refused.status_code == 429
            assert refused.headers["Retry-After"] == "5"
    finally:
        await redis.aclose()


async def test_redis_store_close_is_deprecated(redis_server: RedisServer) -> None:
    """The extension's bug itself, so that the workaround above can go when it is fixed."""
    app, _ = make_app(store=RedisStore(redis_server.url))
    with pytest.warns(DeprecationWarning, match="aclose"):
        async with app.test_app() as test_app:
            assert (await test_app.test_client().get("/")).status_code == 200


async def test_served_by_hypercorn(limited_app: Quart, serve: Any) -> None:
    base_url = await serve(limited_app)
    async with httpx.AsyncClient(base_url=base_url) as http:
        responses = [await http.get("/") for _ in range(3)]
        assert [response.status_code for response in responses] == [200, 200, 429]
        assert responses[0].headers["ratelimit-remaining"] == "1"
        assert set(responses[2].headers.get_list("retry-after")) == {"5"}
        response = await http.get("/", headers={"X-Forwarded-For": "203.0.113.9"})
        assert response.status_code == 200
