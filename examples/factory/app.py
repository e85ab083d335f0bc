"""A notes service laid out the way most Quart services end up: an app factory, one
blueprint per concern, request and response models that also document the API, JSON
web tokens, a live feed over websockets, JSON errors and security headers.

Run it with ``python examples/factory/app.py`` (development settings, on
http://127.0.0.1:5000; the API's documentation is at /docs), or in production with
several workers, from this directory::

    QUART_SECRET_KEY=... uvicorn --factory app:create_app --workers 4

Settings come from the configuration class given to ``create_app``, then from
``QUART_*`` environment variables (``QUART_SECRET_KEY``, ``QUART_DATABASE``,
``QUART_BROADCAST_URL``, ``QUART_CORS_ORIGINS='["https://app.example.com"]'``...).

    GET    /health                  200 while the database answers (no token needed)
    POST   /auth/register           {"username", "password"}: 201
    POST   /auth/login              {"username", "password"}: an access and a refresh token
    POST   /auth/refresh            Authorization: Bearer <refresh token>: a new access token
    GET    /auth/me                 Authorization: Bearer <access token>
    GET    /api/notes               every note (an access token on every /api route)
    POST   /api/notes               {"title", "body"}: 201, Location
    GET    /api/notes/<id>
    PUT    /api/notes/<id>          its author only (403 for anyone else)
    DELETE /api/notes/<id>          its author only: 204
    WS     /ws/notes?token=<access token>   every change to a note, as it happens
    GET    /openapi.json, /docs     the OpenAPI document and its browsable page

Every error is JSON: ``{"error": {"code": 404, "name": "Not Found", "description":
"..."}}``, with ``"fields"`` added when the body does not match its model (400).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiosqlite
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from quart_cors import cors, cors_exempt
from quart_jwt_extended import (  # type: ignore[import-untyped]
    JWTManager,
    create_access_token,
    create_refresh_token,
    decode_token,
    get_jwt_identity,
    jwt_refresh_token_required,
    jwt_required,
    verify_jwt_in_request,
)
from quart_jwt_extended.config import config as jwt_config  # type: ignore[import-untyped]
from quart_jwt_extended.exceptions import (  # type: ignore[import-untyped]
    NoAuthorizationError,
    WrongTokenError,
)
from quart_schema import (
    QuartSchema,
    RequestSchemaValidationError,
    document_response,
    security_scheme,
    security_scheme_blueprint,
    tag,
    tag_blueprint,
    validate_request,
    validate_response,
)
from werkzeug.exceptions import (
    Conflict,
    Forbidden,
    HTTPException,
    NotFound,
    Unauthorized,
    UnprocessableEntity,
)
from werkzeug.security import check_password_hash, generate_password_hash

from quart import Blueprint, Quart, Response, current_app, g, jsonify, request, url_for, websocket
from quart.broadcast import Broadcast, BroadcastUnavailable, SubscriberTooSlow, Subscription
from quart.utils import run_sync

# --- configuration ------------------------------------------------------------------


class Config:
    """Production settings. ``create_app`` reads ``QUART_*`` variables over these."""

    SECRET_KEY: str | None = None  # QUART_SECRET_KEY: signs the tokens; required
    DATABASE = "notes.sqlite3"  # a path, relative to the working directory
    # memory:// reaches the websockets of this process only; with several workers, use
    # Redis (QUART_BROADCAST_URL=redis://redis:6379/0) so that every worker's feed sees
    # every change.
    BROADCAST_URL = "memory://"
    CORS_ORIGINS: list[str] = []  # the web pages' origins allowed to call the API
    JWT_ACCESS_TOKEN_EXPIRES = timedelta(minutes=15)  # or a number of seconds
    JWT_REFRESH_TOKEN_EXPIRES = timedelta(days=30)
    MAX_CONTENT_LENGTH = 64 * 1024  # a note is small: a larger body is refused (413)


class DevelopmentConfig(Config):
    DEBUG = True
    SECRET_KEY = "development only: never use this key in production!"
    CORS_ORIGINS = ["http://localhost:5173", "http://127.0.0.1:5173"]  # a front end's dev server


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing only: never use this key in production!!"
    DATABASE = ":memory:"  # a fresh, empty database for every app
    CORS_ORIGINS = ["https://notes.example.com"]


#: HS256 keys shorter than this are guessable offline from any token (RFC 7518, 3.2).
MIN_SECRET_KEY_LENGTH = 32


# --- models: they validate requests and responses, and document both ----------------


class Strict(BaseModel):
    """A request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Credentials(Strict):
    username: str = Field(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    password: str = Field(min_length=8, max_length=128)


class Login(Strict):
    # Looser than Credentials: a login form says "wrong username or password", never
    # which rule a guess broke.
    username: str = Field(max_length=64)
    password: str = Field(max_length=128)


class Account(BaseModel):
    username: str


class Tokens(BaseModel):
    access_token: str
    refresh_token: str | None = None
    token_type: str = "Bearer"
    expires_in: int  # seconds until the access token expires


class NoteIn(Strict):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=10_000)


class Note(BaseModel):
    id: int
    author: str
    title: str
    body: str
    created_at: datetime
    updated_at: datetime


class NoteList(BaseModel):
    notes: list[Note]


class FieldError(BaseModel):
    field: str
    message: str


class ErrorDetail(BaseModel):
    code: int
    name: str
    description: str
    fields: list[FieldError] | None = None


class Error(BaseModel):
    error: ErrorDetail


# --- the database -------------------------------------------------------------------

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    author TEXT NOT NULL REFERENCES users (username),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""


class Store:
    """One SQLite connection per worker process, opened when it starts serving and closed
    when it stops; statements take turns on it. Workers share the file, so a user who
    registers through one worker can log in through another."""

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

    async def fetch(self, sql: str, parameters: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        async with self._lock:
            return list(await self._connected().execute_fetchall(sql, parameters))

    async def fetch_one(self, sql: str, parameters: Iterable[Any] = ()) -> aiosqlite.Row | None:
        rows = await self.fetch(sql, parameters)
        return rows[0] if rows else None

    async def insert(self, sql: str, parameters: Iterable[Any] = ()) -> int:
        """Run one INSERT and commit it; the new row's id."""
        async with self._lock:
            connection = self._connected()
            try:
                row = await connection.execute_insert(sql, parameters)
            except sqlite3.Error:
                await connection.rollback()  # end the transaction the failed INSERT began
                raise
            await connection.commit()
        assert row is not None
        return int(row[0])

    async def change(self, sql: str, parameters: Iterable[Any] = ()) -> int:
        """Run one UPDATE or DELETE and commit it; the number of rows changed."""
        async with self._lock:
            connection = self._connected()
            async with connection.execute(sql, parameters) as cursor:
                changed = cursor.rowcount
            await connection.commit()
        return changed

    def _connected(self) -> aiosqlite.Connection:
        if self.connection is None:
            raise RuntimeError("The database is not open: is the app serving?")
        return self.connection


def get_store() -> Store:
    store: Store = current_app.extensions["store"]
    return store


def get_broadcast() -> Broadcast:
    broadcast: Broadcast = current_app.extensions["broadcast"]
    return broadcast


def now() -> str:
    return datetime.now(UTC).isoformat()


# --- errors -------------------------------------------------------------------------


def field_errors(error: Exception) -> list[dict[str, str]]:
    """What is wrong with each field of a body that does not match its model."""
    if not isinstance(error, ValidationError):
        return [{"field": "", "message": str(error)}]
    return [
        {"field": ".".join(str(part) for part in item["loc"]), "message": item["msg"]}
        for item in error.errors(include_url=False)
    ]


def error_response(error: HTTPException) -> tuple[Response, int, list[tuple[str, str]]]:
    """Any HTTP error as ``{"error": {...}}``. Unexpected exceptions arrive here as a 500
    whose description is generic: the traceback goes to the log, never to the client."""
    code = error.code or 500
    body: dict[str, Any] = {"code": code, "name": error.name, "description": error.description}
    if isinstance(error, RequestSchemaValidationError):
        body["description"] = "The body does not match the schema: see 'fields'."
        body["fields"] = field_errors(error.validation_error)
    # Keep the error's own headers (Allow on a 405...) but not its HTML content type.
    headers = [(name, value) for name, value in error.get_headers() if name != "Content-Type"]
    if code == 401:
        headers.append(("WWW-Authenticate", 'Bearer realm="notes"'))
    return jsonify(error=body), code, headers


async def json_error(error: HTTPException) -> tuple[Response, int, list[tuple[str, str]]]:
    return error_response(error)


def use_json_errors_for_tokens(jwt: JWTManager) -> None:
    """quart-jwt-extended answers ``{"msg": ...}`` by default; answer as every other error.
    401 when there is no usable token yet (none, or expired: log in or refresh), 422 for
    a token that can never work (tampered, malformed, or a refresh token in place of an
    access token), as the extension does."""
    jwt.unauthorized_loader(lambda reason: error_response(Unauthorized(f"{reason}.")))
    jwt.expired_token_loader(lambda _token: error_response(Unauthorized("The token has expired.")))
    jwt.invalid_token_loader(
        lambda reason: error_response(UnprocessableEntity(f"The token is invalid: {reason}."))
    )


API_CSP = "default-src 'none'; frame-ancestors 'none'"
# The docs page runs Swagger UI: its script and stylesheet come from a CDN, it starts with
# an inline script, and it fetches /openapi.json.
DOCS_CSP = (
    "default-src 'none'; script-src https://cdnjs.cloudflare.com 'unsafe-inline';"
    " style-src https://cdnjs.cloudflare.com 'unsafe-inline'; img-src 'self' data:;"
    " connect-src 'self'; frame-ancestors 'none'"
)


async def security_headers(response: Response) -> Response:
    """On every response: never sniffed as another type, never framed, never sending
    this URL on as a referrer, no scripts (but on the docs page), not cached."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    docs_page = request.endpoint == "swagger_ui"
    response.headers["Content-Security-Policy"] = DOCS_CSP if docs_page else API_CSP
    response.headers.setdefault("Cache-Control", "no-store")
    # Over HTTPS only; behind a proxy that ends TLS, let the server trust its
    # X-Forwarded-Proto (uvicorn --forwarded-allow-ips), or is_secure stays False.
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return response


# --- health -------------------------------------------------------------------------

health = Blueprint("health", __name__)


@health.get("/health")
@tag(["health"])
async def check_health() -> tuple[dict[str, str], int]:
    """Is the service up? 200 while the database answers, 503 otherwise."""
    try:
        await get_store().fetch("SELECT 1")
    except (sqlite3.Error, ValueError, RuntimeError):
        return {"status": "unavailable"}, 503
    return {"status": "ok"}, 200


# --- auth: accounts and tokens ------------------------------------------------------

auth = Blueprint("auth", __name__, url_prefix="/auth")
tag_blueprint(auth, ["auth"])

# Compared against when the username is unknown, so that a login takes as long whether
# or not the account exists (the time taken would otherwise list the usernames).
UNKNOWN_USER_HASH = generate_password_hash("no account has this password")


def access_token_for(username: str, *, fresh: bool) -> Tokens:
    lifetime: timedelta = jwt_config.access_expires
    return Tokens(
        access_token=create_access_token(identity=username, fresh=fresh),
        expires_in=int(lifetime.total_seconds()),
    )


@auth.post("/register")
@validate_request(Credentials)
@validate_response(Account, 201)
@document_response(Error, 409)
async def register(data: Credentials) -> tuple[Account, int]:
    """Create an account."""
    # Hashing is deliberately slow (scrypt): in a thread, so other requests go on.
    password_hash = await run_sync(generate_password_hash)(data.password)
    try:
        await get_store().insert(
            "INSERT INTO users (username, password_hash, created_at) VALUES (?, ?, ?)",
            (data.username, password_hash, now()),
        )
    except sqlite3.IntegrityError:
        raise Conflict(f"The username {data.username!r} is taken.") from None
    return Account(username=data.username), 201


@auth.post("/login")
@validate_request(Login)
@validate_response(Tokens)
@document_response(Error, 401)
async def login(data: Login) -> Tokens:
    """Trade a username and password for an access token (short-lived, sent with every
    request) and a refresh token (long-lived, sent only to /auth/refresh)."""
    user = await get_store().fetch_one(
        "SELECT password_hash FROM users WHERE username = ?", (data.username,)
    )
    stored_hash = user["password_hash"] if user is not None else UNKNOWN_USER_HASH
    matches = await run_sync(check_password_hash)(stored_hash, data.password)
    if user is None or not matches:
        raise Unauthorized("Wrong username or password.")
    tokens = access_token_for(data.username, fresh=True)
    tokens.refresh_token = create_refresh_token(identity=data.username)
    return tokens


@auth.post("/refresh")
@jwt_refresh_token_required  # type: ignore[untyped-decorator]
@security_scheme([{"bearer": []}])
@validate_response(Tokens)
@document_response(Error, 401)
async def refresh() -> Tokens:
    """A new access token, for the refresh token in the Authorization header."""
    username = get_jwt_identity()
    if await get_store().fetch_one("SELECT 1 FROM users WHERE username = ?", (username,)) is None:
        raise Unauthorized("The account no longer exists.")
    return access_token_for(username, fresh=False)


@auth.get("/me")
@jwt_required  # type: ignore[untyped-decorator]
@security_scheme([{"bearer": []}])
@validate_response(Account)
async def me() -> Account:
    """Whose access token is this?"""
    return Account(username=get_jwt_identity())


# --- the API: notes, for holders of an access token ---------------------------------

api = Blueprint("api", __name__, url_prefix="/api")
tag_blueprint(api, ["notes"])
security_scheme_blueprint(api, [{"bearer": []}])
# Every route of this blueprint needs an access token: checked once here rather than by
# a decorator on each view (which /auth/me shows). CORS preflights (OPTIONS) pass.
api.before_request(verify_jwt_in_request)

NOTE_COLUMNS = "id, author, title, body, created_at, updated_at"


async def get_note_or_404(note_id: int) -> Note:
    row = await get_store().fetch_one(f"SELECT {NOTE_COLUMNS} FROM notes WHERE id = ?", (note_id,))
    if row is None:
        raise NotFound(f"There is no note {note_id}.")
    return Note.model_validate(dict(row))


async def get_own_note(note_id: int) -> Note:
    """The note, if the caller wrote it: anyone may read a note, only its author change it."""
    note = await get_note_or_404(note_id)
    if note.author != get_jwt_identity():
        raise Forbidden("Only the author of a note can change it.")
    return note


async def announce(event: str, note: Note) -> None:
    """Tell every connected feed (on every worker, with Redis). The change is saved
    whatever happens here: a feed that misses it sees the note on its next fetch."""
    try:
        await get_broadcast().publish(
            "notes", {"event": event, "note": note.model_dump(mode="json")}
        )
    except BroadcastUnavailable:
        current_app.logger.warning("The live feed is unavailable: note %s not announced", note.id)


@api.get("/notes")
@validate_response(NoteList)
async def list_notes() -> NoteList:
    """Every note, newest first."""
    rows = await get_store().fetch(f"SELECT {NOTE_COLUMNS} FROM notes ORDER BY id DESC")
    return NoteList(notes=[Note.model_validate(dict(row)) for row in rows])


@api.post("/notes")
@validate_request(NoteIn)
@validate_response(Note, 201)
async def create_note(data: NoteIn) -> tuple[Note, int, dict[str, str]]:
    """Write a note."""
    stamp = now()
    note_id = await get_store().insert(
        "INSERT INTO notes (author, title, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        (get_jwt_identity(), data.title, data.body, stamp, stamp),
    )
    note = await get_note_or_404(note_id)
    await announce("created", note)
    return note, 201, {"Location": url_for("api.read_note", note_id=note.id)}


@api.get("/notes/<int:note_id>")
@validate_response(Note)
@document_response(Error, 404)
async def read_note(note_id: int) -> Note:
    """One note."""
    return await get_note_or_404(note_id)


@api.put("/notes/<int:note_id>")
@validate_request(NoteIn)
@validate_response(Note)
@document_response(Error, 403)
async def update_note(note_id: int, data: NoteIn) -> Note:
    """Rewrite one of your notes."""
    await get_own_note(note_id)
    await get_store().change(
        "UPDATE notes SET title = ?, body = ?, updated_at = ? WHERE id = ?",
        (data.title, data.body, now(), note_id),
    )
    note = await get_note_or_404(note_id)
    await announce("updated", note)
    return note


@api.delete("/notes/<int:note_id>")
@document_response(Error, 403)
async def delete_note(note_id: int) -> tuple[str, int]:
    """Delete one of your notes."""
    note = await get_own_note(note_id)
    await get_store().change("DELETE FROM notes WHERE id = ?", (note_id,))
    await announce("deleted", note)
    return "", 204


# --- the live feed: a websocket for holders of an access token ----------------------

live = Blueprint("live", __name__, url_prefix="/ws")


def websocket_token() -> str:
    """The access token of the handshake: ``?token=`` (browsers cannot set headers on a
    websocket), or an ``Authorization: Bearer`` header (other clients can)."""
    token = websocket.args.get("token")
    if token:
        return token
    scheme, _, value = websocket.headers.get("Authorization", "").partition(" ")
    if scheme == "Bearer" and value:
        return value
    raise NoAuthorizationError("Missing token: connect to /ws/notes?token=<access token>")


@live.before_websocket
async def authenticate() -> None:
    """Checked at the handshake, before it is accepted: a missing, expired or invalid
    token raises quart-jwt-extended's errors, whose handlers (use_json_errors_for_tokens)
    refuse the handshake with the same 401 or 422 JSON an HTTP request would get."""
    claims = decode_token(websocket_token())
    if claims["type"] != "access":
        raise WrongTokenError("Only access tokens are allowed")
    g.username = claims[jwt_config.identity_claim_key]
    g.token_expires_at = claims.get("exp")


@live.websocket("/notes")
@cors_exempt  # the token is sent on purpose, not by the browser on its own as a cookie
async def note_feed() -> None:
    """Every change to a note, as ``{"event": "created" | "updated" | "deleted", "note":
    {...}}``, after a first ``{"event": "ready", "username": ...}``. Closed with 1008
    when the access token expires: connect again with a fresh one."""
    await websocket.accept()
    async with get_broadcast().subscribe("notes") as subscription:
        # Subscribed before saying so: a change made after "ready" is never missed.
        await websocket.send_json({"event": "ready", "username": g.username})
        relay = asyncio.create_task(forward(subscription))
        expires_at = g.token_expires_at
        left = None if expires_at is None else max(0.0, expires_at - time.time())
        expired = False
        try:
            async with asyncio.timeout(left):
                while True:
                    await websocket.receive()  # the feed takes no messages: ignored
        except TimeoutError:
            expired = True
        finally:
            relay.cancel()
            await asyncio.wait((relay,))
    if expired:
        await websocket.close(1008, "The access token has expired: connect with a new one.")


async def forward(subscription: Subscription) -> None:
    try:
        async for message in subscription:
            await websocket.send_json(message)
    except SubscriberTooSlow:
        await websocket.close(1013, "Too far behind: connect again.")
    else:  # the broadcast closed: the server is stopping
        await websocket.close(1012, "The server is restarting.")


# --- the app ------------------------------------------------------------------------


def create_app(config: type[Config] = Config) -> Quart:
    """A new app: settings from ``config`` and then ``QUART_*`` variables, extensions,
    blueprints, error handlers, and the database's opening and closing."""
    app = Quart(__name__, static_folder=None)  # an API serves no static files
    app.config.from_object(config)
    app.config.from_prefixed_env()
    secret_key = app.config["SECRET_KEY"]
    if not isinstance(secret_key, str) or len(secret_key) < MIN_SECRET_KEY_LENGTH:
        raise RuntimeError(
            f"Set QUART_SECRET_KEY to a random string of at least {MIN_SECRET_KEY_LENGTH}"
            " characters: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )

    QuartSchema(
        app,
        info={"title": "Notes", "version": "1.0.0"},
        security_schemes={"bearer": {"type": "http", "scheme": "bearer", "bearer_format": "JWT"}},
        redoc_ui_path=None,  # one documentation page, /docs, is enough
        scalar_ui_path=None,
    )
    use_json_errors_for_tokens(JWTManager(app))
    Broadcast(app.config["BROADCAST_URL"]).init_app(app)

    store = Store()
    app.extensions["store"] = store

    @app.before_serving
    async def open_store() -> None:
        await store.open(app.config["DATABASE"])

    @app.after_serving
    async def close_store() -> None:
        await store.close()

    app.register_error_handler(HTTPException, json_error)
    app.after_request(security_headers)
    for blueprint in (health, auth, api, live):
        app.register_blueprint(blueprint)
    cors(
        app,
        allow_origin=app.config["CORS_ORIGINS"],
        allow_headers=["Authorization", "Content-Type"],
        expose_headers=["Location"],
        max_age=600,
    )
    return app


if __name__ == "__main__":
    create_app(DevelopmentConfig).run(host="127.0.0.1", port=5000)
