"""The app the smoke suite serves: copied into a temporary directory as ``smoke_app.py``
and started from there with each server's own command line (``smoke_app:app``).

The serving hooks write marker files into the current directory (the temporary one), so
the test can see that the server ran the ASGI lifespan at start and at stop.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from werkzeug.exceptions import NotFound

from quart import (
    Quart,
    has_request_context,
    make_response,
    redirect,
    request,
    send_file,
    session,
    url_for,
    websocket,
)

app = Quart(__name__)
app.secret_key = "smoke test secret"

STARTED = Path("started.marker")
STOPPED = Path("stopped.marker")

# One gate per streamed response, keyed by the name in its URL: the test opens the
# gate (over a second request) to let the stream produce its next chunk.
gates: dict[str, asyncio.Queue[None]] = {}
# Set when the stream of that name has ended, however it ended.
closed: dict[str, asyncio.Event] = {}


@app.before_serving
async def mark_started() -> None:
    app.config["SERVING_PID"] = os.getpid()
    STARTED.write_text(f"started {os.getpid()}")


@app.after_serving
async def mark_stopped() -> None:
    STOPPED.write_text(f"stopped {app.config['SERVING_PID']}")


@app.get("/")
async def index() -> str:
    return "smoke test"


@app.get("/json")
async def json_view() -> dict[str, Any]:
    return {"ok": True, "items": [1, 2, 3], "text": "héllo"}


@app.get("/users/<int:user_id>/posts/<slug>")
async def user_post(user_id: int, slug: str) -> dict[str, Any]:
    return {"user_id": user_id, "slug": slug}


@app.get("/search")
async def search() -> dict[str, Any]:
    return {
        "q": request.args.get("q"),
        "page": request.args.get("page", 1, type=int),
        "tags": request.args.getlist("tag"),
    }


@app.post("/echo")
async def echo() -> tuple[dict[str, Any], int]:
    return {"received": await request.get_json()}, 201


@app.post("/form")
async def form() -> dict[str, Any]:
    data = await request.form
    return {"name": data.get("name"), "colours": data.getlist("colour")}


@app.post("/upload")
async def upload() -> dict[str, Any]:
    body = await request.get_data()
    return {"length": len(body), "sum": sum(body) % 65536}


@app.get("/whoami")
async def whoami() -> dict[str, Any]:
    return {
        "remote_addr": request.remote_addr,
        "host": request.host,
        "url": request.url,
        "scheme": request.scheme,
        "agent": request.headers.get("User-Agent"),
    }


@app.post("/session")
async def set_session() -> Any:
    session["name"] = (await request.form)["name"]
    response = await make_response("stored")
    response.set_cookie("theme", "dark")
    return response


@app.get("/session")
async def get_session() -> dict[str, Any]:
    return {"name": session.get("name"), "theme": request.cookies.get("theme")}


@app.get("/old")
async def old() -> Any:
    return redirect(url_for("json_view"))


@app.errorhandler(404)
async def not_found(error: NotFound) -> Any:
    """JSON for clients that ask for it; the default HTML page for the others (and for
    websockets, which have no ``request``)."""
    if has_request_context() and request.accept_mimetypes.best == "application/json":
        return {"error": "not found", "path": request.path}, 404
    return error


BIG_FILE = Path("big.bin")  # in the server's working directory, a fresh one per test module
BIG_FILE.write_bytes(bytes(range(256)) * 1024)  # 256 KiB: streamed, not read whole


@app.get("/big-file")
async def big_file() -> Any:
    """A file from disk, whole or by range (granian sends a whole one itself)."""
    return await send_file(BIG_FILE)


@app.get("/stream/<name>")
async def stream(name: str) -> Any:
    gate = gates.setdefault(name, asyncio.Queue())

    async def chunks() -> AsyncIterator[str]:
        try:
            for number in range(3):
                if number:
                    await gate.get()
                yield f"chunk {number}\n"
        finally:
            # Reached at the end, or when the client leaves while the stream waits.
            del gates[name]
            closed.setdefault(name, asyncio.Event()).set()

    return chunks(), {"Content-Type": "text/plain; charset=utf-8"}


@app.post("/stream/<name>/next")
async def next_chunk(name: str) -> tuple[str, int]:
    """Let the stream ``name`` produce its next chunk; 409 when no such stream is open."""
    gate = gates.get(name)
    if gate is None:
        return "no stream is waiting", 409
    gate.put_nowait(None)
    return "released", 202


@app.get("/stream/<name>/closed")
async def stream_closed(name: str) -> tuple[str, int]:
    """Answer once the stream ``name`` has ended (504 if it does not within 5 s)."""
    try:
        async with asyncio.timeout(5):
            await closed.setdefault(name, asyncio.Event()).wait()
    except TimeoutError:
        return "still streaming", 504
    return "closed", 200


@app.websocket("/ws")
async def ws_echo() -> None:
    """Text back as text, bytes back as bytes; the text "close" ends with code 4000."""
    while True:
        message = await websocket.receive()
        if message == "close":
            await websocket.close(4000, "closing as asked")
            return
        await websocket.send(message)


@app.websocket("/ws/json/<room>")
async def ws_json(room: str) -> None:
    while True:
        data = await websocket.receive_json()
        await websocket.send_json({"room": room, "user": websocket.args.get("user"), "got": data})
