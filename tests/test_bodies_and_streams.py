"""Request bodies read in pieces, streamed responses, and what happens when either goes wrong:
slow clients, clients that leave, views that fail mid-stream, limits."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import quart
from leftover_tasks import our_tasks
from quart import Quart, Response, make_response, request, stream_with_context
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


# ======================================================================================
# Request bodies: memory, per-request limits and timeouts, push promises in the test client
# ======================================================================================


async def _peak_memory_of_upload(app: Quart, path: str, chunk: bytes, count: int) -> int:
    """Send ``count`` chunks to ``path`` as a server with back-pressure would (each chunk
    made only when the app asks for it) and return the peak traced memory meanwhile."""
    import tracemalloc

    remaining = count
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal remaining
        remaining -= 1
        return {"type": "http.request", "body": bytes(chunk), "more_body": remaining > 0}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    tracemalloc.start()
    try:
        await app(scope_for(path), receive, send)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sent[0]["status"] == 200
    assert sent[1]["body"] == str(len(chunk) * count).encode()
    return peak


async def test_streaming_a_50_mb_body_holds_only_a_chunk_at_a_time(app: Quart) -> None:
    app.config["MAX_CONTENT_LENGTH"] = None

    @app.post("/stream")
    async def stream():
        size = 0
        async for chunk in request.body:
            size += len(chunk)
        return str(size)

    @app.post("/whole")
    async def whole():
        return str(len(await request.get_data()))

    chunk = b"z" * 65536
    streamed_peak = await _peak_memory_of_upload(app, "/stream", chunk, 800)  # 50 MiB
    assert streamed_peak < 2 * 1024 * 1024
    # The same measure sees a body read whole: 10 MiB held at once.
    whole_peak = await _peak_memory_of_upload(app, "/whole", chunk, 160)
    assert whole_peak > 10 * 1024 * 1024


async def test_max_content_length_can_be_set_per_request(app: Quart, client) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 100

    @app.before_request
    async def limits():
        assert request.max_content_length == 100  # from the config until set
        if request.path == "/small":
            request.max_content_length = 10
        elif request.path == "/large":
            request.max_content_length = 1000

    @app.post("/small")
    @app.post("/large")
    async def view():
        return {"size": len(await request.get_data()), "limit": request.max_content_length}

    assert (await client.post("/small", data=b"x" * 11)).status_code == 413
    response = await client.post("/large", data=b"x" * 500)
    assert await response.get_json() == {"size": 500, "limit": 1000}
    assert (await client.post("/large", data=b"x" * 1001)).status_code == 413


async def test_a_limit_lowered_while_streaming_applies_to_what_follows(app: Quart) -> None:
    received: list[int] = []

    @app.post("/")
    async def view():
        async for chunk in request.body:
            received.append(len(chunk))
            request.max_content_length = 8  # already past it: the next chunk is refused
        return "never"

    messages = [
        {"type": "http.request", "body": b"x" * 10, "more_body": True},
        {"type": "http.request", "body": b"x" * 10, "more_body": False},
    ]
    sent = await call(app, scope_for("/"), messages)
    assert sent[0]["status"] == 413
    assert received == [10]


async def test_body_timeout_can_be_set_per_request(app: Quart) -> None:
    app.config["BODY_TIMEOUT"] = 60
    seen: list[float | None] = []

    @app.post("/")
    async def view():
        seen.append(request.body_timeout)
        body = request.body  # made before the timeout changes: it follows all the same
        request.body_timeout = 0.05  # this view will not wait a minute for a body
        await body
        return "never"

    sent = await call(
        app, scope_for("/"), [{"type": "http.request", "body": b"a", "more_body": True}]
    )
    assert seen == [60]
    assert sent[0]["status"] == 408


async def test_push_promises_copy_only_the_negotiation_headers(app: Quart, client) -> None:
    from werkzeug.datastructures import Headers

    from quart import make_push_promise

    @app.route("/")
    async def index():
        await make_push_promise("/one.css")
        await make_push_promise("/two.js")
        return "page"

    headers = Headers(
        [
            ("Accept-Language", "en"),
            ("Accept-Language", "fr;q=0.5"),
            ("User-Agent", "tester"),
            ("Cookie", "secret=1"),
            ("Authorization", "Bearer token"),
        ]
    )
    await client.get("/", http_version="2", headers=headers)
    assert [path for path, _ in client.push_promises] == ["/one.css", "/two.js"]
    pushed = client.push_promises[0][1]
    assert pushed.getlist("Accept-Language") == ["en", "fr;q=0.5"]
    assert pushed["User-Agent"] == "tester"
    assert "Cookie" not in pushed
    assert "Authorization" not in pushed


async def test_a_streaming_test_connection_records_push_promises(app: Quart, client) -> None:
    from quart import make_push_promise

    @app.route("/")
    async def index():
        await make_push_promise("/pushed")
        return "page"

    async with client.request("/", http_version="2") as connection:
        await connection.send_complete()
    assert await (await connection.as_response()).get_data() == b"page"
    assert [path for path, _ in connection.push_promises] == ["/pushed"]


async def test_make_push_promise_in_a_test_request_context_does_nothing(app: Quart) -> None:
    from quart import make_push_promise

    for version in ("1.1", "2"):
        async with app.test_request_context("/", http_version=version):
            assert await make_push_promise("/style.css") is None


async def _drip(app: Quart, path: str, content_type: bytes, pieces: list[bytes]) -> int:
    """Send ``pieces`` as a slow client would, 20 ms apart, and return the status."""
    remaining = list(pieces)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(0.02)  # the client's pace: the thing under test
        body = remaining.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(remaining)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"host", b"localhost"), (b"content-type", content_type)]
    await app(scope_for(path, headers=headers), receive, send)
    return sent[0]["status"]


@pytest.mark.parametrize(
    ("path", "content_type", "pieces"),
    [
        ("/data", b"application/octet-stream", [b"x"] * 10),
        ("/json", b"application/json", [b'{"a": ', *[b" "] * 8, b"1}"]),
        ("/form", b"application/x-www-form-urlencoded", [b"a=", *[b"x"] * 9]),
        (
            "/files",
            b"multipart/form-data; boundary=B",
            [
                b'--B\r\nContent-Disposition: form-data; name="f"; filename="f"\r\n\r\n',
                *[b"x"] * 8,
                b"\r\n--B--\r\n",
            ],
        ),
    ],
)
async def test_a_body_dripping_in_past_the_timeout_is_a_408_for_the_data_methods(
    app: Quart, path: str, content_type: bytes, pieces: list[bytes]
) -> None:
    """Each piece comes well within BODY_TIMEOUT, the whole body does not: the data
    methods bound the whole body, so a client cannot hold a request open by dripping."""

    @app.post("/data")
    async def data():
        return str(len(await request.get_data()))

    @app.post("/json")
    async def json_body():
        return str(await request.get_json())

    @app.post("/form")
    async def form():
        return str(len(await request.form))

    @app.post("/files")
    async def files():
        return str(len(await request.files))

    @app.post("/stream")
    async def stream():
        return str(len([chunk async for chunk in request.body]))

    app.config["BODY_TIMEOUT"] = 1.0
    assert await _drip(app, path, content_type, pieces) == 200
    app.config["BODY_TIMEOUT"] = 0.1  # each wait is 20 ms, the whole body over 200 ms
    assert await _drip(app, path, content_type, pieces) == 408
    # Streaming it bounds each wait instead: a long upload at a steady pace goes through.
    assert await _drip(app, "/stream", content_type, pieces) == 200


async def test_a_consumed_body_reads_as_what_the_stream_left(app: Quart, client) -> None:
    @app.post("/all")
    async def all_of_it():
        first = [chunk async for chunk in request.body]
        again = [chunk async for chunk in request.body]
        awaited = (await request.body).decode()
        return {"first": b"".join(first).decode(), "again": len(again), "awaited": awaited}

    @app.post("/form")
    async def form_then_body():
        fields = (await request.form).to_dict()
        awaited = (await request.body).decode()
        return {"form": fields, "awaited": awaited, "data": await request.get_data(as_text=True)}

    @app.post("/part")
    async def part():
        async for chunk in request.body:
            first = chunk
            break
        return {"first": first.decode(), "rest": (await request.body).decode()}

    response = await client.post("/all", data=b"payload")
    assert await response.get_json() == {"first": "payload", "again": 0, "awaited": ""}

    response = await client.post("/form", form={"a": "1"})
    assert await response.get_json() == {"form": {"a": "1"}, "awaited": "", "data": ""}

    async with client.request("/part", method="POST") as connection:
        await connection.send(b"one,")
        await connection.send(b"two,")
        await connection.send(b"three")
        await connection.send_complete()
    response = await connection.as_response()
    assert await response.get_json() == {"first": "one,", "rest": "two,three"}


@pytest.mark.parametrize(
    ("messages", "status"),
    [
        ([{"type": "http.request", "body": b"x" * 20, "more_body": True}], 413),
        ([{"type": "http.request", "body": b"x", "more_body": True}], 408),
    ],
)
async def test_a_refused_body_stays_refused(
    app: Quart, messages: list[dict[str, Any]], status: int
) -> None:
    """An error handler (or anything else) reading the body again gets the same answer
    at once: the rest of the body is never waited for or read."""
    app.config.update(MAX_CONTENT_LENGTH=10, BODY_TIMEOUT=0.05)
    again: list[int] = []

    @app.post("/")
    async def view():
        await request.get_data()
        return "never"

    @app.errorhandler(status)
    async def handler(error):
        for read in (request.get_data, request.body.read):
            try:
                await read()
            except type(error) as repeated:
                again.append(repeated.code)
        return "refused", status

    loop = asyncio.get_running_loop()
    started = loop.time()
    sent = await call(app, scope_for("/"), messages)
    assert sent[0]["status"] == status
    assert again == [status, status]
    assert loop.time() - started < 1  # the second and third reads did not wait again


async def test_reading_again_after_the_client_left_raises_at_once(app: Quart) -> None:
    outcomes: list[str] = []

    @app.post("/")
    async def view():
        try:
            await request.get_data()
        except asyncio.CancelledError:
            outcomes.append("left")
        try:
            await request.get_data()  # the server would answer nothing more
        except asyncio.CancelledError:
            outcomes.append("left again")
            raise
        return "never"

    messages = [
        {"type": "http.request", "body": b"part", "more_body": True},
        {"type": "http.disconnect"},
    ]
    assert await call(app, scope_for("/"), messages) == []
    assert outcomes == ["left", "left again"]


# ------------------------------------------------- streams and clients that leave mid-stream

STREAM_TIMEOUT = 5.0


@pytest.fixture
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """What the event loop reported during the test (a task destroyed while pending, an
    exception nobody retrieved), collected after a garbage collection at its end."""
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    yield reported
    gc.collect()
    loop.set_exception_handler(None)
    assert reported == []


async def test_a_client_leaving_mid_stream_closes_the_generator_and_tears_down(
    app: Quart, client, loop_errors: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    closed = asyncio.Event()
    torn_down: list[BaseException | None] = []
    waiting = asyncio.Event()

    @app.teardown_request
    async def record(error: BaseException | None) -> None:
        torn_down.append(error)

    @app.route("/feed")
    async def feed() -> Any:
        async def generate() -> AsyncIterator[bytes]:
            try:
                yield b"first"
                waiting.set()
                await asyncio.Queue().get()  # nothing ever comes: only the client leaving ends this
                yield b"never"
            finally:
                closed.set()

        return generate()

    with caplog.at_level(logging.WARNING):
        async with asyncio.timeout(STREAM_TIMEOUT), client.request("/feed") as connection:
            await connection.send_complete()
            assert await connection.receive() == b"first"
            await waiting.wait()
            await connection.disconnect()
            await closed.wait()
    assert torn_down == [None]
    assert our_tasks() == []
    assert caplog.records == []


async def test_a_busy_generator_stops_soon_after_the_client_leaves(app: Quart, client) -> None:
    produced = 0
    left = asyncio.Event()

    @app.route("/busy")
    async def busy() -> Any:
        async def generate() -> AsyncIterator[bytes]:
            nonlocal produced
            while True:
                produced += 1
                yield b"x"
                await asyncio.sleep(0)

        return generate()

    async with asyncio.timeout(STREAM_TIMEOUT), client.request("/busy") as connection:
        await connection.send_complete()
        await connection.receive()
        await connection.disconnect()
        at_disconnect = produced
        left.set()
    # The app's task has ended (the block awaits it): the generator did not run on
    # until RESPONSE_TIMEOUT, only for the few steps it took to notice.
    assert produced - at_disconnect < 20


async def test_a_generator_that_ignores_the_cancellation_is_still_stopped(
    app: Quart, client
) -> None:
    closed = asyncio.Event()
    swallowed: list[bool] = []

    @app.route("/stubborn")
    async def stubborn() -> Any:
        async def generate() -> AsyncIterator[bytes]:
            try:
                yield b"first"
                try:
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    swallowed.append(True)
                while True:
                    yield b"more"
                    await asyncio.sleep(0)
            finally:
                closed.set()

        return generate()

    async with asyncio.timeout(STREAM_TIMEOUT), client.request("/stubborn") as connection:
        await connection.send_complete()
        assert await connection.receive() == b"first"
        await connection.disconnect()
        await closed.wait()
    assert swallowed == [True]
    assert our_tasks() == []


async def test_a_sync_generator_is_closed_once_its_running_step_ends(
    app: Quart, client, caplog: pytest.LogCaptureFixture, loop_errors: list[Any]
) -> None:
    release = threading.Event()
    in_step = asyncio.Event()
    closed = threading.Event()
    loop = asyncio.get_running_loop()
    steps: list[str] = []

    @app.route("/sync")
    async def sync_stream() -> Any:
        def generate() -> Iterator[bytes]:
            try:
                yield b"first"
                loop.call_soon_threadsafe(in_step.set)
                release.wait(STREAM_TIMEOUT)  # a step no one can interrupt
                yield b"second"
                steps.append("went on")
                yield b"never"
            finally:
                closed.set()

        return generate()

    with caplog.at_level(logging.WARNING):
        async with asyncio.timeout(STREAM_TIMEOUT), client.request("/sync") as connection:
            await connection.send_complete()
            assert await connection.receive() == b"first"
            await in_step.wait()
            await connection.disconnect()
            release.set()
    assert closed.is_set()  # closed after the step ended, not while it ran
    assert steps == []  # and not stepped again
    assert caplog.records == []
    assert our_tasks() == []


async def test_a_sync_generator_cut_off_by_the_timeout_only_warns(
    app: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    release = threading.Event()

    @app.route("/")
    async def slow() -> Any:
        def generate() -> Iterator[bytes]:
            yield b"first"
            release.wait(STREAM_TIMEOUT)
            yield b"late"

        response = Response(generate())
        response.timeout = 0.05
        return response

    async def release_soon() -> None:
        await asyncio.sleep(0.2)
        release.set()

    releaser = asyncio.create_task(release_soon())
    with caplog.at_level(logging.WARNING):
        sent = await call(app, scope_for("/", method="GET"), [])
    await releaser
    assert [message.get("body") for message in sent[1:]] == [b"first", b""]
    assert [record.levelno for record in caplog.records] == [logging.WARNING]
    assert "RESPONSE_TIMEOUT" in caplog.text


async def test_a_streaming_echo_reads_its_body_while_it_streams(app: Quart, client) -> None:
    @app.post("/echo")
    async def echo() -> Any:
        async def generate() -> AsyncIterator[bytes]:
            async for chunk in request.body:
                yield chunk.upper()
            yield b"|done"

        return generate()

    async with (
        asyncio.timeout(STREAM_TIMEOUT),
        client.request("/echo", method="POST") as connection,
    ):
        for piece in (b"one ", b"two ", b"three"):
            await connection.send(piece)
            assert await connection.receive() == piece.upper()  # echoed before the next is sent
        await connection.send_complete()
        assert await connection.receive() == b"|done"
        assert await connection.receive() == b""
        with pytest.raises(HTTPDisconnectError):
            await connection.receive()


async def test_a_body_left_unread_by_the_view_is_all_there_for_the_stream(app: Quart) -> None:
    @app.post("/")
    async def later() -> Any:
        async def generate() -> AsyncIterator[bytes]:
            yield b"start;"
            await asyncio.sleep(0)  # the watcher reads ahead meanwhile
            yield await request.get_data()

        return generate()

    messages = [
        {"type": "http.request", "body": b"part one, ", "more_body": True},
        {"type": "http.request", "body": b"part two", "more_body": False},
    ]
    sent = await call(app, scope_for("/"), messages)
    assert b"".join(message.get("body", b"") for message in sent[1:]) == (
        b"start;part one, part two"
    )


async def test_a_body_read_in_another_task_while_streaming_loses_nothing(
    app: Quart, client
) -> None:
    @app.post("/upload")
    async def upload() -> Any:
        reader = asyncio.ensure_future(request.get_data())
        await asyncio.sleep(0)  # the reader's turn: it is waiting for the body when we stream

        async def generate() -> AsyncIterator[bytes]:
            yield b"reading;"
            yield b"got " + await reader

        return generate()

    async with (
        asyncio.timeout(STREAM_TIMEOUT),
        client.request("/upload", method="POST") as connection,
    ):
        assert await connection.receive() == b"reading;"
        for piece in (b"a", b"b", b"c"):
            await connection.send(piece)
        await connection.send_complete()
        assert await connection.receive() == b"got abc"


async def test_a_body_read_that_outlives_the_stream_goes_on_by_itself(app: Quart, client) -> None:
    readers: list[asyncio.Future[bytes]] = []

    @app.post("/early")
    async def early() -> Any:
        readers.append(asyncio.ensure_future(request.get_data()))

        async def generate() -> AsyncIterator[bytes]:
            yield b"answered before the body came"
            await asyncio.sleep(0)  # the reader's turn: it waits for the body as we end

        return generate()

    async with (
        asyncio.timeout(STREAM_TIMEOUT),
        client.request("/early", method="POST") as connection,
    ):
        assert await connection.receive() == b"answered before the body came"
        assert await connection.receive() == b""  # the response is complete
        await connection.send(b"late ")
        await connection.send(b"body")
        await connection.send_complete()
        assert await readers[0] == b"late body"


async def test_a_broken_receive_channel_counts_as_the_client_leaving(
    app: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    closed = asyncio.Event()

    @app.route("/")
    async def stream() -> Any:
        async def generate() -> AsyncIterator[bytes]:
            try:
                yield b"first"
                await asyncio.Event().wait()
            finally:
                closed.set()

        return generate()

    messages: list[dict[str, Any]] = [{"type": "http.request", "body": b"", "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        raise RuntimeError("the server's channel broke")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with caplog.at_level(logging.WARNING):
        async with asyncio.timeout(STREAM_TIMEOUT):
            await app(scope_for("/", method="GET"), receive, send)
    assert closed.is_set()
    assert [message.get("body") for message in sent[1:]] == [b"first"]
    assert caplog.records == []


async def test_a_server_cancelling_a_stream_gets_its_cancellation_back(app: Quart) -> None:
    """A server stopping cancels the request's task: unlike a client leaving, that
    cancellation is not swallowed, and the generator and the watch still end."""
    closed = asyncio.Event()
    streaming = asyncio.Event()

    @app.route("/")
    async def stream() -> Any:
        async def generate() -> AsyncIterator[bytes]:
            try:
                yield b"first"
                streaming.set()
                await asyncio.Event().wait()
            finally:
                closed.set()

        return generate()

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        pass

    task = asyncio.ensure_future(app(scope_for("/", method="GET"), receive, send))
    async with asyncio.timeout(STREAM_TIMEOUT):
        await streaming.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert closed.is_set()
    assert our_tasks() == []


async def test_a_client_gone_before_the_response_starts_ends_quietly(
    app: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    from io import BytesIO

    from quart import send_file

    files: list[BytesIO] = []

    @app.route("/")
    async def download() -> Any:
        files.append(BytesIO(b"file content"))
        return await send_file(files[-1], mimetype="text/plain")

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        raise BrokenPipeError("the client is gone")

    with caplog.at_level(logging.WARNING):
        await app(scope_for("/", method="GET"), receive, send)
    assert files[0].closed  # nobody else would close it
    assert caplog.records == []


async def test_a_disconnect_during_a_streamed_body_read_ends_quietly(
    app: Quart, client, caplog: pytest.LogCaptureFixture
) -> None:
    closed = asyncio.Event()
    torn_down: list[BaseException | None] = []

    @app.teardown_request
    async def record(error: BaseException | None) -> None:
        torn_down.append(error)

    @app.post("/echo")
    async def echo() -> Any:
        async def generate() -> AsyncIterator[bytes]:
            try:
                async for chunk in request.body:
                    yield chunk
            finally:
                closed.set()

        return generate()

    with caplog.at_level(logging.WARNING):
        async with (
            asyncio.timeout(STREAM_TIMEOUT),
            client.request("/echo", method="POST") as connection,
        ):
            await connection.send(b"hello")
            assert await connection.receive() == b"hello"
            await connection.disconnect()
            await closed.wait()
    assert torn_down == [None]
    assert caplog.records == []


async def test_a_send_that_fails_ends_the_stream_quietly(
    app: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    closed: list[bool] = []

    @app.route("/")
    async def stream() -> Any:
        async def generate() -> AsyncIterator[bytes]:
            try:
                while True:
                    yield b"chunk"
            finally:
                closed.append(True)

        return generate()

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        if len(sent) == 3:
            raise ConnectionResetError("the client is gone")
        sent.append(message)

    with caplog.at_level(logging.WARNING):
        await app(scope_for("/", method="GET"), receive, send)
    assert len(sent) == 3
    assert closed == [True]
    assert caplog.records == []
    assert our_tasks() == []


async def test_an_oserror_raised_by_the_generator_itself_is_an_app_error(
    app: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    @app.route("/")
    async def stream() -> Any:
        async def generate() -> AsyncIterator[bytes]:
            yield b"part"
            raise FileNotFoundError("the feed file vanished")

        return generate()

    with caplog.at_level(logging.ERROR):
        sent = await call(app, scope_for("/", method="GET"), [])
    assert [message.get("more_body") for message in sent[1:]] == [True]
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert isinstance(errors[0].exc_info[1], FileNotFoundError)  # type: ignore[index]


async def test_only_a_streamed_response_starts_a_task(app: Quart) -> None:
    @app.route("/plain")
    async def plain() -> str:
        return "in memory"

    @app.route("/stream")
    async def stream() -> Any:
        async def generate() -> AsyncIterator[bytes]:
            yield b"streamed"

        return generate()

    async def most_tasks_while_sending(path: str) -> int:
        seen: list[int] = []

        body = [{"type": "http.request", "body": b"", "more_body": False}]

        async def receive() -> dict[str, Any]:
            if body:
                return body.pop()
            await asyncio.Event().wait()  # as a server does until the client leaves
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            seen.append(len(our_tasks()))

        await app(scope_for(path, method="GET"), receive, send)
        return max(seen)

    assert await most_tasks_while_sending("/plain") == 0
    assert await most_tasks_while_sending("/stream") == 1  # the watch for the client leaving
    assert our_tasks() == []


async def test_make_response_streams_a_generator_with_headers(app: Quart, client) -> None:
    @app.route("/")
    async def view() -> Any:
        async def generate() -> AsyncIterator[str]:
            yield "a"
            yield "b"

        return await make_response(generate(), {"X-Made": "yes"})

    response = await client.get("/")
    assert response.headers["X-Made"] == "yes"
    assert "Content-Length" not in response.headers
    assert await response.get_data() == b"ab"


async def test_stream_with_context_keeps_the_request_and_tears_down_once(
    app: Quart, client
) -> None:
    torn_down: list[BaseException | None] = []

    @app.teardown_request
    async def record(error: BaseException | None) -> None:
        torn_down.append(error)

    @app.route("/decorated")
    async def decorated() -> Any:
        @stream_with_context
        async def generate(prefix: str) -> AsyncIterator[str]:
            yield f"{prefix} {request.path}"

        return generate("path:")

    @app.route("/wrapped")
    async def wrapped() -> Any:
        async def generate() -> AsyncIterator[str]:
            yield request.args["q"]

        return stream_with_context(generate())

    @app.route("/sync")
    def sync_view() -> Any:
        def generate() -> Iterator[str]:
            yield request.method

        return stream_with_context(generate)()

    assert await (await client.get("/decorated")).get_data() == b"path: /decorated"
    assert await (await client.get("/wrapped?q=query")).get_data() == b"query"
    assert await (await client.get("/sync")).get_data() == b"GET"
    assert torn_down == [None, None, None]


async def test_stream_with_context_outlives_the_request_context(app: Quart) -> None:
    async with app.test_request_context("/late?who=me"):

        @stream_with_context
        def generate() -> Iterator[str]:
            yield "hello "
            yield request.args["who"]

        response = Response(generate())
    assert not quart.has_request_context()
    assert await response.get_data() == b"hello me"
    assert not quart.has_request_context()


async def test_stream_with_context_needs_a_request() -> None:
    with pytest.raises(RuntimeError):
        stream_with_context(iter([b"x"]))


async def test_stream_with_context_sets_the_request_only_inside_each_step(app: Quart) -> None:
    seen: list[str] = []
    async with app.test_request_context("/cleanup"):

        @stream_with_context
        async def generate() -> AsyncIterator[str]:
            try:
                yield request.path
                yield "never read"
            finally:
                seen.append(request.path)  # cleanup sees the request too

        stream = generate()
    assert await anext(stream) == "/cleanup"
    assert not quart.has_request_context()  # nothing leaked into the reader
    await stream.aclose()
    assert seen == ["/cleanup"]
    assert not quart.has_request_context()


@pytest.mark.parametrize("read_body", [True, False])
async def test_a_server_repeating_the_body_end_does_not_flood_the_stream_watcher(
    app: Quart, read_body: bool
) -> None:
    """Past the body's end a server should send only the disconnect. One that answers
    every receive at once with the body's end again must not have the stream watcher fill
    its inbox without end (or hold the loop): the stream is sent all the same."""
    reads = 0

    @app.post("/")
    async def view():
        if read_body:
            assert await request.get_data() == b"body"

        async def chunks() -> AsyncIterator[bytes]:
            for number in range(50):
                await asyncio.sleep(0)
                yield b"%d," % number

        return chunks()

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"body", "more_body": False}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    other_work = 0

    async def other() -> None:
        nonlocal other_work
        while True:
            other_work += 1
            await asyncio.sleep(0)

    bystander = asyncio.create_task(other())
    try:
        async with asyncio.timeout(5):
            await app(scope_for("/"), receive, send)
    finally:
        bystander.cancel()
    body = b"".join(message.get("body", b"") for message in sent[1:])
    assert sent[0]["status"] == 200
    assert body == b"".join(b"%d," % number for number in range(50))
    assert other_work > 10  # the loop was not held
    assert reads < 500  # the watcher waited its turn between the repeated messages
