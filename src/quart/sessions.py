"""Sessions: the interface (async, so server-side stores can be plugged in) and the
default signed-cookie implementation, compatible with Flask's cookies."""

from __future__ import annotations

import contextlib
import hashlib
import inspect
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask.sessions import NullSession as FlaskNullSession
from flask.sessions import SecureCookieSession as FlaskSecureCookieSession
from flask.sessions import SessionMixin
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.datastructures import CallbackDict

from .json.tag import TaggedJSONSerializer

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
        super().__init__(initial)
        self.on_update = _changed


def _changed(session: SecureCookieSession) -> None:
    session.modified = True
    session.accessed = True


def _reading(name: str) -> Callable[..., Any]:
    method = getattr(FlaskSecureCookieSession, name)

    def read(self: SecureCookieSession, *args: Any, **kwargs: Any) -> Any:
        self.accessed = True
        return method(self, *args, **kwargs)

    read.__name__ = name
    read.__qualname__ = f"SecureCookieSession.{name}"
    read.__doc__ = method.__doc__
    # The signature Quart's session (a werkzeug CallbackDict) shows for the name, where
    # it has one (some builtins have none).
    with contextlib.suppress(ValueError):
        read.__signature__ = inspect.signature(getattr(CallbackDict, name))  # type: ignore[attr-defined]
    return read


for _name in (
    "__getitem__",
    "__contains__",
    "__iter__",
    "__len__",
    "get",
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
        signer = self.get_signing_serializer(app)
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

        if session.accessed:
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
                _vary_on_cookie(response)
            return

        if not self.should_set_cookie(app, session):
            return

        signer = self.get_signing_serializer(app)
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
        _vary_on_cookie(response)


def _vary_on_cookie(response: Response) -> None:
    """Add ``Cookie`` to the response's ``Vary`` header, as ``response.vary.add("Cookie")``
    does, without parsing the header into a set and writing it back (which costs as
    much as the rest of saving a session) when it is absent or names Cookie already."""
    headers = response.headers
    vary = headers.get("Vary")
    if vary is None:
        headers.add("Vary", "Cookie")
    elif "cookie" not in (part.strip().lower() for part in vary.split(",")):
        response.vary.add("Cookie")
