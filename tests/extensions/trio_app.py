"""A QuartTrio app (quart-trio 0.12.0 on our quart), for tests/extensions/test_quart_trio.py:
driven in memory by its own test client under trio, and served for real by hypercorn's
trio worker (``app`` here, as ``trio_app:app``).

With ``TRIO_APP_LOG`` set, the serving functions append what they do to that file, so
that a test can see the lifespan run in a server process."""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncGenerator, Generator
from pathlib import Path
from typing import Any

import sniffio
import trio
from quart_trio import QuartTrio

from quart import (
    Response,
    abort,
    current_app,
    g,
    jsonify,
    request,
    send_file,
    websocket,
)

#: A file larger than ``FileBody.small_file_size`` (64 KiB), so that ``send_file``
#: streams it with quart-trio's ``TrioFileBody`` rather than sending it in one piece.
LARGE_FILE_SIZE = 200 * 1024


def large_file_bytes() -> bytes:
    return bytes(range(256)) * (LARGE_FILE_SIZE // 256)


def make_app(large_file: Path | None = None) -> QuartTrio:
    app = QuartTrio(__name__)
    log_path = os.environ.get("TRIO_APP_LOG")
    app.config["events"] = events = []

    def log(event: str) -> None:
        events.append(event)
        if log_path:
            with open(log_path, "a") as file:
                file.write(event + "\n")

    @app.before_serving
    async def started() -> None:
        log("before_serving")

    @app.while_serving
    async def serving() -> AsyncGenerator[None, None]:
        log("while_serving:start")
        yield
        log("while_serving:stop")

    @app.after_serving
    async def stopped() -> None:
        log("after_serving")

    @app.before_request
    async def before() -> None:
        g.hooked = "before"

    @app.after_request
    async def after(response: Response) -> Response:
        response.headers["X-Hooks"] = f"{g.get('hooked')},after"
        return response

    @app.get("/")
    async def index() -> str:
        return "hello from trio"

    @app.post("/echo")
    async def echo() -> Any:
        data = await request.get_json()
        return jsonify(echoed=data, library=sniffio.current_async_library())

    @app.post("/form")
    def form_in_a_thread() -> dict[str, Any]:
        # A sync view: QuartTrio's sync_to_async runs it in one of trio's threads.
        return {"thread": threading.current_thread().name != "MainThread"}

    @app.post("/form-fields")
    async def form_fields() -> dict[str, Any]:
        fields = await request.form
        return fields.to_dict()

    @app.get("/stream")
    async def stream() -> Any:
        async def chunks() -> AsyncGenerator[str, None]:
            for number in range(3):
                await trio.sleep(0)
                yield f"chunk {number}\n"

        return chunks(), {"Content-Type": "text/plain"}

    @app.get("/count")
    def count() -> Any:
        def numbers() -> Generator[str, None, None]:
            yield from ("1,", "2,", "3")

        return numbers()

    @app.get("/fail")
    async def fail() -> str:
        raise LookupError("nothing here")

    @app.errorhandler(LookupError)
    async def not_found_here(error: LookupError) -> tuple[dict[str, str], int]:
        return {"error": str(error)}, 418

    @app.get("/crash")
    async def crash() -> str:
        raise RuntimeError("unhandled")

    @app.get("/background")
    async def background() -> str:
        async def task() -> None:
            await trio.sleep(0.01)
            log(f"background:{current_app.name}")

        app.add_background_task(task)
        return "scheduled"

    @app.get("/events")
    async def listed() -> dict[str, Any]:
        return {"events": events}

    if large_file is not None:
        path = large_file

        @app.get("/large")
        async def large() -> Response:
            return await send_file(path, mimetype="application/octet-stream")

    @app.before_websocket
    async def refuse() -> None:
        if websocket.args.get("refuse"):
            abort(403)

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.accept()
        while True:
            message = await websocket.receive()
            if message == "close":
                await websocket.close(4001, "asked to")
                return
            text = message if isinstance(message, str) else message.decode()
            await websocket.send(f"echo: {text}")

    return app


_large = os.environ.get("TRIO_APP_LARGE_FILE")
app = make_app(None if _large is None else Path(_large))
