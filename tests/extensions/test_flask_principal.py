"""Flask-Principal 0.4.0 through ``quart.flask_patch``: an app written as Flask code
(``from flask import ...``) with ``Principal(app)``, the identity saved in and loaded
from the session, ``identity_changed.send`` on login and logout, ``identity_loaded``
adding the user's roles, ``Permission(RoleNeed("admin"))`` as a view decorator (403 for
others) and as a context manager (``PermissionDenied`` to an error handler, or a 403),
combined permissions, ``Denial``, a custom identity loader without sessions, permissions
in templates, and async views behind the decorator.

The patch and the extension are imported per test (see ``data_b/flask_patching.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from quart import Quart
from quart.testing import QuartClient

from .data_b.flask_patching import flask_extensions

ROLES = {"ada": {"admin", "editor"}, "grace": {"editor"}, "linus": set()}


@pytest.fixture
def principal() -> Iterator[ModuleType]:
    with flask_extensions("flask_principal") as [flask_principal]:
        yield flask_principal


def make_app(principal: ModuleType) -> SimpleNamespace:
    """The app as a Flask-Principal user writes it, on the patched ``flask``."""
    from flask import (
        Flask,
        abort,
        current_app,
        g,
        redirect,
        render_template_string,
        request,
        session,
        url_for,
    )

    Identity = principal.Identity
    AnonymousIdentity = principal.AnonymousIdentity
    Permission, RoleNeed, UserNeed = principal.Permission, principal.RoleNeed, principal.UserNeed

    app = Flask(__name__)
    app.secret_key = "flask-principal tests"
    principals = principal.Principal(app)
    admin_permission = Permission(RoleNeed("admin"))
    editor_permission = Permission(RoleNeed("editor"))
    loaded: list[Any] = []

    @principal.identity_loaded.connect_via(app)
    def on_identity_loaded(sender: Any, identity: Any) -> None:
        loaded.append(identity.id)
        if identity.id is not None:
            identity.provides.add(UserNeed(identity.id))
        for role in ROLES.get(identity.id, ()):
            identity.provides.add(RoleNeed(role))

    @app.route("/login", methods=["POST"])
    def login() -> Any:
        user = request.form["user"]
        if user not in ROLES:
            abort(401)
        principal.identity_changed.send(
            current_app._get_current_object(), identity=Identity(user, "form")
        )
        return redirect(url_for("whoami"))

    @app.route("/logout", methods=["POST"])
    def logout() -> str:
        for key in ("identity.id", "identity.auth_type"):
            session.pop(key, None)
        principal.identity_changed.send(
            current_app._get_current_object(), identity=AnonymousIdentity()
        )
        return "logged out"

    @app.route("/whoami")
    def whoami() -> dict[str, Any]:
        identity = g.identity
        return {
            "id": identity.id,
            "auth_type": identity.auth_type,
            "anonymous": isinstance(identity, AnonymousIdentity),
            "provides": sorted(list(need) for need in identity.provides),
        }

    @app.route("/admin")
    @admin_permission.require(http_exception=403)
    def admin() -> str:
        return "admin area"

    @app.route("/edit")
    def edit() -> str:
        with editor_permission.require():  # PermissionDenied when not: see the handler
            return "editing"

    @app.route("/edit-or-403")
    def edit_or_403() -> str:
        with editor_permission.require(http_exception=403):
            return "editing"

    @app.route("/admin-or-editor")
    def admin_or_editor() -> str:
        editor_permission.test(http_exception=403)
        return "writer" if not admin_permission.can() else "admin and writer"

    @app.route("/not-admin")
    @principal.Denial(RoleNeed("admin")).require(http_exception=403)
    def not_admin() -> str:
        return "for everyone but admins"

    @app.route("/own/<user>")
    def own(user: str) -> str:
        Permission(UserNeed(user)).test(http_exception=403)
        return f"{user}'s page"

    @app.route("/async-admin")
    @admin_permission.require(http_exception=403)
    async def async_admin() -> str:
        return "async admin area"

    @app.route("/async-edit")
    async def async_edit() -> str:
        with editor_permission.require(http_exception=403):
            return "async editing"

    @app.route("/menu")
    def menu() -> str:
        return render_template_string(
            "{{ g.identity.id or 'guest' }}:"
            "{% if admin_permission.can() %} admin{% endif %}"
            "{% if editor_permission.can() %} edit{% endif %}",
            admin_permission=admin_permission,
            editor_permission=editor_permission,
        )

    @app.errorhandler(principal.PermissionDenied)
    def denied(error: Exception) -> tuple[str, int]:
        return f"denied: {error.args[0]!r}", 403

    return SimpleNamespace(app=app, principals=principals, loaded=loaded)


@pytest.fixture
def site(principal: ModuleType) -> SimpleNamespace:
    return make_app(principal)


@pytest.fixture
def client(site: SimpleNamespace) -> QuartClient:
    return site.app.test_client()


async def log_in(client: QuartClient, user: str) -> Any:
    return await client.post("/login", form={"user": user})


async def whoami(client: QuartClient) -> dict[str, Any]:
    return await (await client.get("/whoami")).get_json()


async def test_the_app_is_ours(site: SimpleNamespace) -> None:
    assert isinstance(site.app, Quart)


async def test_anonymous_identity_on_every_request(client: QuartClient) -> None:
    assert await whoami(client) == {
        "id": None,
        "auth_type": None,
        "anonymous": True,
        "provides": [],
    }


async def test_login_saves_the_identity_in_the_session(
    client: QuartClient, site: SimpleNamespace
) -> None:
    response = await log_in(client, "ada")
    assert response.status_code == 302
    assert response.location == "/whoami"
    async with client.session_transaction() as session:
        assert session["identity.id"] == "ada"
        assert session["identity.auth_type"] == "form"
    site.loaded.clear()
    # Loaded from the session on the next request, with the roles identity_loaded adds.
    assert await whoami(client) == {
        "id": "ada",
        "auth_type": "form",
        "anonymous": False,
        "provides": [["id", "ada"], ["role", "admin"], ["role", "editor"]],
    }
    assert site.loaded == ["ada"]  # once per request


async def test_the_decorator_lets_admins_in_and_others_get_403(client: QuartClient) -> None:
    assert (await client.get("/admin")).status_code == 403
    await log_in(client, "grace")
    assert (await client.get("/admin")).status_code == 403
    await log_in(client, "ada")
    response = await client.get("/admin")
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == "admin area"


async def test_the_context_manager(client: QuartClient) -> None:
    denied = await client.get("/edit")
    assert denied.status_code == 403
    text = await denied.get_data(as_text=True)
    assert text.startswith("denied: <Permission needs={Need(method='role', value='editor')}")
    assert (await client.get("/edit-or-403")).status_code == 403
    await log_in(client, "grace")
    for path in ("/edit", "/edit-or-403"):
        response = await client.get(path)
        assert response.status_code == 200
        assert await response.get_data(as_text=True) == "editing"


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        (None, (403, None)),
        ("linus", (403, None)),
        ("grace", (200, "writer")),
        ("ada", (200, "admin and writer")),
    ],
)
async def test_can_and_test(
    client: QuartClient, user: str | None, expected: tuple[int, str | None]
) -> None:
    if user is not None:
        await log_in(client, user)
    response = await client.get("/admin-or-editor")
    assert response.status_code == expected[0]
    if expected[1] is not None:
        assert await response.get_data(as_text=True) == expected[1]


async def test_denial_and_user_needs(client: QuartClient) -> None:
    assert (await client.get("/not-admin")).status_code == 200  # anonymous
    await log_in(client, "grace")
    assert (await client.get("/not-admin")).status_code == 200
    assert (await client.get("/own/grace")).status_code == 200
    assert (await client.get("/own/ada")).status_code == 403
    await log_in(client, "ada")
    assert (await client.get("/not-admin")).status_code == 403


async def test_logout(client: QuartClient) -> None:
    await log_in(client, "ada")
    assert (await client.get("/admin")).status_code == 200
    response = await client.post("/logout")
    assert await response.get_data(as_text=True) == "logged out"
    assert (await client.get("/admin")).status_code == 403
    # The saver stored the anonymous identity's id (None) in the session, so the next
    # requests load an identity with no id and no roles.
    identity = await whoami(client)
    assert identity["id"] is None
    assert identity["provides"] == []


async def test_async_views_behind_permissions(client: QuartClient) -> None:
    """The decorator wraps the view in a sync function that returns the coroutine; run in
    a worker thread, our ``run_sync`` awaits the coroutine it returns."""
    assert (await client.get("/async-admin")).status_code == 403
    assert (await client.get("/async-edit")).status_code == 403
    await log_in(client, "ada")
    response = await client.get("/async-admin")
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == "async admin area"
    response = await client.get("/async-edit")
    assert await response.get_data(as_text=True) == "async editing"


async def test_permissions_in_templates(client: QuartClient) -> None:
    assert await (await client.get("/menu")).get_data(as_text=True) == "guest:"
    await log_in(client, "grace")
    assert await (await client.get("/menu")).get_data(as_text=True) == "grace: edit"
    await log_in(client, "ada")
    assert await (await client.get("/menu")).get_data(as_text=True) == "ada: admin edit"


async def test_identity_from_a_header_without_sessions(principal: ModuleType) -> None:
    """A custom loader (an API token, say) and no session: nothing is stored."""
    from flask import Flask, g, request

    app = Flask(__name__)
    app.secret_key = "flask-principal tests"
    principals = principal.Principal(app, use_sessions=False)
    tokens = {"t-ada": "ada"}

    @principals.identity_loader
    def from_token() -> Any:
        user = tokens.get(request.headers.get("X-Token", ""))
        return None if user is None else principal.Identity(user, "token")

    @principal.identity_loaded.connect_via(app)
    def roles(sender: Any, identity: Any) -> None:
        for role in ROLES.get(identity.id, ()):
            identity.provides.add(principal.RoleNeed(role))

    @app.route("/admin")
    @principal.Permission(principal.RoleNeed("admin")).require(http_exception=403)
    def admin() -> str:
        return f"hello {g.identity.id} by {g.identity.auth_type}"

    client = app.test_client()
    assert (await client.get("/admin")).status_code == 403
    assert (await client.get("/admin", headers={"X-Token": "wrong"})).status_code == 403
    response = await client.get("/admin", headers={"X-Token": "t-ada"})
    assert await response.get_data(as_text=True) == "hello ada by token"
    assert "Set-Cookie" not in response.headers
