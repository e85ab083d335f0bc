"""Sessions over a real server (hypercorn) with httpx: log in, the signed cookie and
``Vary: Cookie``, a tampered cookie, log out; and the server-side store example."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer

from example_apps import load_example
from quart import Quart, request, session
from quart.json.tag import TaggedJSONSerializer

SECRET = "server test secret"


def make_app() -> Quart:
    app = Quart(__name__)
    app.secret_key = SECRET

    @app.post("/login")
    async def login() -> dict[str, str]:
        session["user"] = (await request.form)["user"]
        return {"logged_in": session["user"]}

    @app.get("/me")
    async def me() -> dict[str, Any]:
        return {"user": session.get("user")}

    @app.post("/logout")
    async def logout() -> str:
        session.clear()
        return "bye"

    @app.get("/public")
    async def public() -> str:
        return "the same for everyone"

    return app


@pytest.fixture
async def client(serve: Any) -> AsyncIterator[httpx.AsyncClient]:
    base_url = await serve(make_app())
    async with httpx.AsyncClient(base_url=base_url) as client:
        yield client


def unsign(value: str) -> Any:
    serializer = URLSafeTimedSerializer(
        SECRET,
        salt="cookie-session",
        serializer=TaggedJSONSerializer(),
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
    )
    return serializer.loads(value)


async def test_login_sets_a_signed_cookie(client: httpx.AsyncClient) -> None:
    response = await client.post("/login", data={"user": "ann"})
    assert response.status_code == 200
    header = response.headers["set-cookie"]
    assert header.startswith("session=")
    assert "HttpOnly" in header
    assert "Path=/" in header
    assert response.headers["vary"] == "Cookie"
    assert unsign(client.cookies["session"]) == {"user": "ann"}

    me = await client.get("/me")
    assert me.json() == {"user": "ann"}
    assert me.headers["vary"] == "Cookie"
    assert "set-cookie" not in me.headers


async def test_tampered_cookie_gives_an_empty_session(client: httpx.AsyncClient) -> None:
    await client.post("/login", data={"user": "ann"})
    value = client.cookies["session"]
    forged = value[:3] + ("A" if value[3] != "A" else "B") + value[4:]
    async with httpx.AsyncClient(base_url=client.base_url) as other:
        other.cookies.set("session", forged)
        response = await other.get("/me")
    assert response.status_code == 200
    assert response.json() == {"user": None}


async def test_logout_deletes_the_cookie(client: httpx.AsyncClient) -> None:
    await client.post("/login", data={"user": "ann"})
    response = await client.post("/logout")
    assert response.status_code == 200
    header = response.headers["set-cookie"]
    assert header.startswith("session=;")
    assert "Max-Age=0" in header
    assert "session" not in client.cookies
    assert (await client.get("/me")).json() == {"user": None}


async def test_a_page_without_the_session_sets_nothing(client: httpx.AsyncClient) -> None:
    await client.post("/login", data={"user": "ann"})
    response = await client.get("/public")
    assert "set-cookie" not in response.headers
    assert "vary" not in response.headers


async def test_store_example_log_in_and_out(serve: Any) -> None:
    base_url = await serve(load_example("sessions_store").app)
    async with httpx.AsyncClient(base_url=base_url, follow_redirects=True) as client:
        assert "Visits: 1" in (await client.get("/")).text
        page = await client.post("/login", data={"name": "ann"})
        assert page.status_code == 200
        assert "Hello, ann. Visits: 2" in page.text
        page = await client.post("/logout")
        assert "Log in" in page.text
        assert "Visits: 1" in page.text
