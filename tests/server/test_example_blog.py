"""The blog example (examples/blog/app.py) served by real servers on 127.0.0.1, used with
httpx as a browser would (cookies kept, forms posted with their CSRF token): a visit
from registering to logging out under hypercorn and uvicorn, the login redirect, the
author-only edits, CSRF, escaping, the stylesheet and the database's life."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from example_apps import csrf_in, flashes, load_example, post_titles

from .serving import running_server

DEADLINE = 15.0
PASSWORD = "correct horse battery"


@pytest.fixture
def blog(tmp_path: Path) -> ModuleType:
    module = load_example("blog")
    module.app.config["DATABASE"] = str(tmp_path / "blog.sqlite3")
    return module


@pytest.fixture
def browser(blog: ModuleType, serve_each: Any) -> Callable[[], Any]:
    """``async with browser() as client``: a new visitor (own cookies) to the served blog."""
    base_url: list[str] = []

    @asynccontextmanager
    async def open_browser() -> AsyncIterator[httpx.AsyncClient]:
        if not base_url:
            base_url.append(await serve_each(blog.app))
        async with httpx.AsyncClient(base_url=base_url[0]) as client:
            yield client

    return open_browser


async def submit(
    client: httpx.AsyncClient, form_page: str, action: str, **fields: str
) -> httpx.Response:
    token = csrf_in((await client.get(form_page)).text)
    return await client.post(action, data={"csrf_token": token, **fields})


async def test_a_visit_from_registering_to_logging_out(browser: Callable[[], Any]) -> None:
    async with asyncio.timeout(DEADLINE), browser() as client:
        index = await client.get("/")
        assert "No posts yet." in index.text
        registered = await submit(
            client, "/register", "/register", username="ann", password=PASSWORD
        )
        assert registered.status_code == 302
        assert registered.headers["location"] == "/"
        session_cookie = registered.headers["set-cookie"]
        assert "HttpOnly" in session_cookie
        assert "SameSite=Lax" in session_cookie
        welcome = await client.get("/")
        assert flashes(welcome.text) == ["Welcome, ann! Your account is ready."]
        assert '<span id="current-user">ann</span>' in welcome.text
        published = await submit(client, "/create", "/create", title="Hello", body="First!")
        assert published.headers["location"] == "/"
        listed = await client.get("/")
        assert flashes(listed.text) == ["Post published."]
        assert post_titles(listed.text) == ["Hello"]
        logged_out = await submit(client, "/", "/logout")
        assert logged_out.status_code == 302
        after = await client.get("/")
        assert flashes(after.text) == ["You have been logged out."]
        assert 'id="logout"' not in after.text
        assert post_titles(after.text) == ["Hello"]
        back = await submit(client, "/login", "/login", username="ann", password=PASSWORD)
        assert back.status_code == 302
        assert flashes((await client.get("/")).text) == ["Welcome back, ann!"]


async def test_login_failure_and_the_way_back_to_the_page_asked_for(
    browser: Callable[[], Any],
) -> None:
    async with asyncio.timeout(DEADLINE), browser() as client:
        await submit(client, "/register", "/register", username="ann", password=PASSWORD)
        await submit(client, "/", "/logout")
        asked = await client.get("/create")
        assert asked.status_code == 302
        assert asked.headers["location"] == "/login?next=/create"
        login_page = await client.get(asked.headers["location"])
        assert '<input type="hidden" name="next" value="/create">' in login_page.text
        token = csrf_in(login_page.text)
        failed = await client.post(
            "/login",
            data={"csrf_token": token, "username": "ann", "password": "nope", "next": "/create"},
        )
        assert failed.status_code == 422
        assert "Incorrect username or password." in failed.text
        assert '<input type="hidden" name="next" value="/create">' in failed.text
        logged_in = await client.post(
            "/login",
            data={"csrf_token": token, "username": "ann", "password": PASSWORD, "next": "/create"},
        )
        assert logged_in.headers["location"] == "/create"
        await submit(client, "/", "/logout")
        fresh = await submit(
            client, "/login", "/login", username="ann", password=PASSWORD, next="//evil.example/"
        )
        assert fresh.headers["location"] == "/"


async def test_only_the_author_changes_a_post(browser: Callable[[], Any]) -> None:
    async with asyncio.timeout(DEADLINE), browser() as ann, browser() as bob:
        await submit(ann, "/register", "/register", username="ann", password=PASSWORD)
        await submit(ann, "/create", "/create", title="Ann's", body="mine")
        post_id = re.search(r'id="post-(\d+)"', (await ann.get("/")).text).group(1)  # type: ignore[union-attr]
        await submit(bob, "/register", "/register", username="bob", password=PASSWORD)
        assert (await bob.get(f"/{post_id}/edit")).status_code == 403
        forbidden = await submit(bob, "/", f"/{post_id}/delete")
        assert forbidden.status_code == 403
        assert "Only its author can change a post." in forbidden.text
        edited = await submit(
            ann, f"/{post_id}/edit", f"/{post_id}/edit", title="Ann's, edited", body="still mine"
        )
        assert edited.status_code == 302
        assert post_titles((await bob.get("/")).text) == ["Ann's, edited"]
        deleted = await submit(ann, f"/{post_id}/edit", f"/{post_id}/delete")
        assert deleted.status_code == 302
        assert post_titles((await ann.get("/")).text) == []


async def test_a_forged_form_is_refused(browser: Callable[[], Any]) -> None:
    async with asyncio.timeout(DEADLINE), browser() as client:
        await submit(client, "/register", "/register", username="ann", password=PASSWORD)
        forged = await client.post("/create", data={"title": "Forged", "body": "post"})
        assert forged.status_code == 400
        wrong = await client.post(
            "/create", data={"csrf_token": "guess", "title": "F", "body": "p"}
        )
        assert wrong.status_code == 400
        assert "did not come from this site" in wrong.text
        assert post_titles((await client.get("/")).text) == []


async def test_a_script_in_a_title_is_shown_as_text(browser: Callable[[], Any]) -> None:
    async with asyncio.timeout(DEADLINE), browser() as client:
        await submit(client, "/register", "/register", username="ann", password=PASSWORD)
        await submit(client, "/create", "/create", title="<script>alert(1)</script>", body="x")
        index = (await client.get("/")).text
    assert "<script>" not in index
    assert "<h2>&lt;script&gt;alert(1)&lt;/script&gt;</h2>" in index


async def test_the_stylesheet(browser: Callable[[], Any]) -> None:
    async with asyncio.timeout(DEADLINE), browser() as client:
        index = await client.get("/")
        href = re.search(r'<link rel="stylesheet" href="([^"]+)">', index.text).group(1)  # type: ignore[union-attr]
        css = await client.get(href)
        assert css.status_code == 200
        assert css.headers["content-type"].startswith("text/css")
        assert "article.post" in css.text
        again = await client.get(href, headers={"If-None-Match": css.headers["etag"]})
        assert again.status_code == 304


async def test_the_database_lives_as_long_as_the_server(blog: ModuleType, tmp_path: Path) -> None:
    async with running_server(blog.app) as base_url:
        connection = blog.db.connection
        assert connection is not None
        async with httpx.AsyncClient(base_url=base_url) as client:
            await submit(client, "/register", "/register", username="ann", password=PASSWORD)
            await submit(client, "/create", "/create", title="Kept", body="on disk")
    assert blog.db.connection is None
    with pytest.raises(ValueError):
        await connection.execute("SELECT 1")
    # Served again from the same file, the post is still there.
    again = load_example("blog")
    again.app.config["DATABASE"] = str(tmp_path / "blog.sqlite3")
    async with (
        running_server(again.app) as base_url,
        httpx.AsyncClient(base_url=base_url) as client,
    ):
        assert post_titles((await client.get("/")).text) == ["Kept"]
