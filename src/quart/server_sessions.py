"""Server-side sessions: the session's data stays on the server, in a store keyed by a
random id, and the browser's cookie carries only that id, signed with ``SECRET_KEY``.

Compared with cookie sessions the data is private, may be large, and can be revoked on
the server; with ``RedisStore`` every worker and every machine of the app shares
the sessions, so a load balancer needs no sticky sessions::

    from quart.server_sessions import ServerSessionInterface

    ServerSessionInterface.from_url("redis://localhost:6379/0").init_app(app)

Rules, decided once (docs/sessions.md says the same for users):

- The data lives for ``PERMANENT_SESSION_LIFETIME`` after it was last written or
  refreshed, permanent or not: a browser-session cookie has no end, so the copy on the
  server needs one. A permanent session is refreshed (its time to live extended, its
  cookie re-set, the data not rewritten) when ``SESSION_REFRESH_EACH_REQUEST`` is on.
- A tampered, unknown or expired id gives a fresh empty session with a new id: an id
  is never adopted from the browser, nor reused.
- ``session.regenerate()`` (call it at log-in) moves the data to a new id and deletes
  the old one at save, so an id planted in the browser before log-in is worthless.
- When the store cannot be reached, the request that uses the session gets a 503
  (``SessionStoreUnavailable``, through the app's error handlers) and one log
  line; requests that never touch the session are answered as usual.

.. versionadded:: 0.20
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol, Self

from itsdangerous import BadSignature, Signer
from werkzeug.exceptions import ServiceUnavailable

from .json.tag import TaggedJSONSerializer
from .sessions import SecureCookieSession, SessionInterface, SessionMixin

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from .app import Quart
    from .wrappers import BaseRequestWebsocket, Response

__all__ = [
    "MemoryStore",
    "RedisStore",
    "ServerSession",
    "ServerSessionInterface",
    "SessionStore",
    "SessionStoreUnavailable",
    "UnavailableSession",
    "new_session_id",
]

#: Schemes ``from_url`` gives to ``RedisStore`` (redis-py's own).
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def new_session_id() -> str:
    """A fresh session id: 256 random bits, URL-safe (43 characters), never guessed."""
    return secrets.token_urlsafe(32)


class SessionStoreUnavailable(ServiceUnavailable):
    """The session store could not be reached. A 503 like any other, so
    ``@app.errorhandler(503)`` (or this class) decides the page the visitor sees.

    .. versionadded:: 0.20
    """

    description = "Sessions are unavailable for a moment. Please try again shortly."


class SessionStore(Protocol):
    """What ``ServerSessionInterface`` needs of a store: text by key, each entry
    forgotten after its time to live. Coroutines, as a networked store's are.

    A store that cannot be reached raises ``SessionStoreUnavailable`` (or an
    ``OSError``), which the interface answers with a 503; anything else is a bug and
    propagates. A store may also have ``async close()``, which ``init_app`` calls when
    the app stops serving.

    .. versionadded:: 0.20
    """

    async def get(self, key: str) -> bytes | str | None:
        """The value kept under ``key``, or None when there is none (or it expired)."""
        ...

    async def set(self, key: str, value: str, ttl: timedelta) -> None:
        """Keep ``value`` under ``key`` for ``ttl``, replacing any value there."""
        ...

    async def touch(self, key: str, ttl: timedelta) -> bool:
        """Make the entry at ``key`` expire ``ttl`` from now, without rewriting it;
        False when there is no entry (it must not be brought back)."""
        ...

    async def delete(self, key: str) -> None:
        """Forget ``key``; nothing happens when it is unknown."""
        ...


class MemoryStore:
    """Entries in this process's memory: for tests, examples and one-process apps (each
    worker of a multi-worker server would have sessions of its own; use Redis there).

    ``clock`` (seconds, monotonic) can be replaced to test expiry without sleeping.
    Expired entries are forgotten when read and in a sweep at most once a minute.

    .. versionadded:: 0.20
    """

    sweep_interval = 60.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: dict[str, tuple[float, str]] = {}
        self._clock = clock
        self._next_sweep = clock() + self.sweep_interval

    async def get(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[key]
            return None
        return entry[1]

    async def set(self, key: str, value: str, ttl: timedelta) -> None:
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        self._entries[key] = (now + ttl.total_seconds(), value)

    async def touch(self, key: str, ttl: timedelta) -> bool:
        value = await self.get(key)
        if value is None:
            return False
        self._entries[key] = (self._clock() + ttl.total_seconds(), value)
        return True

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    async def close(self) -> None:
        """Nothing to release; the entries stay, so an app served again keeps them."""

    def _sweep(self, now: float) -> None:
        self._entries = {key: entry for key, entry in self._entries.items() if entry[0] > now}
        self._next_sweep = now + self.sweep_interval

    def __len__(self) -> int:
        """How many entries are alive."""
        self._sweep(self._clock())
        return len(self._entries)


class RedisStore:
    """Entries in Redis, shared by every worker and machine that uses the same server;
    Redis itself expires them. Needs redis-py: ``pip install 'quart[redis]'``.

    ``url_or_client`` is a redis-py URL (``redis://``, ``rediss://``, ``unix://``) or a
    ``redis.asyncio.Redis`` client of your own. From a URL, the client is made on first
    use, inside the running event loop (a worker process makes its own after it
    starts), and ``close()`` closes it; a client you pass is yours to close. ``options``
    go to ``redis.asyncio.from_url`` (the URL's query string wins over them). Unless
    told otherwise, a request waits at most 2 seconds per attempt and retries twice,
    so that an outage costs a visitor seconds, not minutes.

    .. versionadded:: 0.20
    """

    def __init__(self, url_or_client: str | Redis, **options: Any) -> None:
        redis = _import_redis()
        self._failures: tuple[type[BaseException], ...] = (
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
            OSError,
        )
        self._client: Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        if isinstance(url_or_client, str):
            self.url: str | None = url_or_client
            self._given: Redis | None = None
            self._options = {**_default_redis_options(), **options}
        else:
            self.url = None
            self._given = url_or_client
            self._options = {}

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Self:
        """A store on the Redis at ``url`` (connected on first use)."""
        return cls(url, **options)

    @property
    def client(self) -> Redis:
        """The redis-py client: the one given, or the one made for the running loop (a
        new one if the store is used from another loop than before: ``close()`` the
        store in a loop before leaving it, as ``init_app`` does at shutdown)."""
        if self._given is not None:
            return self._given
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            assert self.url is not None
            self._client = _import_redis().asyncio.from_url(self.url, **self._options)
            self._loop = loop
        return self._client

    async def get(self, key: str) -> bytes | str | None:
        with self._reachable():
            value: bytes | str | None = await self.client.get(key)
        return value

    async def set(self, key: str, value: str, ttl: timedelta) -> None:
        with self._reachable():
            await self.client.set(key, value, px=_milliseconds(ttl))

    async def touch(self, key: str, ttl: timedelta) -> bool:
        with self._reachable():
            return bool(await self.client.pexpire(key, _milliseconds(ttl)))

    async def delete(self, key: str) -> None:
        with self._reachable():
            await self.client.delete(key)

    async def close(self) -> None:
        """Close the client made from the URL (a given client is left open)."""
        client, self._client, self._loop = self._client, None, None
        if client is not None:
            await client.aclose()

    @contextlib.contextmanager
    def _reachable(self) -> Iterator[None]:
        """Turn redis-py's connection failures into the 503 of the session interface."""
        try:
            yield
        except self._failures as error:
            # The visitor sees the generic description; the log line names the cause.
            raise SessionStoreUnavailable() from error


def _import_redis() -> Any:
    """redis-py, imported when a RedisStore is made (the extra is optional)."""
    try:
        import redis.asyncio
        import redis.exceptions
    except ImportError as error:
        raise ImportError(
            "RedisStore needs redis-py's asyncio client: pip install 'quart[redis]'"
        ) from error
    return redis


def _default_redis_options() -> dict[str, Any]:
    """Short timeouts and few retries: a session read sits in front of every page."""
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff

    return {
        "socket_timeout": 2.0,
        "socket_connect_timeout": 2.0,
        "retry": Retry(ExponentialBackoff(cap=0.1, base=0.01), 2),
    }


def _milliseconds(ttl: timedelta) -> int:
    return max(1, int(ttl.total_seconds() * 1000))


class ServerSession(SecureCookieSession):
    """A session kept in a store under ``sid``. ``new`` is True when nothing was stored
    for it when the request began; ``modified`` and ``accessed`` are tracked as for
    cookie sessions (set ``modified`` after changing a value inside the session).

    .. versionadded:: 0.20
    """

    def __init__(self, initial: Mapping[str, Any] | None = None, *, sid: str | None = None) -> None:
        super().__init__(initial)
        self._sid = sid
        self.new = sid is None
        #: The stored id that ``regenerate`` replaced, deleted when the session is saved.
        self.replaced_sid: str | None = None

    @property
    def sid(self) -> str:
        """The session's id (made when first needed: most visitors without a cookie
        never get one stored)."""
        if self._sid is None:
            self._sid = new_session_id()
        return self._sid

    def regenerate(self) -> None:
        """Give the session a new id, keeping its data; the old id is deleted from the
        store when the session is saved. Call it at log-in (and on any change of
        privilege): an id an attacker planted in the browser before then (session
        fixation) opens nothing afterwards."""
        if not self.new and self.replaced_sid is None:
            self.replaced_sid = self.sid
        self._sid = new_session_id()
        self.modified = True


class UnavailableSession(SecureCookieSession):
    """The session of a request whose session could not be loaded (the store failed):
    any read or change raises ``SessionStoreUnavailable``, a 503; it is never
    saved. A request that does not touch the session is answered as usual.

    .. versionadded:: 0.20
    """

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error

    def _unavailable(self, *args: Any, **kwargs: Any) -> Any:
        raise SessionStoreUnavailable() from self.error

    __getitem__ = __setitem__ = __delitem__ = __contains__ = __len__ = __iter__ = _unavailable
    get = keys = values = items = copy = setdefault = pop = popitem = _unavailable
    clear = update = regenerate = _unavailable
    sid = property(_unavailable)


#: What a store raises when it cannot be reached (anything else propagates).
_STORE_FAILURES = (SessionStoreUnavailable, OSError)


def _reason(error: BaseException) -> str:
    """What went wrong, for the log line: the cause a store's 503 carries (redis-py's
    error names the host and port, never the URL's password)."""
    if isinstance(error, SessionStoreUnavailable):
        if error.__cause__ is None:
            return str(error.description)
        error = error.__cause__
    return f"{type(error).__name__}: {error}"


class ServerSessionInterface(SessionInterface):
    """Sessions kept in ``store`` under ``key_prefix`` + id; the cookie carries the id
    only, signed with ``SECRET_KEY`` (ids signed with ``SECRET_KEY_FALLBACKS`` still
    read). The data is serialized as cookie sessions' is (tagged JSON: datetimes,
    bytes, tuples, Markup, UUIDs round-trip).

    Every cookie setting of the cookie sessions applies, with Flask's rules for when the
    cookie is set, refreshed and deleted; without ``SECRET_KEY`` the session is a null
    session. The data expires ``PERMANENT_SESSION_LIFETIME`` after its last write or
    refresh, for browser sessions too. A bad, unknown or expired id gives a fresh
    session with a new id. Call ``session.regenerate()`` at log-in: the data moves to a
    new id and the old one is deleted (the defence against session fixation). When
    the store is away, a request that uses the session gets a 503 and one log line.

    .. versionadded:: 0.20
    """

    salt = "stored-session"
    serializer = TaggedJSONSerializer()
    session_class = ServerSession

    def __init__(self, store: SessionStore, *, key_prefix: str = "session:") -> None:
        self.store = store
        self.key_prefix = key_prefix
        self._signer: tuple[tuple[str | bytes, ...], Signer] | None = None

    @classmethod
    def from_url(cls, url: str, *, key_prefix: str = "session:", **options: Any) -> Self:
        """Sessions in the store that ``url`` names: ``memory://`` for a
        ``MemoryStore``, ``redis://``, ``rediss://`` or ``unix://`` for a
        ``RedisStore`` (``options`` go to its client)."""
        if url.startswith("memory://"):
            if options:
                raise TypeError(f"A memory:// store takes no options: {sorted(options)}")
            return cls(MemoryStore(), key_prefix=key_prefix)
        if url.startswith(REDIS_SCHEMES):
            return cls(RedisStore.from_url(url, **options), key_prefix=key_prefix)
        raise ValueError(
            f"No session store for {url!r}: use memory:// or {', '.join(REDIS_SCHEMES)}"
        )

    def init_app(self, app: Quart) -> None:
        """Make this the app's session interface, and close the store (its connections)
        when the app stops serving."""
        # app.py infers the attribute's type from its default (the cookie interface)
        app.session_interface = self
        close = getattr(self.store, "close", None)
        if close is not None:
            app.after_serving(close)

    def get_signer(self, app: Quart) -> Signer | None:
        """The id signer for the app's keys (made once per set of keys), or None
        without ``SECRET_KEY``."""
        if not app.secret_key:
            return None
        keys = (*(app.config.get("SECRET_KEY_FALLBACKS") or ()), app.secret_key)
        cached = self._signer
        if cached is None or cached[0] != keys:
            cached = self._signer = (keys, Signer(list(keys), salt=self.salt))
        return cached[1]

    def get_store_ttl(self, app: Quart, session: SessionMixin) -> timedelta:
        """How long the stored data lives after each write or refresh: the permanent
        lifetime, for browser sessions too (their cookie has no end; the data must)."""
        return app.permanent_session_lifetime

    def store_key(self, sid: str) -> str:
        return self.key_prefix + sid

    async def open_session(
        self, app: Quart, request: BaseRequestWebsocket
    ) -> ServerSession | UnavailableSession | None:
        """Load the session its signed id names; anything else gives a fresh one."""
        signer = self.get_signer(app)
        if signer is None:
            return None
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        try:
            sid = signer.unsign(cookie).decode("ascii")
        except (BadSignature, UnicodeError):  # forged, or signed with a retired key
            return self.session_class()
        try:
            stored = await self.store.get(self.store_key(sid))
        except _STORE_FAILURES as error:
            app.logger.error(
                "Session store unavailable on %s %s (%s); a 503 if the request uses the session.",
                request.method,
                request.path,
                _reason(error),
            )
            return UnavailableSession(error)
        if stored is None:  # expired, logged out, or never ours
            return self.session_class()
        data = self._decode(app, stored)
        if data is None:
            return self.session_class()
        return self.session_class(data, sid=sid)

    def _decode(self, app: Quart, stored: bytes | str) -> dict[str, Any] | None:
        try:
            data = self.serializer.loads(stored.decode() if isinstance(stored, bytes) else stored)
        except Exception as error:  # whatever is wrong with it, it is not a session
            app.logger.warning("Stored session data does not decode (%s); starting afresh.", error)
            return None
        return data if isinstance(data, dict) else None

    async def save_session(
        self, app: Quart, session: SessionMixin, response: Response | None
    ) -> None:
        """Write, refresh or delete the stored data and the cookie as the session's
        state requires; a store failure turns the response into the app's 503."""
        if not isinstance(session, ServerSession):
            return  # an UnavailableSession: nothing was loaded, nothing may be written
        if session.accessed and response is not None:
            response.vary.add("Cookie")
        try:
            await self._save(app, session, response)
        except _STORE_FAILURES as error:
            app.logger.error(
                "Session store unavailable while saving the session (%s); answering 503.",
                _reason(error),
            )
            if response is not None:
                await self._replace_with_unavailable(app, response, error)

    async def _save(self, app: Quart, session: ServerSession, response: Response | None) -> None:
        store = self.store
        if not session:
            if session.modified:  # emptied: forget it in the store and in the browser
                stored_sid = session.replaced_sid or (None if session.new else session.sid)
                if stored_sid is not None:
                    await store.delete(self.store_key(stored_sid))
                if response is not None:
                    response.delete_cookie(
                        self.get_cookie_name(app),
                        domain=self.get_cookie_domain(app),
                        path=self.get_cookie_path(app),
                        secure=self.get_cookie_secure(app),
                        partitioned=self.get_cookie_partitioned(app),
                        samesite=self.get_cookie_samesite(app),
                        httponly=self.get_cookie_httponly(app),
                    )
                    response.vary.add("Cookie")
            return
        if response is None and (session.new or session.replaced_sid is not None):
            if session.modified:
                app.logger.warning(
                    "The session was changed in a websocket but needs a new id (it is new,"
                    " or was regenerated), which only a response's cookie can carry. The"
                    " change is not saved: make it in an HTTP request."
                )
            return
        if not self.should_set_cookie(app, session):
            return
        key, ttl = self.store_key(session.sid), self.get_store_ttl(app, session)
        if session.modified:
            await store.set(key, self.serializer.dumps(dict(session)), ttl)
            if session.replaced_sid is not None:
                await store.delete(self.store_key(session.replaced_sid))
            session.new, session.replaced_sid = False, None
        elif not await store.touch(key, ttl):
            return  # deleted meanwhile (logged out elsewhere): not brought back
        if response is None:
            return
        signer = self.get_signer(app)
        assert signer is not None  # null sessions are never saved
        response.set_cookie(
            self.get_cookie_name(app),
            signer.sign(session.sid).decode("ascii"),
            expires=self.get_expiration_time(app, session),
            httponly=self.get_cookie_httponly(app),
            domain=self.get_cookie_domain(app),
            path=self.get_cookie_path(app),
            secure=self.get_cookie_secure(app),
            partitioned=self.get_cookie_partitioned(app),
            samesite=self.get_cookie_samesite(app),
        )
        response.vary.add("Cookie")

    async def _replace_with_unavailable(
        self, app: Quart, response: Response, error: BaseException
    ) -> None:
        """Make ``response`` the app's 503 page (its ``errorhandler(503)`` applies): the
        visitor must not be told that a change was kept when it was not. The view's
        headers, cookies included, go with its body."""
        unavailable = SessionStoreUnavailable()
        unavailable.__cause__ = error
        replacement = await app.make_response(await app.handle_http_exception(unavailable))
        response.status_code = replacement.status_code
        response.headers = replacement.headers
        response.response = replacement.response
