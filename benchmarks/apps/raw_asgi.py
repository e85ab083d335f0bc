"""The six endpoints and the websocket echo as a bare ASGI callable: no framework, so the
limit of what is possible.

It still does the work each endpoint asks for (parse the query, decode and re-encode JSON),
so the comparison is with the same job done by hand, not with a canned reply.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

TEXT = [(b"content-type", b"text/plain; charset=utf-8")]
JSON = [(b"content-type", b"application/json")]


async def respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    """Send a complete response in the usual two ASGI messages."""
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def read_body(receive: Receive) -> bytes:
    """Collect the request body, however many messages it comes in."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def lifespan(receive: Receive, send: Send) -> None:
    """Acknowledge startup and shutdown, so every app is driven the same way."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def websocket_echo(receive: Receive, send: Send) -> None:
    """Accept, then send every message back as it came, until the client leaves."""
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif kind == "websocket.receive":
            if message.get("bytes") is not None:
                await send({"type": "websocket.send", "bytes": message["bytes"]})
            else:
                await send({"type": "websocket.send", "text": message.get("text") or ""})
        else:
            return


async def app(scope: Message, receive: Receive, send: Send) -> None:
    """Route on method and path by hand."""
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    if scope["type"] == "websocket":
        await websocket_echo(receive, send)
        return
    path: str = scope["path"]
    method: str = scope["method"]
    if method == "GET":
        if path == "/":
            await respond(send, 200, TEXT, b"Hello, World!")
            return
        if path == "/json":
            await respond(send, 200, JSON, json.dumps({"message": "Hello, World!"}).encode())
            return
        if path == "/query":
            args = dict(parse_qsl(scope["query_string"].decode("latin-1")))
            await respond(send, 200, JSON, json.dumps(args).encode())
            return
        if path.startswith("/user/") and path[6:].isdigit():
            await respond(send, 200, TEXT, f"User {int(path[6:])}".encode())
            return
    elif method == "POST" and path == "/echo":
        data = json.loads(await read_body(receive))
        await respond(send, 200, JSON, json.dumps(data).encode())
        return
    await respond(send, 404, TEXT, b"Not Found")
