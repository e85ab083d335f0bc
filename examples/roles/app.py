"""Roles and permissions with Flask extensions on ``quart.flask_patch``: Flask-Login for
logging in and out, Flask-Principal for what each user may do, Flask-WTF for CSRF
tokens, all in async views.

Run it with ``python examples/roles/app.py`` and open http://127.0.0.1:5000/. The
accounts (password ``correct horse battery`` for all three):

- ``ada``: admin and editor, may see every page;
- ``grace``: editor, may see the reports;
- ``alan``: neither, may see his own page only.

Pages: ``/`` (links for what you may see), ``/login``, ``/logout`` (POST),
``/users/<name>`` (that user or an admin), ``/reports`` (editors and admins),
``/admin`` (admins). Visitors who are not logged in are sent to the login page; a user
without the role gets a 403 page.
"""

from __future__ import annotations

# First of all: the Flask extensions imported below import flask, and must get quart.
import quart.flask_patch  # noqa: F401

# isort: split
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_login import (
    LoginManager,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_principal import (
    AnonymousIdentity,
    Identity,
    Permission,
    Principal,
    RoleNeed,
    UserNeed,
    identity_changed,
    identity_loaded,
)
from flask_wtf import CSRFProtect
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.security import check_password_hash, generate_password_hash

from quart import (
    Quart,
    Response,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from quart.utils import run_sync

app = Quart(__name__)  # templates/ next to this file
app.config.from_mapping(
    # A fresh key on every start logs everyone out; QUART_SECRET_KEY keeps one.
    SECRET_KEY=secrets.token_hex(32),
    SESSION_COOKIE_SAMESITE="Lax",
    REMEMBER_COOKIE_SAMESITE="Lax",
    MAX_CONTENT_LENGTH=64 * 1024,
)
app.config.from_prefixed_env()

# --- the users ----------------------------------------------------------------------


@dataclass
class User:
    """What Flask-Login needs of a user (``is_authenticated``, ``get_id``...; its
    ``UserMixin`` would do as well), and the roles Flask-Principal turns into needs."""

    username: str
    name: str
    password_hash: str
    roles: frozenset[str] = field(default_factory=frozenset)
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return self.username


DEMO_PASSWORD = "correct horse battery"
DEMO_HASH = generate_password_hash(DEMO_PASSWORD)  # the demo accounts share a password
# A real app keeps these in a database; the roles come with the user when it is loaded.
USERS: Mapping[str, User] = {
    user.username: user
    for user in (
        User("ada", "Ada Lovelace", DEMO_HASH, frozenset({"admin", "editor"})),
        User("grace", "Grace Hopper", DEMO_HASH, frozenset({"editor"})),
        User("alan", "Alan Turing", DEMO_HASH),
    )
}
# Compared against for unknown usernames, so that a login takes as long either way.
NOBODY_HASH = generate_password_hash("no account has this password")

# --- logging in: Flask-Login --------------------------------------------------------

login_manager = LoginManager(app)
login_manager.login_view = "login"  # where login_required sends visitors, with ?next=
login_manager.login_message = "Please log in to see that page."
login_manager.login_message_category = "error"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The user whose id is in the session (or the remember-me cookie), or None."""
    return USERS.get(user_id)


# --- roles and permissions: Flask-Principal -----------------------------------------

# Without its own session keys: the identity is whoever Flask-Login says is logged in,
# so the two can never disagree (a remember-me cookie logs both in).
principals = Principal(app, use_sessions=False)

admin_permission = Permission(RoleNeed("admin"))
# Several needs: any one of them will do.
reports_permission = Permission(RoleNeed("editor"), RoleNeed("admin"))


@principals.identity_loader
def identity_from_login() -> Identity | None:
    """Before each request: the logged-in user's identity (None: anonymous)."""
    if current_user.is_authenticated:
        return Identity(current_user.get_id(), "flask-login")
    return None


@identity_loaded.connect_via(app)
def add_needs(_sender: Any, identity: Identity) -> None:
    """What the identity may do: be its user, and have that user's roles."""
    user = USERS.get(identity.id) if identity.id is not None else None
    if user is None:
        return
    identity.provides.add(UserNeed(user.username))
    for role in user.roles:
        identity.provides.add(RoleNeed(role))


def may(permission: Permission) -> bool:
    """For templates: may the current identity do this? (An error page rendered before
    the identity was loaded says no.)"""
    return "identity" in g and bool(permission.can())


@app.context_processor
def permissions() -> dict[str, Any]:
    # Flask-Login already puts current_user in every template.
    return {
        "may": may,
        "admin_permission": admin_permission,
        "reports_permission": reports_permission,
    }


# --- CSRF: Flask-WTF ----------------------------------------------------------------

# A token per session in every form (csrf_token() in templates), checked on every POST:
# another site cannot log a visitor in or out behind their back.
csrf = CSRFProtect(app)

# --- pages --------------------------------------------------------------------------


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site only, never another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("index")


@app.get("/")
async def index() -> str:
    return await render_template("index.html", users=USERS.values())


@app.route("/login", methods=["GET", "POST"])
async def login() -> str | Response | tuple[str, int]:
    if request.method == "GET":
        return await render_template("login.html", username="")
    form = await request.form
    username = form.get("username", "").strip()
    user = USERS.get(username)
    password_hash = user.password_hash if user is not None else NOBODY_HASH
    matches = await run_sync(check_password_hash)(password_hash, form.get("password", ""))
    if user is None or not matches:
        # The same words whether the name or the password is wrong.
        page = await render_template(
            "login.html", username=username, error="Wrong username or password."
        )
        return page, 422
    # A new session on logging in: nothing from before (a planted one) carries over.
    session.clear()
    login_user(user, remember=form.get("remember") == "yes")
    # Tell Flask-Principal at once, so that this request's identity is the new one too.
    identity_changed.send(app, identity=Identity(user.username))
    await flash(f"Welcome, {user.name}!", "success")
    return redirect(safe_next(request.args.get("next")))


@app.post("/logout")
@login_required
async def logout() -> Response:
    logout_user()
    identity_changed.send(app, identity=AnonymousIdentity())
    await flash("You are logged out.", "success")
    return redirect(url_for("index"))


@app.get("/users/<username>")
@login_required
async def user_page(username: str) -> str:
    """A user's own page: theirs to see, and any admin's."""
    user = USERS.get(username)
    if user is None:
        raise NotFound()
    # A permission made for this request: being this user, or any need of the admin
    # permission. union() ("any of"), spelt & in Flask-Principal; beware that its | is
    # difference(). Checked as a context manager: a 403 unless it is allowed.
    own_page = Permission(UserNeed(username)).union(admin_permission)
    with own_page.require(http_exception=403):
        return await render_template("user.html", user=user)


# Anonymous visitors are sent to log in (login_required, outermost); users without the
# role get a 403 (the permission's decorator).
@app.get("/reports")
@login_required
@reports_permission.require(http_exception=403)
async def reports() -> str:
    return await render_template("reports.html")


@app.get("/admin")
@login_required
@admin_permission.require(http_exception=403)
async def admin() -> str:
    return await render_template("admin.html", users=USERS.values())


# --- errors -------------------------------------------------------------------------

MESSAGES = {
    403: "Your account does not have the role this page needs.",
    404: "There is no such page.",
}


@app.errorhandler(HTTPException)
async def error_page(error: HTTPException) -> tuple[str, int]:
    """Every HTTP error as a page of the site. A permission's 403 carries the Permission
    object as its description: not shown, a sentence instead."""
    code = error.code or 500
    description = error.description if isinstance(error.description, str) else ""
    message = MESSAGES.get(code, description)
    return await render_template("error.html", code=code, name=error.name, message=message), code


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=5000)
