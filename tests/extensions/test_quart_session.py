"""Quart-Session 3.0.0 with Redis on our quart, against a real redis-server on 127.0.0.1:
``SESSION_TYPE = "redis"`` with ``SESSION_URI`` (the README's way) or a client of our own in
``SESSION_REDIS``; the session set, read, modified and cleared across requests through its
cookie, the data really in Redis under ``session:<sid>`` with the permanent session lifetime
as its TTL, permanent and browser-session cookies, no write for an untouched session, made-up
and tampered session ids refused, signed ids, session protection by client address, the
back-end used directly, and a session kept by httpx against hypercorn."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from http.cookies import SimpleCookie
from typing import Any

import httpx
import pytest
from itsdangerous import Signer
from quart_session import Session
from quart_session.sessions import RedisSessionInterface
from redis import asyncio as aioredis

from quart import Quart, request, session
from quart.testing import QuartClient
from redis_support import RedisServer


def make_app(redis_server: RedisServer, **config: Any) -> Quart:
    app = Quart(__name__)
    app.secret_key = "quart-session tests"
    app.config["SESSION_TYPE"] = "redis"
    app.config["SESSION_URI"] = redis_server.url
    app.config.update(config)
    Session(app)

    @app.after_serving
    async def close_redis() -> None:
        # quart-session opens the client at startup and never closes it.
        backend = app.session_interface.backend  # type: ignore[attr-defined]
        if backend is not None:
            await backend.aclose()

    @app.post("/set/<name>")
    async def set_value(name: str) -> str:
        session[name] = (await request.get_json())["value"]
        return "set"

    @app.get("/get/<name>")
    async def get_value(name: str) -> Any:
        return {"value": session.get(name)}

    @app.get("/dump")
    async def dump() -> Any:
        return {key: value for key, value in session.items() if not key.startswith("_")}

    @app.post("/append")
    async def append() -> Any:
        # A mutation the session cannot see: it must be marked modified by hand.
        session.setdefault("items", [])
        session["items"].append((await request.get_json())["item"])
        session.modified = True
        return {"items": session["items"]}

    @app.post("/clear")
    async def clear() -> str:
        session.clear()
        return "cleared"

    @app.get("/untouched")
    async def untouched() -> str:
        return "nothing written"

    return app


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_server.url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


def cookies_of(response: Any) -> SimpleCookie:
    cookie: SimpleCookie = SimpleCookie()
    for header in response.headers.getlist("Set-Cookie"):
        cookie.load(header)
    return cookie


async def stored(redis: aioredis.Redis, sid: str) -> dict[str, Any] | None:
    raw = await redis.get(f"session:{sid}")
    return None if raw is None else json.loads(raw)


async def test_session_lives_in_redis_across_requests(
    redis_server: RedisServer, redis: aioredis.Redis
) -> None:
    app = make_app(redis_server)
    assert isinstance(app.session_interface, RedisSessionInterface)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        response = await client.post("/set/colour", json={"value": "green"})
        morsel = cookies_of(response)["session"]
        sid = morsel.value
        assert len(sid) == 36  # a uuid4: the cookie holds the id, not the data
        assert "green" not in sid
        data = await stored(redis, sid)
        assert data is not None
        assert data["colour"] == "green"
        assert data["_permanent"] is True
        assert data["_addr"] == "127.0.0.1"  # the client address of the test request

        response = await client.get("/get/colour")
        assert await response.get_json() == {"value": "green"}
        assert "Set-Cookie" not in response.headers

        await client.post("/set/size", json={"value": 42})
        assert await (await client.get("/dump")).get_json() == {"colour": "green", "size": 42}
        assert (await stored(redis, sid) or {})["size"] == 42
        assert await redis.keys("session:*") == [f"session:{sid}"]


async def test_ttl_and_cookie_follow_the_permanent_lifetime(
    redis_server: RedisServer, redis: aioredis.Redis
) -> None:
    app = make_app(redis_server, PERMANENT_SESSION_LIFETIME=timedelta(minutes=10))
    async with app.test_app() as test_app:
        client = test_app.test_client()
        morsel = cookies_of(await client.post("/set/a", json={"value": 1}))["session"]
        assert morsel["httponly"] is True
        assert morsel["path"] == "/"
        assert morsel["expires"] != ""  # permanent by default: the cookie outlives the browser
        ttl = await redis.ttl(f"session:{morsel.value}")
        assert 590 <= ttl <= 600


async def test_non_permanent_session_sets_a_browser_session_cookie(
    redis_server: RedisServer, redis: aioredis.Redis
) -> None:
    app = make_app(redis_server, SESSION_PERMANENT=False)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        morsel = cookies_of(await client.post("/set/a", json={"value": 1}))["session"]
        assert morsel["expires"] == ""
        assert morsel["max-age"] == ""
        # Redis still drops the data after the configured lifetime.
        assert await redis.ttl(f"session:{morsel.value}") > 0


async def test_expired_data_starts_a_new_session(
    redis_server: RedisServer, redis: aioredis.Redis
) -> None:
    app = make_app(redis_server)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        sid = cookies_of(await client.post("/set/a", json={"value": 1}))["session"].value
        await redis.delete(f"session:{sid}")  # what Redis does when the TTL runs out
        response = await client.get("/get/a")
        assert await response.get_json() == {"value": None}
        response = await client.post("/set/b", json={"value": 2})
        new_sid = cookies_of(response)["session"].value
        assert new_sid != sid
        assert await stored(redis, new_sid) is not None
        assert await stored(redis, sid) is None


async def test_modified_by_hand_is_saved(redis_server: RedisServer, redis: aioredis.Redis) -> None:
    app = make_app(redis_server)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        await client.post("/append", json={"item": "a"})
        response = await client.post("/append", json={"item": "b"})
        assert await response.get_json() == {"items": ["a", "b"]}
        assert await (await client.get("/dump")).get_json() == {"items": ["a", "b"]}


async def test_untouched_session_writes_nothing(
    redis_server: RedisServer, redis: aioredis.Redis
) -> None:
    app = make_app(redis_server)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        response = await client.get("/untouched")
        assert "Set-Cookie" not in response.headers
        response = await client.get("/get/anything")
        assert "Set-Cookie" not in response.headers
        assert await redis.keys("*") == []


async def test_clear_deletes_the_key_and_the_cookie(
    redis_server: RedisServer, redis: aioredis.Redis
) -> None:
    app = make_app(redis_server)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        sid = cookies_of(await client.post("/set/a", json={"value": 1}))["session"].value
        response = await client.post("/clear")
        morsel = cookies_of(response)["session"]
        assert morsel.value == ""
        assert morsel["expires"].startswith("Thu, 01 Jan 1970")
        assert await redis.exists(f"session:{sid}") == 0
        assert await (await client.get("/dump")).get_json() == {}


async def test_made_up_session_id_is_not_adopted(
    redis_server: RedisServer, redis: aioredis.Redis
) -> None:
    app = make_app(redis_server)
    async with app.test_app():
        client: QuartClient = app.test_client(use_cookies=False)
        response = await client.post(
            "/set/a", json={"value": 1}, headers={"Cookie": "session=attacker-chosen"}
        )
        sid = cookies_of(response)["session"].value
        assert sid != "attacker-chosen"
        assert await redis.exists("session:attacker-chosen") == 0
        assert await stored(redis, sid) is not None


class TextSigner(Signer):
    """quart-session 3.0.0's own bug: it signs the id to bytes and hands them to
    ``set_cookie``, which werkzeug 3 refuses (``TypeError: cannot use a string pattern on a
    bytes-like object``) on any Quart. This signer gives text."""

    def sign(self, value: str | bytes) -> str:  # type: ignore[override]
        return super().sign(value).decode()


async def test_signed_session_ids(redis_server: RedisServer, redis: aioredis.Redis) -> None:
    app = make_app(redis_server, SESSION_USE_SIGNER=True)
    app.session_interface._get_signer = lambda app: TextSigner(  # type: ignore[attr-defined]
        app.secret_key, salt="quart-session", key_derivation="hmac"
    )
    async with app.test_app() as test_app:
        client = test_app.test_client()
        cookie = cookies_of(await client.post("/set/a", json={"value": 1}))["session"].value
        sid, _, signature = cookie.partition(".")
        assert signature
        assert await stored(redis, sid) == {"a": 1, "_permanent": True, "_addr": "127.0.0.1"}
        assert await (await client.get("/get/a")).get_json() == {"value": 1}

        anonymous = app.test_client(use_cookies=False)
        response = await anonymous.get("/get/a", headers={"Cookie": f"session={sid}.forged"})
        assert (await response.get_json())["value"] is None
        response = await anonymous.get("/get/a", headers={"Cookie": f"session={cookie}"})
        assert (await response.get_json())["value"] == 1


async def test_session_protection_by_client_address(
    redis_server: RedisServer, redis: aioredis.Redis
) -> None:
    app = make_app(redis_server, SESSION_PROTECTION=True, SESSION_REVERSE_PROXY=True)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        home = {"X-Forwarded-For": "192.0.2.1"}
        response = await client.post("/set/a", json={"value": 1}, headers=home)
        sid = cookies_of(response)["session"].value
        assert (await stored(redis, sid) or {})["_addr"] == "192.0.2.1"
        response = await client.get("/get/a", headers=home)
        assert (await response.get_json())["value"] == 1

        # The same cookie from elsewhere: a fresh session, and the old one is deleted.
        response = await client.get("/get/a", headers={"X-Forwarded-For": "198.51.100.7"})
        assert (await response.get_json())["value"] is None
        assert await redis.exists(f"session:{sid}") == 0


async def test_own_client_in_session_redis(
    redis_server: RedisServer, redis: aioredis.Redis
) -> None:
    own = aioredis.from_url(redis_server.url)  # bytes back: quart-session must cope
    app = make_app(redis_server, SESSION_URI=None, SESSION_REDIS=own)
    assert app.session_interface.backend is own  # type: ignore[attr-defined]
    async with app.test_app() as test_app:
        client = test_app.test_client()
        sid = cookies_of(await client.post("/set/who", json={"value": "me"}))["session"].value
        assert (await stored(redis, sid) or {})["who"] == "me"
        assert await (await client.get("/get/who")).get_json() == {"value": "me"}


async def test_backend_used_directly(redis_server: RedisServer, redis: aioredis.Redis) -> None:
    app = make_app(redis_server)

    @app.get("/cache")
    async def cache() -> Any:
        interface = app.session_interface
        await interface.set("random_key", "val", expiry=3600)  # type: ignore[attr-defined]
        value = await interface.get("random_key")  # type: ignore[attr-defined]
        await interface.delete("other_key")  # type: ignore[attr-defined]
        return {"value": value}

    async with app.test_app() as test_app:
        await redis.set("other_key", "x")
        response = await test_app.test_client().get("/cache")
        assert await response.get_json() == {"value": "val"}
        assert 3590 <= await redis.ttl("random_key") <= 3600
        assert await redis.exists("other_key") == 0


async def test_served_by_hypercorn(
    redis_server: RedisServer, redis: aioredis.Redis, serve: Any
) -> None:
    base_url = await serve(make_app(redis_server))
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post("/set/colour", json={"value": "blue"})
        assert "httponly" in response.headers["set-cookie"].lower()
        sid = http.cookies["session"]
        assert (await stored(redis, sid) or {})["colour"] == "blue"
        assert (await http.get("/get/colour")).json() == {"value": "blue"}
        await http.post("/clear")
        assert "session" not in http.cookies
        assert await redis.exists(f"session:{sid}") == 0
    async with httpx.AsyncClient(base_url=base_url) as stranger:
        assert (await stranger.get("/get/colour")).json()["value"] is None
