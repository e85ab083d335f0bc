"""Sessions: the interface (async, so server-side stores can be plugged in) and the
default signed-cookie implementation, compatible with Flask's cookies.

The stock interface signs and reads cookies with ``_SessionCookieCodec``: the bytes
itsdangerous would write, for a fraction of the work (a sixth for a small session). An
interface that changes how cookies are signed uses ``get_signing_serializer``
(tests/test_session_speed_paths.py holds the two to the same cookies).
"""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import hmac
import inspect
import time
import zlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, Self

from flask.sessions import NullSession as FlaskNullSession
from flask.sessions import SecureCookieSession as FlaskSecureCookieSession
from flask.sessions import SessionMixin
from itsdangerous import BadData, BadPayload, BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.datastructures import CallbackDict

from .json import tag as _tag
from .json.tag import TaggedJSONSerializer

try:  # CPython's own SHA-1: the same digests, made and copied for less than OpenSSL's
    from _sha1 import sha1 as _sha1  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - a build without it (FIPS)
    _sha1 = hashlib.sha1

#: The serializer of session cookies (tagged JSON, as Flask's and Quart's).
session_json_serializer = TaggedJSONSerializer()

if TYPE_CHECKING:
    from .app import Quart
    from .wrappers import BaseRequestWebsocket, Response

__all__ = [
    "NullSession",
    "SecureCookieSession",
    "SecureCookieSessionInterface",
    "SessionInterface",
    "SessionMixin",
]


class SecureCookieSession(FlaskSecureCookieSession):
    """The session dict: ``modified`` is set by every change, ``accessed`` by every read
    or change, however the session was reached (the ``session`` proxy, a template's
    context, a copied context).

    ``accessed`` puts ``Vary: Cookie`` on the response, so that a shared cache never
    serves a page made from one visitor's session to another. Changes inside nested
    values are not seen: set ``modified`` after ``session["cart"].append(item)``.
    """

    def __init__(self, initial: Mapping[str, Any] | None = None) -> None:
        # What werkzeug's CallbackDict.__init__ does, without Flask's, which makes a
        # callback for every session only for it to be replaced here.
        if initial is None:
            dict.__init__(self)
        else:
            dict.__init__(self, initial)
        self.on_update = _changed

    # The reads and the write made most (by views, and ``if not session``), written
    # out: the generic wrappers below cost twice as much per call.
    def __getitem__(self, key: str) -> Any:
        self.accessed = True
        return dict.__getitem__(self, key)

    def __contains__(self, key: object) -> bool:
        self.accessed = True
        return dict.__contains__(self, key)

    def __len__(self) -> int:
        self.accessed = True
        return dict.__len__(self)

    def get(self, key: str, default: Any = None, /) -> Any:
        self.accessed = True
        return dict.get(self, key, default)

    def __setitem__(self: Self, key: str, value: Any) -> None:
        dict.__setitem__(self, key, value)
        on_update = self.on_update
        if on_update is not None:
            on_update(self)


def _changed(session: SecureCookieSession) -> None:
    session.modified = True
    session.accessed = True


def _reading(name: str) -> Callable[..., Any]:
    method = getattr(FlaskSecureCookieSession, name)

    def read(self: SecureCookieSession, *args: Any, **kwargs: Any) -> Any:
        self.accessed = True
        return method(self, *args, **kwargs)

    read.__name__ = name
    return _like_quarts(read, name)


def _like_quarts(function: Callable[..., Any], name: str) -> Callable[..., Any]:
    """``function`` named, documented and with the signature of Quart's session (a
    werkzeug CallbackDict) for ``name``, where it has one (some builtins have none)."""
    function.__qualname__ = f"SecureCookieSession.{name}"
    function.__doc__ = getattr(FlaskSecureCookieSession, name).__doc__
    with contextlib.suppress(ValueError):
        function.__signature__ = inspect.signature(getattr(CallbackDict, name))  # type: ignore[attr-defined]
    return function


for _name in ("__getitem__", "__contains__", "__len__", "get", "__setitem__"):
    _like_quarts(SecureCookieSession.__dict__[_name], _name)
for _name in (
    "__iter__",
    "keys",
    "values",
    "items",
    "copy",
    "setdefault",
    "pop",
    "popitem",
):
    setattr(SecureCookieSession, _name, _reading(_name))
del _name


class NullSession(SecureCookieSession, FlaskNullSession):
    """The session when sessions cannot work (no ``SECRET_KEY``): readable, always empty;
    any change raises a RuntimeError that says what is missing."""

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            "The session is unavailable because no secret key was set. Set SECRET_KEY in"
            " the app's config (app.secret_key) to something unique and secret."
        )

    __setitem__ = __delitem__ = clear = pop = popitem = update = setdefault = _fail


class SessionInterface:
    """How sessions are loaded and saved; subclass it for server-side stores.

    ``open_session`` and ``save_session`` are coroutines, so a store can await its
    database. Returning None from ``open_session`` means a null session is used.
    """

    null_session_class = NullSession
    pickle_based = False

    async def make_null_session(self, app: Quart) -> NullSession:
        """The session to use when ``open_session`` could not make one."""
        return self.null_session_class()

    def is_null_session(self, instance: object) -> bool:
        """Null sessions are never saved."""
        return isinstance(instance, self.null_session_class)

    def get_cookie_name(self, app: Quart) -> str:
        return app.config["SESSION_COOKIE_NAME"]  # type: ignore[no-any-return]

    def get_cookie_domain(self, app: Quart) -> str | None:
        return app.config["SESSION_COOKIE_DOMAIN"]  # type: ignore[no-any-return]

    def get_cookie_path(self, app: Quart) -> str:
        return app.config["SESSION_COOKIE_PATH"] or app.config["APPLICATION_ROOT"]  # type: ignore[no-any-return]

    def get_cookie_httponly(self, app: Quart) -> bool:
        return app.config["SESSION_COOKIE_HTTPONLY"]  # type: ignore[no-any-return]

    def get_cookie_secure(self, app: Quart) -> bool:
        return app.config["SESSION_COOKIE_SECURE"]  # type: ignore[no-any-return]

    def get_cookie_samesite(self, app: Quart) -> str | None:
        return app.config["SESSION_COOKIE_SAMESITE"]  # type: ignore[no-any-return]

    def get_cookie_partitioned(self, app: Quart) -> bool:
        return app.config["SESSION_COOKIE_PARTITIONED"]  # type: ignore[no-any-return]

    def get_expiration_time(self, app: Quart, session: SessionMixin) -> datetime | None:
        """When a permanent session's cookie expires; None for a browser session."""
        if session.permanent:
            return datetime.now(UTC) + app.permanent_session_lifetime
        return None

    def should_set_cookie(self, app: Quart, session: SessionMixin) -> bool:
        """Set the cookie when the session changed, or to refresh a permanent one."""
        return session.modified or (
            session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]
        )

    async def open_session(self, app: Quart, request: BaseRequestWebsocket) -> SessionMixin | None:
        """The session for ``request`` (an HTTP request or a websocket), or None for a
        null session. Subclasses implement it; it runs when the context is pushed."""
        raise NotImplementedError(f"{type(self).__name__} must implement open_session")

    async def save_session(
        self, app: Quart, session: SessionMixin, response: Response | None
    ) -> None:
        """Persist ``session`` after the view; ``response`` is None after a websocket,
        which cannot set cookies. Subclasses implement it; null sessions never get here."""
        raise NotImplementedError(f"{type(self).__name__} must implement save_session")


class _CookieSigner(Protocol):
    """What the cookie session needs of a signer: URLSafeTimedSerializer's two calls."""

    def dumps(self, obj: Any) -> str: ...

    def loads(self, s: str, max_age: int | None = None) -> Any: ...


class SecureCookieSessionInterface(SessionInterface):
    """Sessions stored in a cookie signed with ``SECRET_KEY`` (itsdangerous), readable by
    Flask and by the published Quart with the same key: same salt, key derivation, digest
    and tagged-JSON serialisation."""

    salt = "cookie-session"
    digest_method = staticmethod(hashlib.sha1)
    key_derivation = "hmac"
    serializer = session_json_serializer
    session_class = SecureCookieSession

    def get_signing_serializer(self, app: Quart) -> URLSafeTimedSerializer | None:
        """The signer for the app's keys, or None without a ``SECRET_KEY``.

        New cookies are signed with ``SECRET_KEY``; cookies signed with any of
        ``SECRET_KEY_FALLBACKS`` still read, so keys can be rotated without logging
        everybody out. Signers are made once per set of keys and settings.
        """
        if not app.secret_key:
            return None
        fallbacks = app.config.get("SECRET_KEY_FALLBACKS") or ()
        cache_key = (
            app.secret_key,
            *fallbacks,
            self.salt,
            self.key_derivation,
            self.digest_method,
            self.serializer,
        )
        serializers: dict[tuple[Any, ...], URLSafeTimedSerializer] | None
        serializers = self.__dict__.get("_serializers")
        if serializers is None:
            serializers = self.__dict__["_serializers"] = {}
        signer = serializers.get(cache_key)
        if signer is None:
            keys: list[str | bytes] = [*fallbacks, app.secret_key]
            signer = URLSafeTimedSerializer(
                keys,  # type: ignore[arg-type]
                salt=self.salt,
                serializer=self.serializer,
                signer_kwargs={
                    "key_derivation": self.key_derivation,
                    "digest_method": self.digest_method,
                },
            )
            if len(serializers) >= 32:  # keys that keep changing must not pile up
                serializers.clear()
            serializers[cache_key] = signer
        return signer

    def _signer(self, app: Quart) -> _CookieSigner | None:
        """``get_signing_serializer(app)``, or its faster equivalent (byte for byte the
        same cookies) when this interface signs as the stock one does."""
        kind = type(self)
        stock = _STOCK_SIGNING_CLASSES.get(kind)
        if stock is None:
            stock = _STOCK_SIGNING_CLASSES[kind] = _signs_as_stock(kind)
        if not stock or not _SIGNING_NAMES.isdisjoint(self.__dict__):
            return self.get_signing_serializer(app)
        secret_key = app.secret_key
        if not secret_key:
            return None
        fallbacks = tuple(app.config.get("SECRET_KEY_FALLBACKS") or ())
        codec: _SessionCookieCodec | None = self.__dict__.get("_cookie_codec")
        if codec is None or codec.secret_key != secret_key or codec.fallbacks != fallbacks:
            codec = _SessionCookieCodec(secret_key, fallbacks, self.serializer)
            self.__dict__["_cookie_codec"] = codec
        return codec

    async def open_session(
        self, app: Quart, request: BaseRequestWebsocket
    ) -> SecureCookieSession | None:
        """Load the session from its cookie; a bad or expired cookie gives an empty one."""
        return self.load_session(app, request)

    def load_session(self, app: Quart, request: BaseRequestWebsocket) -> SecureCookieSession | None:
        """``open_session`` without the await: loading a cookie session needs no I/O, so
        the framework loads it on first use of ``session`` rather than on every request.

        .. versionadded:: 0.20
        """
        signer = self._signer(app)
        if signer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data = signer.loads(value, max_age=max_age)
        except BadData:  # forged, truncated, garbage, undecodable or expired
            return self.session_class()
        if not isinstance(data, dict):  # signed by us, but not a session
            return self.session_class()
        return self.session_class(data)

    async def save_session(
        self, app: Quart, session: SessionMixin, response: Response | None
    ) -> None:
        """Write, refresh or delete the cookie as the session's state requires."""
        if response is None:
            if session.modified:
                app.logger.warning(
                    "The session was changed while a websocket was handled. The change is"
                    " lost: a cookie session is saved in a response, and a websocket"
                    " that was accepted has none. Change it in an HTTP request instead,"
                    " or use a server-side SessionInterface."
                )
            return
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        secure = self.get_cookie_secure(app)
        partitioned = self.get_cookie_partitioned(app)
        samesite = self.get_cookie_samesite(app)
        httponly = self.get_cookie_httponly(app)

        varied = session.accessed
        if varied:
            _vary_on_cookie(response)

        if not session:
            if session.modified:
                response.delete_cookie(
                    name,
                    domain=domain,
                    path=path,
                    secure=secure,
                    partitioned=partitioned,
                    samesite=samesite,
                    httponly=httponly,
                )
                if not varied:
                    _vary_on_cookie(response)
            return

        if not self.should_set_cookie(app, session):
            return

        signer = self._signer(app)
        assert signer is not None
        value = signer.dumps(dict(session))
        response.set_cookie(
            name,
            value,
            expires=self.get_expiration_time(app, session),
            httponly=httponly,
            domain=domain,
            path=path,
            secure=secure,
            partitioned=partitioned,
            samesite=samesite,
        )
        if not varied:  # else Vary names Cookie already
            _vary_on_cookie(response)


#: What decides how a cookie is signed and read: an interface whose class and instance
#: leave all of these as they are here signs exactly as ``_SessionCookieCodec`` does.
_SIGNING_NAMES = frozenset(
    {
        "get_signing_serializer",
        "serializer",
        "salt",
        "digest_method",
        "key_derivation",
        "signer_kwargs",
        "open_session",
        "load_session",
        "save_session",
        "_signer",
        "__getattribute__",
        "__getattr__",
    }
)
_NOT_SET = object()
_STOCK_SIGNING = {
    name: inspect.getattr_static(SecureCookieSessionInterface, name, _NOT_SET)
    for name in _SIGNING_NAMES
}
#: Interface classes seen, and whether each signs as the stock one (a handful per process).
_STOCK_SIGNING_CLASSES: dict[type, bool] = {}


def _signs_as_stock(kind: type) -> bool:
    """Whether the interface class ``kind`` signs cookies as the stock one does: it
    changes none of ``_SIGNING_NAMES``. Decided once per class; an instance's own
    attributes are checked on each use, as they can be set at any time."""
    return all(
        inspect.getattr_static(kind, name, _NOT_SET) is value
        for name, value in _STOCK_SIGNING.items()
    )


_SALT = SecureCookieSessionInterface.salt.encode()
_NEVER_SHORTER = 10
"""Longest JSON that zlib can never shorten enough to be used: its output is at least 9
bytes (2 of header, 4 of checksum, 3 of the shortest deflate stream holding a byte),
and it is used only when 2 bytes shorter than the JSON."""
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")
_INNER_PAD = bytes(byte ^ 0x36 for byte in range(256))
_OUTER_PAD = bytes(byte ^ 0x5C for byte in range(256))
_last_timestamp: tuple[int, bytes] = (-1, b"")


class _SessionCookieCodec:
    """Signs and reads session cookies as ``get_signing_serializer`` does with the stock
    settings (HMAC-SHA1, ``hmac`` key derivation, salt ``cookie-session``, tagged JSON,
    zlib when shorter, a timestamp), the same bytes, with the work done once that
    itsdangerous repeats on every call: each key's HMAC key is derived once (not twice
    per request), and the HMAC's two padded-key hash states are computed once."""

    __slots__ = ("_macs", "_serializer", "_tags", "fallbacks", "secret_key")

    def __init__(
        self,
        secret_key: str | bytes,
        fallbacks: tuple[str | bytes, ...],
        serializer: TaggedJSONSerializer,
    ) -> None:
        self.secret_key = secret_key
        self.fallbacks = fallbacks
        # The newest key signs; every key verifies, newest first, as itsdangerous tries them.
        self._macs = [_HmacSha1(_derive_key(key)) for key in (secret_key, *reversed(fallbacks))]
        self._serializer = serializer
        self._tags = _tag._DefaultTags.of(serializer)

    def dumps(self, obj: Any) -> str:
        data = _tag._dumps(self._serializer, self._tags, obj).encode()
        payload = b""
        if len(data) > _NEVER_SHORTER:
            compressed = zlib.compress(data)
            if len(compressed) < len(data) - 1:
                data, payload = compressed, b"."
        signed = payload + _b64encode(data) + b"." + _timestamp()
        return (signed + b"." + _b64encode(self._macs[0].digest(signed))).decode()

    def loads(self, s: str, max_age: int | None = None) -> Any:
        """The session data in cookie ``s``; BadData when it is not one we signed within
        ``max_age`` seconds, or does not decode."""
        try:
            signed = s.encode()
        except UnicodeError as error:
            raise BadSignature("The cookie is not text") from error
        body, dot, signature = signed.rpartition(b".")
        if not dot:
            raise BadSignature("No '.' found in the cookie")
        try:
            expected = _b64decode(signature)
        except ValueError as error:
            raise BadSignature("The signature is not base64") from error
        for mac in self._macs:
            if hmac.compare_digest(expected, mac.digest(body)):
                break
        else:
            raise BadSignature("The signature does not match")
        payload, dot, stamp = body.rpartition(b".")
        if not dot:
            raise BadSignature("The timestamp is missing")
        try:
            stamp = _b64decode(stamp)
        except ValueError as error:
            raise BadSignature("Malformed timestamp") from error
        if len(stamp) > 8:
            raise BadSignature("Malformed timestamp")
        if max_age is not None:
            age = int(time.time()) - int.from_bytes(stamp, "big")
            if age > max_age or age < 0:
                raise SignatureExpired(f"Signature age {age} is not within 0 to {max_age}")
        try:
            if payload.startswith(b"."):
                data = zlib.decompress(_b64decode(payload[1:]))
            else:
                data = _b64decode(payload)
            return _tag._loads(self._serializer, self._tags, data.decode())
        except Exception as error:  # as itsdangerous: whatever fails, the payload is bad
            raise BadPayload("The session data does not decode", original_error=error) from error


class _HmacSha1:
    """HMAC-SHA1 under one key, with the hash states after the key's inner and outer
    pads made once: a signature is then two copies, two updates and two digests."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        block = key.ljust(64, b"\0")  # a derived key is 20 bytes, within SHA-1's block
        self._inner = _sha1(block.translate(_INNER_PAD))
        self._outer = _sha1(block.translate(_OUTER_PAD))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()  # type: ignore[no-any-return]


def _derive_key(secret_key: str | bytes) -> bytes:
    """itsdangerous's ``hmac`` key derivation: HMAC-SHA1 of the salt under the secret."""
    if isinstance(secret_key, str):
        secret_key = secret_key.encode()
    return hmac.digest(secret_key, _SALT, hashlib.sha1)


def _timestamp() -> bytes:
    """The current second as itsdangerous writes it (base64 of its big-endian bytes),
    made once a second."""
    global _last_timestamp
    now = int(time.time())
    second, encoded = _last_timestamp
    if second != now:
        encoded = _b64encode(now.to_bytes(8, "big").lstrip(b"\0"))
        _last_timestamp = (now, encoded)
    return encoded


def _b64encode(data: bytes) -> bytes:
    """itsdangerous's base64: URL-safe alphabet, no padding."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=")


def _b64decode(data: bytes) -> bytes:
    """itsdangerous's base64 decoding: padding restored, other characters ignored."""
    return binascii.a2b_base64((data + b"=" * (-len(data) % 4)).translate(_FROM_URLSAFE))


def _vary_on_cookie(response: Response) -> None:
    """Add ``Cookie`` to the response's ``Vary`` header, as ``response.vary.add("Cookie")``
    does, without parsing the header into a set and writing it back (which costs as
    much as the rest of saving a session) when it is absent or names Cookie already."""
    headers = response.headers
    varies = headers.getlist("Vary")  # not get: a missing header costs it a KeyError
    if not varies:
        headers.add("Vary", "Cookie")
    elif "cookie" not in (part.strip().lower() for part in varies[0].split(",")):
        response.vary.add("Cookie")
