"""The roles example (examples/roles/app.py): Flask-Login, Flask-Principal and Flask-WTF on
``quart.flask_patch``, with the test client. Logging in and out, who may see which page
(a redirect to log in for visitors, a 403 for users without the role), the links each
user is shown, remember-me, CSRF, and safe redirects.

The example imports ``quart.flask_patch``, which replaces ``flask`` in ``sys.modules`` for
the whole process. So each test loads it through ``roles_example()``, which imports the
extensions afresh over the patch and afterwards puts every module back as it was: other
tests go on using the real Flask."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import pytest

import quart
from example_apps import csrf_in, flashes, load_example
from quart import Quart
from quart.testing import QuartClient

PASSWORD = "correct horse battery"
PATCHED = ("flask", "flask_login", "flask_principal", "flask_wtf", "wtforms", "quart.flask_patch")
EXTENSIONS = PATCHED[1:-1]


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


@contextmanager
def roles_example() -> Iterator[ModuleType]:
    """The example, loaded on the patch; every patched or extension module restored after."""
    saved = {name: module for name, module in sys.modules.items() if _under(name, PATCHED)}
    had_attribute = "flask_patch" in vars(quart)
    read_body_first = vars(Quart)["_read_body_first"]
    for name in [name for name in sys.modules if _under(name, EXTENSIONS)]:
        del sys.modules[name]  # imported on the real flask by another test: import again
    try:
        module = load_example("roles")
        module.app.config["TESTING"] = True
        yield module
    finally:
        for name in [name for name in sys.modules if _under(name, PATCHED)]:
            del sys.modules[name]
        sys.modules.update(saved)
        Quart._read_body_first = read_body_first
        if not had_attribute and "flask_patch" in vars(quart):
            delattr(quart, "flask_patch")


@pytest.fixture
def roles() -> Iterator[ModuleType]:
    with roles_example() as module:
        yield module


@pytest.fixture
def client(roles: ModuleType) -> QuartClient:
    client: QuartClient = roles.app.test_client()
    return client


async def page(client: QuartClient, path: str) -> str:
    response = await client.get(path)
    assert response.status_code == 200, path
    text: str = await response.get_data(as_text=True)
    return text


def nav_links(text: str) -> list[str]:
    """The ids of the navigation's links (and its log-out form)."""
    nav = re.search(r"<nav>(.*?)</nav>", text, re.S)
    assert nav is not None
    return re.findall(r'<(?:a|form) [^>]*id="([\w-]+)"', nav.group(1))


async def log_in(client: QuartClient, username: str, *, path: str = "/login", **extra: str) -> Any:
    """Fill in the login form (with its CSRF token), as a browser would."""
    token = csrf_in(await page(client, path))
    form = {"username": username, "password": PASSWORD, "csrf_token": token, **extra}
    return await client.post(path, form=form)


# --- visitors -----------------------------------------------------------------------


async def test_a_visitor_sees_the_accounts_and_a_login_link(client: QuartClient) -> None:
    text = await page(client, "/")
    assert nav_links(text) == ["home", "login"]
    assert re.findall(r"<li>(.*?)</li>", text) == [
        "ada (admin, editor)",
        "grace (editor)",
        "alan (no role)",
    ]


@pytest.mark.parametrize("path", ["/admin", "/reports", "/users/ada"])
async def test_a_visitor_is_sent_to_log_in_and_back(client: QuartClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/login?next=" + path.replace("/", "%2F")
    assert flashes(await page(client, location)) == ["Please log in to see that page."]
    logged_in = await log_in(client, "ada", path=location)
    assert logged_in.status_code == 302
    assert logged_in.headers["Location"] == path  # back where they were going
    assert (await client.get(path)).status_code == 200


# --- logging in and out -------------------------------------------------------------


async def test_log_in_and_out(client: QuartClient) -> None:
    response = await log_in(client, "grace")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = await page(client, "/")
    assert flashes(home) == ["Welcome, Grace Hopper!"]
    assert "<h1>Hello, Grace Hopper</h1>" in home
    assert 'id="roles">Your roles: editor.' in home

    logged_out = await client.post("/logout", form={"csrf_token": csrf_in(home)})
    assert logged_out.status_code == 302
    assert logged_out.headers["Location"] == "/"
    home = await page(client, "/")
    assert flashes(home) == ["You are logged out."]
    assert nav_links(home) == ["home", "login"]
    assert (await client.get("/reports")).status_code == 302  # to the login page again


async def test_a_wrong_password_and_an_unknown_user_look_alike(client: QuartClient) -> None:
    token = csrf_in(await page(client, "/login"))
    answers = []
    for username, password in (("ada", "guess"), ("nobody", PASSWORD)):
        response = await client.post(
            "/login", form={"username": username, "password": password, "csrf_token": token}
        )
        assert response.status_code == 422
        text = await response.get_data(as_text=True)
        found = re.search(r'id="login-error" role="alert">(.*?)</p>', text)
        assert found is not None
        answers.append(found.group(1))
        assert f'value="{username}"' in text  # what was typed is kept (never the password)
        assert password not in text
    assert answers == ["Wrong username or password."] * 2
    assert (await client.get("/admin")).status_code == 302  # not logged in


async def test_forms_need_their_csrf_token(client: QuartClient) -> None:
    response = await client.post("/login", form={"username": "ada", "password": PASSWORD})
    assert response.status_code == 400
    text = await response.get_data(as_text=True)
    assert '<p id="error-message">The CSRF token is missing.</p>' in text
    assert (await client.get("/admin")).status_code == 302
    await log_in(client, "ada")
    forged = await client.post("/logout", form={"csrf_token": "forged"})
    assert forged.status_code == 400
    assert (await client.get("/admin")).status_code == 200  # still logged in


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
async def test_next_never_leads_off_the_site(client: QuartClient, target: str) -> None:
    response = await log_in(client, "ada", path="/login?next=" + target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


async def test_logging_in_starts_a_new_session(client: QuartClient) -> None:
    await page(client, "/login")
    async with client.session_transaction() as session:
        session["planted"] = "by someone else"
    await log_in(client, "alan")
    async with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == "alan"


async def test_remember_me_outlives_the_session_cookie(client: QuartClient) -> None:
    response = await log_in(client, "ada", remember="yes")
    assert response.status_code == 302
    assert client.cookie_jar is not None
    cookies = {cookie.name: cookie.value for cookie in client.cookie_jar}
    assert cookies["remember_token"].startswith("ada|")
    client.delete_cookie(None, "session")  # the browser was closed
    assert "session" not in {cookie.name for cookie in client.cookie_jar}
    # Flask-Login logs ada in from the cookie, and her roles come with her identity.
    text = await page(client, "/admin")
    assert '<table id="users">' in text


# --- roles and permissions ----------------------------------------------------------

ACCESS = {
    # user: (links shown, {path: status})
    "ada": (
        ["home", "my-page", "reports", "admin", "logout"],
        {"/reports": 200, "/admin": 200, "/users/ada": 200, "/users/alan": 200},
    ),
    "grace": (
        ["home", "my-page", "reports", "logout"],
        {"/reports": 200, "/admin": 403, "/users/grace": 200, "/users/ada": 403},
    ),
    "alan": (
        ["home", "my-page", "logout"],
        {"/reports": 403, "/admin": 403, "/users/alan": 200, "/users/grace": 403},
    ),
}


@pytest.mark.parametrize("username", sorted(ACCESS))
async def test_each_user_sees_the_links_and_pages_of_their_roles(
    client: QuartClient, username: str
) -> None:
    links, access = ACCESS[username]
    await log_in(client, username)
    home = await page(client, "/")
    assert nav_links(home) == links
    for path, status in access.items():
        response = await client.get(path)
        assert response.status_code == status, path
        text = await response.get_data(as_text=True)
        if status == 403:
            assert '<h1 id="error">403 Forbidden</h1>' in text
            message = "Your account does not have the role this page needs."
            assert f'<p id="error-message">{message}</p>' in text
            assert "needs=" not in text  # the Permission object is not shown
            assert nav_links(text) == links  # the page still knows who is there
    # Every link shown leads to a page this user may see.
    for href in re.findall(r'<a href="([^"]+)"', home):
        assert (await client.get(href)).status_code == 200, href


async def test_the_admin_page_lists_every_user_and_their_roles(client: QuartClient) -> None:
    await log_in(client, "ada")
    text = await page(client, "/admin")
    rows = re.findall(r'<td><a href="/users/(\w+)">\w+</a></td>\s*<td>(.*?)</td>', text)
    assert rows == [("ada", "admin, editor"), ("grace", "editor"), ("alan", "")]
    user_page = await page(client, "/users/grace")
    assert '<h1 id="user-name">Grace Hopper</h1>' in user_page
    assert '<p id="user-roles">Roles: editor</p>' in user_page


async def test_the_identity_follows_the_login(roles: ModuleType, client: QuartClient) -> None:
    """Flask-Principal's identity, with the needs ``identity_loaded`` adds, is loaded on
    each request from whoever Flask-Login says is logged in."""
    seen: list[tuple[Any, set[Any]]] = []

    @roles.identity_loaded.connect_via(roles.app)
    def record(_sender: Any, identity: Any) -> None:
        seen.append((identity.id, set(identity.provides)))

    await page(client, "/")
    assert seen == []  # a visitor: the anonymous identity, nothing loaded
    await log_in(client, "grace")
    seen.clear()
    await page(client, "/")
    assert seen == [("grace", {roles.UserNeed("grace"), roles.RoleNeed("editor")})]


async def test_error_pages(client: QuartClient) -> None:
    missing = await client.get("/nowhere")
    assert missing.status_code == 404
    text = await missing.get_data(as_text=True)
    assert '<p id="error-message">There is no such page.</p>' in text
    assert nav_links(text) == ["home", "login"]
    await log_in(client, "ada")
    no_user = await client.get("/users/nobody")
    assert no_user.status_code == 404
    assert nav_links(await no_user.get_data(as_text=True))[-1] == "logout"


# --- the patch stays with the test --------------------------------------------------


def test_the_patch_is_undone_after_the_example() -> None:
    before = {name: sys.modules.get(name) for name in PATCHED}
    read_body_first = vars(Quart)["_read_body_first"]
    with roles_example() as module:
        assert sys.modules["flask"].Flask is Quart
        # The extensions were imported over the patch, not reused from before it.
        assert sys.modules["flask_login"] is not before["flask_login"]
        assert module.app.login_manager is module.login_manager
    assert {name: sys.modules.get(name) for name in PATCHED} == before
    assert vars(Quart)["_read_body_first"] is read_body_first
    import flask

    assert flask.Flask is not Quart
