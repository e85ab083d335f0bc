"""Request bodies read in pieces, streamed responses, and what happens when either goes wrong:
slow clients, clients that leave, views that fail mid-stream, limits."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from quart import Quart, Response, request
from quart.testing import HTTPDisconnectError


def scope_for(path: str, method: str = "POST", headers: list[tuple[bytes, bytes]] | None = None):
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers or [(b"host", b"localhost")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }


async def call(app: Quart, scope: dict[str, Any], messages: list[dict[str, Any]]):
    """Run one request with ``messages`` as what the client sends; then wait forever (as a
    server does once the body is complete) unless a disconnect is among them."""
    queue = list(messages)
    sent: list[dict[str, Any]] = []

    async def receive():
        if queue:
            return queue.pop(0)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def test_a_body_sent_in_pieces_is_streamed_and_awaited(app: Quart, client) -> None:
    @app.post("/count")
    async def count():
        sizes = [len(chunk) async for chunk in request.body]
        return {"sizes": sizes}

    @app.post("/echo")
    async def echo():
        return await request.get_data()

    async with client.request("/count", method="POST") as connection:
        for piece in (b"ab", b"cde", b"f"):
            await connection.send(piece)
        await connection.send_complete()
    response = await connection.as_response()
    assert await response.get_json() == {"sizes": [2, 3, 1]}

    async with client.request("/echo", method="POST") as connection:
        await connection.send(b"hello ")
        await connection.send(b"world")
        await connection.send_complete()
    assert await (await connection.as_response()).get_data() == b"hello world"


async def test_a_streamed_body_cannot_be_read_again_whole(app: Quart, client) -> None:
    @app.post("/")
    async def view():
        async for _ in request.body:
            pass
        return {"again": await request.get_data(as_text=True)}  # consumed: empty, as in Flask

    response = await client.post("/", data=b"xyz")
    assert await response.get_json() == {"again": ""}


async def test_a_slow_body_is_a_408(app: Quart) -> None:
    app.config["BODY_TIMEOUT"] = 0.05

    @app.post("/")
    async def view():
        await request.get_data()
        return "never"

    sent = await call(
        app, scope_for("/"), [{"type": "http.request", "body": b"a", "more_body": True}]
    )
    assert sent[0]["status"] == 408
    assert b"not received in time" in sent[1]["body"]


async def test_a_slow_streamed_body_is_a_408(app: Quart) -> None:
    app.config["BODY_TIMEOUT"] = 0.05

    @app.post("/")
    async def view():
        async for _ in request.body:
            pass
        return "never"

    sent = await call(
        app, scope_for("/"), [{"type": "http.request", "body": b"a", "more_body": True}]
    )
    assert sent[0]["status"] == 408


async def test_a_server_whose_receive_returns_a_future_is_read_and_timed(app: Quart) -> None:
    """Some servers' receive is not a coroutine function: it returns another awaitable."""
    app.config["BODY_TIMEOUT"] = 0.05

    @app.post("/")
    async def view():
        return await request.get_data()

    def serve(messages: list[dict[str, Any]]):
        sent: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()

        def receive() -> asyncio.Future[dict[str, Any]]:
            future: asyncio.Future[dict[str, Any]] = loop.create_future()
            if messages:  # answered a little later, as a native server would
                loop.call_soon(future.set_result, messages.pop(0))
            return future

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        return app(scope_for("/"), receive, send), sent

    done, sent = serve(
        [
            {"type": "http.request", "body": b"two ", "more_body": True},
            {"type": "http.request", "body": b"parts", "more_body": False},
        ]
    )
    await done
    assert (sent[0]["status"], sent[1]["body"]) == (200, b"two parts")

    done, sent = serve([{"type": "http.request", "body": b"half", "more_body": True}])
    await done
    assert sent[0]["status"] == 408


async def test_a_client_leaving_while_its_body_is_awaited_ends_the_request_quietly(
    app: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    torn_down: list[BaseException | None] = []

    @app.teardown_request
    async def record(exc):
        torn_down.append(exc)

    @app.post("/")
    async def view():
        await request.get_data()
        return "never"

    messages = [
        {"type": "http.request", "body": b"part", "more_body": True},
        {"type": "http.disconnect"},
    ]
    with caplog.at_level(logging.ERROR):
        sent = await call(app, scope_for("/"), messages)
    assert sent == []  # nobody left to answer
    assert len(torn_down) == 1  # teardown ran, with the disconnect as the reason
    assert caplog.records == []


async def test_a_chunked_body_over_the_limit_is_a_413_as_soon_as_it_passes_it(app: Quart) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 10
    received: list[int] = []

    @app.post("/")
    async def view():
        async for chunk in request.body:
            received.append(len(chunk))
        return "never"

    messages = [
        {"type": "http.request", "body": b"x" * 6, "more_body": True},
        {"type": "http.request", "body": b"x" * 6, "more_body": True},
        {"type": "http.request", "body": b"x" * 6, "more_body": False},
    ]
    sent = await call(app, scope_for("/"), messages)
    assert sent[0]["status"] == 413
    assert received == [6]  # the second chunk crossed the limit and was refused


async def test_a_declared_length_over_the_limit_is_refused_before_reading(app: Quart) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 10

    @app.post("/")
    async def view():
        await request.get_data()
        return "never"

    headers = [(b"host", b"localhost"), (b"content-length", b"1000")]
    sent = await call(app, scope_for("/", headers=headers), [])  # nothing is ever received
    assert sent[0]["status"] == 413


async def test_streamed_responses_arrive_in_chunks(app: Quart, client) -> None:
    @app.route("/")
    async def stream():
        async def chunks():
            for index in range(3):
                yield f"chunk {index};"

        return chunks(), 200, {"X-Stream": "yes"}

    async with client.request("/") as connection:
        await connection.send_complete()
        pieces = []
        while True:
            try:
                pieces.append(await connection.receive())
            except HTTPDisconnectError:
                break
    assert connection.status_code == 200
    assert connection.headers is not None
    assert connection.headers["X-Stream"] == "yes"
    assert b"".join(pieces) == b"chunk 0;chunk 1;chunk 2;"
    assert [piece for piece in pieces if piece] == [b"chunk 0;", b"chunk 1;", b"chunk 2;"]


async def test_a_head_request_to_a_stream_sends_no_body(app: Quart) -> None:
    started: list[bool] = []

    @app.route("/")
    async def stream():
        async def chunks():
            started.append(True)
            yield b"body"

        return chunks()

    sent = await call(app, scope_for("/", method="HEAD"), [])
    assert sent[0]["status"] == 200
    assert [message.get("body") for message in sent[1:]] == [b""]
    assert started == []


async def test_a_stream_slower_than_the_response_timeout_is_cut_off(
    app: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    finished: list[bool] = []

    @app.route("/")
    async def stream():
        async def chunks():
            try:
                yield b"first"
                await asyncio.sleep(10)
                yield b"never"
            finally:
                finished.append(True)

        response = Response(chunks())
        response.timeout = 0.05
        return response

    with caplog.at_level(logging.WARNING):
        sent = await call(app, scope_for("/", method="GET"), [])
    bodies = [message.get("body") for message in sent[1:]]
    assert bodies == [b"first", b""]
    assert finished == [True]  # the generator was closed
    assert "RESPONSE_TIMEOUT" in caplog.text


async def test_a_view_failing_mid_stream_is_logged_once_and_the_response_left_incomplete(
    app: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    @app.route("/")
    async def stream():
        async def chunks():
            yield b"part"
            raise ValueError("broken stream")

        return chunks()

    with caplog.at_level(logging.ERROR):
        sent = await call(app, scope_for("/", method="GET"), [])
    assert sent[0]["status"] == 200
    assert [message.get("more_body") for message in sent[1:]] == [True]  # never completed
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "broken stream" in str(errors[0].exc_info[1])


async def test_a_sync_generator_runs_off_the_event_loop(app: Quart, client) -> None:
    import threading

    threads: list[str] = []

    @app.route("/")
    async def stream():
        def chunks():
            threads.append(threading.current_thread().name)
            yield "a"
            yield "b"

        return chunks()

    response = await client.get("/")
    assert await response.get_data() == b"ab"
    assert threads and threads[0] != threading.main_thread().name


async def test_push_promises_go_to_servers_that_support_them(app: Quart, client) -> None:
    from quart import make_push_promise

    @app.route("/")
    async def index():
        await make_push_promise("/static/style.css")
        return "page"

    response = await client.get("/", http_version="2", headers={"Accept": "text/css"})
    assert await response.get_data() == b"page"
    assert [path for path, _ in client.push_promises] == ["/static/style.css"]
    assert client.push_promises[0][1]["Accept"] == "text/css"

    await client.get("/", http_version="1.1")  # no push over HTTP/1.1: silently nothing
    assert client.push_promises == []


async def test_werkzeug_and_base_responses_returned_by_views_are_sent(client, app: Quart) -> None:
    from werkzeug.wrappers import Response as WerkzeugResponse

    class AppResponse(Response):
        pass

    app.response_class = AppResponse

    @app.route("/werkzeug")
    async def from_werkzeug():
        return WerkzeugResponse("from werkzeug", status=202, headers={"X-Kind": "wsgi"})

    @app.route("/base")
    async def from_base():
        return Response("base class", status=203)

    response = await client.get("/werkzeug")
    assert response.status_code == 202
    assert response.headers["X-Kind"] == "wsgi"
    assert await response.get_data() == b"from werkzeug"

    response = await client.get("/base")
    assert response.status_code == 203
    assert await response.get_data() == b"base class"
