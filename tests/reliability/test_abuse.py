"""Abuse from real clients on loopback, against hypercorn and uvicorn serving our app in
a subprocess: garbage, requests that never finish, a body dripped byte by byte, a
thousand connections dropped mid-request, a client that never reads, websockets opened
and dropped. After each, the worker answers ``GET /`` promptly and has no more tasks or
open files than before."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.serving import HOST
from server.subprocess_server import PROMPT, get, served

HERE = Path(__file__).parent


@pytest.fixture(scope="module", params=["uvicorn-websockets", "hypercorn"])
def port(request: pytest.FixtureRequest) -> Iterator[int]:
    with served(request.param, "abuse_app:app", HERE) as (_process, port):
        yield port


async def state(port: int) -> dict[str, Any]:
    status, body = await get(port, "/state")
    assert status == 200
    return json.loads(body)  # type: ignore[no-any-return]


#: Seconds a server may keep a dropped connection's tasks: hypercorn ends them when its
#: idle timeout (5 s by default) runs out.
SETTLE = 15.0


async def settled(port: int, before: dict[str, Any]) -> dict[str, Any]:
    """The worker's state once it is back to ``before`` (within a few files: a server
    may keep a socket or two around), or as it is after SETTLE seconds. The worker is
    another process: polling its answer is all there is to wait on."""
    deadline = time.monotonic() + SETTLE
    while True:
        now = await state(port)
        back = now["tasks"] <= before["tasks"] and now["files"] <= before["files"] + 2
        if back or time.monotonic() > deadline:
            return now
        await asyncio.sleep(0.05)


async def assert_healthy(port: int, before: dict[str, Any]) -> None:
    assert await get(port, "/") == (200, b"ok")
    now = await settled(port, before)
    assert now["tasks"] <= before["tasks"], (before, now)
    assert now["files"] <= before["files"] + 2, (before, now)


async def baseline(port: int) -> dict[str, Any]:
    assert await get(port, "/") == (200, b"ok")
    return await state(port)


async def test_garbage_bytes_get_a_400_or_a_close(port: int) -> None:
    """Each server answers garbage its own way (a 400, a close, or waiting for a request
    until its own timeout); whichever, the worker serves on."""
    before = await baseline(port)
    for garbage in (b"\x16\x03\x01\x02\x00\x01\xff\r\n\r\n", b"GET\x00/ HTTP/9\r\n\r\n"):
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            writer.write(garbage)
            try:
                async with asyncio.timeout(2):
                    answer = await reader.read()
            except TimeoutError:
                answer = b""  # held open: the server's own timeout will end it
        finally:
            writer.transport.abort()
        assert answer == b"" or answer.startswith(b"HTTP/1.1 400"), answer[:80]
        assert b"Traceback" not in answer
    await assert_healthy(port, before)


async def test_requests_that_never_finish_do_not_block_others(port: int) -> None:
    before = await baseline(port)
    stalled = []
    for _ in range(50):
        _reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # and then nothing
        stalled.append(writer)
    try:
        for _ in range(3):
            assert await get(port, "/") == (200, b"ok")
    finally:
        for writer in stalled:
            writer.transport.abort()
    await assert_healthy(port, before)


async def test_a_dripped_body_gets_408_within_the_body_timeout(port: int) -> None:
    before = await baseline(port)
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")

    async def drip() -> None:
        while True:
            writer.write(b"x")
            await asyncio.sleep(0.1)  # the client's pace, which is the point of the test

    dripping = asyncio.create_task(drip())
    started = time.monotonic()
    try:
        async with asyncio.timeout(PROMPT):
            status_line = await reader.readline()
    finally:
        dripping.cancel()
        writer.transport.abort()
    assert status_line.startswith(b"HTTP/1.1 408"), status_line
    assert time.monotonic() - started < 4  # BODY_TIMEOUT is 1 second
    await assert_healthy(port, before)


async def test_a_thousand_connections_dropped_mid_request(port: int) -> None:
    before = await baseline(port)
    partial = (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc",
        b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHo",
    )
    for batch in range(10):
        writers = []
        for index in range(100):
            _reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(partial[(batch + index) % len(partial)])
            writers.append(writer)
        await asyncio.sleep(0)  # the requests are on the wire
        for writer in writers:
            writer.transport.abort()
    await assert_healthy(port, before)


async def test_a_client_that_never_reads_a_large_response(port: int) -> None:
    before = await baseline(port)
    _reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        for _ in range(3):  # the worker goes on answering others meanwhile
            assert await get(port, "/") == (200, b"ok")
    finally:
        writer.transport.abort()
    await assert_healthy(port, before)


async def test_many_websockets_opened_and_dropped(port: int) -> None:
    before = await baseline(port)
    writers: list[Any] = []
    for _ in range(200):
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(
            b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )
        writers.append((reader, writer))
    for reader, _writer in writers:
        async with asyncio.timeout(PROMPT):
            head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
    for _reader, writer in writers:
        writer.transport.abort()  # no close frame
    await assert_healthy(port, before)
