"""The factory example (examples/factory/app.py) served by hypercorn on 127.0.0.1 and used
the way its clients would: httpx for accounts, tokens and notes (with a browser's CORS
preflight), the ``websockets`` library for the live feed and its refused handshakes."""

from __future__ import annotations

import asyncio
import json
from types import ModuleType
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from example_apps import load_example

DEADLINE = 10.0
PASSWORD = "correct horse battery"
ORIGIN = "https://notes.example.com"  # TestingConfig.CORS_ORIGINS


@pytest.fixture
def example() -> ModuleType:
    return load_example("factory")


@pytest.fixture
async def base_url(example: ModuleType, serve: Any) -> str:
    url: str = await serve(example.create_app(example.TestingConfig))
    return url


def ws_url(base_url: str, path: str) -> str:
    return base_url.replace("http://", "ws://", 1) + path


async def sign_up(client: httpx.AsyncClient, username: str) -> dict[str, Any]:
    credentials = {"username": username, "password": PASSWORD}
    assert (await client.post("/auth/register", json=credentials)).status_code == 201
    response = await client.post("/auth/login", json=credentials)
    assert response.status_code == 200
    tokens: dict[str, Any] = response.json()
    return tokens


async def receive_json(feed: ClientConnection) -> Any:
    return json.loads(await feed.recv())


async def test_a_browser_page_from_the_allowed_origin_uses_the_api(base_url: str) -> None:
    async with asyncio.timeout(DEADLINE), httpx.AsyncClient(base_url=base_url) as client:
        tokens = await sign_up(client, "ada")
        # What the browser asks before a cross-origin POST with a token.
        preflight = await client.options(
            "/api/notes",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == ORIGIN
        allowed = {h.strip() for h in preflight.headers["access-control-allow-headers"].split(",")}
        assert allowed == {"authorization", "content-type"}
        headers = {"Authorization": f"Bearer {tokens['access_token']}", "Origin": ORIGIN}
        created = await client.post("/api/notes", json={"title": "hi"}, headers=headers)
        assert created.status_code == 201
        assert created.headers["access-control-allow-origin"] == ORIGIN
        assert created.headers["access-control-expose-headers"] == "Location"
        note = (await client.get(created.headers["location"], headers=headers)).json()
        assert note == created.json()
        assert created.headers["x-frame-options"] == "DENY"
        assert (
            created.headers["content-security-policy"]
            == "default-src 'none'; frame-ancestors 'none'"
        )


async def test_errors_as_a_client_sees_them(base_url: str) -> None:
    async with asyncio.timeout(DEADLINE), httpx.AsyncClient(base_url=base_url) as client:
        missing = await client.get("/api/notes")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == 'Bearer realm="notes"'
        assert missing.json()["error"]["description"] == "Missing Authorization Header."
        not_found = await client.get("/nowhere")
        assert not_found.headers["content-type"] == "application/json"
        assert not_found.json()["error"]["code"] == 404
        too_big = await client.post(
            "/auth/register",
            content=b"x" * (200 * 1024),
            headers={"content-type": "application/json"},
        )
        assert too_big.status_code == 413
        assert too_big.json()["error"]["name"] == "Request Entity Too Large"
        invalid = await client.post("/auth/register", json={"username": "ada"})
        assert invalid.status_code == 400
        assert invalid.json()["error"]["fields"] == [
            {"field": "password", "message": "Field required"}
        ]
        assert (await client.get("/health")).json() == {"status": "ok"}  # still serving


async def test_every_feed_sees_every_change(base_url: str) -> None:
    async with asyncio.timeout(DEADLINE), httpx.AsyncClient(base_url=base_url) as client:
        ada = await sign_up(client, "ada")
        bob = await sign_up(client, "bob")
        by_query = connect(ws_url(base_url, f"/ws/notes?token={ada['access_token']}"))
        by_header = connect(
            ws_url(base_url, "/ws/notes"),
            additional_headers={"Authorization": f"Bearer {bob['access_token']}"},
        )
        async with by_query as ada_feed, by_header as bob_feed:
            assert await receive_json(ada_feed) == {"event": "ready", "username": "ada"}
            assert await receive_json(bob_feed) == {"event": "ready", "username": "bob"}
            headers = {"Authorization": f"Bearer {bob['access_token']}"}
            created = await client.post("/api/notes", json={"title": "hi"}, headers=headers)
            for feed in (ada_feed, bob_feed):
                assert await receive_json(feed) == {"event": "created", "note": created.json()}
            deleted = await client.delete(created.headers["location"], headers=headers)
            assert deleted.status_code == 204
            for feed in (ada_feed, bob_feed):
                assert await receive_json(feed) == {"event": "deleted", "note": created.json()}


async def test_a_handshake_without_a_good_token_is_refused_with_json(base_url: str) -> None:
    async with asyncio.timeout(DEADLINE), httpx.AsyncClient(base_url=base_url) as client:
        tokens = await sign_up(client, "ada")
    for path, code in (
        ("/ws/notes", 401),
        ("/ws/notes?token=garbage", 422),
        (f"/ws/notes?token={tokens['refresh_token']}", 422),
    ):
        with pytest.raises(InvalidStatus) as refused:
            async with asyncio.timeout(DEADLINE), connect(ws_url(base_url, path)) as feed:
                await feed.recv()
        assert refused.value.response.status_code == code
        assert json.loads(refused.value.response.body)["error"]["code"] == code
