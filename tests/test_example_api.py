"""The JSON API example (examples/api/app.py) with the test client, the app started and
stopped around each test by ``app.test_app()``: configuration, every endpoint, every
error's JSON shape, the security headers, the 202 export job and the database's life."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from example_apps import load_example
from quart import Quart
from quart.testing import QuartClient

DEADLINE = 5.0
ERROR_KEYS = {"code", "name", "description"}


@pytest.fixture
def example() -> ModuleType:
    return load_example("api")


@pytest.fixture
async def api(example: ModuleType) -> AsyncIterator[Quart]:
    app = example.create_app(example.TestingConfig)
    async with app.test_app():
        yield app


@pytest.fixture
def client(api: Quart) -> QuartClient:
    return api.test_client()


async def create(client: QuartClient, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/items", json=fields)
    assert response.status_code == 201, await response.get_data(as_text=True)
    item: dict[str, Any] = await response.get_json()
    return item


async def error_of(response: Any, code: int) -> dict[str, Any]:
    """The JSON error body of ``response``, after checking its status and shape."""
    assert response.status_code == code
    assert response.mimetype == "application/json"
    body = await response.get_json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert ERROR_KEYS <= set(error) <= ERROR_KEYS | {"fields"}
    assert error["code"] == code
    return error


async def wait_for_job(client: QuartClient, location: str) -> dict[str, Any]:
    """Poll the job's URL until it is no longer pending (or the deadline passes)."""
    async with asyncio.timeout(DEADLINE):
        while True:
            response = await client.get(location)
            assert response.status_code == 200
            job: dict[str, Any] = await response.get_json()
            if job["status"] != "pending":
                return job
            await asyncio.sleep(0.01)


# --- configuration ------------------------------------------------------------------


def test_configuration_classes(example: ModuleType) -> None:
    production = example.create_app()
    assert production.config["DATABASE"] == "items.sqlite3"
    assert not production.debug
    assert not production.testing
    assert example.create_app(example.DevelopmentConfig).debug
    testing = example.create_app(example.TestingConfig)
    assert testing.testing
    assert testing.config["DATABASE"] == ":memory:"


def test_environment_overrides_the_class(
    example: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUART_MAX_PER_PAGE", "3")
    monkeypatch.setenv("QUART_DATABASE", "/srv/items.sqlite3")
    app = example.create_app(example.TestingConfig)
    assert app.config["MAX_PER_PAGE"] == 3  # JSON-decoded: a number
    assert app.config["DATABASE"] == "/srv/items.sqlite3"


async def test_max_per_page_from_the_environment_limits_pages(
    example: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUART_MAX_PER_PAGE", "3")
    app = example.create_app(example.TestingConfig)
    async with app.test_app():
        client = app.test_client()
        assert (await client.get("/api/v1/items?per_page=3")).status_code == 200
        error = await error_of(await client.get("/api/v1/items?per_page=4"), 400)
    assert error["fields"] == {"per_page": "Must be a whole number from 1 to 3."}


# --- the database's life ------------------------------------------------------------


async def test_the_database_opens_at_startup_and_closes_at_shutdown(
    example: ModuleType,
) -> None:
    app = example.create_app(example.TestingConfig)
    database = app.extensions["database"]
    assert database.connection is None
    async with app.test_app():
        connection = database.connection
        assert connection is not None
        tables = await connection.execute_fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('items', 'jobs')"
        )
        assert sorted(row[0] for row in tables) == ["items", "jobs"]
    assert database.connection is None
    with pytest.raises(ValueError):
        await connection.execute("SELECT 1")


async def test_a_file_database_keeps_items_across_restarts(
    example: ModuleType, tmp_path: Path
) -> None:
    path = tmp_path / "items.sqlite3"
    first = example.create_app(example.TestingConfig)
    first.config["DATABASE"] = str(path)
    async with first.test_app():
        made = await create(first.test_client(), name="lamp")
    assert path.exists()
    second = example.create_app(example.TestingConfig)
    second.config["DATABASE"] = str(path)
    async with second.test_app():
        response = await second.test_client().get(f"/api/v1/items/{made['id']}")
        assert await response.get_json() == made


async def test_health(client: QuartClient) -> None:
    response = await client.get("/api/v1/health")
    assert response.status_code == 200
    assert await response.get_json() == {"status": "ok"}


async def test_health_is_503_when_the_database_is_gone(api: Quart, client: QuartClient) -> None:
    await api.extensions["database"].close()
    response = await client.get("/api/v1/health")
    assert response.status_code == 503
    assert await response.get_json() == {"status": "unavailable"}


# --- items: create and read ---------------------------------------------------------


async def test_create_and_get(client: QuartClient) -> None:
    response = await client.post(
        "/api/v1/items", json={"name": "  lamp ", "description": "brass", "quantity": 3}
    )
    assert response.status_code == 201
    item = await response.get_json()
    assert response.headers["Location"] == f"/api/v1/items/{item['id']}"
    assert item["name"] == "lamp"  # trimmed
    assert (item["description"], item["quantity"]) == ("brass", 3)
    assert item["created_at"] == item["updated_at"]
    fetched = await client.get(response.headers["Location"])
    assert fetched.status_code == 200
    assert await fetched.get_json() == item


async def test_create_fills_in_defaults(client: QuartClient) -> None:
    item = await create(client, name="chair")
    assert (item["description"], item["quantity"]) == ("", 0)


async def test_get_a_missing_item_is_404(client: QuartClient) -> None:
    error = await error_of(await client.get("/api/v1/items/999"), 404)
    assert error == {"code": 404, "name": "Not Found", "description": "There is no item 999."}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"name": "This field is required."}),
        ({"name": "   "}, {"name": "Must be a non-empty string."}),
        ({"name": 7}, {"name": "Must be a non-empty string."}),
        ({"name": "x" * 101}, {"name": "Must be at most 100 characters."}),
        ({"name": "a", "description": None}, {"description": "Must be a string."}),
        (
            {"name": "a", "description": "d" * 2001},
            {"description": "Must be at most 2000 characters."},
        ),
        ({"name": "a", "quantity": "3"}, {"quantity": "Must be a whole number."}),
        ({"name": "a", "quantity": 2.5}, {"quantity": "Must be a whole number."}),
        ({"name": "a", "quantity": True}, {"quantity": "Must be a whole number."}),
        ({"name": "a", "quantity": -1}, {"quantity": "Must be from 0 to 1000000."}),
        ({"name": "a", "colour": "red"}, {"colour": "Unknown field."}),
        (
            {"quantity": -1, "extra": 1},
            {
                "extra": "Unknown field.",
                "name": "This field is required.",
                "quantity": "Must be from 0 to 1000000.",
            },
        ),
    ],
)
async def test_invalid_fields_are_422_naming_each_field(
    client: QuartClient, body: dict[str, Any], fields: dict[str, str]
) -> None:
    error = await error_of(await client.post("/api/v1/items", json=body), 422)
    assert error["name"] == "Unprocessable Entity"
    assert error["fields"] == fields
    listed = await (await client.get("/api/v1/items")).get_json()
    assert listed["total"] == 0


@pytest.mark.parametrize("body", [[1, 2], "lamp", 3, None])
async def test_a_body_that_is_not_an_object_is_400(client: QuartClient, body: Any) -> None:
    error = await error_of(await client.post("/api/v1/items", json=body), 400)
    assert error["description"] == "The body must be a JSON object."


async def test_malformed_json_is_400(client: QuartClient) -> None:
    response = await client.post(
        "/api/v1/items", data=b'{"name": ', headers={"Content-Type": "application/json"}
    )
    error = await error_of(response, 400)
    assert error["description"].startswith("Failed to decode JSON object")


async def test_a_body_that_is_not_json_is_415(client: QuartClient) -> None:
    response = await client.post("/api/v1/items", form={"name": "lamp"})
    error = await error_of(response, 415)
    assert "application/json" in error["description"]


async def test_too_deeply_nested_json_is_400(client: QuartClient) -> None:
    response = await client.post(
        "/api/v1/items",
        data=b"[" * 30_000 + b"]" * 30_000,
        headers={"Content-Type": "application/json"},
    )
    error = await error_of(response, 400)
    assert error["description"].startswith("Failed to decode JSON object")


async def test_a_taken_name_is_409(client: QuartClient) -> None:
    await create(client, name="lamp")
    error = await error_of(await client.post("/api/v1/items", json={"name": "lamp"}), 409)
    assert error["description"] == "An item named 'lamp' already exists."


async def test_a_body_over_the_limit_is_413(client: QuartClient) -> None:
    body = {"name": "big", "description": "x" * (64 * 1024)}
    error = await error_of(await client.post("/api/v1/items", json=body), 413)
    assert error["name"] == "Request Entity Too Large"


# --- items: the list and its pages --------------------------------------------------


async def test_pages(client: QuartClient) -> None:
    for number in range(5):
        await create(client, name=f"item {number}")
    response = await client.get("/api/v1/items?page=2&per_page=2")
    assert response.status_code == 200
    listed = await response.get_json()
    assert [item["name"] for item in listed["items"]] == ["item 2", "item 3"]
    assert {key: listed[key] for key in ("page", "per_page", "total", "pages")} == {
        "page": 2,
        "per_page": 2,
        "total": 5,
        "pages": 3,
    }
    last = await (await client.get("/api/v1/items?page=3&per_page=2")).get_json()
    assert [item["name"] for item in last["items"]] == ["item 4"]
    beyond = await (await client.get("/api/v1/items?page=4&per_page=2")).get_json()
    assert (beyond["items"], beyond["total"]) == ([], 5)


async def test_the_default_page(client: QuartClient) -> None:
    for number in range(21):
        await create(client, name=f"item {number}")
    listed = await (await client.get("/api/v1/items")).get_json()
    assert (listed["page"], listed["per_page"], listed["pages"]) == (1, 20, 2)
    assert len(listed["items"]) == 20


@pytest.mark.parametrize(
    ("query", "field", "maximum"),
    [
        ("page=0", "page", 1000000),
        ("page=-1", "page", 1000000),
        ("page=two", "page", 1000000),
        ("page=", "page", 1000000),
        ("page=1.5", "page", 1000000),
        ("page=99999999999999999999", "page", 1000000),
        ("page=%D9%A3", "page", 1000000),  # an Arabic-Indic digit: int() takes it, we do not
        ("per_page=0", "per_page", 100),
        ("per_page=101", "per_page", 100),
        ("per_page=ten", "per_page", 100),
    ],
)
async def test_a_bad_page_argument_is_400_naming_it(
    client: QuartClient, query: str, field: str, maximum: int
) -> None:
    error = await error_of(await client.get(f"/api/v1/items?{query}"), 400)
    assert error["fields"] == {field: f"Must be a whole number from 1 to {maximum}."}


async def test_both_bad_page_arguments_are_named(client: QuartClient) -> None:
    error = await error_of(await client.get("/api/v1/items?page=x&per_page=y"), 400)
    assert set(error["fields"]) == {"page", "per_page"}


# --- items: update and delete -------------------------------------------------------


async def test_patch_changes_only_the_fields_sent(client: QuartClient) -> None:
    item = await create(client, name="lamp", description="brass", quantity=3)
    response = await client.patch(f"/api/v1/items/{item['id']}", json={"quantity": 5})
    assert response.status_code == 200
    changed = await response.get_json()
    assert (changed["name"], changed["description"], changed["quantity"]) == ("lamp", "brass", 5)
    assert changed["updated_at"] > item["updated_at"]
    assert await (await client.get(f"/api/v1/items/{item['id']}")).get_json() == changed


async def test_put_replaces_the_item(client: QuartClient) -> None:
    item = await create(client, name="lamp", description="brass", quantity=3)
    response = await client.put(f"/api/v1/items/{item['id']}", json={"name": "desk lamp"})
    assert response.status_code == 200
    replaced = await response.get_json()
    assert (replaced["name"], replaced["description"], replaced["quantity"]) == (
        "desk lamp",
        "",
        0,
    )


async def test_put_needs_a_name(client: QuartClient) -> None:
    item = await create(client, name="lamp")
    response = await client.put(f"/api/v1/items/{item['id']}", json={"quantity": 1})
    error = await error_of(response, 422)
    assert error["fields"] == {"name": "This field is required."}


async def test_patch_validates_what_it_sends(client: QuartClient) -> None:
    item = await create(client, name="lamp")
    response = await client.patch(f"/api/v1/items/{item['id']}", json={"name": ""})
    error = await error_of(response, 422)
    assert error["fields"] == {"name": "Must be a non-empty string."}
    assert (await (await client.get(f"/api/v1/items/{item['id']}")).get_json())["name"] == "lamp"


async def test_renaming_to_a_taken_name_is_409(client: QuartClient) -> None:
    await create(client, name="lamp")
    chair = await create(client, name="chair")
    response = await client.patch(f"/api/v1/items/{chair['id']}", json={"name": "lamp"})
    await error_of(response, 409)
    assert (await (await client.get(f"/api/v1/items/{chair['id']}")).get_json())["name"] == "chair"


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_updating_a_missing_item_is_404(client: QuartClient, method: str) -> None:
    response = await client.open("/api/v1/items/42", method=method, json={"name": "x"})
    await error_of(response, 404)


async def test_delete(client: QuartClient) -> None:
    item = await create(client, name="lamp")
    response = await client.delete(f"/api/v1/items/{item['id']}")
    assert response.status_code == 204
    assert await response.get_data() == b""
    await error_of(await client.get(f"/api/v1/items/{item['id']}"), 404)
    await error_of(await client.delete(f"/api/v1/items/{item['id']}"), 404)


# --- errors from routing and from bugs ----------------------------------------------


async def test_an_unknown_url_is_a_json_404(client: QuartClient) -> None:
    error = await error_of(await client.get("/api/v1/nothing-here"), 404)
    assert error["name"] == "Not Found"


async def test_a_non_integer_id_is_a_json_404(client: QuartClient) -> None:
    await error_of(await client.get("/api/v1/items/abc"), 404)


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
async def test_an_id_too_large_for_the_database_is_a_json_404(
    client: QuartClient, method: str
) -> None:
    too_large = "9" * 19  # more than a SQLite integer holds
    response = await client.open(f"/api/v1/items/{too_large}", method=method, json={"name": "x"})
    await error_of(response, 404)
    await error_of(await client.post(f"/api/v1/items/{too_large}/export"), 404)


async def test_a_wrong_method_is_a_json_405_with_allow(client: QuartClient) -> None:
    response = await client.delete("/api/v1/items")
    error = await error_of(response, 405)
    assert error["name"] == "Method Not Allowed"
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}


async def test_an_unexpected_exception_is_a_json_500_without_internals(
    example: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    app = example.create_app(example.TestingConfig)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production, not as in testing
    async with app.test_app():
        client = app.test_client()
        await create(client, name="lamp")
        # The database going away mid-flight: the view's query raises.
        await app.extensions["database"].close()
        with caplog.at_level(logging.ERROR):
            response = await client.get("/api/v1/items")
    error = await error_of(response, 500)
    assert error["name"] == "Internal Server Error"
    assert "database" not in error["description"]
    assert "RuntimeError" not in await response.get_data(as_text=True)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    logged = [record for record in caplog.records if record.exc_info]
    assert len(logged) == 1
    assert isinstance(logged[0].exc_info[1], RuntimeError)  # type: ignore[index]


# --- security headers ---------------------------------------------------------------

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
}


@pytest.mark.parametrize("path", ["/api/v1/health", "/api/v1/items/1", "/elsewhere"])
async def test_security_headers_on_every_response(client: QuartClient, path: str) -> None:
    response = await client.get(path)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, name
    assert "Strict-Transport-Security" not in response.headers


async def test_hsts_only_over_https(client: QuartClient) -> None:
    response = await client.get("/api/v1/health", scheme="https")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


# --- the export job: 202 and a status URL -------------------------------------------


async def test_export_runs_in_the_background(client: QuartClient) -> None:
    item = await create(client, name="lamp", quantity=2)
    response = await client.post(f"/api/v1/items/{item['id']}/export")
    assert response.status_code == 202
    accepted = await response.get_json()
    location = response.headers["Location"]
    assert location == f"/api/v1/jobs/{accepted['id']}"
    assert accepted["status"] == "pending"
    assert (accepted["item_id"], accepted["result"], accepted["finished_at"]) == (
        item["id"],
        None,
        None,
    )
    job = await wait_for_job(client, location)
    assert job["status"] == "done"
    assert job["finished_at"] >= job["created_at"]
    assert job["result"]["format"] == "items-export/1"
    assert job["result"]["item"] == item


async def test_job_ids_are_unguessable(client: QuartClient) -> None:
    item = await create(client, name="lamp")
    first = await (await client.post(f"/api/v1/items/{item['id']}/export")).get_json()
    second = await (await client.post(f"/api/v1/items/{item['id']}/export")).get_json()
    assert first["id"] != second["id"]
    assert len(first["id"]) >= 20


async def test_exporting_a_missing_item_is_404(client: QuartClient) -> None:
    error = await error_of(await client.post("/api/v1/items/5/export"), 404)
    assert error["description"] == "There is no item 5."


async def test_a_missing_job_is_404(client: QuartClient) -> None:
    await error_of(await client.get("/api/v1/jobs/no-such-job"), 404)


async def test_a_failed_export_is_recorded_and_logged(
    example: ModuleType,
    api: Quart,
    client: QuartClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken_export(item: Any) -> dict[str, Any]:
        raise OSError("the export store is full")

    monkeypatch.setattr(example, "build_export", broken_export)
    item = await create(client, name="lamp")
    with caplog.at_level(logging.ERROR):
        response = await client.post(f"/api/v1/items/{item['id']}/export")
        job = await wait_for_job(client, response.headers["Location"])
    assert job["status"] == "failed"
    assert job["result"] is None
    assert job["finished_at"] is not None
    assert any(
        record.exc_info and isinstance(record.exc_info[1], OSError) for record in caplog.records
    )


async def test_deleting_an_item_deletes_its_jobs(client: QuartClient) -> None:
    item = await create(client, name="lamp")
    response = await client.post(f"/api/v1/items/{item['id']}/export")
    location = response.headers["Location"]
    await wait_for_job(client, location)
    await client.delete(f"/api/v1/items/{item['id']}")
    await error_of(await client.get(location), 404)


async def test_shutdown_waits_for_a_running_export(example: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "items.sqlite3"
    app = example.create_app(example.TestingConfig)
    app.config["DATABASE"] = str(path)
    async with app.test_app():
        client = app.test_client()
        item = await create(client, name="lamp")
        response = await client.post(f"/api/v1/items/{item['id']}/export")
        job_id = (await response.get_json())["id"]
    # The database closed only after the job had finished with it.
    with closing(sqlite3.connect(path)) as connection:
        row = connection.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
    assert row == ("done",)
