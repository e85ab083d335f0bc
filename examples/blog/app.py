"""A small blog: accounts with hashed passwords, posts that only their author may change,
templates that extend a base page, flash messages, a stylesheet, CSRF protection and a
SQLite database through an async driver.

Run it with ``python examples/blog/app.py`` and open http://127.0.0.1:5000/. The posts
go to ``blog.sqlite3`` in the working directory (``QUART_DATABASE=...`` chooses another
file); set ``QUART_SECRET_KEY`` to keep people logged in across restarts.

The code reads top to bottom: the database, the user and the CSRF token of each request,
the account pages (the ``auth`` blueprint), then the posts (the ``posts`` blueprint).
"""

from __future__ import annotations

import asyncio
import re
import secrets
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import wraps
from typing import Any

import aiosqlite
from werkzeug.exceptions import BadRequest, Forbidden, HTTPException, NotFound
from werkzeug.routing import IntegerConverter
from werkzeug.security import check_password_hash, generate_password_hash

from quart import (
    Blueprint,
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

app = Quart(__name__)  # templates/ and static/ next to this file
app.config.from_mapping(
    DATABASE="blog.sqlite3",
    # A fresh key on every start logs everyone out; QUART_SECRET_KEY keeps one.
    SECRET_KEY=secrets.token_hex(32),
    SESSION_COOKIE_SAMESITE="Lax",
    MAX_CONTENT_LENGTH=1024 * 1024,
)
app.config.from_prefixed_env()

# --- the database -------------------------------------------------------------------

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS posts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    author_id INTEGER NOT NULL REFERENCES users (id),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT
);
"""


class Database:
    """One aiosqlite connection, opened when the app starts serving and closed when it
    stops. Requests take turns with it (``_lock``), so that a transaction is never
    interleaved with another request's statements."""

    def __init__(self) -> None:
        self.connection: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self, path: str) -> None:
        self.connection = await aiosqlite.connect(path)
        self.connection.row_factory = aiosqlite.Row
        await self.connection.execute("PRAGMA foreign_keys = ON")
        await self.connection.executescript(SCHEMA)
        await self.connection.commit()

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()
            self.connection = None

    async def fetch_all(self, sql: str, parameters: Iterable[Any] = ()) -> list[dict[str, Any]]:
        async with self._lock:
            rows = await self._connected().execute_fetchall(sql, parameters)
        return [dict(row) for row in rows]

    async def fetch_one(self, sql: str, parameters: Iterable[Any] = ()) -> dict[str, Any] | None:
        rows = await self.fetch_all(sql, parameters)
        return rows[0] if rows else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection, for statements committed together at the end of the block
        (rolled back if it raises)."""
        async with self._lock:
            connection = self._connected()
            try:
                yield connection
            except BaseException:
                await connection.rollback()
                raise
            await connection.commit()

    def _connected(self) -> aiosqlite.Connection:
        if self.connection is None:
            raise RuntimeError("The database is not open: is the app serving?")
        return self.connection


db = Database()


@app.before_serving
async def open_database() -> None:
    await db.open(app.config["DATABASE"])


@app.after_serving
async def close_database() -> None:
    await db.close()


# --- every request: who is logged in, and is the form genuine? ----------------------


@app.before_request
async def load_user() -> None:
    """``g.user`` is the logged-in user (``{"id", "username"}``) or None."""
    user_id = session.get("user_id")
    g.user = None
    if user_id is not None:
        g.user = await db.fetch_one("SELECT id, username FROM users WHERE id = ?", (user_id,))


@app.template_global()
def csrf_token() -> str:
    """The session's CSRF token, made on first use. Every form sends it back in a
    hidden field: another site can make a browser post here, but cannot read the token."""
    if "csrf_token" not in session:
        session["csrf_token"] = secrets.token_urlsafe(32)
    token: str = session["csrf_token"]
    return token


@app.before_request
async def check_csrf() -> None:
    """Refuse (400) a POST whose form does not carry this session's token."""
    if request.method != "POST":
        return
    sent = (await request.form).get("csrf_token", "")
    expected = session.get("csrf_token", "")
    # Compared as bytes: compare_digest refuses non-ASCII text, which a client may send.
    if not expected or not secrets.compare_digest(sent.encode(), expected.encode()):
        raise BadRequest("The form has expired or did not come from this site. Please try again.")


@app.errorhandler(HTTPException)
async def error_page(error: HTTPException) -> Any:
    """Error pages in the site's own layout."""
    return await render_template("error.html", error=error), error.code or 500


def login_required(view: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Send visitors who are not logged in to the login page, which brings them back."""

    @wraps(view)
    async def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.user is None:
            return redirect(url_for("auth.login", next=request.path))
        return await view(*args, **kwargs)

    return wrapped


def local_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None, so that a crafted login link
    (``?next=https://elsewhere``) cannot send the user off the site after logging in."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    # Browsers read "/\\host" as "//host" and drop tabs and newlines inside URLs.
    if "\\" in target or any(char.isspace() or ord(char) < 32 for char in target):
        return None
    return target


class RowId(IntegerConverter):
    """``<id:...>`` in a rule: a whole number of at most 18 digits, which always fits a
    SQLite row id. A longer one matches no route (404) instead of overflowing in the
    query (500)."""

    regex = r"\d{1,18}"


app.url_map.converters["id"] = RowId


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- accounts -----------------------------------------------------------------------

auth = Blueprint("auth", __name__)

USERNAME = re.compile(r"[A-Za-z0-9_.-]{3,30}")
MIN_PASSWORD, MAX_PASSWORD = 8, 200


@auth.route("/register", methods=["GET", "POST"])
async def register() -> Any:
    form = {"username": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        data = await request.form
        username, password = data.get("username", "").strip(), data.get("password", "")
        form["username"] = username
        if not USERNAME.fullmatch(username):
            errors["username"] = "Use 3 to 30 letters, digits, dots, dashes or underscores."
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            errors["password"] = f"Use {MIN_PASSWORD} to {MAX_PASSWORD} characters."
        if not errors:
            # Hashing is slow on purpose: do it in a thread, not on the event loop.
            password_hash = await run_sync(generate_password_hash)(password)
            try:
                async with db.transaction() as connection:
                    row = await connection.execute_insert(
                        "INSERT INTO users (username, password_hash) VALUES (?, ?)",
                        (username, password_hash),
                    )
            except sqlite3.IntegrityError:
                errors["username"] = "That username is taken."
            else:
                assert row is not None
                session.clear()
                session["user_id"] = row[0]
                await flash(f"Welcome, {username}! Your account is ready.", "success")
                return redirect(url_for("posts.index"))
    status = 422 if errors else 200
    return await render_template("register.html", form=form, errors=errors), status


@auth.route("/login", methods=["GET", "POST"])
async def login() -> Any:
    form = {"username": "", "next": request.args.get("next", "")}
    errors: dict[str, str] = {}
    if request.method == "POST":
        data = await request.form
        username, password = data.get("username", "").strip(), data.get("password", "")
        form = {"username": username, "next": data.get("next", "")}
        user = await db.fetch_one(
            "SELECT id, username, password_hash FROM users WHERE username = ?", (username,)
        )
        if user is not None and await run_sync(check_password_hash)(
            user["password_hash"], password
        ):
            # A new session on logging in: nothing from before (a planted token) carries over.
            session.clear()
            session["user_id"] = user["id"]
            await flash(f"Welcome back, {user['username']}!", "success")
            return redirect(local_path(form["next"]) or url_for("posts.index"))
        # The same words whether the name or the password is wrong.
        errors["form"] = "Incorrect username or password."
    status = 422 if errors else 200
    return await render_template("login.html", form=form, errors=errors), status


@auth.post("/logout")
async def logout() -> Response:
    session.clear()
    await flash("You have been logged out.", "success")
    return redirect(url_for("posts.index"))


# --- posts --------------------------------------------------------------------------

posts = Blueprint("posts", __name__)

MAX_TITLE, MAX_BODY = 120, 20_000


@posts.get("/")
async def index() -> str:
    rows = await db.fetch_all(
        "SELECT posts.id, title, body, created_at, updated_at, author_id, username"
        " FROM posts JOIN users ON users.id = posts.author_id"
        " ORDER BY posts.id DESC"
    )
    return await render_template("index.html", posts=rows)


async def read_post_form() -> tuple[dict[str, str], dict[str, str]]:
    """The submitted title and body, and what is wrong with them."""
    data = await request.form
    form = {"title": data.get("title", "").strip(), "body": data.get("body", "").strip()}
    errors: dict[str, str] = {}
    if not form["title"]:
        errors["title"] = "A post needs a title."
    elif len(form["title"]) > MAX_TITLE:
        errors["title"] = f"Keep the title to {MAX_TITLE} characters."
    if not form["body"]:
        errors["body"] = "A post needs some text."
    elif len(form["body"]) > MAX_BODY:
        errors["body"] = f"Keep the post to {MAX_BODY} characters."
    return form, errors


async def own_post(post_id: int) -> dict[str, Any]:
    """Post ``post_id`` if the logged-in user wrote it: 404 if there is none, 403 if
    someone else wrote it."""
    post = await db.fetch_one("SELECT * FROM posts WHERE id = ?", (post_id,))
    if post is None:
        raise NotFound("There is no such post.")
    if post["author_id"] != g.user["id"]:
        raise Forbidden("Only its author can change a post.")
    return post


@posts.route("/create", methods=["GET", "POST"])
@login_required
async def create() -> Any:
    form = {"title": "", "body": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form, errors = await read_post_form()
        if not errors:
            async with db.transaction() as connection:
                await connection.execute(
                    "INSERT INTO posts (author_id, title, body, created_at) VALUES (?, ?, ?, ?)",
                    (g.user["id"], form["title"], form["body"], now()),
                )
            await flash("Post published.", "success")
            return redirect(url_for("posts.index"))
    status = 422 if errors else 200
    return await render_template("post_form.html", form=form, errors=errors, post=None), status


@posts.route("/<id:post_id>/edit", methods=["GET", "POST"])
@login_required
async def edit(post_id: int) -> Any:
    post = await own_post(post_id)
    form = {"title": post["title"], "body": post["body"]}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form, errors = await read_post_form()
        if not errors:
            async with db.transaction() as connection:
                await connection.execute(
                    "UPDATE posts SET title = ?, body = ?, updated_at = ? WHERE id = ?",
                    (form["title"], form["body"], now(), post_id),
                )
            await flash("Post updated.", "success")
            return redirect(url_for("posts.index"))
    status = 422 if errors else 200
    return await render_template("post_form.html", form=form, errors=errors, post=post), status


@posts.post("/<id:post_id>/delete")
@login_required
async def delete(post_id: int) -> Response:
    await own_post(post_id)
    async with db.transaction() as connection:
        await connection.execute("DELETE FROM posts WHERE id = ?", (post_id,))
    await flash("Post deleted.", "success")
    return redirect(url_for("posts.index"))


app.register_blueprint(auth)
app.register_blueprint(posts)


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=5000)
