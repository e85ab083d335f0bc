"""A JSON API for an inventory of items: an app factory with configuration classes,
blueprints, a SQLite database through an async driver, JSON errors, security headers
and background work that answers 202.

Run it with ``python examples/api/app.py`` (the development configuration, on
http://127.0.0.1:5000), or with any ASGI server: ``hypercorn "app:create_app()"`` from
this directory. Settings come from the configuration class, then from ``QUART_*``
environment variables: ``QUART_DATABASE=/var/lib/items.sqlite3``, ``QUART_MAX_PER_PAGE=50``.

    GET    /api/v1/health                 is the database reachable?
    GET    /api/v1/items?page=1&per_page=20
    POST   /api/v1/items                  {"name": ..., "description": ..., "quantity": ...}
    GET    /api/v1/items/<id>
    PUT    /api/v1/items/<id>             every field
    PATCH  /api/v1/items/<id>             some fields
    DELETE /api/v1/items/<id>
    POST   /api/v1/items/<id>/export      202, Location: /api/v1/jobs/<job id>
    GET    /api/v1/jobs/<job id>          {"status": "pending" | "done" | "failed", ...}

Every error, including a 404 from routing and a 500 from a bug, is JSON:
``{"error": {"code": 404, "name": "Not Found", "description": "..."}}``; a request whose
fields are wrong also gets ``"fields": {"name": "what is wrong with it"}``.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import secrets
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aiosqlite
from werkzeug.exceptions import BadRequest, Conflict, HTTPException, NotFound, UnsupportedMediaType
from werkzeug.routing import IntegerConverter

from quart import Blueprint, Quart, Response, current_app, jsonify, request, url_for

# --- configuration ------------------------------------------------------------------


class Config:
    """Production settings. ``create_app`` reads ``QUART_*`` variables over these."""

    DATABASE = "items.sqlite3"  # a path, relative to the working directory
    MAX_CONTENT_LENGTH = 64 * 1024  # an item is small: a larger body is refused (413)
    DEFAULT_PER_PAGE = 20
    MAX_PER_PAGE = 100


class DevelopmentConfig(Config):
    DEBUG = True  # reloader, and a traceback page instead of the JSON 500


class TestingConfig(Config):
    TESTING = True
    DATABASE = ":memory:"  # a fresh, empty database for every app


# --- the database -------------------------------------------------------------------

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    quantity INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
    result TEXT,
    created_at TEXT NOT NULL,
    finished_at TEXT
);
"""


class Database:
    """One aiosqlite connection for the whole app, opened when the app starts serving
    and closed when it stops.

    Every request shares the connection, so its use is taken in turns (``_lock``): a
    transaction is never interleaved with another request's statements, and a rollback
    undoes only its own work. SQLite runs one statement at a time anyway."""

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

    async def fetch_all(self, sql: str, parameters: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        async with self._lock:
            return list(await self._connected().execute_fetchall(sql, parameters))

    async def fetch_one(self, sql: str, parameters: Iterable[Any] = ()) -> aiosqlite.Row | None:
        rows = await self.fetch_all(sql, parameters)
        return rows[0] if rows else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection, for statements that are committed together at the end of the
        block, or rolled back if it raises."""
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


class RowId(IntegerConverter):
    """``<id:...>`` in a rule: a whole number of at most 18 digits, which always fits a
    SQLite row id. A longer one matches no route (404) instead of overflowing in the
    query (500)."""

    regex = r"\d{1,18}"


def get_db() -> Database:
    database: Database = current_app.extensions["database"]
    return database


def now() -> str:
    return datetime.now(UTC).isoformat()


# --- errors -------------------------------------------------------------------------


class InvalidFields(HTTPException):
    """Some fields of the request are wrong; ``fields`` says which and why, and is sent
    to the client. 400 for the query string, 422 for a JSON body whose values are wrong."""

    def __init__(self, code: int, fields: dict[str, str]) -> None:
        super().__init__("Some fields are invalid: see 'fields'.")
        self.code = code
        self.fields = fields


async def json_error(error: HTTPException) -> tuple[Response, int, list[tuple[str, str]]]:
    """Every HTTP error as JSON. Unexpected exceptions arrive here too, as a 500 whose
    description is generic: the traceback goes to the log, never to the client."""
    body: dict[str, Any] = {
        "code": error.code,
        "name": error.name,
        "description": error.description,
    }
    if isinstance(error, InvalidFields):
        body["fields"] = error.fields
    # Keep the error's own headers (Allow on a 405, ...) but not its HTML content type.
    headers = [(name, value) for name, value in error.get_headers() if name != "Content-Type"]
    return jsonify(error=body), error.code or 500, headers


async def security_headers(response: Response) -> Response:
    """Headers that tell browsers to treat every response as data: never sniffed as
    HTML, never framed, never sending this URL on as a referrer, no scripts at all."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
    response.headers.setdefault("Cache-Control", "no-store")
    # HSTS means something only over HTTPS. Behind a proxy that ends TLS, let the server
    # trust its X-Forwarded-Proto (uvicorn --proxy-headers, hypercorn's
    # ProxyFixMiddleware), or is_secure stays False.
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return response


# --- items --------------------------------------------------------------------------

items = Blueprint("items", __name__, url_prefix="/api/v1/items")

FIELDS = {"name", "description", "quantity"}
MAX_NAME = 100
MAX_DESCRIPTION = 2000
MAX_QUANTITY = 1_000_000


def item_json(row: aiosqlite.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "quantity": row["quantity"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def positive_int_arg(name: str, default: int, maximum: int, errors: dict[str, str]) -> int:
    """The query argument ``name`` as a whole number from 1 to ``maximum``; a wrong
    value is noted in ``errors``."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if re.fullmatch(r"[0-9]{1,7}", raw) and 1 <= int(raw) <= maximum:
        return int(raw)
    errors[name] = f"Must be a whole number from 1 to {maximum}."
    return default


async def json_body() -> dict[str, Any]:
    """The request's JSON object: 415 if it is not JSON, 400 if it is malformed or not
    an object."""
    if not request.is_json:
        raise UnsupportedMediaType("Send the item as JSON (Content-Type: application/json).")
    data = await request.get_json()  # malformed JSON raises a 400
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.")
    return data


def validate_item(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """The item fields in ``data``, checked; every problem is reported at once (422).
    ``partial`` (PATCH) allows fields to be missing; a new item needs a name."""
    errors = {key: "Unknown field." for key in sorted(data.keys() - FIELDS)}
    values: dict[str, Any] = {}
    if "name" in data:
        name = data["name"]
        if not isinstance(name, str) or not name.strip():
            errors["name"] = "Must be a non-empty string."
        elif len(name.strip()) > MAX_NAME:
            errors["name"] = f"Must be at most {MAX_NAME} characters."
        else:
            values["name"] = name.strip()
    elif not partial:
        errors["name"] = "This field is required."
    if "description" in data:
        description = data["description"]
        if not isinstance(description, str):
            errors["description"] = "Must be a string."
        elif len(description) > MAX_DESCRIPTION:
            errors["description"] = f"Must be at most {MAX_DESCRIPTION} characters."
        else:
            values["description"] = description
    if "quantity" in data:
        quantity = data["quantity"]
        # bool is an int in Python, but true is not a quantity.
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            errors["quantity"] = "Must be a whole number."
        elif not 0 <= quantity <= MAX_QUANTITY:
            errors["quantity"] = f"Must be from 0 to {MAX_QUANTITY}."
        else:
            values["quantity"] = quantity
    if errors:
        raise InvalidFields(422, errors)
    return values


async def get_item_or_404(item_id: int) -> aiosqlite.Row:
    row = await get_db().fetch_one("SELECT * FROM items WHERE id = ?", (item_id,))
    if row is None:
        raise NotFound(f"There is no item {item_id}.")
    return row


def name_taken(values: dict[str, Any]) -> Conflict:
    return Conflict(f"An item named {values['name']!r} already exists.")


@items.get("")
async def list_items() -> dict[str, Any]:
    errors: dict[str, str] = {}
    config = current_app.config
    page = positive_int_arg("page", 1, 1_000_000, errors)
    per_page = positive_int_arg(
        "per_page", config["DEFAULT_PER_PAGE"], config["MAX_PER_PAGE"], errors
    )
    if errors:
        raise InvalidFields(400, errors)
    db = get_db()
    rows = await db.fetch_all(
        "SELECT * FROM items ORDER BY id LIMIT ? OFFSET ?", (per_page, (page - 1) * per_page)
    )
    count = await db.fetch_one("SELECT COUNT(*) AS total FROM items")
    total = count["total"] if count is not None else 0
    return {
        "items": [item_json(row) for row in rows],
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": math.ceil(total / per_page),
    }


@items.post("")
async def create_item() -> tuple[dict[str, Any], int, dict[str, str]]:
    values = {"description": "", "quantity": 0} | validate_item(await json_body(), partial=False)
    stamp = now()
    try:
        async with get_db().transaction() as connection:
            row = await connection.execute_insert(
                "INSERT INTO items (name, description, quantity, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (values["name"], values["description"], values["quantity"], stamp, stamp),
            )
    except sqlite3.IntegrityError:
        raise name_taken(values) from None
    assert row is not None
    item = await get_item_or_404(row[0])
    location = url_for("items.get_item", item_id=item["id"])
    return item_json(item), 201, {"Location": location}


@items.get("/<id:item_id>")
async def get_item(item_id: int) -> dict[str, Any]:
    return item_json(await get_item_or_404(item_id))


@items.route("/<id:item_id>", methods=["PUT", "PATCH"])
async def update_item(item_id: int) -> dict[str, Any]:
    """PUT replaces the item (fields left out get their defaults); PATCH changes only the
    fields it sends."""
    data = await json_body()
    await get_item_or_404(item_id)
    if request.method == "PUT":
        values = {"description": "", "quantity": 0} | validate_item(data, partial=False)
    else:
        values = validate_item(data, partial=True)
    if values:
        # The column names come from FIELDS, never from the client; the values are bound.
        assignments = ", ".join(f"{column} = ?" for column in values)
        try:
            async with get_db().transaction() as connection:
                await connection.execute(
                    f"UPDATE items SET {assignments}, updated_at = ? WHERE id = ?",
                    (*values.values(), now(), item_id),
                )
        except sqlite3.IntegrityError:
            raise name_taken(values) from None
    return item_json(await get_item_or_404(item_id))


@items.delete("/<id:item_id>")
async def delete_item(item_id: int) -> tuple[str, int]:
    async with (
        get_db().transaction() as connection,
        connection.execute("DELETE FROM items WHERE id = ?", (item_id,)) as cursor,
    ):
        deleted = cursor.rowcount
    if not deleted:
        raise NotFound(f"There is no item {item_id}.")
    return "", 204


@items.post("/<id:item_id>/export")
async def export_item(item_id: int) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Start an export and answer at once (202): the job's URL says when it is done."""
    job_id = secrets.token_urlsafe(16)  # unguessable: a job's URL is its only key
    async with get_db().transaction() as connection:
        # Checked in the transaction, so that the item cannot go away before the insert.
        if not await connection.execute_fetchall("SELECT 1 FROM items WHERE id = ?", (item_id,)):
            raise NotFound(f"There is no item {item_id}.")
        await connection.execute(
            "INSERT INTO jobs (id, item_id, status, created_at) VALUES (?, ?, 'pending', ?)",
            (job_id, item_id, now()),
        )
    current_app.add_background_task(run_export, job_id, item_id)
    job = await get_db().fetch_one("SELECT * FROM jobs WHERE id = ?", (job_id,))
    assert job is not None
    return job_json(job), 202, {"Location": url_for("jobs.get_job", job_id=job_id)}


# --- background jobs ----------------------------------------------------------------

jobs = Blueprint("jobs", __name__, url_prefix="/api/v1/jobs")


def job_json(row: aiosqlite.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "item_id": row["item_id"],
        "status": row["status"],
        "created_at": row["created_at"],
        "finished_at": row["finished_at"],
        "result": json.loads(row["result"]) if row["result"] is not None else None,
    }


def build_export(item: aiosqlite.Row) -> dict[str, Any]:
    """The exported document (a real export might render a file and upload it)."""
    return {"format": "items-export/1", "exported_at": now(), "item": item_json(item)}


async def run_export(job_id: str, item_id: int) -> None:
    """The job itself, run after the 202 has been sent, in the app context (not the
    request's, which is over). A failure is recorded on the job, then raised so that the
    app logs it."""
    db = get_db()
    try:
        item = await db.fetch_one("SELECT * FROM items WHERE id = ?", (item_id,))
        if item is None:
            return  # deleted meanwhile: its jobs went with it
        document = json.dumps(build_export(item))
        async with db.transaction() as connection:
            await connection.execute(
                "UPDATE jobs SET status = 'done', result = ?, finished_at = ? WHERE id = ?",
                (document, now(), job_id),
            )
    except Exception:
        async with db.transaction() as connection:
            await connection.execute(
                "UPDATE jobs SET status = 'failed', finished_at = ? WHERE id = ?",
                (now(), job_id),
            )
        raise


@jobs.get("/<job_id>")
async def get_job(job_id: str) -> dict[str, Any]:
    job = await get_db().fetch_one("SELECT * FROM jobs WHERE id = ?", (job_id,))
    if job is None:
        raise NotFound("There is no such job.")
    return job_json(job)


# --- health -------------------------------------------------------------------------

health = Blueprint("health", __name__, url_prefix="/api/v1/health")


@health.get("")
async def check_health() -> tuple[dict[str, str], int]:
    """200 while the database answers, 503 otherwise (for a load balancer to see)."""
    try:
        await get_db().fetch_one("SELECT 1")
    except (sqlite3.Error, ValueError, RuntimeError):
        return {"status": "unavailable"}, 503
    return {"status": "ok"}, 200


# --- the app ------------------------------------------------------------------------


def create_app(config: type[Config] = Config) -> Quart:
    """A new app: settings from ``config`` and then ``QUART_*`` variables, the
    blueprints, the error handler and the database's opening and closing."""
    app = Quart(__name__, static_folder=None)  # an API serves no static files
    app.config.from_object(config)
    app.config.from_prefixed_env()

    database = Database()
    app.extensions["database"] = database

    @app.before_serving
    async def open_database() -> None:
        await database.open(app.config["DATABASE"])

    @app.after_serving
    async def close_database() -> None:
        await database.close()

    app.register_error_handler(HTTPException, json_error)
    app.after_request(security_headers)
    app.url_map.converters["id"] = RowId
    app.register_blueprint(items)
    app.register_blueprint(jobs)
    app.register_blueprint(health)
    return app


if __name__ == "__main__":
    create_app(DevelopmentConfig).run(host="127.0.0.1", port=5000)
