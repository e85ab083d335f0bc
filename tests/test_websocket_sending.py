"""Sending on a websocket: a handler that only sends lets other work run and ends when
the client leaves, the test client holds back a handler that outpaces the test, the
``websocket_received``/``websocket_sent`` signals, accept headers by ASGI version, and
the connection class's overridable methods."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from quart import Quart, serving, websocket
from quart.asgi import ASGIHTTPConnection, ASGIWebsocketConnection
from quart.exceptions import ConnectionClosed
from quart.signals import websocket_received, websocket_sent
from quart.testing import WebsocketDisconnectError


def ws_scope(path: str = "/ws", spec_version: str = "2.3") -> dict[str, Any]:
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": spec_version},
        "scheme": "ws",
        "http_version": "1.1",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "subprotocols": [],
        "extensions": {"websocket.http.response": {}},
    }


def send_loop_app(ended: list[tuple[int, str]], sent: list[int]) -> Quart:
    app = Quart(__name__)

    @app.websocket("/ws")
    async def ticker() -> None:
        try:
            while True:
                await websocket.send(b"tick")
                sent[0] += 1
        except ConnectionClosed as closed:
            ended.append((closed.code, closed.reason))
            raise

    return app


async def test_a_send_loop_lets_other_tasks_run_and_ends_when_the_client_drops() -> None:
    """A server whose ``send`` never waits: only the framework can let the loop run."""
    ended: list[tuple[int, str]] = []
    sent = [0]
    app = send_loop_app(ended, sent)
    dropped = asyncio.Event()
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if not messages:
            messages.append({"type": "websocket.connect"})
            return messages[0]
        await dropped.wait()
        return {"type": "websocket.disconnect", "code": 1006}

    async def send(message: dict[str, Any]) -> None:
        # A server with room in its buffer: returns at once. (A bound, so that a loop that
        # never yields fails here instead of hanging: no timeout can fire in it.)
        assert sent[0] < 100_000, "the send loop never let the event loop run"

    async def drop_after_a_while() -> None:
        while sent[0] < 500:
            await asyncio.sleep(0)  # runs only if the send loop lets the event loop run
        dropped.set()

    dropper = asyncio.create_task(drop_after_a_while())
    async with asyncio.timeout(10):
        await app(ws_scope(), receive, send)
    await dropper
    assert ended == [(1006, "")]  # the next send after the drop raised, with 1006
    assert sent[0] >= 500


async def test_a_send_loop_in_the_test_client_is_held_back_and_ends_on_leaving() -> None:
    ended: list[tuple[int, str]] = []
    sent = [0]
    app = send_loop_app(ended, sent)
    async with app.test_client().websocket("/ws") as test_websocket:
        assert await test_websocket.receive() == b"tick"
        for _ in range(1000):  # the test goes on with other work meanwhile
            await asyncio.sleep(0)
        # The handler waits for the test to read rather than queueing without end.
        assert sent[0] <= type(test_websocket).queue_size + 2
        await test_websocket.close(4001, "bye")
    assert ended == [(4001, "bye")]


async def test_an_echo_answers_every_message_in_order(app: Quart) -> None:
    @app.websocket("/echo")
    async def echo() -> None:
        while True:
            await websocket.send(await websocket.receive())

    async with app.test_client().websocket("/echo") as test_websocket:
        for index in range(200):
            await test_websocket.send(f"m{index}")
        assert [await test_websocket.receive() for _ in range(200)] == [
            f"m{index}" for index in range(200)
        ]


async def test_received_and_sent_signals_carry_each_message(app: Quart) -> None:
    seen: list[tuple[str, Any]] = []

    @app.websocket("/ws")
    async def reply() -> None:
        message = await websocket.receive()
        await websocket.send(message)
        await websocket.send_json({"n": 1})

    async def on_received(message: Any) -> None:
        seen.append(("received", message))

    def on_sent(message: Any) -> None:
        seen.append(("sent", message))

    with websocket_received.connected_to(on_received), websocket_sent.connected_to(on_sent):
        async with app.test_client().websocket("/ws") as test_websocket:
            await test_websocket.send(b"\x00bin")
            assert await test_websocket.receive() == b"\x00bin"
            assert await test_websocket.receive_json() == {"n": 1}
    assert seen == [("received", b"\x00bin"), ("sent", b"\x00bin"), ("sent", '{"n": 1}')]


async def run_raw(app: Quart, scope: dict[str, Any]) -> list[dict[str, Any]]:
    """Run a websocket to its end: the client connects and then waits; what the app sent."""
    sent: list[dict[str, Any]] = []
    connected = False

    async def receive() -> dict[str, Any]:
        nonlocal connected
        if not connected:
            connected = True
            return {"type": "websocket.connect"}
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async with asyncio.timeout(10):
        await app(scope, receive, send)
    return sent


@pytest.mark.parametrize(("spec_version", "sends_headers"), [("2.0", False), ("2.1", True)])
async def test_accept_headers_go_only_to_servers_that_take_them(
    app: Quart, spec_version: str, sends_headers: bool
) -> None:
    @app.websocket("/ws")
    async def accept_with_a_header() -> None:
        await websocket.accept(headers={"X-Room": "blue"})

    if sends_headers:
        sent = await run_raw(app, ws_scope(spec_version=spec_version))
    else:
        with pytest.warns(UserWarning, match="does not support headers"):
            sent = await run_raw(app, ws_scope(spec_version=spec_version))
    accept = sent[0]
    assert accept["type"] == "websocket.accept"
    assert ("headers" in accept) is sends_headers
    if sends_headers:
        assert (b"x-room", b"blue") in accept["headers"]
    assert sent[-1] == {"type": "websocket.close", "code": 1000, "reason": ""}


async def test_a_connection_subclass_can_override_sending_accepting_and_closing() -> None:
    class Shouting(ASGIWebsocketConnection):
        async def send_data(self, send: Any, data: str | bytes) -> None:
            await super().send_data(send, data.upper())

        async def accept_connection(self, send: Any, headers: Any, subprotocol: str | None) -> None:
            await super().accept_connection(send, headers, "shout")

        async def close_connection(self, send: Any, code: int, reason: str) -> None:
            await super().close_connection(send, code, reason or "done shouting")

    app = Quart(__name__)
    app.asgi_websocket_class = Shouting

    @app.websocket("/ws")
    async def speak() -> None:
        await websocket.send("hello")

    sent = await run_raw(app, ws_scope())
    assert sent == [
        {"type": "websocket.accept", "subprotocol": "shout"},
        {"type": "websocket.send", "text": "HELLO"},
        {"type": "websocket.close", "code": 1000, "reason": "done shouting"},
    ]


async def test_a_subclass_can_read_for_itself_with_handle_messages() -> None:
    """A connection that runs its own reader beside the handler, as Quart's does."""

    class ReadingAhead(ASGIWebsocketConnection):
        async def __call__(self, receive: Any, send: Any) -> None:
            websocket_ = self._create_websocket_from_scope(send)
            reader = asyncio.create_task(self.handle_messages(receive))
            handler = asyncio.create_task(self.handle_websocket(websocket_, send))
            await asyncio.wait({reader, handler}, return_when=asyncio.FIRST_COMPLETED)
            await handler  # a client that left ends the handler too
            reader.cancel()

    app = Quart(__name__)
    app.asgi_websocket_class = ReadingAhead
    ended: list[int] = []

    @app.websocket("/ws")
    async def echo_then_wait() -> None:
        try:
            await websocket.send(await websocket.receive())
            await asyncio.Event().wait()  # until the client leaves
        except asyncio.CancelledError:
            ended.append(1)
            raise

    async with app.test_client().websocket("/ws") as test_websocket:
        await test_websocket.send("ping")
        assert await test_websocket.receive() == "ping"
    assert ended == [1]


async def test_an_http_subclass_can_wrap_handle_request(app: Quart) -> None:
    handled: list[str] = []

    class Counting(ASGIHTTPConnection):
        async def handle_request(self, request: Any, send: Any) -> None:
            handled.append(request.path)
            await super().handle_request(request, send)

    app.asgi_http_class = Counting

    @app.route("/")
    async def index() -> str:
        return "hi"

    response = await app.test_client().get("/")
    assert await response.get_data() == b"hi"
    assert handled == ["/"]


async def test_a_stream_read_in_the_test_client_is_held_back(app: Quart) -> None:
    produced = [0]

    @app.route("/feed")
    async def feed() -> Any:
        async def generate() -> Any:
            while True:
                produced[0] += 1
                yield b"chunk"

        return generate()

    async with app.test_client().request("/feed") as connection:
        await connection.send_complete()
        assert await connection.receive() == b"chunk"
        for _ in range(1000):  # the test goes on with other work meanwhile
            await asyncio.sleep(0)
        # The stream waits for the test to read rather than queueing without end.
        assert produced[0] <= type(connection).queue_size + 3
        await connection.disconnect()


@pytest.mark.parametrize("message", ["x" * 11, b"x" * 11])
async def test_a_message_over_the_size_limit_closes_with_1009(
    app: Quart, message: str | bytes
) -> None:
    app.config["MAX_WEBSOCKET_MESSAGE_SIZE"] = 10
    ended: list[int] = []

    @app.websocket("/ws")
    async def echo() -> None:
        try:
            while True:
                await websocket.send(await websocket.receive())
        except ConnectionClosed as closed:
            ended.append(closed.code)
            raise

    async with app.test_client().websocket("/ws") as test_websocket:
        await test_websocket.send(message[:10])  # at the limit: accepted
        assert await test_websocket.receive() == message[:10]
        await test_websocket.send(message)
        with pytest.raises(WebsocketDisconnectError) as refused:
            await test_websocket.receive()
    assert refused.value.code == 1009
    assert "too big" in refused.value.reason
    assert ended == [1009]


async def test_the_message_size_limit_can_be_lifted(app: Quart) -> None:
    app.config["MAX_WEBSOCKET_MESSAGE_SIZE"] = None

    @app.websocket("/ws")
    async def size() -> None:
        await websocket.send(str(len(await websocket.receive())))

    async with app.test_client().websocket("/ws") as test_websocket:
        await test_websocket.send(b"x" * (17 * 1024 * 1024))  # over the 16 MiB default
        assert await test_websocket.receive() == "17825792"


@pytest.mark.parametrize("shape", ["receiving", "sending", "waiting elsewhere"])
async def test_the_embedded_server_closes_websockets_with_1001_when_it_stops(
    app: Quart, shape: str
) -> None:
    """What ``app.run`` does on SIGTERM before its server stops: each handler ends as if
    its client had left, whether it waits in ``receive()``, sends in a loop, or waits on
    something else while another of its tasks receives (the chat pattern)."""
    ended: list[tuple[str, int]] = []
    never = asyncio.Event()

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.accept()
        await websocket.send("ready")
        try:
            if shape == "receiving":
                await websocket.receive()
            elif shape == "sending":
                while True:
                    await websocket.send("tick")
            else:
                reader = asyncio.create_task(websocket.receive())
                try:
                    await never.wait()
                finally:
                    reader.cancel()
        except ConnectionClosed as closed:
            ended.append(("closed", closed.code))
            raise
        except asyncio.CancelledError:
            ended.append(("cancelled", 0))
            raise

    async with app.test_client().websocket("/ws") as test_websocket:
        assert await test_websocket.receive() == "ready"
        await asyncio.sleep(0.1)  # past the reader's delay: every path is in place
        assert len(app._open_websockets) == 1
        await serving.close_websockets(app)
        with pytest.raises(WebsocketDisconnectError) as closed:
            while True:
                await test_websocket.receive()
    assert closed.value.code == 1001
    assert closed.value.reason == "Server shutting down"
    assert ended == [("cancelled", 0) if shape == "waiting elsewhere" else ("closed", 1001)]
    assert not app._open_websockets


async def test_server_messages_of_other_kinds_are_skipped(app: Quart) -> None:
    """A server may send messages of kinds the spec adds later: receive() reads past them,
    whether they come before a plain message or one it must check."""
    app.config["MAX_WEBSOCKET_MESSAGE_SIZE"] = 4
    got: list[str | bytes] = []

    @app.websocket("/ws")
    async def reader() -> None:
        await websocket.accept()
        got.append(await websocket.receive())
        got.append(await websocket.receive())

    incoming = [
        {"type": "websocket.connect"},
        {"type": "websocket.future"},
        {"type": "websocket.receive", "text": "one"},
        {"type": "websocket.future"},
        {"type": "websocket.future"},
        {"type": "websocket.receive", "bytes": b"two!"},
    ]
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        if incoming:
            return incoming.pop(0)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "scheme": "ws",
        "http_version": "1.1",
        "path": "/ws",
        "raw_path": b"/ws",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
        "subprotocols": [],
        "extensions": {},
    }
    async with asyncio.timeout(5):
        await app(scope, receive, send)  # type: ignore[arg-type]
    assert got == ["one", b"two!"]
    assert [message["type"] for message in sent] == ["websocket.accept", "websocket.close"]
    assert sent[-1]["code"] == 1000
