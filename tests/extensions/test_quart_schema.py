"""Quart-Schema (with pydantic) on our quart: request, querystring, header, form and
response validation, the OpenAPI document and the docs pages, websocket messages, the
``quart schema`` command, and the same app served by hypercorn and used with httpx."""

from __future__ import annotations

import json
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, Field
from quart_schema import (
    DataSource,
    QuartSchema,
    RequestSchemaValidationError,
    ResponseSchemaValidationError,
    SchemaValidationError,
    hide,
    tag,
    validate_headers,
    validate_querystring,
    validate_request,
    validate_response,
)
from quart_schema.pydantic import File

from quart import Blueprint, Quart, websocket
from quart.datastructures import FileStorage
from quart.testing import QuartClient


class TodoIn(BaseModel):
    task: str
    due: int | None = None


class Todo(BaseModel):
    id: int
    task: str
    due: int | None = None


class Page(BaseModel):
    page: int = 1
    tags: list[str] = Field(default_factory=list)


class Tenant(BaseModel):
    x_tenant_id: str


class Login(BaseModel):
    user: str
    remember: bool = False


class Upload(BaseModel):
    title: str
    attachment: File


class Error(BaseModel):
    message: str


class Listing(BaseModel):
    todo_count: int
    first_task: str | None


class ListingHeaders(BaseModel):
    x_total_count: int


@dataclass
class Ping:
    seq: int


@dataclass
class Pong:
    seq: int
    reply: str


def make_app(*, with_error_handler: bool = True) -> Quart:
    app = Quart(__name__)
    QuartSchema(app, info={"title": "Todos", "version": "2.1.0"})
    todos: dict[int, Todo] = {}

    @app.post("/todos")
    @validate_request(TodoIn)
    @validate_response(Todo, 201)
    async def create_todo(data: TodoIn) -> tuple[Todo, int]:
        """Create a todo.

        The todo is stored and returned with its new id.
        """
        assert isinstance(data, TodoIn)
        todo = Todo(id=len(todos) + 1, task=data.task, due=data.due)
        todos[todo.id] = todo
        return todo, 201

    @app.get("/todos/<int:todo_id>")
    @tag(["todos"])
    @validate_response(Todo)
    @validate_response(Error, 404)
    async def read_todo(todo_id: int) -> Any:
        """Read a todo."""
        if todo_id not in todos:
            return Error(message="no such todo"), 404
        return todos[todo_id]

    @app.get("/todos")
    @validate_response(Listing, 200, ListingHeaders)
    async def list_todos() -> tuple[Listing, int, ListingHeaders]:
        first = todos[min(todos)].task if todos else None
        listing = Listing(todo_count=len(todos), first_task=first)
        return listing, 200, ListingHeaders(x_total_count=len(todos))

    @app.get("/broken")
    @validate_response(Todo)
    async def broken() -> dict[str, Any]:
        return {"id": "not a number", "task": 3}

    @app.get("/search")
    @validate_querystring(Page)
    async def search(query_args: Page) -> dict[str, Any]:
        assert isinstance(query_args, Page)
        return {"page": query_args.page, "tags": query_args.tags}

    @app.get("/tenant")
    @validate_headers(Tenant)
    async def tenant(headers: Tenant) -> dict[str, str]:
        return {"tenant": headers.x_tenant_id}

    @app.post("/login")
    @validate_request(Login, source=DataSource.FORM)
    async def login(data: Login) -> dict[str, Any]:
        return {"user": data.user, "remember": data.remember}

    @app.post("/upload")
    @validate_request(Upload, source=DataSource.FORM_MULTIPART)
    async def upload(data: Upload) -> dict[str, Any]:
        content = data.attachment.read()
        return {
            "title": data.title,
            "filename": data.attachment.filename,
            "content": content.decode(),
        }

    @app.get("/internal")
    @hide
    async def internal() -> str:
        return "hidden from the docs"

    @app.websocket("/ws")
    async def pings() -> None:
        while True:
            try:
                ping = await websocket.receive_as(Ping)  # type: ignore[attr-defined]
            except SchemaValidationError:
                await websocket.send_json({"error": "invalid message"})
                continue
            await websocket.send_as(  # type: ignore[attr-defined]
                {"seq": ping.seq, "reply": "pong"}, Pong
            )

    blueprint = Blueprint("admin", __name__, url_prefix="/admin")

    @blueprint.delete("/todos/<int:todo_id>")
    async def delete_todo(todo_id: int) -> tuple[str, int]:
        todos.pop(todo_id, None)
        return "", 204

    app.register_blueprint(blueprint)

    if with_error_handler:

        @app.errorhandler(RequestSchemaValidationError)
        async def invalid(error: RequestSchemaValidationError) -> tuple[dict[str, Any], int]:
            errors = error.validation_error.errors()  # type: ignore[attr-defined]
            return {"errors": [{"loc": e["loc"], "type": e["type"]} for e in errors]}, 400

        @app.errorhandler(404)
        async def not_found(error: Exception) -> tuple[Error, int]:
            return Error(message="not found"), 404

    return app


@pytest.fixture
def schema_app() -> Quart:
    return make_app()


@pytest.fixture
def schema_client(schema_app: Quart) -> QuartClient:
    return schema_app.test_client()


async def test_valid_request_reaches_view_as_model(schema_client: QuartClient) -> None:
    response = await schema_client.post("/todos", json={"task": "write tests", "due": 3})
    assert response.status_code == 201
    assert response.mimetype == "application/json"
    assert await response.get_json() == {"id": 1, "task": "write tests", "due": 3}


async def test_test_client_accepts_a_model_as_json(schema_client: QuartClient) -> None:
    response = await schema_client.post("/todos", json=TodoIn(task="from a model"))
    assert response.status_code == 201
    assert (await response.get_json())["task"] == "from a model"


async def test_invalid_request_gives_400_with_the_errors(schema_client: QuartClient) -> None:
    response = await schema_client.post("/todos", json={"due": "soon"})
    assert response.status_code == 400
    body = await response.get_json()
    assert {(tuple(e["loc"]), e["type"]) for e in body["errors"]} == {
        (("task",), "missing"),
        (("due",), "int_parsing"),
    }


async def test_invalid_request_without_handler_is_plain_400() -> None:
    client = make_app(with_error_handler=False).test_client()
    response = await client.post("/todos", json={"task": ["not", "a", "string"]})
    assert response.status_code == 400
    assert b"Bad Request" in await response.get_data()


async def test_request_body_that_is_not_json_is_400(schema_client: QuartClient) -> None:
    response = await schema_client.post(
        "/todos", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


async def test_response_model_for_other_status(schema_client: QuartClient) -> None:
    response = await schema_client.get("/todos/42")
    assert response.status_code == 404
    assert await response.get_json() == {"message": "no such todo"}
    await schema_client.post("/todos", json={"task": "exists"})
    response = await schema_client.get("/todos/1")
    assert await response.get_json() == {"id": 1, "task": "exists", "due": None}


async def test_response_headers_model(schema_client: QuartClient) -> None:
    await schema_client.post("/todos", json={"task": "one"})
    response = await schema_client.get("/todos")
    assert await response.get_json() == {"todo_count": 1, "first_task": "one"}
    assert response.headers["X-Total-Count"] == "1"


async def test_error_handler_may_return_a_model(schema_client: QuartClient) -> None:
    response = await schema_client.get("/nowhere")
    assert response.status_code == 404
    assert await response.get_json() == {"message": "not found"}


async def test_casing_is_converted_both_ways() -> None:
    app = Quart(__name__)
    QuartSchema(app, convert_casing=True)

    @app.post("/listing")
    @validate_request(Listing)
    async def echo(data: Listing) -> Listing:
        assert data.todo_count == 2
        return Listing(todo_count=data.todo_count + 1, first_task=data.first_task)

    client = app.test_client()
    response = await client.post("/listing", json={"todoCount": 2, "firstTask": "x"})
    assert await response.get_json() == {"todoCount": 3, "firstTask": "x"}
    # The test client camelises a model given as json, as the app expects.
    response = await client.post("/listing", json=Listing(todo_count=2, first_task=None))
    assert await response.get_json() == {"todoCount": 3, "firstTask": None}


async def test_invalid_response_is_a_server_error(schema_app: Quart) -> None:
    seen: list[Exception] = []

    @schema_app.errorhandler(ResponseSchemaValidationError)
    async def bad_response(error: ResponseSchemaValidationError) -> tuple[str, int]:
        seen.append(error)
        return "response did not match its schema", 500

    response = await schema_app.test_client().get("/broken")
    assert response.status_code == 500
    assert await response.get_data(as_text=True) == "response did not match its schema"
    assert len(seen) == 1 and seen[0].validation_error is not None


async def test_querystring_validation(schema_client: QuartClient) -> None:
    response = await schema_client.get("/search?page=3&tags=a&tags=b")
    assert await response.get_json() == {"page": 3, "tags": ["a", "b"]}
    response = await schema_client.get("/search")
    assert await response.get_json() == {"page": 1, "tags": []}
    response = await schema_client.get("/search", query_string={"page": "three"})
    assert response.status_code == 400
    assert (await response.get_json())["errors"][0]["loc"] == ["page"]


async def test_header_validation(schema_client: QuartClient) -> None:
    response = await schema_client.get("/tenant", headers={"X-Tenant-ID": "acme"})
    assert await response.get_json() == {"tenant": "acme"}
    response = await schema_client.get("/tenant")
    assert response.status_code == 400


async def test_form_validation(schema_client: QuartClient) -> None:
    response = await schema_client.post("/login", form={"user": "ada", "remember": "true"})
    assert await response.get_json() == {"user": "ada", "remember": True}
    response = await schema_client.post("/login", form={"remember": "maybe"})
    assert response.status_code == 400
    locs = {tuple(e["loc"]) for e in (await response.get_json())["errors"]}
    assert locs == {("user",), ("remember",)}


async def test_multipart_validation_with_a_file(schema_client: QuartClient) -> None:
    attachment = FileStorage(BytesIO(b"file body"), filename="notes.txt")
    response = await schema_client.post(
        "/upload", form={"title": "notes"}, files={"attachment": attachment}
    )
    assert await response.get_json() == {
        "title": "notes",
        "filename": "notes.txt",
        "content": "file body",
    }
    response = await schema_client.post("/upload", form={"title": "no file"})
    assert response.status_code == 400
    assert (await response.get_json())["errors"][0]["loc"] == ["attachment"]


async def test_openapi_document(schema_client: QuartClient) -> None:
    response = await schema_client.get("/openapi.json")
    assert response.status_code == 200
    document = await response.get_json()
    assert document["info"] == {"title": "Todos", "version": "2.1.0"}
    paths = document["paths"]
    assert set(paths) == {
        "/todos",
        "/todos/{todo_id}",
        "/broken",
        "/search",
        "/tenant",
        "/login",
        "/upload",
        "/admin/todos/{todo_id}",
    }
    assert set(paths["/todos"]) == {"get", "post"}
    listing = paths["/todos"]["get"]["responses"]["200"]
    # Quart-Schema puts the response headers' schema beside the JSON content.
    assert set(listing["content"]["headers"]) == {"x-total-count"}
    assert set(paths["/admin/todos/{todo_id}"]) == {"delete"}

    create = paths["/todos"]["post"]
    assert create["summary"] == "Create a todo."
    assert create["description"].strip() == "The todo is stored and returned with its new id."
    request_schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert request_schema["required"] == ["task"]
    assert set(request_schema["properties"]) == {"task", "due"}
    assert set(create["responses"]) == {"201"}
    created = create["responses"]["201"]["content"]["application/json"]["schema"]
    assert set(created["properties"]) == {"id", "task", "due"}

    read = paths["/todos/{todo_id}"]["get"]
    assert read["tags"] == ["todos"]
    assert set(read["responses"]) == {"200", "404"}
    assert read["parameters"] == [
        {"name": "todo_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    ]

    query = {p["name"]: p for p in paths["/search"]["get"]["parameters"]}
    assert set(query) == {"page", "tags"}
    assert {p["in"] for p in query.values()} == {"query"}
    header = paths["/tenant"]["get"]["parameters"]
    assert [(p["name"], p["in"]) for p in header] == [("x-tenant-id", "header")]
    form = paths["/login"]["post"]["requestBody"]["content"]
    assert list(form) == ["application/x-www-form-urlencoded"]
    upload = paths["/upload"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert upload["schema"]["properties"]["attachment"] == {
        "format": "binary",
        "title": "Attachment",
        "type": "string",
    }


@pytest.mark.parametrize(
    ("path", "marker"),
    [("/docs", "swagger-ui"), ("/redocs", "redoc"), ("/scalar", "api-reference")],
)
async def test_docs_pages(schema_client: QuartClient, path: str, marker: str) -> None:
    response = await schema_client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = await response.get_data(as_text=True)
    assert "<title>Todos</title>" in page
    assert marker in page
    assert "/openapi.json" in page


async def test_websocket_messages_are_validated(schema_client: QuartClient) -> None:
    async with schema_client.websocket("/ws") as ws:
        await ws.send_json({"seq": 1})
        assert await ws.receive_json() == {"seq": 1, "reply": "pong"}
        await ws.send_json({"seq": "first"})
        assert await ws.receive_json() == {"error": "invalid message"}
        await ws.send_json({"seq": 2})
        assert await ws.receive_json() == {"seq": 2, "reply": "pong"}


async def test_schema_command_prints_and_writes_the_document(
    schema_app: Quart, tmp_path: Path
) -> None:
    runner = schema_app.test_cli_runner()
    result = runner.invoke(args=["schema"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["info"]["title"] == "Todos"
    assert "/todos" in printed["paths"]

    target = tmp_path / "openapi.json"
    result = runner.invoke(args=["schema", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert json.loads(target.read_text()) == printed


async def test_served_by_hypercorn(serve: Any) -> None:
    base_url = await serve(make_app())
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post("/todos", json={"task": "served"})
        assert response.status_code == 201
        assert response.json() == {"id": 1, "task": "served", "due": None}

        response = await http.post("/todos", json={"due": 1})
        assert response.status_code == 400
        assert response.json()["errors"][0]["loc"] == ["task"]

        response = await http.post("/login", data={"user": "grace"})
        assert response.json() == {"user": "grace", "remember": False}

        response = await http.post(
            "/upload", data={"title": "t"}, files={"attachment": ("a.txt", b"uploaded")}
        )
        assert response.json() == {"title": "t", "filename": "a.txt", "content": "uploaded"}

        response = await http.get("/openapi.json")
        assert response.headers["content-type"] == "application/json"
        assert "/todos/{todo_id}" in response.json()["paths"]

        response = await http.get("/docs")
        assert response.status_code == 200
        assert "swagger-ui" in response.text
