"""The blog example (examples/blog/app.py) with the test client, started and stopped by
``app.test_app()``: accounts, logging in and out, flash messages, the login_required
redirect and its ``next``, posts that only their author may change, form errors, CSRF,
escaping, the error pages, the stylesheet and the database's life."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import pytest
from werkzeug.security import check_password_hash

from example_apps import csrf_in, flashes, load_example, post_titles
from quart import Quart
from quart.testing import QuartClient

PASSWORD = "correct horse battery"


@pytest.fixture
async def blog() -> AsyncIterator[ModuleType]:
    module = load_example("blog")
    module.app.config.update(TESTING=True, DATABASE=":memory:")
    async with module.app.test_app():
        yield module


@pytest.fixture
def app(blog: ModuleType) -> Quart:
    app: Quart = blog.app
    return app


@pytest.fixture
def client(app: Quart) -> QuartClient:
    return app.test_client()


# --- reading pages ------------------------------------------------------------------


async def page(client: QuartClient, path: str) -> str:
    response = await client.get(path)
    assert response.status_code == 200, path
    text: str = await response.get_data(as_text=True)
    return text


def field_error(text: str, name: str) -> str | None:
    found = re.search(rf'<span class="field-error" id="{name}-error">(.*?)</span>', text)
    return html.unescape(found.group(1)) if found else None


def input_value(text: str, name: str) -> str:
    found = re.search(rf'<input id="{name}" name="{name}"[^>]* value="([^"]*)"', text)
    assert found is not None, name
    return html.unescape(found.group(1))


def logged_in_as(text: str) -> str | None:
    found = re.search(r'<span id="current-user">(.*?)</span>', text)
    return found.group(1) if found else None


# --- acting -------------------------------------------------------------------------


async def submit(client: QuartClient, form_page: str, action: str, **fields: str) -> Any:
    """Post ``fields`` to ``action`` with the CSRF token of the page at ``form_page``."""
    token = csrf_in(await page(client, form_page))
    return await client.post(action, form={"csrf_token": token, **fields})


async def register(client: QuartClient, username: str, password: str = PASSWORD) -> Any:
    return await submit(client, "/register", "/register", username=username, password=password)


async def login(
    client: QuartClient, username: str, password: str = PASSWORD, next: str = ""
) -> Any:
    return await submit(client, "/login", "/login", username=username, password=password, next=next)


async def logout(client: QuartClient) -> None:
    response = await submit(client, "/", "/logout")
    assert response.status_code == 302


async def publish(client: QuartClient, title: str, body: str = "Some text.") -> Any:
    response = await submit(client, "/create", "/create", title=title, body=body)
    assert response.status_code == 302
    return response


async def post_ids(client: QuartClient) -> list[int]:
    return [
        int(found)
        for found in re.findall(r'<article class="post" id="post-(\d+)"', await page(client, "/"))
    ]


# --- pages and the stylesheet -------------------------------------------------------


async def test_the_index_before_anyone_posts(client: QuartClient) -> None:
    text = await page(client, "/")
    assert '<p class="empty">No posts yet.</p>' in text
    assert '<link rel="stylesheet" href="/static/style.css">' in text
    assert 'id="register"' in text
    assert 'id="login"' in text
    assert 'id="logout"' not in text
    assert flashes(text) == []


async def test_the_stylesheet_is_served(client: QuartClient) -> None:
    response = await client.get("/static/style.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"
    assert "article.post" in await response.get_data(as_text=True)


async def test_an_unknown_page_is_a_404_in_the_site_layout(client: QuartClient) -> None:
    response = await client.get("/no/such/page")
    assert response.status_code == 404
    text = await response.get_data(as_text=True)
    assert "<h1>404 Not Found</h1>" in text
    assert '<a class="brand" href="/">quart blog</a>' in text


# --- accounts -----------------------------------------------------------------------


async def test_registering_logs_in_and_welcomes_once(client: QuartClient) -> None:
    response = await register(client, "ann")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    text = await page(client, "/")
    assert flashes(text) == ["Welcome, ann! Your account is ready."]
    assert logged_in_as(text) == "ann"
    assert '<form id="logout"' in text
    assert flashes(await page(client, "/")) == []  # shown once


async def test_the_password_is_stored_hashed(blog: ModuleType, client: QuartClient) -> None:
    await register(client, "ann")
    row = await blog.db.fetch_one("SELECT password_hash FROM users WHERE username = 'ann'")
    assert row is not None
    assert PASSWORD not in row["password_hash"]
    assert check_password_hash(row["password_hash"], PASSWORD)


@pytest.mark.parametrize(
    ("username", "password", "field", "message"),
    [
        ("ab", PASSWORD, "username", "Use 3 to 30 letters, digits, dots, dashes or underscores."),
        (
            "<b>ann</b>",
            PASSWORD,
            "username",
            "Use 3 to 30 letters, digits, dots, dashes or underscores.",
        ),
        (
            "a" * 31,
            PASSWORD,
            "username",
            "Use 3 to 30 letters, digits, dots, dashes or underscores.",
        ),
        ("ann", "short", "password", "Use 8 to 200 characters."),
        ("ann", "p" * 201, "password", "Use 8 to 200 characters."),
    ],
)
async def test_registration_errors_are_shown_by_their_field(
    client: QuartClient, username: str, password: str, field: str, message: str
) -> None:
    response = await register(client, username, password)
    assert response.status_code == 422
    text = await response.get_data(as_text=True)
    assert field_error(text, field) == message
    assert input_value(text, "username") == username  # kept, escaped
    assert password not in text  # never sent back
    assert logged_in_as(text) is None


async def test_a_taken_username_whatever_its_case(client: QuartClient) -> None:
    await register(client, "ann")
    await logout(client)
    response = await register(client, "ANN")
    assert response.status_code == 422
    text = await response.get_data(as_text=True)
    assert field_error(text, "username") == "That username is taken."
    assert input_value(text, "username") == "ANN"


async def test_logging_in_welcomes_back(client: QuartClient) -> None:
    await register(client, "ann")
    await logout(client)
    response = await login(client, "ann")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    text = await page(client, "/")
    assert flashes(text) == ["Welcome back, ann!"]
    assert logged_in_as(text) == "ann"


@pytest.mark.parametrize(("username", "password"), [("ann", "wrong password"), ("bob", PASSWORD)])
async def test_a_failed_login_says_the_same_either_way(
    client: QuartClient, username: str, password: str
) -> None:
    await register(client, "ann")
    await logout(client)
    response = await login(client, username, password)
    assert response.status_code == 422
    text = await response.get_data(as_text=True)
    assert '<p class="form-error" id="login-error">Incorrect username or password.</p>' in text
    assert input_value(text, "username") == username
    assert logged_in_as(await page(client, "/")) is None


async def test_logging_out(client: QuartClient) -> None:
    await register(client, "ann")
    await page(client, "/")  # the welcome
    await logout(client)
    text = await page(client, "/")
    assert flashes(text) == ["You have been logged out."]
    assert logged_in_as(text) is None


async def test_logging_in_starts_a_new_session(client: QuartClient) -> None:
    """A token from before logging in (one an attacker could have planted) is no good
    after it."""
    await register(client, "ann")
    await logout(client)
    old_token = csrf_in(await page(client, "/login"))
    await client.post(
        "/login", form={"csrf_token": old_token, "username": "ann", "password": PASSWORD}
    )
    response = await client.post("/logout", form={"csrf_token": old_token})
    assert response.status_code == 400
    assert logged_in_as(await page(client, "/")) == "ann"


# --- login_required and next --------------------------------------------------------


async def test_login_required_sends_to_login_and_back(client: QuartClient) -> None:
    await register(client, "ann")
    await logout(client)
    response = await client.get("/create")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/create"
    text = await page(client, response.headers["Location"])
    assert '<input type="hidden" name="next" value="/create">' in text
    back = await client.post(
        "/login",
        form={
            "csrf_token": csrf_in(text),
            "username": "ann",
            "password": PASSWORD,
            "next": "/create",
        },
    )
    assert back.status_code == 302
    assert back.headers["Location"] == "/create"
    assert 'id="post-form"' in await page(client, "/create")


async def test_an_anonymous_post_is_sent_to_login_and_not_saved(client: QuartClient) -> None:
    response = await submit(client, "/login", "/create", title="Hi", body="there")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert post_titles(await page(client, "/")) == []


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "/\t/evil.example/",
        "javascript:alert(1)",
        "create",
        "",
    ],
)
async def test_next_only_leads_within_the_site(client: QuartClient, target: str) -> None:
    await register(client, "ann")
    await logout(client)
    response = await login(client, "ann", next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


# --- posts --------------------------------------------------------------------------


async def test_publishing_a_post(client: QuartClient) -> None:
    await register(client, "ann")
    form = await page(client, "/create")
    assert '<form id="post-form" method="post">' in form
    response = await publish(client, "First post", "Hello,\nworld.")
    assert response.headers["Location"] == "/"
    text = await page(client, "/")
    assert flashes(text) == ["Post published."]
    assert post_titles(text) == ["First post"]
    assert '<span class="author">ann</span>' in text
    assert '<div class="body">Hello,\nworld.</div>' in text


async def test_posts_newest_first(client: QuartClient) -> None:
    await register(client, "ann")
    for title in ("one", "two", "three"):
        await publish(client, title)
    assert post_titles(await page(client, "/")) == ["three", "two", "one"]


@pytest.mark.parametrize(
    ("title", "body", "field", "message"),
    [
        ("", "Some text", "title", "A post needs a title."),
        ("   ", "Some text", "title", "A post needs a title."),
        ("t" * 121, "Some text", "title", "Keep the title to 120 characters."),
        ("A title", "  ", "body", "A post needs some text."),
    ],
)
async def test_post_errors_are_shown_with_the_text_kept(
    client: QuartClient, title: str, body: str, field: str, message: str
) -> None:
    await register(client, "ann")
    response = await submit(client, "/create", "/create", title=title, body=body)
    assert response.status_code == 422
    text = await response.get_data(as_text=True)
    assert field_error(text, field) == message
    assert input_value(text, "title") == title.strip()
    assert f">{body.strip()}</textarea>" in text
    assert post_titles(await page(client, "/")) == []


async def test_the_author_edits_a_post(client: QuartClient) -> None:
    await register(client, "ann")
    await publish(client, "Draft", "Old text")
    [post_id] = await post_ids(client)
    index = await page(client, "/")
    assert f'href="/{post_id}/edit"' in index
    form = await page(client, f"/{post_id}/edit")
    assert input_value(form, "title") == "Draft"
    assert ">Old text</textarea>" in form
    response = await submit(
        client, f"/{post_id}/edit", f"/{post_id}/edit", title="Final", body="New text"
    )
    assert response.status_code == 302
    text = await page(client, "/")
    assert flashes(text) == ["Post updated."]
    assert post_titles(text) == ["Final"]
    assert "(edited)" in text


async def test_an_invalid_edit_keeps_the_post(client: QuartClient) -> None:
    await register(client, "ann")
    await publish(client, "Draft", "Old text")
    [post_id] = await post_ids(client)
    response = await submit(client, f"/{post_id}/edit", f"/{post_id}/edit", title="", body="New")
    assert response.status_code == 422
    assert field_error(await response.get_data(as_text=True), "title") == "A post needs a title."
    assert post_titles(await page(client, "/")) == ["Draft"]


async def test_the_author_deletes_a_post(client: QuartClient) -> None:
    await register(client, "ann")
    await publish(client, "Doomed")
    [post_id] = await post_ids(client)
    response = await submit(client, f"/{post_id}/edit", f"/{post_id}/delete")
    assert response.status_code == 302
    text = await page(client, "/")
    assert flashes(text) == ["Post deleted."]
    assert post_titles(text) == []


async def test_only_the_author_may_change_a_post(app: Quart) -> None:
    ann, bob = app.test_client(), app.test_client()
    await register(ann, "ann")
    await publish(ann, "Ann's post", "Mine")
    [post_id] = await post_ids(ann)
    await register(bob, "bob")
    index = await page(bob, "/")
    assert f'href="/{post_id}/edit"' not in index
    assert (await bob.get(f"/{post_id}/edit")).status_code == 403
    token = csrf_in(index)
    edit = await bob.post(
        f"/{post_id}/edit", form={"csrf_token": token, "title": "Bob's", "body": "x"}
    )
    assert edit.status_code == 403
    assert "Only its author can change a post." in await edit.get_data(as_text=True)
    delete = await bob.post(f"/{post_id}/delete", form={"csrf_token": token})
    assert delete.status_code == 403
    assert post_titles(await page(ann, "/")) == ["Ann's post"]


@pytest.mark.parametrize("action", ["edit", "delete"])
async def test_a_missing_post_is_404(client: QuartClient, action: str) -> None:
    await register(client, "ann")
    token = csrf_in(await page(client, "/"))
    response = await client.post(
        f"/99/{action}", form={"csrf_token": token, "title": "t", "body": "b"}
    )
    assert response.status_code == 404


@pytest.mark.parametrize("action", ["edit", "delete"])
async def test_an_id_too_large_for_the_database_is_404(client: QuartClient, action: str) -> None:
    await register(client, "ann")
    token = csrf_in(await page(client, "/"))
    response = await client.post(f"/{'9' * 19}/{action}", form={"csrf_token": token})
    assert response.status_code == 404


async def test_a_form_over_the_size_limit_is_413(client: QuartClient) -> None:
    await register(client, "ann")
    response = await submit(client, "/create", "/create", title="Big", body="x" * (1024 * 1024))
    assert response.status_code == 413
    assert "<h1>413 Request Entity Too Large</h1>" in await response.get_data(as_text=True)
    assert post_titles(await page(client, "/")) == []


async def test_user_content_is_escaped(client: QuartClient) -> None:
    await register(client, "ann")
    await publish(client, "<script>alert('title')</script>", "<img src=x onerror=alert(1)>")
    text = await page(client, "/")
    assert "<script>alert" not in text
    assert "<img src=x" not in text
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert post_titles(text) == ["<script>alert('title')</script>"]


# --- CSRF ---------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "not-the-token", "tökén"])
@pytest.mark.parametrize(
    ("action", "fields"),
    [
        ("/create", {"title": "Forged", "body": "post"}),
        ("/logout", {}),
        ("/login", {"username": "ann", "password": PASSWORD}),
        ("/register", {"username": "mallory", "password": PASSWORD}),
    ],
)
async def test_a_post_without_the_right_token_is_400(
    client: QuartClient, action: str, fields: dict[str, str], token: str | None
) -> None:
    await register(client, "ann")
    form = dict(fields) if token is None else {"csrf_token": token, **fields}
    response = await client.post(action, form=form)
    assert response.status_code == 400
    text = await response.get_data(as_text=True)
    assert "The form has expired or did not come from this site." in text
    index = await page(client, "/")
    assert logged_in_as(index) == "ann"  # not logged out, nor logged in as someone else
    assert post_titles(index) == []


async def test_a_token_from_another_session_is_refused(app: Quart) -> None:
    ann, mallory = app.test_client(), app.test_client()
    await register(ann, "ann")
    mallorys_token = csrf_in(await page(mallory, "/login"))
    response = await ann.post(
        "/create", form={"csrf_token": mallorys_token, "title": "Forged", "body": "post"}
    )
    assert response.status_code == 400
    assert post_titles(await page(ann, "/")) == []


async def test_a_visitor_without_a_session_cannot_post(client: QuartClient) -> None:
    response = await client.post(
        "/login", form={"csrf_token": "", "username": "a", "password": "b"}
    )
    assert response.status_code == 400


# --- the database -------------------------------------------------------------------


async def test_the_database_opens_at_startup_and_closes_at_shutdown() -> None:
    module = load_example("blog")
    module.app.config.update(TESTING=True, DATABASE=":memory:")
    assert module.db.connection is None
    async with module.app.test_app():
        connection = module.db.connection
        assert connection is not None
        tables = await connection.execute_fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('users', 'posts')"
        )
        assert sorted(row[0] for row in tables) == ["posts", "users"]
    assert module.db.connection is None
    with pytest.raises(ValueError):
        await connection.execute("SELECT 1")
