"""Sessions through the test client: the signed cookie (and its compatibility with
Flask's), bad cookies, running without SECRET_KEY, the SESSION_* settings, change
tracking, custom async session interfaces (the server-side store example of
docs/sessions.md), websockets and ``session_transaction``."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import flask
import pytest
from itsdangerous import Signer, TimestampSigner, URLSafeTimedSerializer
from markupsafe import Markup

from example_apps import load_example
from quart import (
    Quart,
    Response,
    got_request_exception,
    render_template_string,
    request,
    session,
    websocket,
)
from quart.json.tag import TaggedJSONSerializer
from quart.server_sessions import MemoryStore, ServerSessionInterface
from quart.sessions import SessionInterface
from quart.testing import WebsocketResponseError

ROOT = Path(__file__).resolve().parents[1]
SECRET = "a secret nobody guesses"

SPECIAL_VALUES: dict[str, Any] = {
    "bytes": b"\x00\xffraw",
    "tuple": (1, "two", (3,)),
    "when": datetime(2024, 2, 29, 12, 30, 15, tzinfo=UTC),
    "markup": Markup("<b>bold</b>"),
    "uuid": UUID("12345678-1234-5678-1234-567812345678"),
    "nested": {"list": [1, {"deep": (b"x", None)}], " t": "looks like a tag"},
}


def set_cookies(response: Any) -> dict[str, dict[str, Any]]:
    """The response's Set-Cookie headers by cookie name: ``value`` and the attributes
    (lower-cased names; flags map to True)."""
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


def cookie_serializer(key: str = SECRET, *, signer: type[TimestampSigner] = TimestampSigner) -> Any:
    """A serializer with Flask's session cookie settings, made here from itsdangerous."""
    return URLSafeTimedSerializer(
        key,
        salt="cookie-session",
        serializer=TaggedJSONSerializer(),
        signer=signer,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
    )


def make_app(secret_key: str | None = SECRET, **config: Any) -> Quart:
    app = Quart(__name__, static_folder=None)
    app.secret_key = secret_key
    app.config.update(config)

    @app.post("/set")
    async def set_values() -> str:
        session.update(await request.get_json())
        return "set"

    @app.get("/read/<key>")
    async def read(key: str) -> dict[str, Any]:
        return {"value": session.get(key)}

    @app.get("/repr")
    async def representation() -> str:
        return repr(sorted(session.items()))

    @app.get("/plain")
    async def plain() -> str:
        return "nothing to do with the session"

    @app.post("/login")
    async def login() -> str:
        session["user"] = "ann"
        if request.args.get("permanent") == "1":
            session.permanent = True
        return "in"

    @app.post("/clear")
    async def clear() -> str:
        session.clear()
        return "cleared"

    return app


@pytest.fixture
def app() -> Quart:
    return make_app()


# ---------------------------------------------------------------- the cookie


async def test_cookie_round_trips_tagged_values(client: Any) -> None:
    async with client.session_transaction() as transaction:  # JSON cannot carry them
        transaction.update(SPECIAL_VALUES)
    response = await client.get("/repr")
    assert await response.get_data(as_text=True) == repr(sorted(SPECIAL_VALUES.items()))


async def test_cookie_uses_flasks_salt_derivation_and_digest(client: Any) -> None:
    response = await client.post("/set", json={"user": "ann"})
    value = set_cookies(response)["session"]["value"]
    assert cookie_serializer().loads(value) == {"user": "ann"}
    other_salt = URLSafeTimedSerializer(SECRET, salt="other", serializer=TaggedJSONSerializer())
    with pytest.raises(Exception, match="Signature"):
        other_salt.loads(value)


async def test_flask_reads_our_cookie(client: Any) -> None:
    async with client.session_transaction() as transaction:
        transaction.update(SPECIAL_VALUES)
    response = await client.post("/set", json={"user": "ann"})
    value = set_cookies(response)["session"]["value"]

    flask_app = flask.Flask(__name__)
    flask_app.secret_key = SECRET
    with flask_app.test_request_context(headers={"Cookie": f"session={value}"}):
        opened = flask_app.session_interface.open_session(flask_app, flask.request)
    assert opened is not None
    assert dict(opened) == {**SPECIAL_VALUES, "user": "ann"}


async def test_we_read_flasks_cookie(app: Quart, client: Any) -> None:
    @app.get("/compare")
    async def compare() -> dict[str, bool]:
        return {"equal": dict(session) == {**SPECIAL_VALUES, "_permanent": True}}

    flask_app = flask.Flask(__name__)
    flask_app.secret_key = SECRET

    @flask_app.route("/")
    def flask_view() -> str:
        flask.session.update(SPECIAL_VALUES)
        flask.session.permanent = True
        return "set by Flask"

    flask_response = flask_app.test_client().get("/")
    value = set_cookies(flask_response)["session"]["value"]

    response = await client.get("/compare", headers={"Cookie": f"session={value}"})
    assert await response.get_json() == {"equal": True}


async def test_fallback_keys_read_old_cookies_and_sign_with_the_current_key() -> None:
    old_app = make_app("old key")
    old_cookie = set_cookies(await old_app.test_client().post("/set", json={"user": "ann"}))

    app = make_app("new key", SECRET_KEY_FALLBACKS=["older key", "old key"])
    client = app.test_client()
    headers = {"Cookie": f"session={old_cookie['session']['value']}"}
    assert await (await client.get("/read/user", headers=headers)).get_json() == {"value": "ann"}

    new_cookie = set_cookies(await client.post("/set", json={"user": "bob"}))["session"]["value"]
    assert cookie_serializer("new key").loads(new_cookie) == {"user": "bob"}
    with pytest.raises(Exception, match="Signature"):
        cookie_serializer("old key").loads(new_cookie)


# ---------------------------------------------------------------- bad cookies


class _HourOldSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 3600


def _raw_payload_cookie(payload: str) -> str:
    """``payload`` as the cookie's content, signed with the right key and salt."""
    signer = TimestampSigner(
        SECRET, salt="cookie-session", key_derivation="hmac", digest_method=hashlib.sha1
    )
    from itsdangerous.encoding import base64_encode

    return signer.sign(base64_encode(payload.encode())).decode()


def _bad_cookie(kind: str) -> str:
    good = cookie_serializer().dumps({"user": "ann"})
    if kind == "tampered":  # a character of the payload (the signature's last has spare bits)
        return good[:3] + ("A" if good[3] != "A" else "B") + good[4:]
    if kind == "truncated":
        return good[: len(good) // 2]
    if kind == "signed with another key":
        return cookie_serializer("another key").dumps({"user": "ann"})
    if kind == "garbage":
        return "this-is.not-a.cookie"
    if kind == "not base64":
        return "!!!.@@@.###"
    if kind == "not ASCII":
        return "é.é.é"
    if kind == "not JSON":
        return _raw_payload_cookie("{not json")
    if kind == "JSON but not a dict":
        return cookie_serializer().dumps(["user", "ann"])
    if kind == "broken tag":
        return _raw_payload_cookie('{" t": 5}')
    if kind == "expired":
        return cookie_serializer(signer=_HourOldSigner).dumps({"user": "ann"})
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "tampered",
        "truncated",
        "signed with another key",
        "garbage",
        "not base64",
        "not ASCII",
        "not JSON",
        "JSON but not a dict",
        "broken tag",
        "expired",
    ],
)
async def test_bad_cookie_gives_an_empty_session(kind: str, caplog: Any) -> None:
    app = make_app(PERMANENT_SESSION_LIFETIME=60)
    client = app.test_client()
    headers = {"Cookie": f"session={_bad_cookie(kind)}"}
    response = await client.get("/read/user", headers=headers)
    assert response.status_code == 200
    assert await response.get_json() == {"value": None}
    assert "Set-Cookie" not in response.headers  # only read: nothing to write back
    # the session still works: writing replaces the bad cookie with a good one
    written = await client.post("/set", json={"user": "bob"}, headers=headers)
    assert cookie_serializer().loads(set_cookies(written)["session"]["value"]) == {"user": "bob"}
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


async def test_cookie_within_its_lifetime_reads() -> None:
    # the counterpart of the expired case: an hour-old cookie with a two-hour lifetime
    app = make_app(PERMANENT_SESSION_LIFETIME=timedelta(hours=2))
    cookie = cookie_serializer(signer=_HourOldSigner).dumps({"user": "ann"})
    response = await app.test_client().get("/read/user", headers={"Cookie": f"session={cookie}"})
    assert await response.get_json() == {"value": "ann"}


async def test_garbage_in_the_cookie_header_is_no_error(client: Any) -> None:
    response = await client.get("/read/user", headers={"Cookie": 'session="\\x;; ;==="'})
    assert response.status_code == 200
    assert await response.get_json() == {"value": None}


# ---------------------------------------------------------------- without SECRET_KEY


async def test_without_secret_key_reading_is_empty_and_saves_nothing() -> None:
    app = make_app(secret_key=None)
    cookie = cookie_serializer().dumps({"user": "ann"})
    response = await app.test_client().get("/read/user", headers={"Cookie": f"session={cookie}"})
    assert response.status_code == 200
    assert await response.get_json() == {"value": None}
    assert "Set-Cookie" not in response.headers
    assert "Vary" not in response.headers


CHANGES: dict[str, Any] = {
    "set item": lambda session: session.__setitem__("x", 1),
    "permanent": lambda session: setattr(session, "permanent", True),
    "setdefault": lambda session: session.setdefault("x", 1),
    "update": lambda session: session.update(x=1),
    "pop": lambda session: session.pop("x", None),
    "clear": lambda session: session.clear(),
    "del item": lambda session: session.__delitem__("x"),
}


@pytest.mark.parametrize("change", list(CHANGES))
async def test_without_secret_key_a_change_is_a_clear_500(change: str, caplog: Any) -> None:
    app = make_app(secret_key=None)
    seen: list[BaseException] = []

    @app.get("/change")
    async def change_session() -> str:
        CHANGES[change](session)
        return "changed"

    def record(sender: Any, exception: BaseException) -> None:
        seen.append(exception)

    with got_request_exception.connected_to(record, app):
        response = await app.test_client().get("/change")
    assert response.status_code == 500
    assert len(seen) == 1
    assert isinstance(seen[0], RuntimeError)
    assert "SECRET_KEY" in str(seen[0])
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None
    assert errors[0].exc_info[1] is seen[0]


async def test_without_secret_key_session_transaction_names_it() -> None:
    client = make_app(secret_key=None).test_client()
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        async with client.session_transaction():
            pass


# ---------------------------------------------------------------- cookie settings


async def test_browser_session_cookie_has_no_expiry(client: Any) -> None:
    cookie = set_cookies(await client.post("/login"))["session"]
    assert "expires" not in cookie
    assert "max-age" not in cookie
    assert cookie["httponly"] is True
    assert cookie["path"] == "/"
    assert "secure" not in cookie
    assert "domain" not in cookie


@pytest.mark.parametrize("lifetime", [timedelta(minutes=10), 600])
async def test_permanent_session_expires_after_its_lifetime(lifetime: Any) -> None:
    app = make_app(PERMANENT_SESSION_LIFETIME=lifetime)
    before = datetime.now(UTC).replace(microsecond=0)
    cookie = set_cookies(await app.test_client().post("/login?permanent=1"))["session"]
    expires = parsedate_to_datetime(cookie["expires"])
    assert before + timedelta(seconds=600) <= expires <= before + timedelta(seconds=602)


async def test_permanent_session_is_refreshed_on_each_request(client: Any) -> None:
    await client.post("/login?permanent=1")
    for path in ("/read/user", "/plain"):
        cookie = set_cookies(await client.get(path))["session"]
        assert cookie_serializer().loads(cookie["value"]) == {"user": "ann", "_permanent": True}
        assert "expires" in cookie


async def test_no_refresh_when_disabled() -> None:
    app = make_app(SESSION_REFRESH_EACH_REQUEST=False)
    client = app.test_client()
    assert "session" in set_cookies(await client.post("/login?permanent=1"))
    assert set_cookies(await client.get("/read/user")) == {}
    assert set_cookies(await client.get("/plain")) == {}
    assert await (await client.get("/read/user")).get_json() == {"value": "ann"}


async def test_browser_session_is_not_refreshed(client: Any) -> None:
    await client.post("/login")
    assert set_cookies(await client.get("/read/user")) == {}
    assert set_cookies(await client.get("/plain")) == {}


async def test_cookie_settings_appear_on_set_cookie() -> None:
    app = make_app(
        SESSION_COOKIE_NAME="sid",
        SESSION_COOKIE_DOMAIN="example.com",
        SESSION_COOKIE_PATH="/app",
        SESSION_COOKIE_HTTPONLY=False,
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PARTITIONED=True,
    )
    cookies = set_cookies(await app.test_client().post("/login"))
    assert list(cookies) == ["sid"]
    cookie = cookies["sid"]
    assert cookie_serializer().loads(cookie["value"]) == {"user": "ann"}
    assert cookie["domain"] == "example.com"
    assert cookie["path"] == "/app"
    assert "httponly" not in cookie
    assert cookie["secure"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["partitioned"] is True


async def test_application_root_is_the_default_cookie_path() -> None:
    app = make_app(APPLICATION_ROOT="/shop")
    assert set_cookies(await app.test_client().post("/login"))["session"]["path"] == "/shop"


async def test_emptying_the_session_deletes_the_cookie() -> None:
    app = make_app(SESSION_COOKIE_PATH="/", SESSION_COOKIE_SAMESITE="Strict")
    client = app.test_client()
    await client.post("/login")
    response = await client.post("/clear")
    cookie = set_cookies(response)["session"]
    assert cookie["value"] == ""
    assert cookie["max-age"] == "0"
    assert parsedate_to_datetime(cookie["expires"]).year == 1970
    assert cookie["path"] == "/"
    assert cookie["samesite"] == "Strict"
    assert "Cookie" in vary(response)
    follow_up = await client.get("/read/user")
    assert await follow_up.get_json() == {"value": None}


async def test_untouched_session_sets_no_cookie_and_no_vary(client: Any) -> None:
    await client.post("/login")
    response = await client.get("/plain")
    assert "Set-Cookie" not in response.headers
    assert "Vary" not in response.headers


@pytest.mark.parametrize("logged_in", [False, True])
async def test_reading_the_session_adds_vary_cookie(client: Any, logged_in: bool) -> None:
    if logged_in:
        await client.post("/login")
    response = await client.get("/read/user")
    assert await response.get_json() == {"value": "ann" if logged_in else None}
    assert vary(response) == {"Cookie"}
    assert "Set-Cookie" not in response.headers


# ---------------------------------------------------------------- change tracking


async def test_nested_changes_need_modified(app: Quart, client: Any) -> None:
    @app.post("/nested")
    async def nested() -> str:
        session["cart"]["items"].append(request.args["item"])
        if request.args.get("mark") == "1":
            session.modified = True
        return "added"

    @app.get("/cart")
    async def cart() -> dict[str, Any]:
        return session["cart"]  # type: ignore[no-any-return]

    await client.post("/set", json={"cart": {"items": []}})
    unmarked = await client.post("/nested?item=apple")
    assert "Set-Cookie" not in unmarked.headers
    assert await (await client.get("/cart")).get_json() == {"items": []}

    await client.post("/nested?item=pear&mark=1")
    assert await (await client.get("/cart")).get_json() == {"items": ["pear"]}


async def test_modified_and_accessed_flags(app: Quart, client: Any) -> None:
    @app.get("/flags")
    async def flags() -> dict[str, Any]:
        before = (session.accessed, session.modified)
        session.get("user")
        after_read = (session.accessed, session.modified)
        session["user"] = "ann"
        return {"before": before, "read": after_read, "write": (session.accessed, session.modified)}

    assert await (await client.get("/flags")).get_json() == {
        "before": [False, False],
        "read": [True, False],
        "write": [True, True],
    }


READS: dict[str, Any] = {
    "get": lambda data: data.get("user"),
    "item": lambda data: data["user"],
    "in": lambda data: "user" in data,
    "len": len,
    "bool": bool,
    "keys": lambda data: list(data.keys()),
    "items": lambda data: list(data.items()),
    "iter": list,
    "copy": lambda data: data.copy(),
}


@pytest.mark.parametrize("read", list(READS))
async def test_every_read_marks_the_session_accessed_and_nothing_more(
    app: Quart, client: Any, read: str
) -> None:
    @app.get("/flags")
    async def flags() -> dict[str, Any]:
        READS[read](session)
        return {"accessed": session.accessed, "modified": session.modified}

    await client.post("/login")
    response = await client.get("/flags")
    assert await response.get_json() == {"accessed": True, "modified": False}
    assert vary(response) == {"Cookie"}
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(
    "write",
    ["item", "setdefault", "update", "pop", "delete", "clear"],
)
async def test_every_write_marks_the_session_modified(app: Quart, client: Any, write: str) -> None:
    @app.post("/write")
    async def write_view() -> dict[str, Any]:
        if write == "item":
            session["other"] = 1
        elif write == "setdefault":
            session.setdefault("other", 1)
        elif write == "update":
            session.update(other=1)
        elif write == "pop":
            session.pop("user")
        elif write == "delete":
            del session["user"]
        else:
            session.clear()
        return {"accessed": session.accessed, "modified": session.modified}

    await client.post("/login")
    response = await client.post("/write")
    assert await response.get_json() == {"accessed": True, "modified": True}
    assert "session" in set_cookies(response)


async def test_a_refreshed_cookie_varies_on_cookie_once(client: Any) -> None:
    await client.post("/login?permanent=1")
    for path in ("/plain", "/read/user"):  # the session untouched, then read
        response = await client.get(path)
        assert "session" in set_cookies(response)
        assert response.headers.getlist("Vary") == ["Cookie"]


# ---------------------------------------------------------------- websockets


async def test_websocket_reads_the_cookie_session(app: Quart, client: Any) -> None:
    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.accept()
        await websocket.send_json({"user": session.get("user")})

    await client.post("/login")
    async with client.websocket("/ws") as connection:
        assert await connection.receive_json() == {"user": "ann"}


async def test_websocket_change_to_cookie_session_is_lost_with_a_warning(
    app: Quart, client: Any, caplog: Any
) -> None:
    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.accept()
        session["user"] = "changed"
        await websocket.send("done")

    await client.post("/login")
    with caplog.at_level(logging.WARNING):
        async with client.websocket("/ws") as connection:
            assert await connection.receive() == "done"
    assert await (await client.get("/read/user")).get_json() == {"value": "ann"}
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "websocket" in warnings[0].getMessage()


async def test_websocket_refused_with_a_response_saves_the_session(app: Quart, client: Any) -> None:
    @app.websocket("/ws")
    async def ws() -> tuple[str, int]:
        session["refused"] = True
        return "not now", 403

    with pytest.raises(WebsocketResponseError) as refused:
        async with client.websocket("/ws") as connection:
            await connection.receive()
    response = refused.value.response
    assert response.status_code == 403
    assert cookie_serializer().loads(set_cookies(response)["session"]["value"]) == {"refused": True}


# ---------------------------------------------------------------- templates


async def test_templates_that_ignore_the_session_add_no_vary(app: Quart, client: Any) -> None:
    @app.get("/hello")
    async def hello() -> str:
        return await render_template_string("hello {{ name }}", name="ann")

    @app.get("/who")
    async def who() -> str:
        return await render_template_string("hello {{ session.user }}")

    await client.post("/login")
    plain = await client.get("/hello")
    assert await plain.get_data(as_text=True) == "hello ann"
    assert "Vary" not in plain.headers
    personal = await client.get("/who")
    assert await personal.get_data(as_text=True) == "hello ann"
    assert vary(personal) == {"Cookie"}


# ---------------------------------------------------------------- custom interfaces


async def test_open_session_returning_none_gives_a_null_session() -> None:
    saved: list[Any] = []

    class NoSessions(SessionInterface):
        async def open_session(self, app: Any, request: Any) -> None:
            return None

        async def save_session(self, app: Any, session: Any, response: Any) -> None:
            saved.append(session)

    app = make_app()
    app.session_interface = NoSessions()
    client = app.test_client()
    assert await (await client.get("/read/user")).get_json() == {"value": None}
    assert (await client.post("/login")).status_code == 500
    assert saved == []


async def test_subclass_that_changes_saving_sees_every_request() -> None:
    from quart.sessions import SecureCookieSessionInterface

    class Counting(SecureCookieSessionInterface):
        saved = 0

        async def save_session(self, app: Any, session: Any, response: Any) -> None:
            type(self).saved += 1
            await super().save_session(app, session, response)

    app = make_app()
    app.session_interface = Counting()
    client = app.test_client()
    await client.get("/plain")
    await client.post("/login")
    await client.get("/plain")
    assert Counting.saved == 3


async def test_store_example_keeps_data_on_the_server() -> None:
    example = load_example("sessions_store")
    client = example.app.test_client()
    first = await client.get("/")
    assert "Visits: 1" in await first.get_data(as_text=True)
    assert "Cookie" in vary(first)

    response = await client.post("/login", form={"name": "Ann <admin>"})
    assert response.status_code == 302
    cookie = set_cookies(response)["session"]
    assert "expires" in cookie  # the log-in made the session permanent
    # the cookie holds a signed random id, not the data
    sid = Signer(example.app.secret_key, salt="stored-session").unsign(cookie["value"]).decode()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", sid)
    assert cookie["value"].count(".") == 1
    stored = await example.app.session_interface.store.get(f"session:{sid}")
    assert stored is not None
    assert "Ann <admin>" in stored

    page = await (await client.get("/")).get_data(as_text=True)
    assert "Hello, Ann &lt;admin&gt;. Visits: 2" in page


async def test_store_example_login_moves_the_session_to_a_new_id() -> None:
    example = load_example("sessions_store")
    client = example.app.test_client()
    await client.get("/")
    async with client.session_transaction() as transaction:
        before = transaction.sid
    await client.post("/login", form={"name": "ann"})
    async with client.session_transaction() as transaction:
        assert transaction.sid != before
        assert transaction["visits"] == 1
    store = example.app.session_interface.store
    assert await store.get(f"session:{before}") is None

    # the id from before log-in no longer opens anything
    signer = Signer(example.app.secret_key, salt="stored-session")
    stale = signer.sign(before).decode()
    page = await example.app.test_client().get("/", headers={"Cookie": f"session={stale}"})
    assert "Visits: 1" in await page.get_data(as_text=True)


async def test_store_example_logout_forgets_the_session() -> None:
    example = load_example("sessions_store")
    client = example.app.test_client()
    await client.post("/login", form={"name": "ann"})
    async with client.session_transaction() as transaction:
        sid = transaction.sid
    response = await client.post("/logout")
    assert set_cookies(response)["session"]["max-age"] == "0"
    assert await example.app.session_interface.store.get(f"session:{sid}") is None
    assert "Log in" in await (await client.get("/")).get_data(as_text=True)


async def test_store_example_ignores_forged_ids(caplog: Any) -> None:
    example = load_example("sessions_store")
    client = example.app.test_client()
    await client.post("/login", form={"name": "ann"})
    async with client.session_transaction() as transaction:
        sid = transaction.sid
    for forged in (sid, Signer("guessed key", salt="stored-session").sign(sid).decode()):
        response = await example.app.test_client().get("/", headers={"Cookie": f"session={forged}"})
        assert response.status_code == 200
        assert "Log in" in await response.get_data(as_text=True)
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


async def test_store_example_accepts_ids_signed_with_a_fallback_key() -> None:
    example = load_example("sessions_store")
    app = example.app
    client = app.test_client()
    await client.post("/login", form={"name": "ann"})
    app.config["SECRET_KEY_FALLBACKS"] = [app.secret_key]
    app.secret_key = "rotated"
    assert "Hello, ann" in await (await client.get("/")).get_data(as_text=True)


async def test_store_example_entries_expire() -> None:
    example = load_example("sessions_store")
    app = example.app
    now = [1000.0]
    app.session_interface = ServerSessionInterface(MemoryStore(lambda: now[0]))
    app.config["PERMANENT_SESSION_LIFETIME"] = 60
    client = app.test_client()
    await client.post("/login", form={"name": "ann"})
    now[0] += 59
    assert "Hello, ann" in await (await client.get("/")).get_data(as_text=True)  # renewed
    now[0] += 59
    assert "Hello, ann" in await (await client.get("/")).get_data(as_text=True)
    now[0] += 61
    assert "Log in" in await (await client.get("/")).get_data(as_text=True)


async def test_store_example_websocket_changes_are_saved() -> None:
    example = load_example("sessions_store")
    client = example.app.test_client()
    await client.post("/login", form={"name": "ann"})
    for _ in range(2):
        async with client.websocket("/ws") as connection:
            assert await connection.receive_json() == {"user": "ann"}
    async with client.session_transaction() as transaction:
        assert transaction["websocket_visits"] == 2


async def test_store_example_websocket_without_a_session_stores_nothing() -> None:
    example = load_example("sessions_store")
    client = example.app.test_client()
    async with client.websocket("/ws") as connection:
        assert await connection.receive_json() == {"user": None}
    assert len(example.app.session_interface.store) == 0


async def test_store_example_without_secret_key() -> None:
    example = load_example("sessions_store")
    example.app.secret_key = None
    client = example.app.test_client()
    seen: list[BaseException] = []

    def record(sender: Any, exception: BaseException) -> None:
        seen.append(exception)

    with got_request_exception.connected_to(record, example.app):
        assert (await client.get("/")).status_code == 500  # the page counts visits
        assert (await client.post("/login", form={"name": "ann"})).status_code == 500
    assert len(seen) == 2
    assert all("SECRET_KEY" in str(exception) for exception in seen)


def test_docs_show_the_example_exactly() -> None:
    docs = (ROOT / "docs" / "sessions.md").read_text()
    example = (ROOT / "examples" / "sessions_store" / "app.py").read_text()
    blocks = re.findall(r"```python\n(.*?)```", docs, re.DOTALL)
    assert example in blocks


# ---------------------------------------------------------------- session_transaction


async def test_transaction_values_reach_the_next_request(client: Any) -> None:
    async with client.session_transaction() as transaction:
        transaction["user"] = "zoe"
        transaction.permanent = True
    response = await client.get("/read/user")
    assert await response.get_json() == {"value": "zoe"}


async def test_request_values_reach_a_later_transaction(client: Any) -> None:
    await client.post("/set", json={"user": "ann", "cart": [1, 2]})
    async with client.session_transaction() as transaction:
        assert dict(transaction) == {"user": "ann", "cart": [1, 2]}
        del transaction["cart"]
    assert await (await client.get("/read/cart")).get_json() == {"value": None}
    assert await (await client.get("/read/user")).get_json() == {"value": "ann"}


async def test_transaction_that_changes_nothing_keeps_the_cookie(client: Any) -> None:
    await client.post("/login")
    async with client.session_transaction() as transaction:
        assert transaction["user"] == "ann"
    assert await (await client.get("/read/user")).get_json() == {"value": "ann"}


async def test_transaction_with_custom_cookie_name_and_path() -> None:
    app = make_app(SESSION_COOKIE_NAME="sid", SESSION_COOKIE_PATH="/read")
    client = app.test_client()
    async with client.session_transaction("/read/") as transaction:
        transaction["user"] = "yan"
    response = await client.get("/read/user")
    assert await response.get_json() == {"value": "yan"}
    # the cookie is kept for its path only
    assert await (await client.get("/repr")).get_data(as_text=True) == "[]"

    await client.post("/set", json={"user": "xia"})
    async with client.session_transaction("/read/") as transaction:
        assert transaction.get("user") == "xia"


@pytest.mark.parametrize(
    "existing", [None, "Accept", "accept, cookie", "Cookie", "*", "Accept-Encoding,Origin", ""]
)
def test_a_saved_session_varies_on_cookie_as_werkzeug_would_say(existing: str | None) -> None:
    """The session adds ``Cookie`` to ``Vary`` without werkzeug's header set, whose
    parsing and writing back cost as much as the rest of saving a session."""
    from quart.sessions import _vary_on_cookie

    ours, plain = Response("x"), Response("x")
    if existing is not None:
        ours.headers["Vary"] = existing
        plain.headers["Vary"] = existing
    _vary_on_cookie(ours)
    _vary_on_cookie(ours)  # a second time changes nothing
    plain.vary.add("Cookie")
    assert ours.vary.as_set() == plain.vary.as_set()
    assert ours.headers.getlist("Vary") == [plain.headers["Vary"]]
