"""Errors over a real server: abort, unhandled exceptions, error handlers, body size limits."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from quart import Quart, abort, jsonify, request

SECRET = "s3cr3t-detail-that-must-not-leak"
LIMIT = 1024


class TeapotError(Exception):
    pass


def make_app() -> Quart:
    app = Quart(__name__)
    app.config["MAX_CONTENT_LENGTH"] = LIMIT

    @app.route("/forbidden")
    async def forbidden() -> str:
        abort(403)
        return "unreachable"

    @app.route("/gone")
    async def gone() -> str:
        abort(410, description="This page has left the building.")
        return "unreachable"

    @app.route("/boom")
    async def boom() -> str:
        raise RuntimeError(SECRET)

    @app.route("/sync-boom")
    def sync_boom() -> str:
        raise ValueError(SECRET)

    @app.route("/teapot")
    async def teapot() -> str:
        raise TeapotError("short and stout")

    @app.errorhandler(404)
    async def not_found(error: Exception) -> Any:
        return jsonify(error="not found", path=request.path), 404

    @app.errorhandler(TeapotError)
    async def handle_teapot(error: TeapotError) -> Any:
        return f"handled: {error}", 418

    @app.post("/upload")
    async def upload() -> dict[str, int]:
        return {"received": len(await request.get_data())}

    @app.post("/form")
    async def form() -> dict[str, int]:
        return {"fields": len(await request.form)}

    @app.route("/ok")
    async def ok() -> str:
        return "still serving"

    return app


@pytest.fixture
async def client(serve: Any) -> Any:
    base_url = await serve(make_app())
    async with httpx.AsyncClient(base_url=base_url) as client:
        yield client


async def test_abort_403(client: httpx.AsyncClient) -> None:
    response = await client.get("/forbidden")
    assert response.status_code == 403
    assert "Forbidden" in response.text


async def test_abort_with_description(client: httpx.AsyncClient) -> None:
    response = await client.get("/gone")
    assert response.status_code == 410
    assert "This page has left the building." in response.text


@pytest.mark.parametrize("path", ["/boom", "/sync-boom"])
async def test_exception_is_a_generic_500(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    with caplog.at_level(logging.ERROR):
        response = await client.get(path)
    assert response.status_code == 500
    assert "Internal Server Error" in response.text
    assert SECRET not in response.text
    assert "Traceback" not in response.text
    assert ".py" not in response.text
    # the server logged it, and goes on serving
    logged = [r for r in caplog.records if SECRET in (r.exc_text or "") + r.getMessage()]
    assert len(logged) == 1
    assert logged[0].levelno == logging.ERROR
    assert (await client.get("/ok")).text == "still serving"


async def test_custom_404_handler(client: httpx.AsyncClient) -> None:
    response = await client.get("/missing/page")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": "not found", "path": "/missing/page"}


async def test_custom_exception_handler(client: httpx.AsyncClient) -> None:
    response = await client.get("/teapot")
    assert response.status_code == 418
    assert response.text == "handled: short and stout"


async def test_body_within_the_limit(client: httpx.AsyncClient) -> None:
    response = await client.post("/upload", content=b"x" * LIMIT)
    assert response.status_code == 200
    assert response.json() == {"received": LIMIT}


async def test_body_over_the_limit_with_content_length(client: httpx.AsyncClient) -> None:
    response = await client.post("/upload", content=b"x" * (LIMIT + 1))
    assert response.status_code == 413
    assert (await client.get("/ok")).text == "still serving"


async def test_chunked_body_over_the_limit(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"y" * 512

    response = await client.post("/upload", content=chunks())
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert (await client.get("/ok")).text == "still serving"


async def test_chunked_body_within_the_limit(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(2):
            yield b"z" * 512

    response = await client.post("/upload", content=chunks())
    assert response.status_code == 200
    assert response.json() == {"received": LIMIT}


async def test_form_over_the_limit(client: httpx.AsyncClient) -> None:
    response = await client.post("/form", data={"field": "v" * (LIMIT * 2)})
    assert response.status_code == 413
