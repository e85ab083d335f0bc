"""The app of tests/server/test_server_sessions_workers.py: server-side sessions on the
Redis that ``SESSIONS_APP_REDIS_URL`` names, signed with ``SESSIONS_APP_SECRET``; every
answer names the worker process that made it."""

from __future__ import annotations

import os

from quart import Quart, request, session
from quart.server_sessions import ServerSessionInterface

app = Quart(__name__)
app.secret_key = os.environ["SESSIONS_APP_SECRET"]
ServerSessionInterface.from_url(os.environ["SESSIONS_APP_REDIS_URL"]).init_app(app)


@app.post("/login")
async def login() -> dict[str, object]:
    session["user"] = (await request.form)["user"]
    session.regenerate()  # type: ignore[attr-defined]
    session.permanent = True
    return {"user": session["user"], "pid": os.getpid()}


@app.get("/me")
async def me() -> dict[str, object]:
    return {"user": session.get("user"), "pid": os.getpid()}


@app.post("/logout")
async def logout() -> dict[str, object]:
    session.clear()
    return {"user": None, "pid": os.getpid()}
