"""Streamed responses over a real server: async and sync generators.

The generators wait for the test to read the first chunk before producing the rest, so a
server that buffered the whole body before sending would never deliver the first chunk
(the test then fails on its timeout instead of passing by accident).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from quart import Quart, Response

TIMEOUT = 10.0


async def read_exactly(chunks: AsyncIterator[bytes], size: int) -> bytes:
    received = b""
    while len(received) < size:
        received += await anext(chunks)
    return received


async def test_async_generator_streams_chunk_by_chunk(serve: Any) -> None:
    app = Quart(__name__)
    release = asyncio.Event()
    finished = asyncio.Event()

    @app.route("/stream")
    async def stream() -> Any:
        async def generate() -> AsyncIterator[bytes]:
            yield b"first;"
            await release.wait()
            for number in range(3):
                yield f"chunk {number};".encode()
            finished.set()

        return generate(), 200, {"X-Stream": "yes"}

    base_url = await serve(app)
    async with (
        httpx.AsyncClient(base_url=base_url) as client,
        client.stream("GET", "/stream") as response,
        asyncio.timeout(TIMEOUT),
    ):
        assert response.status_code == 200
        assert response.headers["x-stream"] == "yes"
        assert "content-length" not in response.headers
        assert response.headers["transfer-encoding"] == "chunked"
        chunks = response.aiter_raw()
        assert await read_exactly(chunks, len(b"first;")) == b"first;"
        assert not finished.is_set()
        release.set()
        rest = b"".join([chunk async for chunk in chunks])
    assert rest == b"chunk 0;chunk 1;chunk 2;"
    assert finished.is_set()


async def test_async_generator_full_body(serve: Any) -> None:
    app = Quart(__name__)

    @app.route("/numbers")
    async def numbers() -> Any:
        async def generate() -> AsyncIterator[str]:
            for number in range(1000):
                yield f"{number}\n"

        return Response(generate(), mimetype="text/plain")

    base_url = await serve(app)
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.get("/numbers")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "".join(f"{number}\n" for number in range(1000))


async def test_sync_generator_streams(serve: Any) -> None:
    app = Quart(__name__)
    release = threading.Event()
    released_in_time: list[bool] = []

    @app.route("/sync-stream")
    async def sync_stream() -> Any:
        def generate() -> Iterator[bytes]:
            yield b"sync-first;"
            # runs in a worker thread, so block on a thread event, with a bound
            released_in_time.append(release.wait(TIMEOUT))
            yield b"sync-second;"
            yield b"sync-third"

        return generate()

    base_url = await serve(app)
    async with (
        httpx.AsyncClient(base_url=base_url) as client,
        client.stream("GET", "/sync-stream") as response,
        asyncio.timeout(TIMEOUT * 2),
    ):
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        chunks = response.aiter_raw()
        assert await read_exactly(chunks, len(b"sync-first;")) == b"sync-first;"
        release.set()
        rest = b"".join([chunk async for chunk in chunks])
    assert rest == b"sync-second;sync-third"
    assert released_in_time == [True]


async def test_sync_view_returning_a_generator_full_body(serve: Any) -> None:
    app = Quart(__name__)

    @app.route("/lines")
    def lines() -> Any:
        def generate() -> Iterator[str]:
            for letter in "abcdef":
                yield letter * 3 + "\n"

        return Response(generate(), mimetype="text/csv")

    base_url = await serve(app)
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.get("/lines")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.text == "aaa\nbbb\nccc\nddd\neee\nfff\n"


async def test_streaming_many_clients_at_once(serve: Any) -> None:
    app = Quart(__name__)
    started = 0
    all_started = asyncio.Event()
    clients = 10

    @app.route("/wait/<int:number>")
    async def wait(number: int) -> Any:
        async def generate() -> AsyncIterator[bytes]:
            nonlocal started
            yield b"start:"
            started += 1
            if started == clients:
                all_started.set()
            # every stream stays open until all of them have begun
            await all_started.wait()
            yield str(number).encode()

        return generate()

    base_url = await serve(app)
    async with httpx.AsyncClient(base_url=base_url) as client, asyncio.timeout(TIMEOUT):
        responses = await asyncio.gather(*(client.get(f"/wait/{n}") for n in range(clients)))
    assert [r.text for r in responses] == [f"start:{n}" for n in range(clients)]
