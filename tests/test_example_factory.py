"""The factory example (examples/factory/app.py) with the test client, the app started and
stopped around each test by ``app.test_app()``: configuration, accounts and tokens, the
notes API and who may change a note, every error's JSON shape, the security headers,
CORS, the OpenAPI document, the websocket feed and its handshake; and the Dockerfile's
command (uvicorn with several workers) run for real, so that the recipe cannot rot."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from quart_jwt_extended import create_access_token, decode_token

from example_apps import EXAMPLES, load_example
from quart import Quart
from quart.testing import QuartClient, WebsocketDisconnectError, WebsocketResponseError
from server.serving import HOST, free_port

DEADLINE = 10.0
PASSWORD = "correct horse battery"
ORIGIN = "https://notes.example.com"  # TestingConfig.CORS_ORIGINS
SECRET = "a test secret key that is long enough for HS256"


@pytest.fixture
def example() -> ModuleType:
    return load_example("factory")


@pytest.fixture
async def app(example: ModuleType) -> AsyncIterator[Quart]:
    app = example.create_app(example.TestingConfig)
    async with app.test_app():
        yield app


@pytest.fixture
def client(app: Quart) -> QuartClient:
    return app.test_client()


async def error_of(response: Any, code: int) -> dict[str, Any]:
    """The JSON error body of ``response``, after checking its status and shape."""
    assert response.status_code == code, await response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = await response.get_json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert (
        {"code", "name", "description"} <= set(error) <= {"code", "name", "description", "fields"}
    )
    assert error["code"] == code
    return error


async def sign_up(client: QuartClient, username: str) -> dict[str, Any]:
    """Register ``username`` and log in: the tokens."""
    credentials = {"username": username, "password": PASSWORD}
    registered = await client.post("/auth/register", json=credentials)
    assert registered.status_code == 201, await registered.get_data(as_text=True)
    assert await registered.get_json() == {"username": username}
    logged_in = await client.post("/auth/login", json=credentials)
    assert logged_in.status_code == 200
    tokens: dict[str, Any] = await logged_in.get_json()
    return tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- configuration ------------------------------------------------------------------


def test_production_refuses_to_start_without_a_long_secret_key(
    example: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QUART_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="QUART_SECRET_KEY"):
        example.create_app()
    monkeypatch.setenv("QUART_SECRET_KEY", "x" * 31)
    with pytest.raises(RuntimeError, match="at least 32 characters"):
        example.create_app()
    monkeypatch.setenv("QUART_SECRET_KEY", SECRET)
    app = example.create_app()
    assert app.config["SECRET_KEY"] == SECRET
    assert app.config["DATABASE"] == "notes.sqlite3"
    assert app.config["CORS_ORIGINS"] == []
    assert not app.debug
    assert example.create_app(example.DevelopmentConfig).debug


async def test_the_environment_overrides_the_class(
    example: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUART_JWT_ACCESS_TOKEN_EXPIRES", "60")  # seconds, JSON-decoded
    monkeypatch.setenv("QUART_CORS_ORIGINS", '["https://other.example.org"]')
    app = example.create_app(example.TestingConfig)
    assert app.config["CORS_ORIGINS"] == ["https://other.example.org"]
    async with app.test_app():
        client = app.test_client()
        tokens = await sign_up(client, "ada")
        preflight = await client.options(
            "/api/notes",
            headers={
                "Origin": "https://other.example.org",
                "Access-Control-Request-Method": "POST",
            },
        )
        async with app.app_context():
            claims = decode_token(tokens["access_token"])
    assert tokens["expires_in"] == 60
    assert claims["exp"] - claims["iat"] == 60
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://other.example.org"


# --- accounts and tokens ------------------------------------------------------------


async def test_register_log_in_refresh(app: Quart, client: QuartClient) -> None:
    tokens = await sign_up(client, "ada")
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 15 * 60
    me = await client.get("/auth/me", headers=bearer(tokens["access_token"]))
    assert await me.get_json() == {"username": "ada"}

    refreshed = await client.post("/auth/refresh", headers=bearer(tokens["refresh_token"]))
    assert refreshed.status_code == 200
    new = await refreshed.get_json()
    assert new["refresh_token"] is None  # a refresh gives an access token only
    async with app.app_context():
        logged_in = decode_token(tokens["access_token"])
        renewed = decode_token(new["access_token"])
    assert (logged_in["identity"], logged_in["type"], logged_in["fresh"]) == ("ada", "access", True)
    # A token from a refresh is not fresh: a password change, say, could insist on one that is.
    assert (renewed["identity"], renewed["type"], renewed["fresh"]) == ("ada", "access", False)
    me = await client.get("/auth/me", headers=bearer(new["access_token"]))
    assert await me.get_json() == {"username": "ada"}


async def test_a_taken_username_is_a_conflict(client: QuartClient) -> None:
    await sign_up(client, "ada")
    again = await client.post("/auth/register", json={"username": "ada", "password": PASSWORD})
    error = await error_of(again, 409)
    assert error["description"] == "The username 'ada' is taken."


async def test_a_wrong_password_and_an_unknown_user_look_alike(client: QuartClient) -> None:
    await sign_up(client, "ada")
    wrong = await client.post("/auth/login", json={"username": "ada", "password": "guess"})
    unknown = await client.post("/auth/login", json={"username": "bob", "password": PASSWORD})
    assert await error_of(wrong, 401) == await error_of(unknown, 401)
    assert wrong.headers["WWW-Authenticate"] == 'Bearer realm="notes"'


async def test_passwords_are_stored_hashed(app: Quart, client: QuartClient) -> None:
    await sign_up(client, "ada")
    row = await app.extensions["store"].fetch_one(
        "SELECT password_hash FROM users WHERE username = 'ada'"
    )
    assert PASSWORD not in row["password_hash"]
    assert row["password_hash"].startswith("scrypt:")


async def test_registration_rules(client: QuartClient) -> None:
    response = await client.post("/auth/register", json={"username": "a b", "password": "short"})
    error = await error_of(response, 400)
    assert {item["field"] for item in error["fields"]} == {"username", "password"}


async def test_token_errors(app: Quart, client: QuartClient) -> None:
    tokens = await sign_up(client, "ada")
    missing = await error_of(await client.get("/api/notes"), 401)
    assert missing["description"] == "Missing Authorization Header."
    not_bearer = await client.get("/api/notes", headers={"Authorization": "Basic YWRhOng="})
    await error_of(not_bearer, 422)
    garbage = await error_of(await client.get("/api/notes", headers=bearer("garbage")), 422)
    assert garbage["description"] == "The token is invalid: Not enough segments."
    # The claims changed to another user's, the signature kept: found out.
    head, payload, signature = tokens["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["identity"] = "bob"
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    forged = f"{head}.{payload}.{signature}"
    tampered = await error_of(await client.get("/api/notes", headers=bearer(forged)), 422)
    assert "Signature verification failed" in tampered["description"]
    # Each kind of token only where it belongs.
    wrong_kind = await client.get("/api/notes", headers=bearer(tokens["refresh_token"]))
    assert "Only access tokens are allowed" in (await error_of(wrong_kind, 422))["description"]
    wrong_kind = await client.post("/auth/refresh", headers=bearer(tokens["access_token"]))
    assert "Only refresh tokens are allowed" in (await error_of(wrong_kind, 422))["description"]
    async with app.app_context():
        expired = create_access_token(identity="ada", expires_delta=timedelta(seconds=-5))
    response = await client.get("/api/notes", headers=bearer(expired))
    assert (await error_of(response, 401))["description"] == "The token has expired."
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="notes"'


async def test_a_refresh_for_a_deleted_account_is_refused(app: Quart, client: QuartClient) -> None:
    tokens = await sign_up(client, "ada")
    await app.extensions["store"].change("DELETE FROM users WHERE username = 'ada'")
    response = await client.post("/auth/refresh", headers=bearer(tokens["refresh_token"]))
    assert (await error_of(response, 401))["description"] == "The account no longer exists."


# --- notes --------------------------------------------------------------------------


async def test_a_note_from_creation_to_deletion(client: QuartClient) -> None:
    ada = bearer((await sign_up(client, "ada"))["access_token"])
    created = await client.post(
        "/api/notes", json={"title": "Shopping", "body": "tea"}, headers=ada
    )
    assert created.status_code == 201
    note = await created.get_json()
    assert created.headers["Location"] == f"/api/notes/{note['id']}"
    assert (note["author"], note["title"], note["body"]) == ("ada", "Shopping", "tea")
    assert note["created_at"] == note["updated_at"]

    assert await (await client.get(created.headers["Location"], headers=ada)).get_json() == note
    listed = await (await client.get("/api/notes", headers=ada)).get_json()
    assert listed == {"notes": [note]}

    updated = await client.put(created.headers["Location"], json={"title": "Shop"}, headers=ada)
    assert updated.status_code == 200
    changed = await updated.get_json()
    assert (changed["title"], changed["body"]) == ("Shop", "")
    assert changed["created_at"] == note["created_at"]
    assert changed["updated_at"] >= note["updated_at"]

    deleted = await client.delete(created.headers["Location"], headers=ada)
    assert deleted.status_code == 204
    assert await deleted.get_data() == b""
    gone = await client.get(created.headers["Location"], headers=ada)
    assert (await error_of(gone, 404))["description"] == f"There is no note {note['id']}."


async def test_only_the_author_changes_a_note(client: QuartClient) -> None:
    ada = bearer((await sign_up(client, "ada"))["access_token"])
    bob = bearer((await sign_up(client, "bob"))["access_token"])
    note = await (await client.post("/api/notes", json={"title": "mine"}, headers=ada)).get_json()
    location = f"/api/notes/{note['id']}"
    assert (await client.get(location, headers=bob)).status_code == 200  # anyone may read it
    forbidden = await error_of(await client.put(location, json={"title": "ours"}, headers=bob), 403)
    assert forbidden["description"] == "Only the author of a note can change it."
    await error_of(await client.delete(location, headers=bob), 403)
    assert (await (await client.get(location, headers=ada)).get_json())["title"] == "mine"
    listed = await (await client.get("/api/notes", headers=bob)).get_json()
    assert [entry["title"] for entry in listed["notes"]] == ["mine"]


async def test_notes_are_listed_newest_first(client: QuartClient) -> None:
    ada = bearer((await sign_up(client, "ada"))["access_token"])
    for title in ("one", "two", "three"):
        await client.post("/api/notes", json={"title": title}, headers=ada)
    listed = await (await client.get("/api/notes", headers=ada)).get_json()
    assert [note["title"] for note in listed["notes"]] == ["three", "two", "one"]


async def test_bodies_that_do_not_match_the_model(client: QuartClient) -> None:
    ada = bearer((await sign_up(client, "ada"))["access_token"])
    bad = await client.post("/api/notes", json={"title": "", "colour": "red"}, headers=ada)
    error = await error_of(bad, 400)
    assert error["description"] == "The body does not match the schema: see 'fields'."
    assert error["fields"] == [
        {"field": "title", "message": "String should have at least 1 character"},
        {"field": "colour", "message": "Extra inputs are not permitted"},
    ]
    not_json = await client.post("/api/notes", form={"title": "x"}, headers=ada)
    assert (await error_of(not_json, 400))["fields"][0]["field"] == ""
    malformed = await client.post(
        "/api/notes", data=b"{", headers={**ada, "Content-Type": "application/json"}
    )
    await error_of(malformed, 400)
    too_big = await client.post("/api/notes", json={"title": "x" * (70 * 1024)}, headers=ada)
    await error_of(too_big, 413)
    assert (await client.get("/api/notes", headers=ada)).status_code == 200  # nothing saved
    assert await (await client.get("/api/notes", headers=ada)).get_json() == {"notes": []}


# --- errors and headers -------------------------------------------------------------


async def test_routing_errors_are_json(client: QuartClient) -> None:
    assert (await error_of(await client.get("/nowhere"), 404))["name"] == "Not Found"
    wrong_method = await client.patch("/api/notes")
    await error_of(wrong_method, 405)
    assert set(wrong_method.headers["Allow"].split(", ")) >= {"GET", "POST"}


async def test_a_bug_is_a_json_500_without_the_traceback(
    example: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    app = example.create_app(example.TestingConfig)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # TESTING would raise it in the test instead

    @app.get("/bug")
    async def bug() -> str:
        raise RuntimeError("secret internals")

    async with app.test_app():
        response = await app.test_client().get("/bug")
    error = await error_of(response, 500)
    assert error["name"] == "Internal Server Error"
    assert "secret internals" not in await response.get_data(as_text=True)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    logged = [record for record in caplog.records if record.exc_info]
    assert len(logged) == 1
    assert "secret internals" in str(logged[0].exc_info[1])


async def test_security_headers_on_every_response(client: QuartClient) -> None:
    for response in (
        await client.get("/health"),
        await client.get("/nowhere"),
        await client.get("/openapi.json"),
    ):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert (
            response.headers["Content-Security-Policy"]
            == "default-src 'none'; frame-ancestors 'none'"
        )
        assert response.headers["Cache-Control"] == "no-store"
        assert "Strict-Transport-Security" not in response.headers
    over_https = await client.get("/health", scheme="https")
    assert over_https.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


async def test_only_the_docs_page_may_run_scripts(client: QuartClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    html = await page.get_data(as_text=True)
    assert "SwaggerUIBundle" in html
    assert 'url: "/openapi.json"' in html
    policy = page.headers["Content-Security-Policy"]
    script = re.search(r"script-src ([^;]+)", policy)
    assert script is not None
    # Exactly where the page loads its script from.
    source = re.search(r'<script src="([^"]+)"', html)
    assert source is not None and source.group(1).startswith(script.group(1).split()[0])
    assert "frame-ancestors 'none'" in policy
    for other in ("/redocs", "/scalar"):
        await error_of(await client.get(other), 404)


async def test_cors_for_the_configured_origin_only(client: QuartClient) -> None:
    preflight = await client.options(
        "/api/notes",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )
    assert preflight.status_code == 200  # no token needed for a preflight
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert set(preflight.headers["Access-Control-Allow-Headers"].split(", ")) == {
        "authorization",
        "content-type",
    }
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Max-Age"] == "600"
    tokens = await sign_up(client, "ada")
    created = await client.post(
        "/api/notes",
        json={"title": "x"},
        headers={**bearer(tokens["access_token"]), "Origin": ORIGIN},
    )
    assert created.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert created.headers["Access-Control-Expose-Headers"] == "Location"
    elsewhere = await client.get("/health", headers={"Origin": "https://evil.example.net"})
    assert "Access-Control-Allow-Origin" not in elsewhere.headers
    assert "Origin" in elsewhere.headers["Vary"]


async def test_the_openapi_document(client: QuartClient) -> None:
    document = await (await client.get("/openapi.json")).get_json()
    assert document["info"] == {"title": "Notes", "version": "1.0.0"}
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    paths = document["paths"]
    assert set(paths) == {
        "/health",
        "/auth/register",
        "/auth/login",
        "/auth/refresh",
        "/auth/me",
        "/api/notes",
        "/api/notes/{note_id}",
    }
    create = paths["/api/notes"]["post"]
    assert create["security"] == [{"bearer": []}]
    assert create["tags"] == ["notes"]
    assert set(create["responses"]) >= {"201"}
    body_schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert body_schema["properties"]["title"]["maxLength"] == 200
    assert body_schema["additionalProperties"] is False
    assert "403" in paths["/api/notes/{note_id}"]["put"]["responses"]
    assert "security" not in paths["/auth/login"]["post"]
    assert paths["/auth/me"]["get"]["security"] == [{"bearer": []}]


# --- the websocket feed -------------------------------------------------------------


async def test_the_feed_shows_every_change(client: QuartClient) -> None:
    ada = await sign_up(client, "ada")
    bob = bearer((await sign_up(client, "bob"))["access_token"])
    async with (
        asyncio.timeout(DEADLINE),
        client.websocket("/ws/notes", query_string={"token": ada["access_token"]}) as feed,
    ):
        assert await feed.receive_json() == {"event": "ready", "username": "ada"}
        created = await (
            await client.post("/api/notes", json={"title": "hi"}, headers=bob)
        ).get_json()
        assert await feed.receive_json() == {"event": "created", "note": created}
        location = f"/api/notes/{created['id']}"
        updated = await (await client.put(location, json={"title": "hey"}, headers=bob)).get_json()
        assert await feed.receive_json() == {"event": "updated", "note": updated}
        await client.delete(location, headers=bob)
        assert await feed.receive_json() == {"event": "deleted", "note": updated}
        await feed.send("ignored")  # the feed takes no messages, and goes on
        await client.post("/api/notes", json={"title": "again"}, headers=bob)
        assert (await feed.receive_json())["note"]["title"] == "again"


async def test_the_feed_takes_a_bearer_header_too(client: QuartClient) -> None:
    ada = await sign_up(client, "ada")
    async with (
        asyncio.timeout(DEADLINE),
        client.websocket("/ws/notes", headers=bearer(ada["access_token"])) as feed,
    ):
        assert await feed.receive_json() == {"event": "ready", "username": "ada"}


@pytest.mark.parametrize(
    ("token", "code", "description"),
    [
        (None, 401, "Missing token: connect to /ws/notes?token=<access token>."),
        ("garbage", 422, "The token is invalid: Not enough segments."),
        ("refresh", 422, "The token is invalid: Only access tokens are allowed."),
        ("expired", 401, "The token has expired."),
    ],
)
async def test_the_handshake_is_refused_without_a_good_access_token(
    app: Quart, client: QuartClient, token: str | None, code: int, description: str
) -> None:
    tokens = await sign_up(client, "ada")
    async with app.app_context():
        expired = create_access_token(identity="ada", expires_delta=timedelta(seconds=-5))
    query = {
        None: {},
        "garbage": {"token": "garbage"},
        "refresh": {"token": tokens["refresh_token"]},
        "expired": {"token": expired},
    }[token]
    with pytest.raises(WebsocketResponseError) as refused:
        async with (
            asyncio.timeout(DEADLINE),
            client.websocket("/ws/notes", query_string=query) as ws,
        ):
            await ws.receive()
    assert (await error_of(refused.value.response, code))["description"] == description


async def test_the_feed_closes_when_the_token_expires(example: ModuleType) -> None:
    app = example.create_app(example.TestingConfig)
    app.config["JWT_ACCESS_TOKEN_EXPIRES"] = timedelta(seconds=2)  # whole seconds in a JWT
    async with app.test_app():
        client = app.test_client()
        tokens = await sign_up(client, "ada")
        async with (
            asyncio.timeout(DEADLINE),
            client.websocket("/ws/notes", query_string={"token": tokens["access_token"]}) as feed,
        ):
            assert (await feed.receive_json())["event"] == "ready"
            with pytest.raises(WebsocketDisconnectError) as closed:
                await feed.receive()
    assert closed.value.code == 1008
    assert closed.value.reason == "The access token has expired: connect with a new one."


# --- the database's life ------------------------------------------------------------


async def test_the_store_opens_at_startup_and_closes_at_shutdown(example: ModuleType) -> None:
    app = example.create_app(example.TestingConfig)
    store = app.extensions["store"]
    assert store.connection is None
    async with app.test_app():
        connection = store.connection
        assert connection is not None
        response = await app.test_client().get("/health")
        assert await response.get_json() == {"status": "ok"}
    assert store.connection is None
    with pytest.raises(ValueError):
        await connection.execute("SELECT 1")
    # Not serving: the health check says so instead of failing.
    response = await app.test_client().get("/health")
    assert response.status_code == 503
    assert await response.get_json() == {"status": "unavailable"}


# --- the container recipe: the Dockerfile's command, run here ---------------------------

DOCKERFILE = EXAMPLES / "factory" / "Dockerfile"
ROOT = EXAMPLES.parent


def instruction(name: str) -> str:
    """The last ``name`` instruction of the final stage, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    final_stage = text.split("\nFROM ")[-1]
    found = re.findall(rf"^{name} (.+)$", final_stage, re.MULTILINE)
    assert found, f"no {name} in the final stage"
    return str(found[-1])


def test_the_image_is_slim_runs_as_a_user_and_installs_the_framework() -> None:
    text = DOCKERFILE.read_text()
    assert re.findall(r"^FROM (\S+)", text, re.MULTILINE) == [
        "python:3.11-slim",
        "python:3.11-slim",
    ]
    assert re.search(r"pip install \. -r examples/factory/requirements\.txt", text)
    user = instruction("USER")
    assert user not in ("root", "0")
    assert re.search(rf"useradd .*\b{user}\b", text)
    command = json.loads(instruction("CMD"))
    assert command == [
        "uvicorn",
        "--factory",
        "app:create_app",
        "--workers",
        "4",
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
    ]
    assert instruction("EXPOSE") == "8000"
    # Every file the image copies from the context is there, and not ignored.
    ignored = (ROOT / ".dockerignore").read_text().split()
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.MULTILINE):
        for path in source.split():
            assert (ROOT / path).exists(), path
            assert path not in ignored
    assert {".git", ".venv", "tests", "**/__pycache__", "**/*.sqlite3"} <= set(ignored)
    assert "!examples/factory" in ignored


def requirements() -> list[str]:
    lines = (EXAMPLES / "factory" / "requirements.txt").read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def test_the_requirements_are_what_the_example_imports() -> None:
    source = (EXAMPLES / "factory" / "app.py").read_text()
    names = {re.split(r"[\[=~<>]", line)[0].replace("-", "_") for line in requirements()}
    imported = set(re.findall(r"^(?:from|import) (\w+)", source, re.MULTILINE))
    third_party = imported - set(sys.stdlib_module_names) - {"__future__", "quart", "werkzeug"}
    # pydantic comes with quart-schema[pydantic]; uvicorn and redis serve and broadcast.
    assert third_party - {"pydantic"} <= names
    assert {"uvicorn", "redis"} <= names


def children_of(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.update(int(child) for child in text)
    return found


def is_worker(pid: int) -> bool:
    """A uvicorn worker: a process started by multiprocessing's spawn (not its resource
    tracker), still running."""
    try:
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    return b"spawn_main" in command_line and alive(pid)


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is over


async def test_the_dockerfile_command_serves_the_app_with_several_workers(tmp_path: Path) -> None:
    """The image's CMD, with two workers on 127.0.0.1 at a free port, in a directory that
    holds only app.py (as /app in the image), configured by the environment only."""
    workdir = tmp_path / "app"
    workdir.mkdir()
    shutil.copy(EXAMPLES / "factory" / "app.py", workdir / "app.py")
    port = free_port()
    command = json.loads(instruction("CMD"))
    assert command[0] == "uvicorn"
    arguments = command[1:]
    for option, value in (("--workers", "2"), ("--host", HOST), ("--port", str(port))):
        arguments[arguments.index(option) + 1] = value
    environment = {
        **os.environ,
        "QUART_SECRET_KEY": SECRET,
        "QUART_DATABASE": str(tmp_path / "notes.sqlite3"),  # QUART_DATABASE=/data/... in the image
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", *arguments],
        cwd=workdir,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    workers: set[int] = set()
    try:
        async with (
            asyncio.timeout(60),
            httpx.AsyncClient(base_url=f"http://{HOST}:{port}") as client,
        ):
            while True:  # nothing announces that the workers are ready: poll (bounded)
                if process.poll() is not None:
                    raise AssertionError(f"uvicorn exited with {process.returncode}")
                try:
                    health = await client.get("/health")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            assert health.status_code == 200
            assert health.json() == {"status": "ok"}
            assert health.headers["x-content-type-options"] == "nosniff"
            while len(workers) < 2:
                workers = {pid for pid in children_of(process.pid) if is_worker(pid)}
                await asyncio.sleep(0.05)
            # The workers share the database file: an account made through one of them
            # logs in through any, on fresh connections that the OS spreads between them.
            credentials = {"username": "ada", "password": PASSWORD}
            assert (await client.post("/auth/register", json=credentials)).status_code == 201
            for _ in range(6):
                async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}") as fresh:
                    logged_in = await fresh.post("/auth/login", json=credentials)
                assert logged_in.status_code == 200
            # The image's health check, pointed at this port.
            health_check = json.loads(instruction("HEALTHCHECK").split("CMD ", 1)[1])
            health_check = [part.replace(":8000/", f":{port}/") for part in health_check]
            assert health_check[0] == "python"
            checked = await asyncio.create_subprocess_exec(sys.executable, *health_check[1:])
            assert await checked.wait() == 0
    finally:
        process.send_signal(signal.SIGTERM)  # what `docker stop` sends
        try:
            _, errors = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            _, errors = process.communicate()
            raise
    log = errors.decode(errors="replace")
    assert process.returncode == 0, log
    assert "Traceback" not in log
    assert len(workers) == 2
    async with asyncio.timeout(10):
        while any(alive(pid) for pid in workers):
            await asyncio.sleep(0.05)
