"""The benchmark endpoints as bare ASGI callables: no framework, so the limit of what is
possible.

It still does the work each endpoint asks for (parse the query, decode and re-encode JSON,
read the file), so the comparison is with the same job done by hand, not with a canned reply.
``app`` has the six micro endpoints and the websocket echo; ``realistic_app`` the realistic
scenarios a hand-written app can sensibly do (error answers, static files, server-sent
events); sessions, templates and multipart parsing are left to frameworks ("n/a").
"""

from __future__ import annotations

import json
import mimetypes
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from benchmarks.apps.content import STATIC_DIR, ensure_static_files

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


ensure_static_files()
ITEMS = {1: {"id": 1, "name": "first"}}
CHUNK = 64 * 1024


class BoomError(Exception):
    """What ``/boom`` raises and answers as a JSON 500."""


async def static_file(send: Send, name: str) -> None:
    """A file from the static folder in 64 KiB body messages, with an ETag from its
    modification time and size."""
    path = os.path.join(STATIC_DIR, name)
    if "/" in name or name.startswith(".") or not os.path.isfile(path):
        await respond(send, 404, JSON, b'{"error": "not found"}')
        return
    stat = os.stat(path)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(stat.st_size).encode()),
        (b"etag", f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'.encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def events(send: Send, count: int) -> None:
    """``count`` server-sent events, one body message each."""
    headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    for index in range(count):
        body = f"data: {index}\n\n".encode()
        await send({"type": "http.response.body", "body": body, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def realistic_app(scope: Message, receive: Receive, send: Send) -> None:
    """The realistic scenarios a hand-written app can do, routed by hand."""
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    path: str = scope["path"]
    if scope["method"] == "GET":
        if path.startswith("/static/"):
            await static_file(send, path[8:])
            return
        if path.startswith("/items/") and path[7:].isdigit():
            item = ITEMS.get(int(path[7:]))
            if item is None:
                body = json.dumps({"error": f"item {int(path[7:])} not found"}).encode()
                await respond(send, 404, JSON, body)
            else:
                await respond(send, 200, JSON, json.dumps(item).encode())
            return
        if path == "/boom":
            try:
                raise BoomError("boom")
            except BoomError as error:
                await respond(send, 500, JSON, json.dumps({"error": str(error)}).encode())
            return
        if path == "/sse":
            args = dict(parse_qsl(scope["query_string"].decode("latin-1")))
            await events(send, int(args.get("n", "10")))
            return
    await respond(send, 404, JSON, json.dumps({"error": "not found"}).encode())
