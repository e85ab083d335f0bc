"""The benchmark endpoints in plain Quart-API code.

The same file serves both this project (project venv, where ``quart`` is ours) and the
published Quart (benchmarks/.venv-quart), so both run exactly the same user code.

``app`` has the six micro endpoints and the websocket echo, nothing else (no static folder,
no secret key), as it always had; ``realistic_app`` has the realistic scenarios: a session,
a template, an upload, error handlers, static files and server-sent events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from werkzeug.exceptions import HTTPException

from benchmarks.apps.content import ROWS, SECRET_KEY, ensure_static_files
from quart import Quart, abort, jsonify, render_template, request, session, websocket

app = Quart(__name__, static_folder=None)


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
        message: Any = await websocket.receive()
        await websocket.send(message)


ensure_static_files()
realistic_app = Quart(__name__)  # templates/ and static/ beside this file
realistic_app.config["SECRET_KEY"] = SECRET_KEY
ITEMS = {1: {"id": 1, "name": "first"}}


class BoomError(Exception):
    """What the ``/boom`` view raises, for its error handler to answer."""


@realistic_app.get("/user/<int:id>", endpoint="user")
async def realistic_user(id: int) -> str:
    """What the template's links point to."""
    return f"User {id}"


@realistic_app.get("/session")
async def counter() -> dict[str, Any]:
    session["n"] = session.get("n", 0) + 1
    return {"n": session["n"]}


@realistic_app.get("/template")
async def template() -> str:
    return await render_template("rows.html", rows=ROWS)


@realistic_app.post("/upload")
async def upload() -> dict[str, Any]:
    form = await request.form
    files = await request.files
    return {"size": len(files["file"].read()), "text": form["text"]}


@realistic_app.get("/items/<int:id>")
async def item(id: int) -> dict[str, Any]:
    if id not in ITEMS:
        abort(404, description=f"item {id} not found")
    return ITEMS[id]


@realistic_app.errorhandler(404)
async def json_not_found(error: HTTPException) -> tuple[dict[str, Any], int]:
    return {"error": error.description}, 404


@realistic_app.get("/boom")
async def boom() -> str:
    raise BoomError("boom")


@realistic_app.errorhandler(BoomError)
async def boom_handler(error: BoomError) -> tuple[dict[str, Any], int]:
    return {"error": str(error)}, 500


@realistic_app.get("/sse")
async def sse() -> Any:
    count = request.args.get("n", 10, type=int)

    async def events() -> AsyncIterator[bytes]:
        for index in range(count):
            yield f"data: {index}\n\n".encode()

    return events(), 200, {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
