"""A JSON API for todos, written from the description of Quart's API tutorial: an echo
route, a top-level JSON array, and todos whose request and response bodies are validated
by Quart-Schema, which also documents them as OpenAPI. Added on top: the todo routes live
in a blueprint with a search query string, reading and deleting by id, JSON error bodies
for validation failures and missing todos."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from quart_schema import (
    Info,
    QuartSchema,
    RequestSchemaValidationError,
    validate_querystring,
    validate_request,
    validate_response,
)

from quart import Blueprint, Quart, abort, jsonify, request

app = Quart(__name__)
QuartSchema(app, info=Info(title="Todo API", version="0.1.0"))


@dataclass
class TodoIn:
    task: str
    due: datetime | None


@dataclass
class Todo(TodoIn):
    id: int


@dataclass
class Todos:
    todos: list[Todo] = field(default_factory=list)


@dataclass
class TodoSearch:
    contains: str | None = None


_todos: dict[int, Todo] = {}
_ids = itertools.count(1)


def reset() -> None:
    """Forget every todo and start the ids at 1 again."""
    global _ids
    _todos.clear()
    _ids = itertools.count(1)


@app.post("/echo")
async def echo() -> Any:
    data = await request.get_json()
    return {"input": data, "extra": True}


@app.get("/example")
async def example() -> Any:
    return jsonify(["a", "b"])


todos = Blueprint("todos", __name__, url_prefix="/todos")


@todos.post("/")
@validate_request(TodoIn)
@validate_response(Todo, 201)
async def create_todo(data: TodoIn) -> tuple[Todo, int]:
    todo = Todo(id=next(_ids), task=data.task, due=data.due)
    _todos[todo.id] = todo
    return todo, 201


@todos.get("/")
@validate_querystring(TodoSearch)
@validate_response(Todos)
async def list_todos(query_args: TodoSearch) -> Todos:
    found = [
        todo
        for todo in _todos.values()
        if query_args.contains is None or query_args.contains in todo.task
    ]
    return Todos(todos=found)


@todos.get("/<int:todo_id>")
@validate_response(Todo)
async def get_todo(todo_id: int) -> Todo:
    if todo_id not in _todos:
        abort(404)
    return _todos[todo_id]


@todos.delete("/<int:todo_id>")
async def delete_todo(todo_id: int) -> Any:
    if _todos.pop(todo_id, None) is None:
        abort(404)
    return "", 204


@todos.get("/broken")
@validate_response(Todo)
async def broken() -> Any:
    """A bug on purpose: the response does not match its schema."""
    return {"id": "not a number", "task": 3}


app.register_blueprint(todos)


@app.errorhandler(RequestSchemaValidationError)
async def invalid_request(error: RequestSchemaValidationError) -> Any:
    return {"errors": str(error.validation_error)}, 400


@app.errorhandler(404)
async def not_found(_error: Exception) -> Any:
    return {"error": "not found", "path": request.path}, 404


def run() -> None:
    app.run()
