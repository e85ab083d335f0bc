"""Server-sent events through the test client: how ``ServerSentEvent`` encodes each field
(checked by reading it back the way a browser's ``EventSource`` does), the response
``make_sse_response`` builds, keep-alive comments in the pauses, and a client that reads
an endless stream event by event and then leaves."""

from __future__ import annotations

import asyncio
import gc
import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import quart
from leftover_tasks import our_tasks
from quart import Quart, ServerSentEvent, make_sse_response, request
from quart.testing import HTTPDisconnectError

TIMEOUT = 5.0


def parse(stream: bytes) -> tuple[list[dict[str, Any]], list[str], int | None]:
    """Read a text/event-stream as the HTML standard's EventSource does: the events it
    would dispatch (type, data, last event id), the comments, and the last retry."""
    events: list[dict[str, Any]] = []
    comments: list[str] = []
    data: list[str] = []
    event_type = ""
    last_id = ""
    retry: int | None = None
    lines = re.split(r"\r\n|\r|\n", stream.decode("utf-8"))
    for line in lines[:-1]:  # what follows the last line break is an unfinished line
        if not line:
            if data:
                events.append({"type": event_type or "message", "data": "\n".join(data)})
                events[-1]["id"] = last_id
            data, event_type = [], ""
            continue
        if line.startswith(":"):
            comments.append(line[1:].removeprefix(" "))
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            event_type = value
        elif name == "id" and "\0" not in value:
            last_id = value
        elif name == "retry" and value.isdigit():
            retry = int(value)
    return events, comments, retry


@pytest.fixture(autouse=True)
async def no_loop_errors() -> AsyncIterator[None]:
    """Fail a test after which the event loop reported an error: a task destroyed while
    pending, an exception nobody retrieved."""
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    yield
    gc.collect()
    loop.set_exception_handler(None)
    assert reported == []


async def next_event(connection: Any) -> bytes:
    """The next chunk from a streamed response that is not a keep-alive comment."""
    while True:
        chunk = await connection.receive()
        if chunk and not chunk.startswith(b":"):
            return chunk


# ----------------------------------------------------------------- the event format


@pytest.mark.parametrize(
    "text",
    [
        "one line",
        "two\nlines",
        "crlf\r\nline",
        "cr\rline",
        "a\n\r\nb\r\rc",
        "",
        "\n",
        "end\n",
        " leading space",
        "line sep\u2028stays",
        "::colons: inside",
    ],
)
def test_data_reads_back_exactly_as_sent(text: str) -> None:
    events, _, _ = parse(ServerSentEvent(text).encode())
    expected = re.sub(r"\r\n|\r", "\n", text)  # every line break arrives as \n
    assert events == [{"type": "message", "data": expected, "id": ""}]


def test_each_line_break_starts_a_new_data_line() -> None:
    encoded = ServerSentEvent("a\rb\nc\r\nd\u2028e").encode()
    assert encoded == "data: a\ndata: b\ndata: c\ndata: d\u2028e\n\n".encode()


def test_every_field_is_encoded_in_one_event() -> None:
    event = ServerSentEvent("payload", event="update", id="7", retry=2500, comment="note")
    assert event.encode() == b": note\nevent: update\nid: 7\nretry: 2500\ndata: payload\n\n"
    events, comments, retry = parse(event.encode())
    assert events == [{"type": "update", "data": "payload", "id": "7"}]
    assert (comments, retry) == (["note"], 2500)


def test_an_integer_id_and_an_event_without_data() -> None:
    stream = ServerSentEvent(id=41, retry=0).encode() + ServerSentEvent("next").encode()
    events, _, retry = parse(stream)
    assert events == [{"type": "message", "data": "next", "id": "41"}]  # the id carried over
    assert retry == 0


def test_comments_over_several_lines_are_all_comments() -> None:
    encoded = ServerSentEvent(comment="first\nsecond\r\n\rdata: not data").encode()
    assert encoded == b": first\n: second\n:\n: data: not data\n\n"
    events, comments, _ = parse(encoded)
    assert events == []
    assert comments == ["first", "second", "", "data: not data"]


def test_bytes_are_utf8_text_and_other_values_json() -> None:
    assert ServerSentEvent("é".encode()).encode() == "data: é\n\n".encode()
    assert ServerSentEvent([1, "two", None]).encode() == b'data: [1, "two", null]\n\n'
    assert ServerSentEvent(0).encode() == b"data: 0\n\n"
    assert ServerSentEvent(False).encode() == b"data: false\n\n"


async def test_json_data_is_dumped_with_the_apps_provider(app: Quart) -> None:
    app.json.sort_keys = False  # type: ignore[attr-defined]
    async with app.app_context():
        assert ServerSentEvent({"b": 1, "a": 2}).encode() == b'data: {"b": 1, "a": 2}\n\n'
    app.json.sort_keys = True  # type: ignore[attr-defined]
    async with app.app_context():
        assert ServerSentEvent({"b": 1, "a": 2}).encode() == b'data: {"a": 2, "b": 1}\n\n'


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"data": "x", "event": "two\nlines"}, ValueError),
        ({"data": "x", "event": "cr\r"}, ValueError),
        ({"data": "x", "id": "a\nb"}, ValueError),
        ({"data": "x", "id": "a\rb"}, ValueError),
        ({"data": "x", "id": "nul\0"}, ValueError),
        ({"data": "x", "id": 1.5}, TypeError),
        ({"data": "x", "id": True}, TypeError),
        ({"data": "x", "retry": -1}, ValueError),
        ({"data": "x", "retry": "1000"}, ValueError),
        ({"data": "x", "retry": 1.5}, ValueError),
        ({"data": "x", "retry": True}, ValueError),
        ({}, ValueError),
    ],
)
def test_fields_that_would_break_the_format_are_refused(
    fields: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        ServerSentEvent(**fields)


def test_events_compare_by_value_and_are_exported() -> None:
    assert ServerSentEvent("x", id=1) == ServerSentEvent(data="x", id=1)
    assert ServerSentEvent("x", id=1) != ServerSentEvent("x", id=2)
    assert quart.sse.ServerSentEvent is ServerSentEvent
    assert quart.sse.make_sse_response is make_sse_response


# ----------------------------------------------------------------- the response


async def test_the_response_has_the_event_stream_headers_and_no_timeout(app: Quart) -> None:
    async def events() -> AsyncIterator[str]:
        yield "x"

    async with app.test_request_context("/"):
        response = await make_sse_response(events())
        custom = await make_sse_response(
            events(), status=201, headers={"Cache-Control": "no-store", "X-Feed": "news"}
        )
        charset = await make_sse_response(
            events(), headers=[("Content-Type", "text/event-stream; charset=utf-8")]
        )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Accel-Buffering"] == "no"
    assert "Content-Length" not in response.headers
    assert response.timeout is None
    assert await response.get_data() == b"data: x\n\n"
    assert custom.status_code == 201
    assert custom.headers["Cache-Control"] == "no-store"
    assert custom.headers["X-Feed"] == "news"
    assert custom.headers["Content-Type"] == "text/event-stream"
    assert charset.headers.getlist("Content-Type") == ["text/event-stream; charset=utf-8"]


@pytest.mark.parametrize("keep_alive", [0, -1.0])
async def test_keep_alive_must_be_positive_or_none(app: Quart, keep_alive: float) -> None:
    async with app.test_request_context("/"):
        with pytest.raises(ValueError):
            await make_sse_response([], keep_alive=keep_alive)


async def test_a_finite_stream_of_mixed_items_through_client_get(app: Quart, client) -> None:
    @app.route("/events")
    async def feed() -> Any:
        async def generate() -> AsyncIterator[Any]:
            yield ServerSentEvent("hello", event="greeting", id="1")
            yield "plain text"
            yield b"raw bytes"
            yield {"n": 2}
            yield ServerSentEvent(retry=3000)

        return await make_sse_response(generate())

    response = await client.get("/events")
    assert response.status_code == 200
    assert response.content_type == "text/event-stream"
    events, comments, retry = parse(await response.get_data())
    assert events == [
        {"type": "greeting", "data": "hello", "id": "1"},
        {"type": "message", "data": "plain text", "id": "1"},
        {"type": "message", "data": "raw bytes", "id": "1"},
        {"type": "message", "data": '{"n": 2}', "id": "1"},
    ]
    assert (comments, retry) == ([], 3000)


async def test_a_sync_generator_is_a_source_too(app: Quart, client) -> None:
    import threading

    threads: list[str] = []

    @app.route("/events")
    async def feed() -> Any:
        def generate() -> Iterator[str]:
            threads.append(threading.current_thread().name)
            yield "from a thread"
            yield "and another"

        return await make_sse_response(generate(), keep_alive=1.0)

    events_seen, _, _ = parse(await (await client.get("/events")).get_data())
    assert [event["data"] for event in events_seen] == ["from a thread", "and another"]
    assert threads and threads[0] != threading.main_thread().name


async def test_keep_alive_comments_fill_the_pauses_and_lose_no_event(app: Quart, client) -> None:
    release = asyncio.Event()
    interrupted: list[BaseException] = []

    @app.route("/events")
    async def feed() -> Any:
        async def generate() -> AsyncIterator[str]:
            try:
                await release.wait()  # one long wait, across several keep-alives
            except BaseException as error:
                interrupted.append(error)
                raise
            yield "after the pause"

        return await make_sse_response(generate(), keep_alive=0.01)

    async with asyncio.timeout(TIMEOUT), client.request("/events") as connection:
        await connection.send_complete()
        assert await connection.receive() == b": keep-alive\n\n"
        assert await connection.receive() == b": keep-alive\n\n"
        release.set()
        rest = b""
        with pytest.raises(HTTPDisconnectError):
            while True:
                rest += await connection.receive()
    events, comments, _ = parse(rest)
    assert events == [{"type": "message", "data": "after the pause", "id": ""}]
    assert set(comments) <= {"keep-alive"}
    assert interrupted == []  # the pending step was waited for, never cancelled


async def test_without_keep_alive_events_pass_straight_through(app: Quart, client) -> None:
    queue: asyncio.Queue[str] = asyncio.Queue()

    @app.route("/events")
    async def feed() -> Any:
        async def generate() -> AsyncIterator[str]:
            while (item := await queue.get()) != "end":
                yield item

        return await make_sse_response(generate(), keep_alive=None)

    async with asyncio.timeout(TIMEOUT), client.request("/events") as connection:
        await connection.send_complete()
        await queue.put("one")
        assert await connection.receive() == b"data: one\n\n"
        await queue.put("two")
        assert await connection.receive() == b"data: two\n\n"
        await queue.put("end")
        assert await connection.receive() == b""
        with pytest.raises(HTTPDisconnectError):
            await connection.receive()


async def test_reading_an_endless_stream_event_by_event_then_leaving(app: Quart, client) -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    closed = asyncio.Event()
    torn_down: list[BaseException | None] = []

    @app.teardown_request
    async def record(error: BaseException | None) -> None:
        torn_down.append(error)

    @app.route("/events")
    async def feed() -> Any:
        async def generate() -> AsyncIterator[ServerSentEvent]:
            try:
                while True:
                    number = await queue.get()
                    yield ServerSentEvent({"n": number}, id=str(number))
            finally:
                closed.set()

        return await make_sse_response(generate(), keep_alive=0.02)

    async with asyncio.timeout(TIMEOUT), client.request("/events") as connection:
        await connection.send_complete()
        for number in range(3):
            await queue.put(number)
            assert (
                await next_event(connection)
                == f'id: {number}\ndata: {{"n": {number}}}\n\n'.encode()
            )
        await connection.disconnect()
        await closed.wait()
    assert torn_down == [None]
    assert our_tasks() == []


async def test_a_source_that_fails_is_logged_once_and_the_stream_cut(
    app: Quart, client, caplog: pytest.LogCaptureFixture
) -> None:
    @app.route("/events")
    async def feed() -> Any:
        async def generate() -> AsyncIterator[str]:
            yield "first"
            raise LookupError("feed is gone")

        return await make_sse_response(generate(), keep_alive=1.0)

    with caplog.at_level(logging.ERROR):
        async with asyncio.timeout(TIMEOUT), client.request("/events") as connection:
            await connection.send_complete()
            assert await connection.receive() == b"data: first\n\n"
            with pytest.raises(HTTPDisconnectError):
                await connection.receive()  # ended without completing the response
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert isinstance(errors[0].exc_info[1], LookupError)  # type: ignore[index]
    assert our_tasks() == []


async def test_an_item_that_cannot_be_an_event_is_an_app_error(
    app: Quart, client, caplog: pytest.LogCaptureFixture
) -> None:
    finished: list[bool] = []

    @app.route("/events")
    async def feed() -> Any:
        async def generate() -> AsyncIterator[Any]:
            try:
                yield None
                await asyncio.Event().wait()
            finally:
                finished.append(True)

        return await make_sse_response(generate(), keep_alive=1.0)

    with caplog.at_level(logging.ERROR):
        response = await client.get("/events")
    assert await response.get_data() == b""
    assert "An event needs data" in caplog.text
    assert finished == [True]
    assert our_tasks() == []


async def test_last_event_id_lets_a_client_resume(app: Quart, client) -> None:
    @app.route("/events")
    async def feed() -> Any:
        start = int(request.headers.get("Last-Event-ID", "0")) + 1

        async def generate() -> AsyncIterator[ServerSentEvent]:
            for number in range(start, 4):
                yield ServerSentEvent(f"item {number}", id=str(number))

        return await make_sse_response(generate())

    fresh, _, _ = parse(await (await client.get("/events")).get_data())
    assert [event["data"] for event in fresh] == ["item 1", "item 2", "item 3"]
    resumed = await client.get("/events", headers={"Last-Event-ID": "2"})
    events, _, _ = parse(await resumed.get_data())
    assert events == [{"type": "message", "data": "item 3", "id": "3"}]


async def test_a_head_request_never_starts_the_source(app: Quart, client) -> None:
    started: list[bool] = []

    @app.route("/events")
    async def feed() -> Any:
        async def generate() -> AsyncIterator[str]:
            started.append(True)
            yield "x"

        return await make_sse_response(generate())

    response = await client.head("/events")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    assert await response.get_data() == b""
    assert started == []
    assert our_tasks() == []
