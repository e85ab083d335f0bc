"""Quart 0.22's request and response wrapper API: requests built by hand with a body
pushed to them, the JSON module and lock hooks, and the response body kinds' ranges."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from werkzeug.datastructures import Headers
from werkzeug.exceptions import RequestedRangeNotSatisfiable, RequestEntityTooLarge, RequestTimeout

import quart.json
from quart import Quart, request
from quart.testing import no_op_push
from quart.wrappers import Body, Request, Response
from quart.wrappers.request import SERVER_PUSH_HEADERS_TO_COPY
from quart.wrappers.response import DataBody, FileBody, IOBody


def make_request(
    method: str = "POST",
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> Request:
    """A request built by hand, as extensions' tests build them (Quart's signature)."""
    return Request(
        method,
        "http",
        "/",
        b"",
        Headers(headers or {}),
        "",
        "1.1",
        {"type": "http"},
        send_push_promise=no_op_push,
        **kwargs,
    )


# --- a body pushed to a request built by hand ---------------------------------------


async def test_a_body_set_on_a_hand_built_request_is_read_by_the_data_methods() -> None:
    req = make_request(headers={"Content-Type": "application/json"})
    req.body.set_result(b'{"a": [1, 2]}')
    assert await req.get_json() == {"a": [1, 2]}
    assert await req.get_data() == b'{"a": [1, 2]}'
    assert await req.get_data(as_text=True) == '{"a": [1, 2]}'
    assert await req.body == b'{"a": [1, 2]}'


async def test_a_pushed_form_body_is_parsed() -> None:
    req = make_request(headers={"Content-Type": "application/x-www-form-urlencoded"})
    req.body.set_result(b"name=ada&name=grace&city=london")
    form = await req.form
    assert form.getlist("name") == ["ada", "grace"]
    assert form["city"] == "london"
    assert await req.data == b""  # a form body is read as the form, as in Flask


async def test_a_body_appended_piece_by_piece_is_awaited_whole() -> None:
    req = make_request()

    async def feed() -> None:
        for piece in (b"one ", b"two ", b"three"):
            await asyncio.sleep(0)
            req.body.append(piece)
        req.body.append(b"")  # nothing: ignored
        req.body.set_complete()

    feeder = asyncio.create_task(feed())
    assert await req.get_data() == b"one two three"
    await feeder


async def test_a_pushed_body_streams_each_piece_as_it_arrives() -> None:
    body = Body(None, None)
    received: list[bytes] = []
    arrived = asyncio.Event()

    async def read() -> None:
        async for chunk in body:
            received.append(chunk)
            arrived.set()

    reader = asyncio.create_task(read())
    for piece in (b"a", b"bc"):
        arrived.clear()
        body.append(piece)
        await arrived.wait()
    body.set_complete()
    await reader
    assert received == [b"a", b"bc"]


async def test_pushing_more_than_the_limit_is_a_413_and_the_rest_is_dropped() -> None:
    req = make_request(max_content_length=5)
    req.body.append(b"1234")
    req.body.append(b"5678")  # past the limit: the body ends here
    req.body.append(b"9")  # dropped
    with pytest.raises(RequestEntityTooLarge):
        await req.get_data()
    with pytest.raises(RequestEntityTooLarge):  # and stays refused
        await req.body


async def test_a_declared_length_over_the_limit_is_a_413_before_anything_is_pushed() -> None:
    req = make_request(headers={"Content-Length": "100"}, max_content_length=10)
    with pytest.raises(RequestEntityTooLarge):
        await req.get_data()
    body = Body(100, 10)
    with pytest.raises(RequestEntityTooLarge):
        await body


async def test_a_pushed_body_never_completed_is_a_408_after_the_body_timeout() -> None:
    req = make_request(body_timeout=0.05)
    req.body.append(b"partial")
    with pytest.raises(RequestTimeout):
        await req.get_data()


async def test_get_data_without_cache_drops_the_body() -> None:
    req = make_request()
    req.body.set_result(b"once")
    assert await req.get_data(cache=False) == b"once"
    assert await req.get_data() == b""


async def test_get_json_without_cache_drops_the_body_too() -> None:
    req = make_request(headers={"Content-Type": "application/json"})
    req.body.set_result(b"[1]")
    assert await req.get_json(cache=False) == [1]
    assert await req.get_data() == b""


async def test_clearing_a_pushed_body_drops_what_was_not_yet_read() -> None:
    body = Body(None, None)
    body.append(b"dropped")
    body.clear()
    body.set_result(b"kept")
    assert await body == b"kept"


async def test_bytes_pushed_after_a_complete_read_are_read_next_time() -> None:
    body = Body(None, None)
    body.set_result(b"first")
    assert await body == b"first"
    body.append(b"+more")
    assert await body == b"first+more"


async def test_a_body_received_from_the_client_cannot_be_pushed_to(app: Quart, client: Any) -> None:
    @app.post("/")
    async def view() -> str:
        with pytest.raises(RuntimeError, match="received from the client"):
            request.body.append(b"x")
        return await request.get_data(as_text=True)

    response = await client.post("/", data=b"from the client")
    assert await response.get_data() == b"from the client"


async def test_a_hand_built_request_takes_the_apps_limits_when_not_given(app: Quart) -> None:
    app.config.update(MAX_CONTENT_LENGTH=123, MAX_FORM_MEMORY_SIZE=45, MAX_FORM_PARTS=6)
    req = make_request()
    assert req.max_content_length is None  # outside an app context: no limit
    async with app.app_context():
        assert req.max_content_length == 123
        assert req.max_form_memory_size == 45
        assert req.max_form_parts == 6
        req.max_content_length = 7
        assert req.max_content_length == 7


# --- request and websocket attributes --------------------------------------------------


async def test_requests_and_websockets_decode_json_with_quart_json(app: Quart) -> None:
    from quart.wrappers import Websocket

    assert Request.json_module is quart.json
    assert Websocket.json_module is quart.json


class _RecordingJSON:
    """A json module that records what it parsed."""

    def __init__(self) -> None:
        self.parsed: list[str | bytes] = []

    def loads(self, data: str | bytes) -> Any:
        self.parsed.append(data)
        return {"parsed by": "custom"}

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return quart.json.dumps(obj, **kwargs)


async def test_a_custom_json_module_parses_request_bodies(app: Quart, client: Any) -> None:
    recorder = _RecordingJSON()

    class CustomRequest(Request):
        json_module = recorder

    app.request_class = CustomRequest

    @app.post("/")
    async def view() -> Any:
        return {"got": await request.get_json()}

    response = await client.post("/", json={"a": 1})
    assert await response.get_json() == {"got": {"parsed by": "custom"}}
    assert recorder.parsed == [b'{"a": 1}']


async def test_a_custom_json_module_parses_websocket_messages(app: Quart, client: Any) -> None:
    from quart import websocket
    from quart.wrappers import Websocket

    recorder = _RecordingJSON()

    class CustomWebsocket(Websocket):
        json_module = recorder

    app.websocket_class = CustomWebsocket
    parsed: list[Any] = []

    @app.websocket("/ws")
    async def ws() -> None:
        parsed.append(await websocket.receive_json())
        await websocket.send("done")

    async with client.websocket("/ws") as connection:
        await connection.send('{"x": 1}')
        assert await connection.receive() == "done"
    assert parsed == [{"parsed by": "custom"}]
    assert recorder.parsed == ['{"x": 1}']


async def test_concurrent_form_readers_share_one_parse_under_the_lock_class() -> None:
    locks: list[asyncio.Lock] = []

    class CountingLock(asyncio.Lock):
        def __init__(self) -> None:
            super().__init__()
            locks.append(self)

    class LockedRequest(Request):
        lock_class = CountingLock

    assert Request.lock_class is asyncio.Lock
    req = LockedRequest(
        "POST",
        "http",
        "/",
        b"",
        Headers({"Content-Type": "application/x-www-form-urlencoded"}),
        "",
        "1.1",
        {"type": "http"},
        send_push_promise=no_op_push,
    )

    async def read_form() -> Any:
        return await req.form

    readers = [asyncio.create_task(read_form()) for _ in range(3)]
    await asyncio.sleep(0)
    req.body.append(b"a=1&")
    await asyncio.sleep(0)
    req.body.set_result(b"b=2")
    forms = await asyncio.gather(*readers)
    assert forms[0] is forms[1] is forms[2]
    assert forms[0].to_dict() == {"a": "1", "b": "2"}
    assert len(locks) == 1  # one lock, made when the form was first read
    assert await req.files == {}


async def test_a_request_without_a_form_read_makes_no_lock(app: Quart, client: Any) -> None:
    made: list[int] = []

    class CountingLock(asyncio.Lock):
        def __init__(self) -> None:
            super().__init__()
            made.append(1)

    class LockedRequest(Request):
        lock_class = CountingLock

    app.request_class = LockedRequest

    @app.post("/")
    async def view() -> Any:
        return await request.get_json()

    assert await (await client.post("/", json=[1])).get_json() == [1]
    assert made == []


async def test_request_stream_streams_the_body(app: Quart, client: Any) -> None:
    @app.post("/")
    async def count() -> dict[str, Any]:
        chunks = [chunk async for chunk in request.stream]
        return {"bytes": sum(map(len, chunks)), "same": request.stream is request.body}

    response = await client.post("/", data=b"x" * 1000)
    assert await response.get_json() == {"bytes": 1000, "same": True}


async def test_request_data_is_the_raw_body_for_other_content_types() -> None:
    req = make_request(headers={"Content-Type": "text/plain"})
    req.body.set_result(b"plain text")
    assert await req.data == b"plain text"
    assert await req.form == {}


async def test_push_promises_copy_the_negotiation_headers_in_the_clients_order() -> None:
    negotiation = {"accept", "accept-encoding", "accept-language", "cache-control", "user-agent"}
    assert negotiation == SERVER_PUSH_HEADERS_TO_COPY
    pushed: list[tuple[str, Headers]] = []

    async def push(path: str, headers: Headers) -> None:
        pushed.append((path, headers))

    req = Request(
        "GET",
        "http",
        "/",
        b"",
        Headers(
            [
                ("User-Agent", "tester"),
                ("Cookie", "secret=1"),
                ("Accept", "text/css"),
                ("accept-language", "en"),
            ]
        ),
        "",
        "2",
        {"type": "http"},
        send_push_promise=push,
    )
    await req.send_push_promise("/style.css")
    assert [(path, list(headers.items())) for path, headers in pushed] == [
        (
            "/style.css",
            [("User-Agent", "tester"), ("Accept", "text/css"), ("accept-language", "en")],
        )
    ]


# --- response bodies and ranges --------------------------------------------------------


async def _collect(body: Any) -> bytes:
    async with body as chunks:
        return b"".join([chunk async for chunk in chunks])


async def test_a_data_body_serves_the_range_it_is_given() -> None:
    body = DataBody(b"0123456789")
    assert (body.begin, body.end) == (0, 10)
    assert await body.make_conditional(2, 5) == 10
    assert (body.begin, body.end) == (2, 5)
    assert await _collect(body) == b"234"


@pytest.mark.parametrize(
    ("begin", "end", "expected"),
    [(0, None, b"0123456789"), (7, 100, b"789"), (-3, None, b"789"), (9, 10, b"9")],
)
async def test_a_data_body_range_is_clipped_to_the_body(
    begin: int, end: int | None, expected: bytes
) -> None:
    body = DataBody(b"0123456789")
    assert await body.make_conditional(begin, end) == 10
    assert await _collect(body) == expected


@pytest.mark.parametrize(("begin", "end"), [(5, 5), (6, 2), (10, None), (-11, None)])
async def test_an_unsatisfiable_range_is_a_416(begin: int, end: int | None) -> None:
    for body in (DataBody(b"0123456789"), IOBody(BytesIO(b"0123456789"))):
        with pytest.raises(RequestedRangeNotSatisfiable):
            await body.make_conditional(begin, end)


async def test_a_file_body_serves_the_range_it_is_given(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(200)))
    body = FileBody(path, buffer_size=16)
    assert body.file_path == path
    assert await body.make_conditional(100, 150) == 200
    assert (body.begin, body.end) == (100, 150)
    assert await _collect(body) == bytes(range(100, 150))


async def test_an_io_body_serves_the_range_it_is_given() -> None:
    body = IOBody(BytesIO(b"abcdefghij"), buffer_size=3)
    assert await body.make_conditional(1, 8) == 10
    assert await _collect(body) == b"bcdefgh"


async def test_an_io_body_that_cannot_seek_has_no_ranges() -> None:
    class Unseekable(BytesIO):
        def seekable(self) -> bool:
            return False

    body = IOBody(Unseekable(b"abc"))
    with pytest.raises(RequestedRangeNotSatisfiable):
        await body.make_conditional(0, 1)


async def _numbers() -> AsyncIterator[bytes]:
    for number in range(3):
        yield str(number).encode()


async def test_get_data_keeps_a_streamed_body_so_it_can_be_read_again() -> None:
    assert Response.implicit_sequence_conversion is True
    response = Response(_numbers())
    assert await response.get_data() == b"012"
    assert isinstance(response.response, DataBody)
    assert await response.get_data(as_text=True) == "012"


async def test_without_implicit_conversion_get_data_consumes_a_stream() -> None:
    class StreamingResponse(Response):
        implicit_sequence_conversion = False

    response = StreamingResponse(_numbers())
    assert await response.get_data() == b"012"
    assert await response.get_data() == b""


async def test_make_sequence_collects_a_stream_and_leaves_the_headers() -> None:
    response = Response(_numbers(), headers={"X-Kept": "1"})
    await response.make_sequence()
    assert isinstance(response.response, DataBody)
    assert response.response.data == b"012"
    assert "Content-Length" not in response.headers
    assert response.headers["X-Kept"] == "1"


async def test_a_streamed_body_is_sent_whole_after_an_after_request_read_it(
    app: Quart, client: Any
) -> None:
    seen: list[bytes] = []

    @app.get("/")
    async def view() -> Response:
        return Response(_numbers())

    @app.after_request
    async def read_it(response: Response) -> Response:
        seen.append(await response.get_data())
        return response

    response = await client.get("/")
    assert seen == [b"012"]
    assert await response.get_data() == b"012"


async def test_make_conditional_takes_no_ranges_unless_asked(app: Quart) -> None:
    async with app.test_request_context("/", headers={"Range": "bytes=0-1"}):
        response = Response(b"0123456789")
        await response.make_conditional(request)
        assert response.status_code == 200
        assert "Accept-Ranges" not in response.headers
        assert await response.get_data() == b"0123456789"

        ranged = Response(b"0123456789")
        await ranged.make_conditional(request, accept_ranges=True)
        assert ranged.status_code == 206
        assert ranged.headers["Accept-Ranges"] == "bytes"
        assert ranged.headers["Content-Range"] == "bytes 0-1/10"
        assert await ranged.get_data() == b"01"


async def test_a_range_of_a_stream_of_known_length_is_served(app: Quart) -> None:
    async with app.test_request_context("/", headers={"Range": "bytes=1-"}):
        response = Response(_numbers())
        await response.make_conditional(request, accept_ranges=True, complete_length=3)
        assert response.status_code == 206
        assert response.headers["Content-Range"] == "bytes 1-2/3"
        assert response.content_length == 2
        assert await response.get_data() == b"12"


async def test_a_stream_of_unknown_length_is_sent_whole(app: Quart) -> None:
    async with app.test_request_context("/", headers={"Range": "bytes=1-"}):
        response = Response(_numbers())
        await response.make_conditional(request, accept_ranges=True)
        assert response.status_code == 200
        assert await response.get_data() == b"012"


async def test_responses_decode_json_with_quart_json(app: Quart) -> None:
    assert Response.json_module is quart.json

    class Provider(app.json_provider_class):  # type: ignore[name-defined,misc]
        def loads(self, s: str | bytes, **kwargs: Any) -> Any:
            return {"provider": True}

    app.json = Provider(app)
    response = Response('{"a": 1}', mimetype="application/json")
    assert await response.get_json() == {"a": 1}  # no app context: Python's json
    async with app.app_context():
        assert await response.get_json() == {"provider": True}
