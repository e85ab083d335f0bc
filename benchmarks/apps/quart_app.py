"""The six endpoints and the websocket echo in plain Quart-API code.

The same file serves both this project (project venv, where ``quart`` is ours) and the
published Quart (benchmarks/.venv-quart), so both run exactly the same user code.
"""

from __future__ import annotations

from typing import Any

from quart import Quart, jsonify, request, websocket

app = Quart(__name__)


@app.get("/")
async def plaintext() -> str:
    return "Hello, World!"


@app.get("/json")
async def json_message() -> dict[str, Any]:
    return {"message": "Hello, World!"}


@app.get("/user/<int:id>")
async def user(id: int) -> str:
    return f"User {id}"


@app.get("/query")
async def query() -> Any:
    return jsonify(request.args.to_dict())


@app.post("/echo")
async def echo() -> Any:
    return jsonify(await request.get_json())


@app.websocket("/ws")
async def echo_socket() -> None:
    while True:
        await websocket.send(await websocket.receive())
