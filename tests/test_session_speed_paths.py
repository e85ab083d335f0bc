"""The stock cookie session signs and reads cookies without itsdangerous's per-call work
(the HMAC key derived on every call, a new serializer, tagging walks, zlib on tiny data);
here its cookies are held to be the very bytes Flask's interface writes, and to read as
Flask's interface reads them, whatever the session holds, whatever the keys and however
a cookie is mangled. Interfaces that change how cookies are signed (a subclass or an
instance attribute) and serializers with more tags take itsdangerous's own path.

Time is frozen where bytes are compared, since a cookie carries the second it was made.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from unittest import mock
from uuid import UUID

import flask
import flask.sessions
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from markupsafe import Markup

from quart import Quart, session
from quart.json.tag import JSONTag, TaggedJSONSerializer
from quart.sessions import SecureCookieSessionInterface, session_json_serializer

SECRET = "the current key"
FROZEN = 1_700_000_000.25

SESSIONS: dict[str, dict[str, Any]] = {
    "tiny, never compressed": {"n": 2},
    "eleven bytes of JSON": {"ab": 1234},
    "twenty bytes, compressed": {"k": "x" * 12},
    "compressible": {"cart": ["apple"] * 30, "user": "ann"},
    "incompressible": {"token": "9f86d081884c7d65", "u": 7},
    "scalars": {"f": 1.5, "t": True, "z": None, "neg": -3, "big": 2**70},
    "unicode": {"name": "Zoë ☃ 名前", "emoji": "🎉"},
    "escapes in keys and values": {'q"uote': "back\\slash", "nl": "a\nb", "\\": "x"},
    "keys with a leading space": {" t": 1, " x": [1, 2]},
    "lone tag key at the top": {" t": "looks like a tag"},
    "lone tag key nested": {"outer": {" di": {" b": "x"}}},
    "nested plain": {"a": {"b": [1, {"c": [None, "d"]}]}},
    "tagged values": {
        "bytes": b"\x00\xffraw",
        "tuple": (1, "two", (3,)),
        "when": datetime(2024, 2, 29, 12, 30, 15, tzinfo=UTC),
        "markup": Markup("<b>bold</b>"),
        "uuid": UUID("12345678-1234-5678-1234-567812345678"),
    },
    "permanent": {"user": "ann", "_permanent": True},
}


def flask_serializer(
    secret: str | bytes = SECRET, fallbacks: list[str] | None = None
) -> URLSafeTimedSerializer:
    """Flask's own session serializer for these keys."""
    flask_app = flask.Flask(__name__)
    flask_app.secret_key = secret
    flask_app.config["SECRET_KEY_FALLBACKS"] = fallbacks or []
    serializer = flask.sessions.SecureCookieSessionInterface().get_signing_serializer(flask_app)
    assert serializer is not None
    return serializer


@pytest.fixture
def frozen() -> Iterator[None]:
    with mock.patch("time.time", return_value=FROZEN):
        yield


class Overriding(SecureCookieSessionInterface):
    """Signs exactly as the stock interface, through itsdangerous's own path."""

    def get_signing_serializer(self, app: Any) -> URLSafeTimedSerializer | None:
        return super().get_signing_serializer(app)


def make_app(interface: SecureCookieSessionInterface | None = None, **config: Any) -> Quart:
    app = Quart(__name__, static_folder=None)
    app.secret_key = SECRET
    app.config.update(config)
    if interface is not None:
        app.session_interface = interface
    app.config["seen"] = []

    @app.post("/put/<name>")
    async def put(name: str) -> str:
        session.update(SESSIONS[name])
        return "put"

    @app.post("/put")
    async def put_configured() -> str:
        session.update(app.config["to_put"])
        return "put"

    @app.get("/look")
    async def look() -> str:
        app.config["seen"].append(dict(session))
        return "looked"

    @app.post("/bump")
    async def bump() -> str:
        session["n"] = session.get("n", 0) + 1
        return "bumped"

    return app


def cookie_of(response: Any) -> str:
    (header,) = response.headers.getlist("Set-Cookie")
    name, _, rest = header.partition("=")
    assert name == "session"
    return rest.split(";", 1)[0]


def interface_of(app: Quart) -> SecureCookieSessionInterface:
    interface = app.session_interface
    assert isinstance(interface, SecureCookieSessionInterface)
    return interface


# ---------------------------------------------------------------- the app's own cookies


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize("name", list(SESSIONS))
@pytest.mark.parametrize("interface", [None, Overriding()], ids=["stock", "itsdangerous"])
async def test_cookie_is_the_bytes_flask_writes(name: str, interface: Any) -> None:
    response = await make_app(interface).test_client().post(f"/put/{name}")
    assert cookie_of(response) == flask_serializer().dumps(SESSIONS[name])


@pytest.mark.parametrize("name", list(SESSIONS))
async def test_flasks_cookie_reads_as_flask_reads_it(name: str) -> None:
    cookie = flask_serializer().dumps(SESSIONS[name])
    app = make_app()
    await app.test_client().get("/look", headers={"Cookie": f"session={cookie}"})
    assert app.config["seen"] == [flask_serializer().loads(cookie)]


async def test_tiny_json_is_never_worth_compressing() -> None:
    """Cookies of up to 10 bytes of JSON skip zlib: its output is never 2 bytes shorter."""
    for data in (b"", b"a", b"a" * 10, b"\x00" * 10, b'{"n":2}', b'{"n":100}'):
        assert len(zlib.compress(data)) >= len(data) - 1


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=10))
def test_zlib_never_shortens_ten_bytes_enough(data: bytes) -> None:
    assert len(zlib.compress(data)) >= len(data) - 1


# ---------------------------------------------------------------- keys and their rotation


@pytest.mark.usefixtures("frozen")
async def test_fallback_keys_read_and_the_current_key_signs() -> None:
    fallbacks = ["oldest key", "old key"]
    app = make_app(SECRET_KEY_FALLBACKS=fallbacks)
    client = app.test_client()
    for old in fallbacks:
        cookie = flask_serializer(old).dumps({"n": 5, "who": old})
        response = await client.post("/bump", headers={"Cookie": f"session={cookie}"})
        assert cookie_of(response) == flask_serializer(SECRET).dumps({"n": 6, "who": old})
    unknown = flask_serializer("unknown key").dumps({"n": 5})
    response = await client.post("/bump", headers={"Cookie": f"session={unknown}"})
    assert flask_serializer(SECRET).loads(cookie_of(response)) == {"n": 1}


async def test_a_key_changed_at_run_time_is_used_from_the_next_request() -> None:
    app = make_app()
    client = app.test_client()
    first = cookie_of(await client.post("/bump"))
    assert flask_serializer(SECRET).loads(first) == {"n": 1}

    app.secret_key = b"a new key, as bytes"
    stale = cookie_of(await client.post("/bump", headers={"Cookie": f"session={first}"}))
    assert flask_serializer(b"a new key, as bytes").loads(stale) == {"n": 1}  # not 2

    app.config["SECRET_KEY_FALLBACKS"] = [SECRET]  # and now the old key reads again
    revived = cookie_of(await client.post("/bump", headers={"Cookie": f"session={first}"}))
    assert flask_serializer(b"a new key, as bytes").loads(revived) == {"n": 2}


async def test_fallbacks_changed_in_place_are_honoured() -> None:
    app = make_app(SECRET_KEY_FALLBACKS=[])
    client = app.test_client()
    old_cookie = flask_serializer("old key").dumps({"n": 41})
    headers = {"Cookie": f"session={old_cookie}"}
    assert flask_serializer().loads(cookie_of(await client.post("/bump", headers=headers))) == {
        "n": 1
    }
    app.config["SECRET_KEY_FALLBACKS"].append("old key")
    assert flask_serializer().loads(cookie_of(await client.post("/bump", headers=headers))) == {
        "n": 42
    }


async def test_without_a_secret_key_there_is_no_session_to_save() -> None:
    app = make_app()
    app.secret_key = None
    response = await app.test_client().get("/look")
    assert "Set-Cookie" not in response.headers
    assert app.config["seen"] == [{}]


# ---------------------------------------------------------------- what changes the signing


class OtherSalt(SecureCookieSessionInterface):
    salt = "another salt"


class Sha256(SecureCookieSessionInterface):
    digest_method = staticmethod(hashlib.sha256)


class Concat(SecureCookieSessionInterface):
    key_derivation = "concat"


class TagSet(JSONTag):
    key = " set"

    def check(self, value: Any) -> bool:
        return isinstance(value, set)

    def to_json(self, value: Any) -> Any:
        return sorted(value)

    def to_python(self, value: Any) -> Any:
        return set(value)


def _with_sets() -> TaggedJSONSerializer:
    serializer = TaggedJSONSerializer()
    serializer.register(TagSet)
    return serializer


class OwnSerializer(SecureCookieSessionInterface):
    serializer = _with_sets()


def reference(interface: SecureCookieSessionInterface) -> URLSafeTimedSerializer:
    """itsdangerous configured from ``interface``'s settings, as Flask would."""
    return URLSafeTimedSerializer(
        SECRET,
        salt=interface.salt,
        serializer=interface.serializer,
        signer_kwargs={
            "key_derivation": interface.key_derivation,
            "digest_method": interface.digest_method,
        },
    )


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize(
    ("kind", "data"),
    [
        (OtherSalt, {"n": 1}),
        (Sha256, {"n": 1}),
        (Concat, {"n": 1}),
        (OwnSerializer, {"n": 1, "seen": {3, 1, 2}}),
    ],
)
async def test_subclasses_that_change_signing_are_honoured(kind: type, data: Any) -> None:
    interface = kind()
    app = make_app(interface, to_put=data)
    client = app.test_client()
    cookie = cookie_of(await client.post("/put"))
    assert cookie == reference(interface).dumps(data)
    assert flask_serializer().loads_unsafe(cookie) != (True, data)
    bumped = cookie_of(await client.post("/bump", headers={"Cookie": f"session={cookie}"}))
    assert reference(interface).loads(bumped) == {**data, "n": 2}


@pytest.mark.usefixtures("frozen")
async def test_an_attribute_set_on_the_instance_after_requests_is_honoured() -> None:
    app = make_app()
    client = app.test_client()
    assert cookie_of(await client.post("/bump")) == flask_serializer().dumps({"n": 1})

    interface = interface_of(app)
    interface.salt = "changed at run time"
    assert cookie_of(await client.post("/bump")) == reference(interface).dumps({"n": 1})

    del interface.salt
    assert cookie_of(await client.post("/bump")) == flask_serializer().dumps({"n": 1})


@pytest.mark.usefixtures("frozen")
async def test_subclasses_that_wrap_opening_and_saving_still_run() -> None:
    calls: list[str] = []

    class Wrapping(SecureCookieSessionInterface):
        async def open_session(self, app: Any, request: Any) -> Any:
            calls.append("open")
            return await super().open_session(app, request)

        async def save_session(self, app: Any, session: Any, response: Any) -> None:
            calls.append("save")
            await super().save_session(app, session, response)

    client = make_app(Wrapping()).test_client()
    assert cookie_of(await client.post("/bump")) == flask_serializer().dumps({"n": 1})
    assert calls == ["open", "save"]


@pytest.fixture
def restore_session_tags() -> Iterator[None]:
    """Tags registered on the shared serializer are removed again afterwards."""
    order, tags = list(session_json_serializer.order), dict(session_json_serializer.tags)
    try:
        yield
    finally:
        session_json_serializer.order[:] = order
        session_json_serializer.tags.clear()
        session_json_serializer.tags.update(tags)


class TagBigInt(JSONTag):
    """Ints beyond JavaScript's safe range as strings; its key has no leading space."""

    key = "bigint"

    def check(self, value: Any) -> bool:
        return type(value) is int and abs(value) > 2**53

    def to_json(self, value: Any) -> Any:
        return str(value)

    def to_python(self, value: Any) -> Any:
        return int(value)


@pytest.mark.usefixtures("frozen", "restore_session_tags")
async def test_a_tag_registered_on_the_session_serializer_after_requests_is_used() -> None:
    app = make_app()
    client = app.test_client()
    await client.post("/bump")  # the fast path has been taken once

    session_json_serializer.register(TagBigInt, index=0)
    plain = URLSafeTimedSerializer(
        SECRET,
        salt="cookie-session",
        serializer=session_json_serializer,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
    )
    response = await client.post("/put/scalars")
    assert cookie_of(response) == plain.dumps({"n": 1, **SESSIONS["scalars"]})
    assert cookie_of(response) != flask_serializer().dumps({"n": 1, **SESSIONS["scalars"]})

    # and a lone key that is now a tag is untagged on reading
    cookie = TimestampSigner(
        SECRET, salt="cookie-session", key_derivation="hmac", digest_method=hashlib.sha1
    ).sign(base64_encode(b'{"x":{"bigint":"12345678901234567890"}}'))
    await client.get("/look", headers={"Cookie": f"session={cookie.decode()}"})
    assert app.config["seen"] == [{"x": 12345678901234567890}]


# ---------------------------------------------------------------- generated sessions and cookies

_keys = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=8),
    st.sampled_from([" t", " di", " b", " m", " u", " d", "\\", '"', " "]),
)
_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
    st.binary(max_size=8),
    st.uuids(),
    st.builds(Markup, st.text(max_size=8)),
    st.datetimes(timezones=st.just(UTC)).map(lambda when: when.replace(microsecond=0)),
)
_values = st.recursive(
    _leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(_keys, children, max_size=4),
    ),
    max_leaves=12,
)
_sessions = st.dictionaries(_keys, _values, max_size=6)

_generated = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _app_signer(app: Quart) -> Any:
    signer = interface_of(app)._signer(app)
    assert signer is not None
    return signer


def _result(signer: Any, cookie: str, max_age: int | None) -> tuple[str, Any]:
    try:
        return "read", signer.loads(cookie, max_age=max_age)
    except BadData:
        return "bad", None


_APP = make_app(SECRET_KEY_FALLBACKS=["old key"])


@_generated
@given(_sessions)
def test_generated_sessions_write_and_read_as_flask(data: dict[str, Any]) -> None:
    signer = _app_signer(_APP)
    flask_side = flask_serializer(SECRET, ["old key"])
    assert type(signer) is not URLSafeTimedSerializer  # the fast path is under test
    with mock.patch("time.time", return_value=FROZEN):
        cookie = signer.dumps(data)
        assert cookie == flask_side.dumps(data)
        assert _result(signer, cookie, 60) == _result(flask_side, cookie, 60)


@_generated
@given(
    _sessions,
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=200),
            st.integers(min_value=0, max_value=3),
            st.sampled_from([*".=-_aA0/+é ", "\x00"]),
        ),
        max_size=3,
    ),
    st.sampled_from([None, 0, 5, 3600]),
    st.integers(min_value=-10, max_value=10),
)
def test_mangled_cookies_read_as_flask_reads_them(
    data: dict[str, Any], edits: list[tuple[int, int, str]], max_age: int | None, later: int
) -> None:
    signer = _app_signer(_APP)
    flask_side = flask_serializer(SECRET, ["old key"])
    with mock.patch("time.time", return_value=FROZEN):
        cookie = flask_serializer("old key").dumps(data)
    for position, kind, character in edits:
        position %= len(cookie) + 1
        if kind == 0:
            cookie = cookie[:position] + character + cookie[position:]
        elif kind == 1:
            cookie = cookie[:position] + cookie[position + 1 :]
        elif kind == 2:
            cookie = cookie[:position] + character + cookie[position + 1 :]
        else:
            cookie = cookie[:position]
    with mock.patch("time.time", return_value=FROZEN + later):
        assert _result(signer, cookie, max_age) == _result(flask_side, cookie, max_age)


_json_texts = st.one_of(
    _sessions.map(lambda data: json.dumps(session_json_serializer.tag(data))),
    _sessions.map(lambda data: json.dumps(session_json_serializer.tag(data), indent=1)),
    st.sampled_from(
        [
            '{"\\u0020t": [1, 2]}',
            ' {"a": 1}',
            '{"a": 1} ',
            '{"a": 1}x',
            "\ufeff{}",
            '{" t": 5}',
            '{"a": {" di": {" t__": [1]}}}',
            "[1, 2]",
            '"text"',
            "",
            "{",
        ]
    ),
    st.text(max_size=20),
)


@_generated
@given(_json_texts, st.booleans())
def test_any_signed_payload_reads_as_flask_reads_it(text: str, compress: bool) -> None:
    """Payloads Flask would not write (whitespace, escapes, bad JSON, a BOM) included."""
    data = text.encode()
    payload = base64_encode(data)
    if compress:
        payload = b"." + base64_encode(zlib.compress(data))
    signer = TimestampSigner(
        SECRET, salt="cookie-session", key_derivation="hmac", digest_method=hashlib.sha1
    )
    cookie = signer.sign(payload).decode()
    assert _result(_app_signer(_APP), cookie, 60) == _result(flask_serializer(), cookie, 60)


def test_within_a_flask_app_context_flasks_json_provider_writes_the_cookie() -> None:
    """Flask's tagged serializer writes with the JSON provider of a Flask app whose
    context is active (sorted keys); the fast path steps aside for it."""
    flask_app = flask.Flask(__name__)
    data = {"b": 1, "a": 2}
    with mock.patch("time.time", return_value=FROZEN), flask_app.app_context():
        cookie = _app_signer(_APP).dumps(data)
        assert cookie == flask_serializer(SECRET).dumps(data)
    assert _app_signer(_APP).loads(cookie) == data


def test_frozen_time_is_what_the_cookie_carries() -> None:
    """The fixture's premise: a cookie written at a frozen second names that second."""
    with mock.patch("time.time", return_value=FROZEN):
        cookie = _app_signer(_APP).dumps({"n": 1})
    _, stamp = flask_serializer().loads(cookie, return_timestamp=True)
    assert stamp == datetime.fromtimestamp(int(FROZEN), UTC)
