"""The API program (api_app/) through the test client: JSON in and out, Quart-Schema's
validation of requests, query strings and responses, its OpenAPI document, and the JSON
error bodies of the app's own error handlers."""

from __future__ import annotations

import pytest
from api_app import TodoIn, app, reset

from quart import url_for

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def no_todos() -> None:
    reset()


async def test_echo() -> None:
    test_client = app.test_client()
    response = await test_client.post("/echo", json={"a": "b", "n": [1, 2.5, None]})
    assert response.status_code == 200
    assert response.content_type == "application/json"
    assert await response.get_json() == {"extra": True, "input": {"a": "b", "n": [1, 2.5, None]}}


async def test_echo_without_a_json_body_echoes_none() -> None:
    response = await app.test_client().post("/echo", data="plain text")
    assert await response.get_json() == {"extra": True, "input": None}


async def test_a_top_level_array_through_jsonify() -> None:
    response = await app.test_client().get("/example")
    assert response.is_json
    assert await response.get_data(as_text=True) == '["a","b"]\n'


async def test_create_todo_from_a_dataclass() -> None:
    test_client = app.test_client()
    response = await test_client.post("/todos/", json=TodoIn(task="Abc", due=None))
    assert response.status_code == 201
    assert await response.get_json() == {"id": 1, "task": "Abc", "due": None}


async def test_create_todo_with_a_due_date() -> None:
    test_client = app.test_client()
    response = await test_client.post("/todos/", json={"task": "Pay", "due": "2024-05-01T12:30:00"})
    assert response.status_code == 201
    assert await response.get_json() == {"id": 1, "task": "Pay", "due": "2024-05-01T12:30:00"}


async def test_an_invalid_todo_is_refused_with_the_reason() -> None:
    test_client = app.test_client()
    response = await test_client.post("/todos/", json={"due": None})
    assert response.status_code == 400
    errors = (await response.get_json())["errors"]
    assert "task" in errors
    assert "Field required" in errors
    response = await test_client.post("/todos/", json={"task": "x", "due": "next tuesday"})
    assert response.status_code == 400
    assert "due" in (await response.get_json())["errors"]
    assert await (await test_client.get("/todos/")).get_json() == {"todos": []}


async def test_a_form_is_not_a_todo() -> None:
    response = await app.test_client().post("/todos/", form={"task": "x"})
    assert response.status_code == 400
    assert "TodoIn" in (await response.get_json())["errors"]


async def test_malformed_json_is_a_plain_bad_request() -> None:
    response = await app.test_client().post(
        "/todos/", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "<title>400 Bad Request</title>" in await response.get_data(as_text=True)


async def test_list_and_search_todos() -> None:
    test_client = app.test_client()
    for task in ("buy milk", "walk dog", "buy bread"):
        await test_client.post("/todos/", json={"task": task, "due": None})
    response = await test_client.get("/todos/")
    assert [todo["task"] for todo in (await response.get_json())["todos"]] == [
        "buy milk",
        "walk dog",
        "buy bread",
    ]
    response = await test_client.get("/todos/", query_string={"contains": "buy"})
    assert [todo["id"] for todo in (await response.get_json())["todos"]] == [1, 3]
    response = await test_client.get("/todos/?contains=cat")
    assert await response.get_json() == {"todos": []}


async def test_read_and_delete_a_todo() -> None:
    test_client = app.test_client()
    await test_client.post("/todos/", json={"task": "one", "due": None})
    response = await test_client.get("/todos/1")
    assert await response.get_json() == {"id": 1, "task": "one", "due": None}
    response = await test_client.delete("/todos/1")
    assert response.status_code == 204
    assert await response.get_data() == b""
    response = await test_client.get("/todos/1")
    assert response.status_code == 404
    assert await response.get_json() == {"error": "not found", "path": "/todos/1"}
    assert (await test_client.delete("/todos/1")).status_code == 404


async def test_a_response_that_breaks_its_schema_is_a_server_error() -> None:
    response = await app.test_client().get("/todos/broken")
    assert response.status_code == 500


async def test_openapi_document_describes_the_routes() -> None:
    response = await app.test_client().get("/openapi.json")
    assert response.status_code == 200
    document = await response.get_json()
    assert document["info"] == {"title": "Todo API", "version": "0.1.0"}
    create = document["paths"]["/todos/"]["post"]
    assert "201" in create["responses"]
    body_schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert body_schema["required"] == ["task", "due"]
    assert "/todos/{todo_id}" in document["paths"]
    parameters = document["paths"]["/todos/"]["get"]["parameters"]
    assert [(p["name"], p["in"]) for p in parameters] == [("contains", "query")]
    assert "/echo" in document["paths"]


async def test_docs_page_is_served() -> None:
    response = await app.test_client().get("/docs")
    assert response.status_code == 200
    assert "<title>Todo API</title>" in await response.get_data(as_text=True)


async def test_urls_of_the_blueprint_routes() -> None:
    async with app.test_request_context("/"):
        assert url_for("todos.get_todo", todo_id=3) == "/todos/3"
        assert url_for("todos.list_todos", contains="a b") == "/todos/?contains=a+b"
        assert url_for("echo", _external=True) == "http://localhost/echo"


async def test_the_api_inside_the_served_app() -> None:
    async with app.test_app() as test_app:
        response = await test_app.test_client().post("/echo", json=[1])
        assert await response.get_json() == {"extra": True, "input": [1]}
