"""Server-side sessions: the session's data stays on the server, in a store keyed by a
random session id, and the browser's cookie holds only that id, signed with SECRET_KEY.

Run it with ``python examples/sessions_store/app.py`` and open http://127.0.0.1:5000/.
``MemoryStore`` keeps everything in this process; docs/sessions.md shows the few lines
that put the sessions in Redis instead.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from itsdangerous import BadSignature, Signer
from markupsafe import escape

from quart import Quart, Response, redirect, request, session, url_for, websocket
from quart.json.tag import TaggedJSONSerializer
from quart.sessions import SecureCookieSession, SessionInterface, SessionMixin
from quart.wrappers import BaseRequestWebsocket


class MemoryStore:
    """Text values by key, each forgotten after its time to live. The methods are
    coroutines, as a networked store's are, so swapping in Redis changes no caller."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: dict[str, tuple[float, str]] = {}
        self._clock = clock

    async def get(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        if expires_at <= self._clock():
            del self._entries[key]
            return None
        return value

    async def set(self, key: str, value: str, ttl: timedelta) -> None:
        self._entries[key] = (self._clock() + ttl.total_seconds(), value)

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    def __len__(self) -> int:
        """How many entries are kept, expired ones included until they are read."""
        return len(self._entries)


class StoredSession(SecureCookieSession):
    """A session with an id. SecureCookieSession tracks ``modified`` and ``accessed``."""

    def __init__(self, initial: Any = None, *, sid: str, new: bool) -> None:
        super().__init__(initial)
        self.sid = sid
        self.new = new
        self.replaced_sid: str | None = None

    def regenerate(self) -> None:
        """Move the data to a fresh id (do this on log-in, so that an id an attacker
        planted in the browser before log-in is worth nothing after it)."""
        if not self.new and self.replaced_sid is None:
            self.replaced_sid = self.sid
        self.sid = new_sid()
        self.modified = True


def new_sid() -> str:
    return secrets.token_urlsafe(32)


class StoreSessionInterface(SessionInterface):
    """Sessions kept in ``store``; the cookie carries the signed session id only."""

    salt = "stored-session"
    serializer = TaggedJSONSerializer()  # the cookie sessions' format: bytes, dates, tuples...

    def __init__(self, store: MemoryStore, prefix: str = "session:") -> None:
        self.store = store
        self.prefix = prefix

    def get_signer(self, app: Quart) -> Signer | None:
        """Signs with SECRET_KEY and still accepts ids signed with SECRET_KEY_FALLBACKS."""
        if not app.secret_key:
            return None
        keys = [*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key]
        return Signer(keys, salt=self.salt)

    async def open_session(self, app: Quart, request: BaseRequestWebsocket) -> StoredSession | None:
        signer = self.get_signer(app)
        if signer is None:
            return None  # no SECRET_KEY: a null session, which refuses to be written
        cookie = request.cookies.get(self.get_cookie_name(app))
        if cookie:
            try:
                sid = signer.unsign(cookie).decode()
            except BadSignature:
                pass  # forged, or signed with a key no longer accepted: start afresh
            else:
                stored = await self.store.get(self.prefix + sid)
                if stored is not None:
                    return StoredSession(self.serializer.loads(stored), sid=sid, new=False)
        return StoredSession(sid=new_sid(), new=True)

    async def save_session(
        self, app: Quart, session: SessionMixin, response: Response | None
    ) -> None:
        assert isinstance(session, StoredSession)
        if session.accessed and response is not None:
            response.vary.add("Cookie")
        if session.replaced_sid is not None:
            await self.store.delete(self.prefix + session.replaced_sid)
        if not session:
            if session.modified and not session.new:  # emptied: forget it everywhere
                await self.store.delete(self.prefix + session.sid)
                if response is not None:
                    response.delete_cookie(
                        self.get_cookie_name(app),
                        domain=self.get_cookie_domain(app),
                        path=self.get_cookie_path(app),
                    )
            return
        if not self.should_set_cookie(app, session):
            return
        if response is None and (session.new or session.replaced_sid is not None):
            return  # a websocket cannot set a cookie, so nobody could find this id again
        # The data lives as long as a permanent session's cookie would; a browser session
        # still needs a limit on the server.
        payload = self.serializer.dumps(dict(session))
        await self.store.set(self.prefix + session.sid, payload, app.permanent_session_lifetime)
        if response is None:
            return
        signer = self.get_signer(app)
        assert signer is not None  # null sessions are never saved
        response.set_cookie(
            self.get_cookie_name(app),
            signer.sign(session.sid).decode(),
            expires=self.get_expiration_time(app, session),
            domain=self.get_cookie_domain(app),
            path=self.get_cookie_path(app),
            httponly=self.get_cookie_httponly(app),
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app),
            partitioned=self.get_cookie_partitioned(app),
        )
        response.vary.add("Cookie")


app = Quart(__name__)
app.secret_key = os.environ.get("SECRET_KEY") or secrets.token_hex(32)
app.session_interface = StoreSessionInterface(MemoryStore())


@app.get("/")
async def index() -> str:
    session["visits"] = session.get("visits", 0) + 1
    user = session.get("user")
    if user is None:
        return (
            f"<p>Visits: {session['visits']}</p>"
            '<form method="post" action="/login">'
            '<input name="name"> <button>Log in</button></form>'
        )
    return (
        f"<p>Hello, {escape(user)}. Visits: {session['visits']}</p>"
        '<form method="post" action="/logout"><button>Log out</button></form>'
    )


@app.post("/login")
async def login() -> Response:
    name = (await request.form).get("name", "").strip()
    if name:
        session["user"] = name
        session.regenerate()  # type: ignore[attr-defined]
        session.permanent = True
    return redirect(url_for("index"))


@app.post("/logout")
async def logout() -> Response:
    session.clear()
    return redirect(url_for("index"))


@app.websocket("/ws")
async def whoami() -> None:
    """Reads the session, and changes it: a stored session is saved even though a
    websocket cannot set cookies, because the browser already holds its id."""
    await websocket.accept()
    session["websocket_visits"] = session.get("websocket_visits", 0) + 1
    await websocket.send_json({"user": session.get("user")})


if __name__ == "__main__":
    app.run()
