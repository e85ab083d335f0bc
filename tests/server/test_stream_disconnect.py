"""Clients that leave in the middle of a streamed response, over hypercorn and uvicorn.

Both servers silently drop what is sent after the client has gone, so only reading
``receive`` tells the app: the stream must then stop at once (the generator closed, its
``finally`` run, wherever it was waiting), teardown must run, no task of ours may be left
behind, and nothing is logged as an error. A stream that reads its request body while it
responds must get all of it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import h2.config
import h2.connection
import h2.events
import httpx
import pytest

from leftover_tasks import our_tasks
from quart import Quart, make_sse_response, request, stream_template_string

from .serving import running_server

TIMEOUT = 10.0


class Watched:
    """An app whose one streaming view is given by the test, with events for the
    generator's ``finally`` and for teardown."""

    def __init__(self) -> None:
        self.app = Quart(__name__)
        self.closed = asyncio.Event()
        self.torn_down = asyncio.Event()
        self.teardown_errors: list[BaseException | None] = []

        @self.app.teardown_request
        async def record(error: BaseException | None) -> None:
            self.teardown_errors.append(error)
            self.torn_down.set()

    async def left(self) -> None:
        """Wait until the stream was closed and the request torn down."""
        await self.closed.wait()
        await self.torn_down.wait()
        assert self.teardown_errors == [None]
        assert our_tasks() == []


async def read_then_leave(base_url: str, path: str, size: int) -> bytes:
    """Read ``size`` bytes of the stream at ``path``, then close the connection."""
    async with (
        httpx.AsyncClient(base_url=base_url) as client,
        client.stream("GET", path) as response,
    ):
        received = b""
        async for chunk in response.aiter_raw():
            received += chunk
            if len(received) >= size:
                return received
    raise AssertionError(f"the stream ended after {received!r}")


async def test_a_generator_waiting_on_a_queue_is_closed(
    serve_each: Any, caplog: pytest.LogCaptureFixture
) -> None:
    watched = Watched()

    @watched.app.route("/feed")
    async def feed() -> Any:
        async def generate() -> AsyncIterator[bytes]:
            try:
                yield b"first;"
                await asyncio.Queue().get()  # only the client leaving ends this wait
                yield b"never"
            finally:
                watched.closed.set()

        return generate()

    base_url = await serve_each(watched.app)
    with caplog.at_level(logging.WARNING):
        async with asyncio.timeout(TIMEOUT):
            assert await read_then_leave(base_url, "/feed", 6) == b"first;"
            await watched.left()
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_an_endless_busy_generator_stops(
    serve_each: Any, caplog: pytest.LogCaptureFixture
) -> None:
    watched = Watched()
    produced = 0

    @watched.app.route("/busy")
    async def busy() -> Any:
        async def generate() -> AsyncIterator[bytes]:
            nonlocal produced
            try:
                while True:
                    produced += 1
                    yield b"x" * 1024
                    await asyncio.sleep(0)
            finally:
                watched.closed.set()

        return generate()

    base_url = await serve_each(watched.app)
    with caplog.at_level(logging.WARNING):
        async with asyncio.timeout(TIMEOUT):
            await read_then_leave(base_url, "/busy", 64 * 1024)
            at_close = produced
            await watched.left()
    # Stopped once the server reported the disconnect: nowhere near the tens of
    # thousands of chunks a stream left running until RESPONSE_TIMEOUT produces.
    assert produced - at_close < 2000
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_sync_generator_in_the_thread_pool_is_closed(serve_each: Any) -> None:
    watched = Watched()
    stop = threading.Event()

    @watched.app.route("/sync")
    async def sync_stream() -> Any:
        def generate() -> Iterator[bytes]:
            try:
                yield b"first;"
                while not stop.wait(0.01):  # a blocking source, polled step by step
                    yield b"tick;"
            finally:
                watched.closed.set()

        return generate()

    base_url = await serve_each(watched.app)
    try:
        async with asyncio.timeout(TIMEOUT):
            assert (await read_then_leave(base_url, "/sync", 6)).startswith(b"first;")
            await watched.left()
    finally:
        stop.set()


async def test_a_streamed_template_stops_its_source(serve_each: Any) -> None:
    watched = Watched()

    @watched.app.route("/page")
    async def page() -> Any:
        async def rows() -> AsyncIterator[str]:
            try:
                yield "row 1"
                await asyncio.Event().wait()
                yield "never"
            finally:
                watched.closed.set()

        return await stream_template_string(
            "<ul>{% for row in rows %}<li>{{ row }}</li>{% endfor %}</ul>", rows=rows()
        )

    base_url = await serve_each(watched.app)
    async with asyncio.timeout(TIMEOUT):
        received = await read_then_leave(base_url, "/page", len(b"<ul><li>row 1</li>"))
        assert received.startswith(b"<ul><li>row 1</li>")
        await watched.left()


async def test_a_streaming_echo_gets_its_whole_body(serve_each: Any) -> None:
    app = Quart(__name__)

    @app.post("/echo")
    async def echo() -> Any:
        async def generate() -> AsyncIterator[bytes]:
            async for chunk in request.body:
                yield chunk
            yield b"|end"

        return generate()

    pieces = [bytes([65 + number % 26]) * 50_000 for number in range(20)]

    async def upload() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    base_url = await serve_each(app)
    async with asyncio.timeout(TIMEOUT), httpx.AsyncClient(base_url=base_url) as client:
        response = await client.post("/echo", content=upload())
    assert response.status_code == 200
    assert response.content == b"".join(pieces) + b"|end"


async def test_an_http2_stream_reset_by_the_client_closes_the_feed() -> None:
    """Over HTTP/2 a client leaves one stream (RST_STREAM) and keeps the connection: the
    feed on that stream stops all the same."""
    watched = Watched()

    @watched.app.route("/feed")
    async def feed() -> Any:
        async def generate() -> AsyncIterator[str]:
            try:
                yield "first"
                await asyncio.Event().wait()
            finally:
                watched.closed.set()

        return await make_sse_response(generate(), keep_alive=None)

    async with running_server(watched.app) as base_url, asyncio.timeout(TIMEOUT):
        host, port = base_url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        connection.initiate_connection()
        request_headers = [(":method", "GET"), (":path", "/feed"), (":scheme", "http")]
        connection.send_headers(1, [*request_headers, (":authority", host)], end_stream=True)
        writer.write(connection.data_to_send())
        received = b""
        while b"\n\n" not in received:
            for event in connection.receive_data(await reader.read(65536)):
                if isinstance(event, h2.events.DataReceived):
                    received += event.data
            writer.write(connection.data_to_send())
        assert received == b"data: first\n\n"
        connection.reset_stream(1)
        writer.write(connection.data_to_send())
        await watched.left()
        writer.close()
        await writer.wait_closed()
