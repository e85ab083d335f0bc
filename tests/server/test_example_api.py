"""The JSON API example (examples/api/app.py) served by real servers on 127.0.0.1 and
used with httpx: the item lifecycle under hypercorn and uvicorn, JSON errors as a client
sees them, the security headers with and without TLS, the 202 export job, and the
database opened at startup and closed at shutdown."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import trustme

from example_apps import load_example

from .serving import running_server

DEADLINE = 10.0


@pytest.fixture
def example() -> ModuleType:
    return load_example("api")


@pytest.fixture
def make_app(example: ModuleType) -> Callable[[], Any]:
    return lambda: example.create_app(example.TestingConfig)


def error_of(response: httpx.Response, code: int) -> dict[str, Any]:
    assert response.status_code == code
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    error: dict[str, Any] = body["error"]
    return error


async def test_an_item_from_creation_to_deletion(
    make_app: Callable[[], Any], serve_each: Any
) -> None:
    base_url = await serve_each(make_app())
    async with asyncio.timeout(DEADLINE), httpx.AsyncClient(base_url=base_url) as client:
        assert (await client.get("/api/v1/health")).json() == {"status": "ok"}
        created = await client.post("/api/v1/items", json={"name": "lamp", "quantity": 2})
        assert created.status_code == 201
        location = created.headers["location"]
        item = created.json()
        assert location == f"/api/v1/items/{item['id']}"
        assert (await client.get(location)).json() == item
        patched = await client.patch(location, json={"quantity": 7})
        assert patched.json()["quantity"] == 7
        listed = (await client.get("/api/v1/items", params={"per_page": 1})).json()
        assert [entry["name"] for entry in listed["items"]] == ["lamp"]
        deleted = await client.delete(location)
        assert deleted.status_code == 204
        assert deleted.content == b""
        error_of(await client.get(location), 404)


async def test_errors_are_json(make_app: Callable[[], Any], serve: Any) -> None:
    base_url = await serve(make_app())
    async with asyncio.timeout(DEADLINE), httpx.AsyncClient(base_url=base_url) as client:
        assert error_of(await client.get("/nowhere"), 404)["name"] == "Not Found"
        wrong_method = await client.put("/api/v1/items")
        error_of(wrong_method, 405)
        assert "POST" in wrong_method.headers["allow"]
        invalid = error_of(await client.post("/api/v1/items", json={"name": 3}), 422)
        assert invalid["fields"] == {"name": "Must be a non-empty string."}
        bad_page = error_of(await client.get("/api/v1/items", params={"page": "0"}), 400)
        assert set(bad_page["fields"]) == {"page"}
        malformed = await client.post(
            "/api/v1/items", content=b"{", headers={"content-type": "application/json"}
        )
        error_of(malformed, 400)
        not_json = await client.post("/api/v1/items", data={"name": "lamp"})
        error_of(not_json, 415)
        too_big = await client.post(
            "/api/v1/items",
            content=b"x" * (200 * 1024),
            headers={"content-type": "application/json"},
        )
        assert error_of(too_big, 413)["name"] == "Request Entity Too Large"
        # The server goes on serving after all of these.
        assert (await client.get("/api/v1/health")).status_code == 200


async def test_security_headers_without_tls(make_app: Callable[[], Any], serve: Any) -> None:
    base_url = await serve(make_app())
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.get("/api/v1/items")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "strict-transport-security" not in response.headers


async def test_hsts_over_tls(make_app: Callable[[], Any], tmp_path: Path) -> None:
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    certificate.cert_chain_pems[0].write_to_path(str(certfile))
    certificate.private_key_pem.write_to_path(str(keyfile))
    trust = ssl.create_default_context()
    authority.configure_trust(trust)
    async with running_server(make_app(), certfile=str(certfile), keyfile=str(keyfile)) as url:
        https_url = url.replace("http://", "https://")
        async with httpx.AsyncClient(base_url=https_url, verify=trust) as client:
            response = await client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_export_job_from_202_to_done(make_app: Callable[[], Any], serve_each: Any) -> None:
    base_url = await serve_each(make_app())
    async with asyncio.timeout(DEADLINE), httpx.AsyncClient(base_url=base_url) as client:
        item = (await client.post("/api/v1/items", json={"name": "lamp"})).json()
        accepted = await client.post(f"/api/v1/items/{item['id']}/export")
        assert accepted.status_code == 202
        assert accepted.json()["status"] == "pending"
        location = accepted.headers["location"]
        while (job := (await client.get(location)).json())["status"] == "pending":
            await asyncio.sleep(0.01)  # polling, as a client of a 202 does; the timeout bounds it
    assert job["status"] == "done"
    assert job["result"]["item"] == item


async def test_the_database_lives_as_long_as_the_server(
    make_app: Callable[[], Any], tmp_path: Path
) -> None:
    app = make_app()
    app.config["DATABASE"] = str(tmp_path / "items.sqlite3")
    database = app.extensions["database"]
    async with running_server(app) as base_url:
        connection = database.connection
        assert connection is not None
        async with httpx.AsyncClient(base_url=base_url) as client:
            created = await client.post("/api/v1/items", json={"name": "lamp"})
        assert created.status_code == 201
    assert database.connection is None
    with pytest.raises(ValueError):
        await connection.execute("SELECT 1")
    # Served again, the file still has the item.
    again = make_app()
    again.config["DATABASE"] = str(tmp_path / "items.sqlite3")
    async with running_server(again) as base_url, httpx.AsyncClient(base_url=base_url) as client:
        listed = (await client.get("/api/v1/items")).json()
    assert [item["name"] for item in listed["items"]] == ["lamp"]
