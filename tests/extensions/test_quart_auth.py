"""Quart-Auth on our quart: logging in and out with the auth cookie, ``login_required``
and a redirect to the login page, ``current_user`` in views, templates and websockets,
the cookie's attributes, a custom user class, the ``authenticated_client`` test helper,
bearer tokens, basic auth, and a login served by hypercorn and used with httpx."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

import httpx
import pytest
from quart_auth import (
    AuthUser,
    QuartAuth,
    Unauthorized,
    authenticated_client,
    basic_auth_required,
    current_user,
    generate_auth_token,
    login_required,
    login_user,
    logout_user,
    renew_login,
)
from werkzeug.datastructures import Authorization

from quart import (
    Quart,
    has_request_context,
    redirect,
    render_template_string,
    request,
    url_for,
    websocket,
)
from quart.testing import QuartClient, WebsocketResponseError

PASSWORDS = {"ada": "lovelace", "grace": "hopper"}
NAMES = {"ada": "Ada Lovelace", "grace": "Grace Hopper"}


class User(AuthUser):
    """A user that knows its display name, loaded lazily from the store."""

    @property
    def name(self) -> str | None:
        return None if self.auth_id is None else NAMES.get(self.auth_id)


def make_app(**auth_options: Any) -> Quart:
    app = Quart(__name__)
    app.secret_key = "quart-auth tests"
    app.config["QUART_AUTH_COOKIE_SECURE"] = False
    app.config["QUART_AUTH_BASIC_USERNAME"] = "admin"
    app.config["QUART_AUTH_BASIC_PASSWORD"] = "s3cret"
    QuartAuth(app, user_class=User, **auth_options)

    @app.route("/login", methods=["GET", "POST"])
    async def login() -> Any:
        if request.method == "GET":
            return "please log in", 200
        form = await request.form
        user_id = form.get("user", "")
        if PASSWORDS.get(user_id) != form.get("password"):
            return "wrong password", 403
        login_user(User(user_id), remember=form.get("remember") == "yes")
        return redirect(url_for("me"))

    @app.post("/logout")
    async def logout() -> str:
        logout_user()
        return "logged out"

    @app.get("/me")
    @login_required
    async def me() -> dict[str, Any]:
        return {
            "auth_id": current_user.auth_id,
            "name": current_user.name,  # type: ignore[attr-defined]
            "authenticated": await current_user.is_authenticated,
        }

    @app.get("/status")
    async def status() -> dict[str, Any]:
        return {"authenticated": await current_user.is_authenticated}

    @app.get("/greeting")
    async def greeting() -> str:
        return await render_template_string(
            "{% if current_user.auth_id %}Hello {{ current_user.name }}"
            "{% else %}Hello stranger{% endif %}"
        )

    @app.post("/renew")
    @login_required
    async def renew() -> str:
        renew_login()
        return "renewed"

    @app.get("/admin")
    @basic_auth_required()
    async def admin() -> str:
        return "admin area"

    @app.websocket("/ws")
    @login_required
    async def ws() -> None:
        await websocket.accept()
        await websocket.send(f"hello {current_user.auth_id}")

    @app.errorhandler(Unauthorized)
    async def to_login(error: Unauthorized) -> Any:
        path = request.path if has_request_context() else websocket.path
        return redirect(url_for("login", next=path))

    return app


@pytest.fixture
def auth_app() -> Quart:
    return make_app()


@pytest.fixture
def auth_client(auth_app: Quart) -> QuartClient:
    return auth_app.test_client()


def set_cookie(response: Any) -> SimpleCookie:
    cookie: SimpleCookie = SimpleCookie()
    for header in response.headers.getlist("Set-Cookie"):
        cookie.load(header)
    return cookie


async def log_in(client: QuartClient, user: str = "ada", **extra: str) -> Any:
    form = {"user": user, "password": PASSWORDS[user], **extra}
    return await client.post("/login", form=form)


async def test_anonymous_user_is_redirected_to_login(auth_client: QuartClient) -> None:
    response = await auth_client.get("/me")
    assert response.status_code == 302
    assert response.location == "/login?next=/me"
    response = await auth_client.get("/status")
    assert await response.get_json() == {"authenticated": False}


async def test_login_then_logout(auth_client: QuartClient) -> None:
    response = await log_in(auth_client)
    assert response.status_code == 302
    response = await auth_client.get("/me")
    assert response.status_code == 200
    assert await response.get_json() == {
        "auth_id": "ada",
        "name": "Ada Lovelace",
        "authenticated": True,
    }

    response = await auth_client.post("/logout")
    assert set_cookie(response)["QUART_AUTH"].value == ""
    response = await auth_client.get("/me")
    assert response.status_code == 302


async def test_wrong_password_sets_no_cookie(auth_client: QuartClient) -> None:
    response = await auth_client.post("/login", form={"user": "ada", "password": "x"})
    assert response.status_code == 403
    assert "Set-Cookie" not in response.headers
    assert (await auth_client.get("/me")).status_code == 302


async def test_login_follows_redirect_to_the_page(auth_client: QuartClient) -> None:
    response = await auth_client.post(
        "/login", form={"user": "grace", "password": "hopper"}, follow_redirects=True
    )
    assert response.status_code == 200
    assert (await response.get_json())["name"] == "Grace Hopper"


async def test_session_cookie_attributes(auth_client: QuartClient) -> None:
    morsel = set_cookie(await log_in(auth_client))["QUART_AUTH"]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert morsel["path"] == "/"
    assert not morsel["secure"]
    assert morsel["max-age"] == ""  # not remembered: ends with the browser session


async def test_remembered_login_lasts(auth_client: QuartClient) -> None:
    morsel = set_cookie(await log_in(auth_client, remember="yes"))["QUART_AUTH"]
    assert morsel["max-age"] == str(365 * 24 * 60 * 60)


async def test_renew_login_makes_cookie_permanent(auth_client: QuartClient) -> None:
    await log_in(auth_client)
    morsel = set_cookie(await auth_client.post("/renew"))["QUART_AUTH"]
    assert morsel["max-age"] == str(365 * 24 * 60 * 60)


async def test_cookie_options_from_config() -> None:
    app = Quart(__name__)
    app.secret_key = "strict"
    app.config.update(
        QUART_AUTH_COOKIE_SECURE=True,
        QUART_AUTH_COOKIE_SAMESITE="Strict",
        QUART_AUTH_COOKIE_NAME="auth",
        QUART_AUTH_DURATION=60,
    )
    QuartAuth(app)

    @app.post("/login")
    async def login() -> str:
        login_user(AuthUser("7"), remember=True)
        return "in"

    @app.get("/who")
    async def who() -> str:
        return str(current_user.auth_id)

    client = app.test_client()
    response = await client.post("/login", scheme="https")
    morsel = set_cookie(response)["auth"]
    assert morsel["secure"] is True
    assert morsel["samesite"] == "Strict"
    assert morsel["max-age"] == "60"
    response = await client.get("/who", scheme="https")
    assert await response.get_data(as_text=True) == "7"


async def test_tampered_cookie_is_anonymous(auth_client: QuartClient) -> None:
    response = await auth_client.get("/status", headers={"Cookie": "QUART_AUTH=forged.token"})
    assert await response.get_json() == {"authenticated": False}
    response = await auth_client.get("/me", headers={"Cookie": "QUART_AUTH=forged.token"})
    assert response.status_code == 302


async def test_current_user_in_templates(auth_client: QuartClient) -> None:
    response = await auth_client.get("/greeting")
    assert await response.get_data(as_text=True) == "Hello stranger"
    await log_in(auth_client, "grace")
    response = await auth_client.get("/greeting")
    assert await response.get_data(as_text=True) == "Hello Grace Hopper"


async def test_authenticated_client_helper(auth_client: QuartClient) -> None:
    async with authenticated_client(auth_client, "grace"):
        response = await auth_client.get("/me")
        assert response.status_code == 200
        assert (await response.get_json())["auth_id"] == "grace"
    response = await auth_client.get("/me")
    assert response.status_code == 302


async def test_authenticated_client_with_default_secure_cookie() -> None:
    # The cookie Quart-Auth puts in the jar is Secure and names no server: the test
    # client still sends it to the app (over http, as the published Quart's does).
    app = Quart(__name__)
    app.secret_key = "defaults"
    QuartAuth(app)

    @app.get("/who")
    @login_required
    async def who() -> str:
        return str(current_user.auth_id)

    client = app.test_client()
    assert (await client.get("/who")).status_code == 401
    async with authenticated_client(client, "42"):
        response = await client.get("/who")
        assert await response.get_data(as_text=True) == "42"
    assert (await client.get("/who")).status_code == 401


async def test_websocket_requires_login(auth_client: QuartClient) -> None:
    with pytest.raises(WebsocketResponseError) as refused:
        async with auth_client.websocket("/ws") as ws:
            await ws.receive()
    assert refused.value.response.status_code == 302
    assert refused.value.response.location == "/login?next=/ws"
    await log_in(auth_client)
    async with auth_client.websocket("/ws") as ws:
        assert await ws.receive() == "hello ada"


async def test_bearer_mode() -> None:
    app = Quart(__name__)
    app.secret_key = "bearer"
    QuartAuth(app, mode="bearer")

    @app.get("/who")
    @login_required
    async def who() -> str:
        return str(current_user.auth_id)

    client = app.test_client()
    token = generate_auth_token(client, "9")
    response = await client.get("/who", headers={"Authorization": f"Bearer {token}"})
    assert await response.get_data(as_text=True) == "9"
    response = await client.get("/who", headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 401
    response = await client.get("/who")
    assert response.status_code == 401


async def test_basic_auth(auth_client: QuartClient) -> None:
    response = await auth_client.get("/admin")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].lower().startswith("basic")
    response = await auth_client.get("/admin", auth=("admin", "wrong"))
    assert response.status_code == 401
    response = await auth_client.get("/admin", auth=("admin", "s3cret"))
    assert await response.get_data(as_text=True) == "admin area"
    authorization = Authorization("basic", {"username": "admin", "password": "s3cret"})
    response = await auth_client.get("/admin", headers={"Authorization": authorization.to_header()})
    assert response.status_code == 200


async def test_served_by_hypercorn(serve: Any) -> None:
    base_url = await serve(make_app())
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.get("/me")
        assert response.status_code == 302
        assert response.headers["location"] == "/login?next=/me"

        response = await http.post("/login", data={"user": "ada", "password": "lovelace"})
        assert response.status_code == 302
        assert "QUART_AUTH" in http.cookies
        assert "httponly" in response.headers["set-cookie"].lower()

        response = await http.get("/me")
        assert response.status_code == 200
        assert response.json()["name"] == "Ada Lovelace"

        await http.post("/logout")
        assert "QUART_AUTH" not in http.cookies
        response = await http.get("/me")
        assert response.status_code == 302

        response = await http.get("/admin", auth=("admin", "s3cret"))
        assert response.text == "admin area"
