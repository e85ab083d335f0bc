"""The benchmark endpoints in idiomatic Starlette: the fast ASGI framework we measure
ourselves by.

As in quart_app.py, ``app`` has the six micro endpoints and the websocket echo, and
``realistic_app`` the realistic scenarios, each written the way Starlette's documentation
writes it: SessionMiddleware, Jinja2Templates, ``request.form()``, exception handlers,
StaticFiles and StreamingResponse.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.websockets import WebSocket, WebSocketDisconnect

from benchmarks.apps.content import (
    ROWS,
    SECRET_KEY,
    STATIC_DIR,
    TEMPLATES_DIR,
    ensure_static_files,
)


async def plaintext(request: Request) -> Response:
    return PlainTextResponse("Hello, World!")


async def json_message(request: Request) -> Response:
    return JSONResponse({"message": "Hello, World!"})


async def user(request: Request) -> Response:
    user_id: int = request.path_params["id"]
    return PlainTextResponse(f"User {user_id}")


async def query(request: Request) -> Response:
    return JSONResponse(dict(request.query_params))


async def echo(request: Request) -> Response:
    return JSONResponse(await request.json())


async def echo_socket(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes") is not None:
                await websocket.send_bytes(message["bytes"])
            else:
                await websocket.send_text(message.get("text") or "")
    except WebSocketDisconnect:
        return


app = Starlette(
    routes=[
        Route("/", plaintext),
        Route("/json", json_message),
        Route("/user/{id:int}", user),
        Route("/query", query),
        Route("/echo", echo, methods=["POST"]),
        WebSocketRoute("/ws", echo_socket),
    ]
)


ensure_static_files()
templates = Jinja2Templates(directory=TEMPLATES_DIR)
ITEMS = {1: {"id": 1, "name": "first"}}


class BoomError(Exception):
    """What the ``/boom`` view raises, for its exception handler to answer."""


async def counter(request: Request) -> Response:
    request.session["n"] = request.session.get("n", 0) + 1
    return JSONResponse({"n": request.session["n"]})


async def template(request: Request) -> Response:
    return templates.TemplateResponse(request, "rows.html", {"rows": ROWS})


async def upload(request: Request) -> Response:
    async with request.form() as form:
        file = form["file"]
        text = form["text"]
        assert isinstance(file, UploadFile) and isinstance(text, str)
        return JSONResponse({"size": len(await file.read()), "text": text})


async def item(request: Request) -> Response:
    item_id: int = request.path_params["id"]
    if item_id not in ITEMS:
        raise HTTPException(404, detail=f"item {item_id} not found")
    return JSONResponse(ITEMS[item_id])


async def json_not_found(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail}, status_code=404)


async def boom(request: Request) -> Response:
    raise BoomError("boom")


async def boom_handler(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": str(exc)}, status_code=500)


async def sse(request: Request) -> Response:
    count = int(request.query_params.get("n", "10"))

    async def events() -> AsyncIterator[bytes]:
        for index in range(count):
            yield f"data: {index}\n\n".encode()

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


realistic_app = Starlette(
    routes=[
        Route("/user/{id:int}", user),
        Route("/session", counter),
        Route("/template", template),
        Route("/upload", upload, methods=["POST"]),
        Route("/items/{id:int}", item),
        Route("/boom", boom),
        Route("/sse", sse),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ],
    exception_handlers={404: json_not_found, BoomError: boom_handler},
    # App-wide, as the documentation shows it (and as the Quart app's SECRET_KEY is):
    # every request of this app opens and saves the session.
    middleware=[Middleware(SessionMiddleware, secret_key=SECRET_KEY)],
)
