"""Server-side sessions: the session's data stays on the server, in a store keyed by a
random session id, and the browser's cookie holds only that id, signed with SECRET_KEY.

Run it with ``python examples/sessions_store/app.py`` and open http://127.0.0.1:5000/.
The sessions are kept in this process's memory; set ``SESSION_REDIS_URL`` (for example
``redis://localhost:6379/0``) to keep them in Redis, shared by every worker:

    SECRET_KEY=change-me SESSION_REDIS_URL=redis://localhost:6379/0 \\
        uvicorn --app-dir examples/sessions_store app:app --workers 2
"""

from __future__ import annotations

import os
import secrets

from markupsafe import escape

from quart import Quart, Response, redirect, request, session, url_for, websocket
from quart.server_sessions import ServerSessionInterface

app = Quart(__name__)
# Every worker must sign with the same key, or one cannot read the ids of another.
app.secret_key = os.environ.get("SECRET_KEY") or secrets.token_hex(32)
app.config["SESSION_REDIS_URL"] = os.environ.get("SESSION_REDIS_URL") or "memory://"
ServerSessionInterface.from_url(app.config["SESSION_REDIS_URL"]).init_app(app)


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
        # A new id at log-in: an id planted in the browser before it opens nothing now.
        session.regenerate()  # type: ignore[attr-defined]
        session.permanent = True
    return redirect(url_for("index"))


@app.post("/logout")
async def logout() -> Response:
    session.clear()  # deletes the stored data and the cookie
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
