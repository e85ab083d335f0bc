"""The blog program (blog_app/) exercised as its author would: the test client, a
throwaway database per test, a login through the form or ``session_transaction``."""

from __future__ import annotations

import re

import pytest
from blog_app import app, init_db

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def configure_db(tmp_path):
    app.config["DATABASE"] = str(tmp_path / "blog.db")
    init_db()


async def _log_in(test_client) -> None:
    response = await test_client.post("/login/", form={"username": "admin", "password": "hunter2"})
    assert response.status_code == 302


async def test_empty_blog_says_so() -> None:
    response = await app.test_client().get("/")
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    text = await response.get_data(as_text=True)
    assert "No posts available" in text
    assert 'href="/login/"' in text


async def test_create_needs_a_login_and_remembers_where_to_go() -> None:
    response = await app.test_client().get("/create/")
    assert response.status_code == 302
    assert response.location == "/login/?next=/create/"


async def test_wrong_password_is_refused() -> None:
    test_client = app.test_client()
    response = await test_client.post("/login/", form={"username": "admin", "password": "no"})
    assert response.status_code == 401
    assert "Wrong username or password." in await response.get_data(as_text=True)
    response = await test_client.get("/create/")
    assert response.status_code == 302


async def test_login_redirects_to_next_and_shows_the_form() -> None:
    test_client = app.test_client()
    response = await test_client.post(
        "/login/?next=/create/", form={"username": "admin", "password": "hunter2"}
    )
    assert response.status_code == 302
    assert response.location == "/create/"
    assert "session=" in response.headers["Set-Cookie"]
    response = await test_client.get("/create/")
    text = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<form method="POST">' in text
    assert "Welcome back, admin." in text
    assert '<span class="user">admin</span>' in text


async def test_create_post_then_it_is_listed() -> None:
    test_client = app.test_client()
    await _log_in(test_client)
    response = await test_client.post("/create/", form={"title": "Post", "text": "Text"})
    assert response.status_code == 302
    assert response.location == "/"
    response = await test_client.get("/")
    text = await response.get_data(as_text=True)
    assert '<a href="/post/1/">Post</a></h2>' in text
    assert "<p>Text</p>" in text
    assert '<div class="flash message">Post created.</div>' in text
    # A flashed message is shown once only.
    text = await (await test_client.get("/")).get_data(as_text=True)
    assert "Post created." not in text


async def test_posts_are_newest_first_and_follow_redirects() -> None:
    test_client = app.test_client()
    await _log_in(test_client)
    for title in ("first", "second", "third"):
        response = await test_client.post(
            "/create/", form={"title": title, "text": f"{title} body"}, follow_redirects=True
        )
        assert response.status_code == 200
    text = await response.get_data(as_text=True)
    assert re.findall(r'<a href="/post/\d+/">(\w+)</a>', text) == ["third", "second", "first"]


async def test_title_is_escaped_but_body_is_trusted_html() -> None:
    test_client = app.test_client()
    await _log_in(test_client)
    await test_client.post("/create/", form={"title": "<b>&co</b>", "text": "<em>hi</em>"})
    text = await (await test_client.get("/post/1/")).get_data(as_text=True)
    assert "<h1>&lt;b&gt;&amp;co&lt;/b&gt;</h1>" in text
    assert "<title>&lt;b&gt;&amp;co&lt;/b&gt;</title>" in text
    assert "<p><em>hi</em></p>" in text


async def test_missing_title_rerenders_the_form_with_an_error() -> None:
    test_client = app.test_client()
    await _log_in(test_client)
    response = await test_client.post("/create/", form={"title": "  ", "text": "kept"})
    assert response.status_code == 400
    text = await response.get_data(as_text=True)
    assert '<div class="flash error">A title is required.</div>' in text
    assert '<textarea name="text">kept</textarea>' in text
    listing = await (await test_client.get("/posts.json")).get_json()
    assert listing == []


async def test_unknown_post_uses_the_custom_404_page() -> None:
    test_client = app.test_client()
    response = await test_client.get("/post/42/")
    assert response.status_code == 404
    assert "<h1>Nothing here</h1>" in await response.get_data(as_text=True)
    response = await test_client.get("/no/such/page")
    assert response.status_code == 404
    assert "That page does not exist." in await response.get_data(as_text=True)


async def test_session_transaction_logs_in_and_logout_clears() -> None:
    test_client = app.test_client()
    async with test_client.session_transaction() as sess:
        sess["logged_in"] = True
        sess["user"] = "someone"
    response = await test_client.post("/create/", form={"title": "T", "text": "B"})
    assert response.status_code == 302
    response = await test_client.post("/logout/", follow_redirects=True)
    text = await response.get_data(as_text=True)
    assert "Logged out." in text
    assert "someone" not in text
    async with test_client.session_transaction() as sess:
        assert "logged_in" not in sess
    assert (await test_client.get("/create/")).status_code == 302


async def test_json_listing() -> None:
    test_client = app.test_client()
    await _log_in(test_client)
    await test_client.post("/create/", form={"title": "A", "text": "a"})
    await test_client.post("/create/", form={"title": "B", "text": "b"})
    response = await test_client.get("/posts.json")
    assert response.is_json
    assert await response.get_json() == [
        {"id": 1, "title": "A", "body": "a"},
        {"id": 2, "title": "B", "body": "b"},
    ]


async def test_cli_init_db_wipes_the_posts() -> None:
    test_client = app.test_client()
    await _log_in(test_client)
    await test_client.post("/create/", form={"title": "A", "text": "a"})
    result = app.test_cli_runner().invoke(args=["init_db"])
    assert result.exit_code == 0, result.output
    assert "Initialised the database." in result.output
    assert await (await test_client.get("/posts.json")).get_json() == []


async def test_the_app_serves_with_its_lifespan() -> None:
    async with app.test_app() as test_app:
        response = await test_app.test_client().get("/")
        assert response.status_code == 200
