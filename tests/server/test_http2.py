"""HTTP/2 under hypercorn: ordinary requests, streamed responses and request bodies, server
push with ``make_push_promise``, and the body limits and timeouts per stream.

Most tests speak h2c with prior knowledge (hypercorn accepts it on a plain socket) through
the ``h2`` library directly, which shows each frame: DATA frames one by one, PUSH_PROMISE
frames and the pushed streams. One test goes through TLS with ALPN, as browsers do.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.settings
import httpx
import pytest
import trustme

from quart import Quart, make_push_promise, request, url_for

from .serving import running_server

WAIT = 10.0  # seconds: far beyond anything these exchanges need


@dataclass
class Stream:
    """What one HTTP/2 stream brought: the response headers and each DATA frame's bytes."""

    promised: dict[str, str] | None = None  # the request headers of a PUSH_PROMISE
    parent: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    frames: list[bytes] = field(default_factory=list)
    ended: bool = False
    reset: bool = False

    @property
    def status(self) -> int:
        return int(self.headers[":status"])

    @property
    def body(self) -> bytes:
        return b"".join(self.frames)


class H2Client:
    """An HTTP/2 client on one connection, driven by hand: send, then read until a
    condition on the streams holds."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, authority: str
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.authority = authority
        self.connection = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        )
        self.streams: dict[int, Stream] = {}

    async def start(self, *, enable_push: bool = True) -> None:
        self.connection.initiate_connection()
        self.connection.update_settings({h2.settings.SettingCodes.ENABLE_PUSH: int(enable_push)})
        await self.flush()

    async def flush(self) -> None:
        self.writer.write(self.connection.data_to_send())
        await self.writer.drain()

    async def request(
        self,
        path: str,
        method: str = "GET",
        headers: list[tuple[str, str]] | None = None,
        body: list[bytes] | None = None,
        end: bool = True,
    ) -> int:
        """Open a stream; ``body`` goes in one DATA frame per item. With ``end=False`` the
        stream stays open for more data."""
        stream_id = self.connection.get_next_available_stream_id()
        self.streams[stream_id] = Stream()
        pseudo = [
            (":method", method),
            (":path", path),
            (":scheme", "http"),
            (":authority", self.authority),
        ]
        self.connection.send_headers(
            stream_id, pseudo + (headers or []), end_stream=end and not body
        )
        for index, data in enumerate(body or []):
            last = end and index == len(body or []) - 1
            self.connection.send_data(stream_id, data, end_stream=last)
        await self.flush()
        return stream_id

    async def reset(self, stream_id: int) -> None:
        self.connection.reset_stream(stream_id)
        await self.flush()

    async def until(self, condition: Callable[[], bool]) -> None:
        """Read frames until ``condition()`` holds."""
        async with asyncio.timeout(WAIT):
            while not condition():
                data = await self.reader.read(65536)
                if not data:
                    raise ConnectionError("the server closed the connection")
                for event in self.connection.receive_data(data):
                    self._record(event)
                await self.flush()

    async def get(self, path: str, **kwargs: Any) -> Stream:
        """A whole request: its stream once it has ended."""
        stream_id = await self.request(path, **kwargs)
        stream = self.streams[stream_id]
        await self.until(lambda: stream.ended or stream.reset)
        return stream

    def _record(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.PushedStreamReceived):
            self.streams[event.pushed_stream_id] = Stream(
                promised=dict(event.headers), parent=event.parent_stream_id
            )
        elif isinstance(event, h2.events.ResponseReceived):
            self.streams[event.stream_id].headers = dict(event.headers)
        elif isinstance(event, h2.events.DataReceived):
            if event.data:
                self.streams[event.stream_id].frames.append(event.data)
            self.connection.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            self.streams[event.stream_id].ended = True
        elif isinstance(event, h2.events.StreamReset):
            self.streams[event.stream_id].reset = True
        elif isinstance(event, h2.events.ConnectionTerminated):
            raise ConnectionError(f"the server ended the connection: {event.error_code!r}")


@pytest.fixture
async def h2_connect(serve: Any) -> AsyncIterator[Callable[..., Any]]:
    """``client = await h2_connect(app)``: the app served by hypercorn, and an h2c
    connection to it (closed at teardown)."""
    writers: list[asyncio.StreamWriter] = []

    async def connect(app: Quart, *, enable_push: bool = True) -> H2Client:
        authority = (await serve(app)).removeprefix("http://")
        host, port = authority.split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writers.append(writer)
        client = H2Client(reader, writer, authority)
        await client.start(enable_push=enable_push)
        return client

    yield connect
    for writer in writers:
        writer.close()


def make_app(static: Path | None = None) -> Quart:
    app = Quart(__name__, static_folder=str(static) if static else None, static_url_path="/static")

    @app.get("/")
    async def index() -> dict[str, Any]:
        return {"version": request.http_version, "scheme": request.scheme}

    @app.post("/echo")
    async def echo() -> dict[str, Any]:
        sizes = [len(chunk) async for chunk in request.body]
        return {"total": sum(sizes), "chunks": len(sizes)}

    @app.post("/json")
    async def json_echo() -> dict[str, Any]:
        return {"received": await request.get_json()}

    return app


# --- ordinary requests --------------------------------------------------------------


async def test_a_get_over_h2c_returns_its_body(h2_connect: Any) -> None:
    client = await h2_connect(make_app())
    stream = await client.get("/")
    assert stream.status == 200
    assert stream.headers["content-type"] == "application/json"
    assert stream.body == b'{"scheme":"http","version":"2"}\n'
    assert stream.headers["content-length"] == str(len(stream.body))


async def test_concurrent_streams_on_one_connection(h2_connect: Any) -> None:
    app = make_app()

    @app.get("/item/<int:number>")
    async def item(number: int) -> str:
        return f"item {number}"

    client = await h2_connect(app)
    ids = [await client.request(f"/item/{number}") for number in range(5)]
    await client.until(lambda: all(client.streams[sid].ended for sid in ids))
    assert [client.streams[sid].body for sid in ids] == [f"item {n}".encode() for n in range(5)]


async def test_a_request_body_in_several_data_frames_is_streamed(h2_connect: Any) -> None:
    client = await h2_connect(make_app())
    parts = [b"a" * 1000, b"b" * 2000, b"c" * 3000]
    stream = await client.get("/echo", method="POST", body=parts)
    assert stream.status == 200
    result = json.loads(stream.body)
    assert result["total"] == 6000
    assert 1 <= result["chunks"] <= 3


async def test_httpx_over_h2c_with_prior_knowledge(serve: Any) -> None:
    base_url = await serve(make_app())
    async with httpx.AsyncClient(base_url=base_url, http1=False, http2=True) as client:
        response = await client.get("/")
        posted = await client.post("/json", json={"a": [1, 2, 3]})
    assert response.http_version == "HTTP/2"
    assert response.json() == {"version": "2", "scheme": "http"}
    assert posted.json() == {"received": {"a": [1, 2, 3]}}


async def test_http2_over_tls_negotiated_with_alpn(tmp_path: Path) -> None:
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    certificate.cert_chain_pems[0].write_to_path(str(certfile))
    certificate.private_key_pem.write_to_path(str(keyfile))
    trust = ssl.create_default_context()
    authority.configure_trust(trust)

    app = make_app()
    async with running_server(app, certfile=str(certfile), keyfile=str(keyfile)) as base_url:
        https_url = base_url.replace("http://", "https://")
        async with httpx.AsyncClient(base_url=https_url, http2=True, verify=trust) as client:
            response = await client.get("/")
    assert response.http_version == "HTTP/2"
    assert response.json() == {"version": "2", "scheme": "https"}


# --- streamed responses ---------------------------------------------------------------


async def test_a_streamed_response_arrives_frame_by_frame(h2_connect: Any) -> None:
    app = make_app()
    proceed = asyncio.Event()  # set by the client once it holds the latest part

    @app.get("/stream")
    async def stream() -> Any:
        async def parts() -> AsyncIterator[str]:
            for index in range(3):
                yield f"part {index};"
                await proceed.wait()  # the next part only once this one has arrived
                proceed.clear()

        return parts(), {"Content-Type": "text/plain"}

    client = await h2_connect(app)
    stream_id = await client.request("/stream")
    response = client.streams[stream_id]
    for count in (1, 2, 3):
        await client.until(lambda count=count: len(response.frames) == count)
        assert not response.ended
        proceed.set()
    await client.until(lambda: response.ended)
    assert response.status == 200
    assert response.frames == [b"part 0;", b"part 1;", b"part 2;"]
    assert "content-length" not in response.headers


# --- server push -----------------------------------------------------------------------


def push_app(static: Path) -> Quart:
    (static / "style.css").write_text("body { color: teal }")
    app = make_app(static)

    @app.get("/page")
    async def page() -> str:
        await make_push_promise(url_for("static", filename="style.css"))
        return "<link rel=stylesheet href=/static/style.css>"

    return app


async def test_a_push_promise_is_sent_and_the_pushed_response_follows(
    h2_connect: Any, tmp_path: Path
) -> None:
    client = await h2_connect(push_app(tmp_path))
    stream = await client.get("/page", headers=[("accept", "text/css,*/*"), ("user-agent", "t")])
    assert stream.status == 200
    assert stream.body == b"<link rel=stylesheet href=/static/style.css>"

    pushed_ids = [sid for sid, item in client.streams.items() if item.promised is not None]
    assert len(pushed_ids) == 1
    pushed = client.streams[pushed_ids[0]]
    assert pushed_ids[0] % 2 == 0  # a server-initiated stream
    assert pushed.parent == 1
    assert pushed.promised is not None
    assert pushed.promised[":path"] == "/static/style.css"
    assert pushed.promised[":method"] == "GET"
    assert pushed.promised[":authority"] == client.authority
    assert pushed.promised["accept"] == "text/css,*/*"  # copied from the page's request
    assert pushed.promised["user-agent"] == "t"

    await client.until(lambda: pushed.ended)
    assert pushed.status == 200
    assert pushed.headers["content-type"].startswith("text/css")
    assert pushed.body == b"body { color: teal }"


async def test_a_client_refusing_pushes_still_gets_the_page(
    h2_connect: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = await h2_connect(push_app(tmp_path), enable_push=False)
    with caplog.at_level(logging.ERROR):
        stream = await client.get("/page")
    assert stream.status == 200
    assert stream.body.startswith(b"<link")
    assert [item for item in client.streams.values() if item.promised is not None] == []
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []


async def test_make_push_promise_does_nothing_over_http1(serve_each: Any, tmp_path: Path) -> None:
    app = push_app(tmp_path)
    served: list[str] = []

    @app.before_request
    async def record() -> None:
        served.append(request.path)

    base_url = await serve_each(app)
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.get("/page")
    assert response.status_code == 200
    assert response.http_version == "HTTP/1.1"
    assert response.text.startswith("<link")
    assert served == ["/page"]  # nothing was pushed, so nothing else was served


async def test_a_pushed_response_that_pushes_again_is_still_served(h2_connect: Any) -> None:
    app = make_app()

    @app.get("/first")
    async def first() -> str:
        await make_push_promise("/second")
        return "first"

    @app.get("/second")
    async def second() -> str:
        await make_push_promise("/first")  # no push from a pushed stream: quietly nothing
        return "second"

    client = await h2_connect(app)
    stream = await client.get("/first")
    pushed = [item for item in client.streams.values() if item.promised is not None]
    assert len(pushed) == 1
    await client.until(lambda: pushed[0].ended)
    assert (stream.body, pushed[0].status, pushed[0].body) == (b"first", 200, b"second")
    assert len(client.streams) == 2


# --- body limits and timeouts per stream ------------------------------------------------


async def test_a_stalled_stream_gets_408_while_others_are_served(h2_connect: Any) -> None:
    app = make_app()
    app.config["BODY_TIMEOUT"] = 0.5
    client = await h2_connect(app)
    stalled = await client.request("/echo", method="POST", body=[b"partial"], end=False)
    other = await client.get("/")
    assert other.status == 200  # the connection serves others while one stream waits
    stream = client.streams[stalled]
    await client.until(lambda: stream.ended or stream.reset)
    assert stream.status == 408
    assert (await client.get("/")).status == 200


async def test_a_body_over_the_limit_without_a_length_is_413(h2_connect: Any) -> None:
    app = make_app()
    app.config["MAX_CONTENT_LENGTH"] = 1000
    client = await h2_connect(app)
    stream = await client.get("/echo", method="POST", body=[b"x" * 600, b"x" * 600])
    assert stream.status == 413
    accepted = await client.get("/echo", method="POST", body=[b"x" * 500, b"x" * 500])
    assert accepted.status == 200
    assert json.loads(accepted.body)["total"] == 1000


async def test_a_stream_reset_while_its_body_is_awaited_ends_the_view_quietly(
    h2_connect: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    reading = asyncio.Event()
    torn_down = asyncio.Event()
    finished: list[bool] = []

    @app.post("/slow")
    async def slow() -> str:
        reading.set()
        await request.get_data()
        finished.append(True)
        return "never"

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        if request.path == "/slow":
            torn_down.set()

    client = await h2_connect(app)
    with caplog.at_level(logging.ERROR):
        stream_id = await client.request("/slow", method="POST", body=[b"part"], end=False)
        async with asyncio.timeout(WAIT):
            await reading.wait()
        await client.reset(stream_id)
        async with asyncio.timeout(WAIT):
            await torn_down.wait()
        assert (await client.get("/")).status == 200  # the connection lives on
    assert finished == []
    assert client.streams[stream_id].headers == {}  # no response was attempted
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []
