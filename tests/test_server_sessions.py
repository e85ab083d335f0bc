"""Server-side sessions (quart.server_sessions) through the test client, on the memory
store and on a real Redis: the signed id in the cookie and the data in the store,
tagged types, lifetimes and refreshing, bad and unknown ids, expiry, ``regenerate``,
the cookie settings, ``Vary``, websockets, running without SECRET_KEY, and the store
going away mid-test."""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from uuid import UUID

import pytest
from itsdangerous import Signer
from markupsafe import Markup

from quart import Quart, Response, request, session, websocket
from quart.server_sessions import (
    MemoryStore,
    RedisStore,
    ServerSession,
    ServerSessionInterface,
    SessionStore,
    SessionStoreUnavailable,
    UnavailableSession,
    new_session_id,
)
from redis_support import RedisServer

SECRET = "server-side sessions test secret"
LIFETIME = timedelta(hours=2)
SPECIAL: dict[str, Any] = {
    "bytes": b"\x00\xffraw",
    "tuple": (1, "two", (3,)),
    "when": datetime(2024, 2, 29, 12, 30, 15, tzinfo=UTC),
    "markup": Markup("<b>bold</b>"),
    "uuid": UUID("12345678-1234-5678-1234-567812345678"),
    "nested": {"list": [b"x", ("y",)], "text": "é ✓"},
}


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Recording:
    """A store that records the calls made of the store it wraps, and can fail."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[str] = []
        self.failing: set[str] = set()

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name in self.failing:
            raise SessionStoreUnavailable(f"{name} failed")

    async def get(self, key: str) -> bytes | str | None:
        self._call("get")
        return await self.inner.get(key)  # type: ignore[no-any-return]

    async def set(self, key: str, value: str, ttl: timedelta) -> None:
        self._call("set")
        await self.inner.set(key, value, ttl)

    async def touch(self, key: str, ttl: timedelta) -> bool:
        self._call("touch")
        return await self.inner.touch(key, ttl)  # type: ignore[no-any-return]

    async def delete(self, key: str) -> None:
        self._call("delete")
        await self.inner.delete(key)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, clock: Clock) -> AsyncIterator[Any]:
    """Each test once on a MemoryStore (on ``clock``) and once on a real Redis."""
    if request.param == "memory":
        yield MemoryStore(clock)
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    redis_store = RedisStore(server.url)
    try:
        yield redis_store
    finally:
        await redis_store.close()


def make_app(store: SessionStore, **config: Any) -> Quart:
    app = Quart(__name__)
    app.secret_key = SECRET
    app.config["PERMANENT_SESSION_LIFETIME"] = LIFETIME
    app.config.update(config)
    app.session_interface = ServerSessionInterface(store)  # type: ignore[assignment]

    @app.post("/set")
    async def set_values() -> dict[str, bool]:
        session.update(await request.get_json())
        return {"ok": True}

    @app.get("/get/<key>")
    async def get_value(key: str) -> dict[str, Any]:
        return {"value": session.get(key)}

    @app.get("/all")
    async def get_all() -> dict[str, Any]:
        return {key: value for key, value in session.items() if key != "_permanent"}

    @app.post("/permanent")
    async def make_permanent() -> str:
        session["user"] = "ann"
        session.permanent = True
        return "ok"

    @app.post("/special")
    async def set_special() -> str:
        session.update(SPECIAL)
        return "ok"

    @app.get("/special")
    async def check_special() -> dict[str, bool]:
        values = {key: session[key] for key in SPECIAL}
        same_types = all(type(values[key]) is type(SPECIAL[key]) for key in SPECIAL)
        return {"equal": values == SPECIAL, "same_types": same_types}

    @app.post("/login")
    async def login() -> str:
        session["user"] = (await request.form)["user"]
        session.regenerate()  # type: ignore[attr-defined]
        return "logged in"

    @app.post("/clear")
    async def clear() -> str:
        session.clear()
        return "cleared"

    @app.get("/public")
    async def public() -> str:
        return "public"

    @app.websocket("/ws/count")
    async def ws_count() -> None:
        await websocket.accept()
        session["ws"] = session.get("ws", 0) + 1
        await websocket.send_json({"user": session.get("user")})

    @app.websocket("/ws/read")
    async def ws_read() -> None:
        await websocket.accept()
        await websocket.send_json({"user": session.get("user")})

    @app.websocket("/ws/clear")
    async def ws_clear() -> None:
        await websocket.accept()
        session.clear()
        await websocket.send("cleared")

    @app.websocket("/ws/regenerate")
    async def ws_regenerate() -> None:
        await websocket.accept()
        session["ws"] = "regenerated"
        session.regenerate()  # type: ignore[attr-defined]
        await websocket.send("done")

    return app


def set_cookies(response: Any) -> dict[str, dict[str, Any]]:
    """The response's Set-Cookie headers by name: ``value`` and lower-cased attributes."""
    cookies: dict[str, dict[str, Any]] = {}
    for header in response.headers.getlist("Set-Cookie"):
        first, *attributes = header.split("; ")
        name, _, value = first.partition("=")
        parsed: dict[str, Any] = {"value": value}
        for attribute in attributes:
            key, has_value, attribute_value = attribute.partition("=")
            parsed[key.lower()] = attribute_value if has_value else True
        cookies[name] = parsed
    return cookies


def vary(response: Any) -> set[str]:
    return {item.strip() for item in response.headers.get("Vary", "").split(",") if item}


def sid_of(cookie_value: str, key: str = SECRET) -> str:
    return Signer(key, salt="stored-session").unsign(cookie_value).decode()


def signed(sid: str, key: str = SECRET) -> str:
    return Signer(key, salt="stored-session").sign(sid).decode()


async def ttl_seconds(store: Any, key: str) -> float:
    """Redis's own count of the seconds ``key`` has left."""
    return await store.client.pttl(key) / 1000  # type: ignore[no-any-return]


# ------------------------------------------------------------ the cookie and the data


async def test_set_read_modify_clear(store: Any) -> None:
    app = make_app(store)
    client = app.test_client()
    response = await client.post("/set", json={"user": "ann", "cart": [1, 2]})
    cookie = set_cookies(response)["session"]
    sid = sid_of(cookie["value"])
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", sid)
    assert "ann" not in cookie["value"]  # the cookie holds the id, not the data
    stored = await store.get(f"session:{sid}")
    assert stored is not None
    assert "ann" in (stored.decode() if isinstance(stored, bytes) else stored)

    assert await (await client.get("/all")).get_json() == {"user": "ann", "cart": [1, 2]}
    await client.post("/set", json={"user": "bob"})
    assert await (await client.get("/get/user")).get_json() == {"value": "bob"}
    async with client.session_transaction() as transaction:
        assert transaction.sid == sid  # a change keeps the id

    response = await client.post("/clear")
    deleted = set_cookies(response)["session"]
    assert deleted["value"] == ""
    assert deleted["max-age"] == "0"
    assert "Cookie" in vary(response)
    assert await store.get(f"session:{sid}") is None
    assert await (await client.get("/all")).get_json() == {}


async def test_tagged_types_round_trip(store: Any) -> None:
    client = make_app(store).test_client()
    await client.post("/special")
    assert await (await client.get("/special")).get_json() == {"equal": True, "same_types": True}
    async with client.session_transaction() as transaction:
        assert {key: transaction[key] for key in SPECIAL} == SPECIAL


async def test_a_visitor_without_a_session_costs_the_store_nothing(store: Any) -> None:
    recording = Recording(store)
    client = make_app(recording).test_client()
    response = await client.get("/get/user")  # reads an empty session
    assert await response.get_json() == {"value": None}
    assert "Set-Cookie" not in response.headers
    assert vary(response) == {"Cookie"}
    response = await client.get("/public")
    assert "Vary" not in response.headers
    assert recording.calls == []


async def test_the_store_key_prefix_is_used(store: Any) -> None:
    app = make_app(store)
    app.session_interface = ServerSessionInterface(store, key_prefix="app1:s:")  # type: ignore[assignment]
    client = app.test_client()
    response = await client.post("/set", json={"user": "ann"})
    sid = sid_of(set_cookies(response)["session"]["value"])
    assert await store.get(f"app1:s:{sid}") is not None
    assert await store.get(f"session:{sid}") is None


# ------------------------------------------------------------------------- lifetimes


async def test_permanent_cookie_and_stored_lifetime(store: Any, clock: Clock) -> None:
    client = make_app(store).test_client()
    response = await client.post("/permanent")
    cookie = set_cookies(response)["session"]
    expires = parsedate_to_datetime(cookie["expires"])
    assert abs((expires - datetime.now(UTC)) - LIFETIME) < timedelta(seconds=5)
    key = f"session:{sid_of(cookie['value'])}"
    if isinstance(store, RedisStore):
        assert abs(await ttl_seconds(store, key) - LIFETIME.total_seconds()) < 5
    else:
        clock.now += LIFETIME.total_seconds() - 1
        assert await store.get(key) is not None
        clock.now += 2
        assert await store.get(key) is None


async def test_browser_session_cookie_but_the_data_still_expires(store: Any, clock: Clock) -> None:
    client = make_app(store).test_client()
    response = await client.post("/set", json={"user": "ann"})
    cookie = set_cookies(response)["session"]
    assert "expires" not in cookie
    assert "max-age" not in cookie
    key = f"session:{sid_of(cookie['value'])}"
    if isinstance(store, RedisStore):
        assert abs(await ttl_seconds(store, key) - LIFETIME.total_seconds()) < 5
    else:
        clock.now += LIFETIME.total_seconds() + 1
        assert await (await client.get("/get/user")).get_json() == {"value": None}


async def test_refresh_each_request_extends_without_rewriting(store: Any, clock: Clock) -> None:
    recording = Recording(store)
    client = make_app(recording).test_client()
    await client.post("/permanent")
    async with client.session_transaction() as transaction:
        key = f"session:{transaction.sid}"
    if isinstance(store, RedisStore):
        await store.client.expire(key, 60)  # as if the last refresh were long ago
    else:
        clock.now += LIFETIME.total_seconds() - 60
    recording.calls.clear()

    response = await client.get("/get/user")
    assert await response.get_json() == {"value": "ann"}
    assert recording.calls == ["get", "touch"]  # refreshed, not rewritten
    cookie = set_cookies(response)["session"]
    assert sid_of(cookie["value"]) == key.removeprefix("session:")
    assert abs(parsedate_to_datetime(cookie["expires"]) - datetime.now(UTC) - LIFETIME) < (
        timedelta(seconds=5)
    )
    if isinstance(store, RedisStore):
        assert await ttl_seconds(store, key) > LIFETIME.total_seconds() - 5
    else:
        clock.now += 120  # past the old expiry, within the new
        assert await store.get(key) is not None


async def test_without_refresh_each_request_a_read_writes_nothing(store: Any) -> None:
    recording = Recording(store)
    client = make_app(recording, SESSION_REFRESH_EACH_REQUEST=False).test_client()
    await client.post("/permanent")
    async with client.session_transaction() as transaction:
        key = f"session:{transaction.sid}"
    if isinstance(store, RedisStore):
        await store.client.expire(key, 60)
    recording.calls.clear()
    response = await client.get("/get/user")
    assert await response.get_json() == {"value": "ann"}
    assert recording.calls == ["get"]
    assert "Set-Cookie" not in response.headers
    assert vary(response) == {"Cookie"}
    if isinstance(store, RedisStore):
        assert await ttl_seconds(store, key) <= 60


async def test_a_browser_session_is_not_refreshed_by_reading(store: Any) -> None:
    recording = Recording(store)
    client = make_app(recording).test_client()
    await client.post("/set", json={"user": "ann"})
    recording.calls.clear()
    response = await client.get("/get/user")
    assert await response.get_json() == {"value": "ann"}
    assert recording.calls == ["get"]
    assert "Set-Cookie" not in response.headers


async def test_should_set_cookie_is_honoured(store: Any) -> None:
    class Always(ServerSessionInterface):
        def should_set_cookie(self, app: Any, session: Any) -> bool:
            return True

    class Never(ServerSessionInterface):
        def should_set_cookie(self, app: Any, session: Any) -> bool:
            return False

    app = make_app(store)
    app.session_interface = Always(store)  # type: ignore[assignment]
    client = app.test_client()
    await client.post("/set", json={"user": "ann"})
    response = await client.get("/get/user")
    assert "session" in set_cookies(response)  # a browser session, refreshed all the same

    app.session_interface = Never(store)  # type: ignore[assignment]
    response = await app.test_client().post("/set", json={"user": "bob"})
    assert "Set-Cookie" not in response.headers


async def test_a_session_deleted_meanwhile_is_not_brought_back(store: Any) -> None:
    app = make_app(store)

    @app.get("/vanish")
    async def vanish() -> str:
        await store.delete(f"session:{session.sid}")  # logged out by another request
        return "gone"

    client = app.test_client()
    await client.post("/permanent")
    async with client.session_transaction() as transaction:
        key = f"session:{transaction.sid}"
    response = await client.get("/vanish")
    assert "Set-Cookie" not in response.headers
    assert await store.get(key) is None


async def test_expired_data_gives_a_fresh_session(clock: Clock) -> None:
    store = MemoryStore(clock)
    client = make_app(store, PERMANENT_SESSION_LIFETIME=60).test_client()
    await client.post("/permanent")
    clock.now += 59
    assert await (await client.get("/get/user")).get_json() == {"value": "ann"}  # refreshed
    clock.now += 59
    assert await (await client.get("/get/user")).get_json() == {"value": "ann"}
    clock.now += 61
    assert await (await client.get("/get/user")).get_json() == {"value": None}
    assert len(store) == 0


async def test_memory_store_sweeps_expired_entries(clock: Clock) -> None:
    store = MemoryStore(clock)
    for number in range(5):
        await store.set(f"k{number}", "v", timedelta(seconds=10))
    await store.set("long", "v", timedelta(hours=1))
    assert len(store) == 6
    clock.now += MemoryStore.sweep_interval + 1
    await store.set("new", "v", timedelta(seconds=10))  # a write sweeps, once a minute
    assert len(store) == 2
    assert await store.touch("k0", timedelta(seconds=10)) is False
    assert await store.touch("long", timedelta(seconds=10)) is True
    clock.now += 11
    assert await store.get("long") is None


# --------------------------------------------------------------- bad and unknown ids


@pytest.mark.parametrize(
    "cookie",
    [
        "not-signed-at-all",
        signed(new_session_id(), key="another key"),
        signed(new_session_id()) + "x",
        "é.ü",
        "",
    ],
)
async def test_tampered_cookie_gives_a_fresh_session(store: Any, cookie: str, caplog: Any) -> None:
    app = make_app(store)
    client = app.test_client()
    await client.post("/set", json={"user": "ann"})
    async with client.session_transaction() as transaction:
        victim = transaction.sid

    stranger = app.test_client()
    response = await stranger.get("/all", headers={"Cookie": f"session={cookie}"})
    assert response.status_code == 200
    assert await response.get_json() == {}
    response = await stranger.post(
        "/set", json={"user": "eve"}, headers={"Cookie": f"session={cookie}"}
    )
    assert sid_of(set_cookies(response)["session"]["value"]) != victim
    assert await (await client.get("/get/user")).get_json() == {"value": "ann"}
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


async def test_an_unknown_id_is_never_adopted(store: Any) -> None:
    app = make_app(store)
    planted = new_session_id()  # validly signed, but nothing was stored for it
    client = app.test_client()
    headers = {"Cookie": f"session={signed(planted)}"}
    assert await (await client.get("/all", headers=headers)).get_json() == {}
    response = await client.post("/set", json={"user": "ann"}, headers=headers)
    sid = sid_of(set_cookies(response)["session"]["value"])
    assert sid != planted
    assert await store.get(f"session:{planted}") is None


async def test_undecodable_stored_data_gives_a_fresh_session(store: Any, caplog: Any) -> None:
    client = make_app(store).test_client()
    for bad in ("{not json", '["a list"]'):
        sid = new_session_id()
        await store.set(f"session:{sid}", bad, timedelta(minutes=1))
        response = await client.get("/all", headers={"Cookie": f"session={signed(sid)}"})
        assert response.status_code == 200
        assert await response.get_json() == {}
    assert "does not decode" in caplog.text


async def test_ids_signed_with_a_fallback_key_still_read(store: Any) -> None:
    app = make_app(store)
    client = app.test_client()
    await client.post("/set", json={"user": "ann"})
    app.config["SECRET_KEY_FALLBACKS"] = [SECRET]
    app.secret_key = "rotated"
    assert await (await client.get("/get/user")).get_json() == {"value": "ann"}
    response = await client.post("/set", json={"user": "bob"})
    assert sid_of(set_cookies(response)["session"]["value"], key="rotated")  # the new key signs
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert await (await client.get("/get/user")).get_json() == {"value": "bob"}


# ------------------------------------------------------------------------ regenerate


async def test_regenerate_moves_the_data_to_a_new_id(store: Any) -> None:
    app = make_app(store)
    client = app.test_client()
    first = await client.post("/set", json={"cart": [1]})
    old_cookie = set_cookies(first)["session"]["value"]
    old = sid_of(old_cookie)

    response = await client.post("/login", form={"user": "ann"})
    new_cookie = set_cookies(response)["session"]["value"]
    new = sid_of(new_cookie)
    assert new != old
    assert await store.get(f"session:{old}") is None
    assert await (await client.get("/all")).get_json() == {"cart": [1], "user": "ann"}

    # the id from before log-in opens nothing now
    stale = await app.test_client().get("/all", headers={"Cookie": f"session={old_cookie}"})
    assert await stale.get_json() == {}


async def test_regenerate_on_a_new_session_then_clear(store: Any) -> None:
    app = make_app(store)

    @app.post("/regenerate-and-clear")
    async def regenerate_and_clear() -> str:
        session.regenerate()  # type: ignore[attr-defined]
        session.clear()
        return "ok"

    client = app.test_client()
    await client.post("/set", json={"user": "ann"})
    async with client.session_transaction() as transaction:
        old = transaction.sid
    response = await client.post("/regenerate-and-clear")
    assert set_cookies(response)["session"]["max-age"] == "0"
    assert await store.get(f"session:{old}") is None

    session_object = ServerSession()
    assert session_object.new
    first = session_object.sid
    session_object.regenerate()
    assert session_object.sid != first
    assert session_object.replaced_sid is None  # nothing was stored under the first


# ------------------------------------------------------------------------ websockets


async def test_a_websocket_saves_changes_to_a_stored_session(store: Any) -> None:
    client = make_app(store).test_client()
    await client.post("/set", json={"user": "ann"})
    for _ in range(2):
        async with client.websocket("/ws/count") as connection:
            assert await connection.receive_json() == {"user": "ann"}
    async with client.session_transaction() as transaction:
        assert transaction["ws"] == 2


async def test_a_websocket_cannot_store_a_session_needing_a_new_id(store: Any, caplog: Any) -> None:
    recording = Recording(store)
    client = make_app(recording).test_client()
    async with client.websocket("/ws/count") as connection:  # a new session
        assert await connection.receive_json() == {"user": None}
    assert "set" not in recording.calls

    await client.post("/set", json={"user": "ann"})
    async with client.session_transaction() as transaction:
        sid = transaction.sid
    async with client.websocket("/ws/regenerate") as connection:
        assert await connection.receive() == "done"
    async with client.session_transaction() as transaction:
        assert transaction.sid == sid  # the old id still holds the data, unchanged
        assert "ws" not in transaction
    warnings = [r for r in caplog.records if "websocket" in r.getMessage()]
    assert len(warnings) == 2
    assert all(record.levelno == logging.WARNING for record in warnings)


async def test_a_websocket_reads_and_clears_without_a_cookie(store: Any, caplog: Any) -> None:
    recording = Recording(store)
    client = make_app(recording).test_client()
    async with client.websocket("/ws/read") as connection:  # a new session, only read
        assert await connection.receive_json() == {"user": None}
    assert recording.calls == []

    await client.post("/set", json={"user": "ann"})
    async with client.session_transaction() as transaction:
        key = f"session:{transaction.sid}"
    async with client.websocket("/ws/clear") as connection:
        assert await connection.receive() == "cleared"
    assert await store.get(key) is None  # forgotten in the store; the cookie stays, unused
    async with client.websocket("/ws/read") as connection:
        assert await connection.receive_json() == {"user": None}
    assert "websocket" not in caplog.text


async def test_clearing_a_new_session_deletes_the_cookie_only(store: Any) -> None:
    recording = Recording(store)
    response = await make_app(recording).test_client().post("/clear")
    assert set_cookies(response)["session"]["max-age"] == "0"
    assert recording.calls == []


# ------------------------------------------------------------ cookie settings, Vary


async def test_every_cookie_setting_applies(store: Any) -> None:
    app = make_app(
        store,
        SESSION_COOKIE_NAME="sid",
        SESSION_COOKIE_DOMAIN="example.test",
        SESSION_COOKIE_PATH="/app",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=False,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_PARTITIONED=True,
    )
    client = app.test_client()
    response = await client.post("/set", json={"user": "ann"})
    assert set(set_cookies(response)) == {"sid"}
    for cookie in (
        set_cookies(response)["sid"],
        set_cookies(
            await client.post(
                "/clear",
                headers={"Cookie": f"sid={set_cookies(response)['sid']['value']}"},
            )
        )["sid"],
    ):
        assert cookie["domain"] == "example.test"
        assert cookie["path"] == "/app"
        assert cookie["secure"] is True
        assert "httponly" not in cookie
        assert cookie["samesite"] == "Strict"
        assert cookie["partitioned"] is True
    assert cookie["max-age"] == "0"  # the second one deleted it


async def test_application_root_is_the_default_path(store: Any) -> None:
    client = make_app(store, APPLICATION_ROOT="/root").test_client()
    response = await client.post("/set", json={"user": "ann"})
    cookie = set_cookies(response)["session"]
    assert cookie["path"] == "/root"
    assert cookie["httponly"] is True


async def test_vary_cookie_only_when_the_session_is_used(store: Any) -> None:
    client = make_app(store).test_client()
    await client.post("/set", json={"user": "ann"})
    assert vary(await client.get("/get/user")) == {"Cookie"}
    assert "Vary" not in (await client.get("/public")).headers


# --------------------------------------------------------------------- no SECRET_KEY


async def test_without_secret_key_a_null_session(store: Any) -> None:
    recording = Recording(store)
    app = make_app(recording)
    app.secret_key = None
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    headers = {"Cookie": f"session={signed(new_session_id())}"}
    assert await (await client.get("/get/user", headers=headers)).get_json() == {"value": None}
    response = await client.post("/set", json={"user": "ann"})
    assert response.status_code == 500
    assert "Set-Cookie" not in response.headers
    assert recording.calls == []
    async with app.test_request_context("/", headers=headers):
        assert await app.session_interface.open_session(app, request) is None
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        async with client.session_transaction():
            pass


# ----------------------------------------------------------------- the store is away


async def test_redis_away_gives_503_where_the_session_is_used(
    redis_server: RedisServer, caplog: Any
) -> None:
    store = RedisStore(redis_server.url)
    app = make_app(store)
    client = app.test_client()
    try:
        await client.post("/set", json={"user": "ann"})
        redis_server.stop()

        started = time.monotonic()
        response = await client.get("/get/user")
        assert response.status_code == 503
        page = await response.get_data(as_text=True)
        assert "Sessions are unavailable" in page
        assert "111" not in page  # the cause is logged, not shown
        assert time.monotonic() - started < 5  # short timeouts and retries
        assert "Session store unavailable on GET /get/user" in caplog.text
        assert "Traceback" not in caplog.text

        # a page that does not use the session is answered as usual
        assert (await client.get("/public")).status_code == 200

        # a new visitor's first write cannot be kept: 503, and no cookie
        stranger = app.test_client()
        response = await stranger.post("/set", json={"user": "bob"})
        assert response.status_code == 503
        assert "Set-Cookie" not in response.headers
        assert "while saving the session" in caplog.text

        redis_server.start()  # a restart: persistence is off, so the data is gone
        assert await (await client.get("/get/user")).get_json() == {"value": None}
        await client.post("/set", json={"user": "ann"})
        assert await (await client.get("/get/user")).get_json() == {"value": "ann"}
    finally:
        await store.close()
    assert not [r for r in caplog.records if r.exc_info]


async def test_an_unavailable_store_goes_through_the_apps_503_handler(
    store: Any, caplog: Any
) -> None:
    recording = Recording(store)
    app = make_app(recording)

    @app.errorhandler(503)
    async def unavailable(error: Exception) -> tuple[str, int, dict[str, str]]:
        return "come back soon", 503, {"Retry-After": "5"}

    @app.get("/with-cookie")
    async def with_cookie() -> Response:
        session["user"] = "zed"
        response = Response("kept?")
        response.set_cookie("other", "1")
        return response

    client = app.test_client()
    await client.post("/set", json={"user": "ann"})

    recording.failing = {"get"}
    response = await client.get("/get/user")
    assert (response.status_code, await response.get_data(as_text=True)) == (503, "come back soon")
    assert response.headers["Retry-After"] == "5"

    recording.failing = {"set"}
    response = await client.get("/with-cookie")
    assert (response.status_code, await response.get_data(as_text=True)) == (503, "come back soon")
    assert "Set-Cookie" not in response.headers  # the view's cookies went with its page

    recording.failing = set()
    await client.post("/permanent")
    recording.failing = {"touch"}  # refreshing a permanent session fails
    assert (await client.get("/get/user")).status_code == 503

    recording.failing = {"set"}
    async with client.websocket("/ws/count") as connection:  # logged, nothing to answer
        assert await connection.receive_json() == {"user": "ann"}
    recording.failing = set()
    assert await (await client.get("/get/ws")).get_json() == {"value": None}
    assert caplog.text.count("while saving the session") == 3


async def test_a_store_raising_oserror_is_unavailable_too(caplog: Any) -> None:
    class Refusing(MemoryStore):
        async def get(self, key: str) -> str | None:
            raise ConnectionRefusedError(111, "Connection refused")

    client = make_app(Refusing()).test_client()
    headers = {"Cookie": f"session={signed(new_session_id())}"}
    assert (await client.get("/get/user", headers=headers)).status_code == 503
    assert "(ConnectionRefusedError: [Errno 111] Connection refused)" in caplog.text


async def test_unavailable_session_refuses_every_use() -> None:
    unavailable = UnavailableSession(OSError("down"))
    for use in (
        lambda: unavailable["a"],
        lambda: unavailable.get("a"),
        lambda: "a" in unavailable,
        lambda: bool(unavailable),
        lambda: list(unavailable),
        lambda: unavailable.permanent,
        lambda: unavailable.update(a=1),
        lambda: unavailable.setdefault("a", 1),
        lambda: unavailable.clear(),
        lambda: unavailable.sid,
        lambda: unavailable.regenerate(),
    ):
        with pytest.raises(SessionStoreUnavailable) as caught:
            use()
        assert caught.value.code == 503
        assert isinstance(caught.value.__cause__, OSError)
    with pytest.raises(SessionStoreUnavailable):
        unavailable["a"] = 1


# ------------------------------------------------ several apps, URLs and lifecycle


async def test_two_apps_share_sessions_through_redis(redis_server: RedisServer) -> None:
    first, second = RedisStore(redis_server.url), RedisStore.from_url(redis_server.url)
    try:
        one, other = make_app(first).test_client(), make_app(second).test_client()
        response = await one.post("/login", form={"user": "ann"})
        headers = {"Cookie": f"session={set_cookies(response)['session']['value']}"}
        assert await (await other.get("/get/user", headers=headers)).get_json() == {"value": "ann"}
        await other.post("/clear", headers=headers)
        assert await (await one.get("/get/user", headers=headers)).get_json() == {"value": None}
    finally:
        await first.close()
        await second.close()


async def test_from_url() -> None:
    memory = ServerSessionInterface.from_url("memory://", key_prefix="x:")
    assert isinstance(memory.store, MemoryStore)
    assert memory.key_prefix == "x:"
    for url in ("redis://127.0.0.1:1/0", "rediss://127.0.0.1:1", "unix:///tmp/redis.sock"):
        interface = ServerSessionInterface.from_url(url, socket_timeout=0.5)
        assert isinstance(interface.store, RedisStore)
        assert interface.store.url == url
    with pytest.raises(ValueError, match="memory://"):
        ServerSessionInterface.from_url("postgres://localhost/sessions")
    with pytest.raises(TypeError, match="no options"):
        ServerSessionInterface.from_url("memory://", socket_timeout=1)


async def test_init_app_closes_the_redis_client_after_serving(redis_server: RedisServer) -> None:
    app = make_app(MemoryStore())
    interface = ServerSessionInterface.from_url(redis_server.url)
    interface.init_app(app)
    assert app.session_interface is interface
    store = interface.store
    assert isinstance(store, RedisStore)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        await client.post("/set", json={"user": "ann"})
        used = store.client
        assert await used.ping()
    assert store.client is not used  # closed after serving: a later use makes a new one
    await store.close()


async def test_init_app_with_a_store_without_close() -> None:
    recording = Recording(MemoryStore())
    app = make_app(MemoryStore())
    ServerSessionInterface(recording).init_app(app)
    async with app.test_app() as test_app:
        await test_app.test_client().post("/set", json={"user": "ann"})
    assert recording.calls == ["set"]


async def test_a_client_of_your_own_is_used_and_left_open(redis_server: RedisServer) -> None:
    import redis.asyncio

    own = redis.asyncio.from_url(redis_server.url)
    store = RedisStore(own)
    try:
        assert store.url is None
        assert store.client is own
        client = make_app(store).test_client()
        await client.post("/set", json={"user": "ann"})
        assert await (await client.get("/get/user")).get_json() == {"value": "ann"}
        await store.close()
        assert await own.ping()
    finally:
        await own.aclose()


def test_redis_store_without_redis_py_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ImportError, match=r"pip install 'quart\[redis\]'"):
        RedisStore("redis://127.0.0.1:6379/0")
