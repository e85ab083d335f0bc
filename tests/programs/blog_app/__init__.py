"""A small server-rendered blog, written from the description of Quart's blog tutorial:
posts kept in SQLite, listed newest first by a template, created through an HTML form.
Added on top, as a Quart user would: a login kept in the session, flashed messages, a
page per post with a custom 404 page, a JSON listing and an ``init_db`` CLI command."""

from __future__ import annotations

import sqlite3
from functools import wraps
from pathlib import Path
from typing import Any

from quart import (
    Quart,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

app = Quart(__name__)
app.config.update(
    DATABASE=Path(app.root_path) / "blog.db",
    SECRET_KEY="not-a-secret-only-for-the-tests",
    USERNAME="admin",
    PASSWORD="hunter2",
)


def _connect_db() -> sqlite3.Connection:
    connection = sqlite3.connect(app.config["DATABASE"])
    connection.row_factory = sqlite3.Row
    return connection


def init_db() -> None:
    """Create the tables afresh; any existing posts are lost."""
    connection = _connect_db()
    try:
        schema = (Path(app.root_path) / "schema.sql").read_text()
        connection.executescript(schema)
        connection.commit()
    finally:
        connection.close()


def _get_db() -> sqlite3.Connection:
    if "sqlite_db" not in g:
        g.sqlite_db = _connect_db()
    return g.sqlite_db


@app.teardown_appcontext
async def _close_db(_exc: BaseException | None) -> None:
    connection = g.pop("sqlite_db", None)
    if connection is not None:
        connection.close()


@app.cli.command("init_db")
def init_db_command() -> None:
    """Wipe the database and create the tables."""
    init_db()
    print("Initialised the database.")


def login_required(view: Any) -> Any:
    @wraps(view)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not session.get("logged_in"):
            return redirect(url_for("login", next=request.path))
        return await view(*args, **kwargs)

    return wrapper


@app.get("/")
async def posts() -> str:
    rows = _get_db().execute("SELECT id, title, body FROM post ORDER BY id DESC").fetchall()
    return await render_template("posts.html", posts=rows)


@app.get("/posts.json")
async def posts_json() -> Any:
    rows = _get_db().execute("SELECT id, title, body FROM post ORDER BY id").fetchall()
    return jsonify([dict(row) for row in rows])


@app.get("/post/<int:post_id>/")
async def post(post_id: int) -> str:
    row = _get_db().execute("SELECT id, title, body FROM post WHERE id = ?", (post_id,)).fetchone()
    if row is None:
        abort(404)
    return await render_template("post.html", post=row)


@app.route("/create/", methods=["GET", "POST"])
@login_required
async def create() -> Any:
    if request.method == "POST":
        form = await request.form
        title = form.get("title", "").strip()
        body = form.get("text", "")
        if not title:
            await flash("A title is required.", "error")
            return await render_template("create.html", body=body), 400
        db = _get_db()
        db.execute("INSERT INTO post (title, body) VALUES (?, ?)", (title, body))
        db.commit()
        await flash("Post created.")
        return redirect(url_for("posts"))
    return await render_template("create.html", body="")


@app.route("/login/", methods=["GET", "POST"])
async def login() -> Any:
    error = None
    if request.method == "POST":
        form = await request.form
        if (
            form.get("username") == app.config["USERNAME"]
            and form.get("password") == app.config["PASSWORD"]
        ):
            session["logged_in"] = True
            session["user"] = form["username"]
            await flash(f"Welcome back, {form['username']}.")
            return redirect(request.args.get("next") or url_for("posts"))
        error = "Wrong username or password."
    status = 401 if error else 200
    return await render_template("login.html", error=error), status


@app.post("/logout/")
async def logout() -> Any:
    session.clear()
    await flash("Logged out.")
    return redirect(url_for("posts"))


@app.errorhandler(404)
async def not_found(_error: Exception) -> Any:
    return await render_template("404.html"), 404


def run() -> None:
    app.run()
