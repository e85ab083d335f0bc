"""Handlers that send in a loop and never wait must not freeze the worker.

Each server runs in a subprocess of its own (``send_loop_app.py``), as a worker does in
production: if a handler held its event loop, the other client here would get no
answer at all. A raw-socket client reads the loop's output as fast as it can while a
second connection checks that ``GET /`` is answered promptly; then the first drops its
TCP connection without a close frame, and the handler must end (a websocket ``send``
raising ``ConnectionClosed`` with 1006, a stream's generator being closed) while the
worker keeps answering.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .serving import HOST
from .subprocess_server import PROMPT, SERVERS, get, served

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, int]]:
    with served(request.param, "send_loop_app:app", HERE) as (_process, port):
        yield request.param, port


async def _how_it_ended(port: int, tag: str) -> object:
    """How the loop ``tag`` ended, waiting up to PROMPT seconds for it to end (the
    server is another process: there is nothing to await but its answer)."""
    deadline = time.monotonic() + PROMPT
    while True:
        status, body = await get(port, f"/ended/{tag}")
        assert status == 200
        ended = json.loads(body)["ended"]
        if ended is not None or time.monotonic() > deadline:
            return ended
        await asyncio.sleep(0.05)


async def _open_stream(
    port: int, path: str, websocket: bool
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(HOST, port)
    upgrade = (
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        if websocket
        else ""
    )
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n{upgrade}\r\n".encode())
    async with asyncio.timeout(PROMPT):
        head = await reader.readuntil(b"\r\n\r\n")
    assert head.split(b" ", 2)[1] == (b"101" if websocket else b"200"), head
    return reader, writer


async def _read_fast(reader: asyncio.StreamReader, counted: list[int]) -> None:
    while chunk := await reader.read(1 << 16):
        counted[0] += len(chunk)


async def _check_worker_while_a_loop_runs(port: int, path: str, *, websocket: bool) -> None:
    """Read ``path`` as fast as possible, check ``GET /`` meanwhile, drop the
    connection, check ``GET /`` again; the number of bytes read."""
    reader, writer = await _open_stream(port, path, websocket)
    async with asyncio.timeout(PROMPT):
        await reader.readexactly(1 << 16)  # the loop is running
    counted = [0]
    reading = asyncio.create_task(_read_fast(reader, counted))
    try:
        for _ in range(3):
            assert await get(port, "/") == (200, b"ok")
        assert counted[0] > 0  # the loop went on sending meanwhile
    finally:
        reading.cancel()
        # Dropped with unread data in the socket: the kernel resets the connection,
        # and no close frame is ever sent.
        writer.transport.abort()
    assert await get(port, "/") == (200, b"ok")


@pytest.mark.parametrize("server", list(SERVERS), indirect=True)
@pytest.mark.parametrize("kind", ["bytes", "json"])
async def test_a_websocket_send_loop_leaves_the_worker_answering(
    server: tuple[str, int], kind: str
) -> None:
    _name, port = server
    tag = f"ws-{kind}"
    await _check_worker_while_a_loop_runs(port, f"/ws/{kind}/{tag}", websocket=True)
    assert await _how_it_ended(port, tag) == 1006  # the next send said the client left
    assert await get(port, "/") == (200, b"ok")


# uvicorn's HTTP side is the same whichever websocket implementation it has.
@pytest.mark.parametrize("server", ["uvicorn-websockets", "hypercorn"], indirect=True)
@pytest.mark.parametrize("kind", ["async", "sync", "sse"])
async def test_a_stream_that_never_waits_leaves_the_worker_answering(
    server: tuple[str, int], kind: str
) -> None:
    _name, port = server
    tag = f"stream-{kind}"
    await _check_worker_while_a_loop_runs(port, f"/stream/{kind}/{tag}", websocket=False)
    assert await _how_it_ended(port, tag) == "closed"  # the generator was closed
    assert await get(port, "/") == (200, b"ok")
