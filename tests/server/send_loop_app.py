"""Handlers that send in a loop without ever waiting for anything else, served in a
subprocess by ``test_send_loops.py``: a worker must go on answering other clients while
they run, and each must end once its client has left.

``GET /ended/<tag>`` tells how the loop tagged ``<tag>`` ended: the websocket close code
its last ``send`` raised, or ``"closed"`` for a stream whose generator was closed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from quart import Quart, make_response, websocket
from quart.exceptions import ConnectionClosed
from quart.sse import ServerSentEvent, make_sse_response

PAYLOAD = b"x" * 4096

app = Quart(__name__)
ended: dict[str, Any] = {}


@app.get("/")
async def index() -> str:
    return "ok"


@app.get("/ended/<tag>")
async def how_it_ended(tag: str) -> dict[str, Any]:
    return {"ended": ended.get(tag)}


@app.websocket("/ws/<kind>/<tag>")
async def send_forever(kind: str, tag: str) -> None:
    try:
        while True:
            if kind == "json":
                await websocket.send_json({"tick": "x" * 4096})
            else:
                await websocket.send(PAYLOAD)
    except ConnectionClosed as closed:
        ended[tag] = closed.code
        raise


@app.get("/stream/async/<tag>")
async def async_stream(tag: str) -> Any:
    async def generate() -> AsyncIterator[bytes]:
        try:
            while True:
                yield PAYLOAD
        finally:
            ended[tag] = "closed"

    return await make_response(generate())


@app.get("/stream/sync/<tag>")
def sync_stream(tag: str) -> Any:
    def generate() -> Iterator[bytes]:
        try:
            while True:
                yield PAYLOAD
        finally:
            ended[tag] = "closed"

    return generate()


@app.get("/stream/sse/<tag>")
async def sse_stream(tag: str) -> Any:
    async def events() -> AsyncIterator[ServerSentEvent]:
        try:
            while True:
                yield ServerSentEvent("x" * 4096)
        finally:
            ended[tag] = "closed"

    return await make_sse_response(events())
