"""The six endpoints and the websocket echo in idiomatic Starlette: the fast ASGI framework we
measure ourselves by."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


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
