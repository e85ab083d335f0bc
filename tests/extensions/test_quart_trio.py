"""quart-trio 0.12.0 on our quart: a ``QuartTrio`` app run by its own test client under
trio (HTTP and websockets, hooks, error handlers, streams, files, background tasks, the
lifespan), then served for real by hypercorn's trio worker and used with httpx and the
``websockets`` library; and plain Quart apps in the same process, unaffected.

pytest-trio is not installed, so each in-memory test is a sync test that runs its body
with ``trio.run``. quart-trio's test connection holds at most ten messages from the app
until the request is over, so streamed responses here stay short (a longer one would
wait for ever, on the published Quart too); the large file is fetched whole from the
real server instead.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from quart_trio import QuartTrio
from quart_trio.testing import TrioClient
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from quart import Quart, Request, Response, request, websocket
from quart.asgi import ASGIHTTPConnection, ASGIWebsocketConnection
from quart.limits import route_limits
from quart.testing import WebsocketDisconnectError, WebsocketResponseError
from quart.wrappers.request import Body
from quart.wrappers.response import _raise_if_invalid_range
from server.subprocess_server import served

from .trio_app import LARGE_FILE_SIZE, large_file_bytes, make_app

HERE = Path(__file__).resolve().parent
TRIO_WORKER = ["--worker-class", "trio"]


def run(test: Callable[[QuartTrio, TrioClient], Awaitable[None]], app: QuartTrio) -> None:
    """Run ``test(app, client)`` under trio, inside the app's lifespan (QuartTrio's test
    app: startup, a nursery for background tasks, shutdown)."""

    async def main() -> None:
        async with app.test_app() as test_app:
            await test(app, test_app.test_client())  # type: ignore[arg-type]

    trio.run(main)


@pytest.fixture
def app() -> QuartTrio:
    return make_app()


# ---------------------------------------------------------------- HTTP, in memory


def test_get_runs_the_view_and_the_hooks(app: QuartTrio) -> None:
    async def test(app: QuartTrio, client: TrioClient) -> None:
        response = await client.get("/")
        assert response.status_code == 200
        assert await response.get_data() == b"hello from trio"
        assert response.headers["X-Hooks"] == "before,after"

    run(test, app)


def test_post_json_is_read_under_trio(app: QuartTrio) -> None:
    async def test(app: QuartTrio, client: TrioClient) -> None:
        response = await client.post("/echo", json={"a": [1, 2]})
        assert response.status_code == 200
        assert await response.get_json() == {"echoed": {"a": [1, 2]}, "library": "trio"}

    run(test, app)


def test_a_sync_view_runs_in_a_trio_thread_and_forms_are_parsed(app: QuartTrio) -> None:
    async def test(app: QuartTrio, client: TrioClient) -> None:
        response = await client.post("/form", form={"x": "1"})
        assert await response.get_json() == {"thread": True}
        response = await client.post("/form-fields", form={"name": "trio", "n": "2"})
        assert await response.get_json() == {"name": "trio", "n": "2"}

    run(test, app)


def test_an_upload_is_a_trio_file_storage_saved_with_trio(app: QuartTrio, tmp_path: Path) -> None:
    @app.post("/upload")
    async def upload() -> Any:
        uploaded = (await request.files)["doc"]
        await uploaded.save(tmp_path / "saved.txt")
        return {"kind": type(uploaded).__name__, "name": uploaded.filename}

    async def test(app: QuartTrio, client: TrioClient) -> None:
        response = await client.post("/upload", files={"doc": (b"trio bytes", "a.txt")})
        assert await response.get_json() == {"kind": "TrioFileStorage", "name": "a.txt"}

    run(test, app)
    assert (tmp_path / "saved.txt").read_bytes() == b"trio bytes"


def test_a_body_over_max_content_length_is_refused(app: QuartTrio) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 10

    async def test(app: QuartTrio, client: TrioClient) -> None:
        response = await client.post("/echo", json={"long": "x" * 100})
        assert response.status_code == 413

    run(test, app)


def test_route_limits_apply_and_the_body_timeout_is_trios(app: QuartTrio) -> None:
    @app.post("/small")
    @route_limits(max_content_length=8, body_timeout=5)
    async def small() -> Any:
        return {"got": await request.get_json(), "timeout": request.body_timeout}

    async def test(app: QuartTrio, client: TrioClient) -> None:
        response = await client.post("/small", json=[1])
        assert await response.get_json() == {"got": [1], "timeout": 5}
        response = await client.post("/small", json=["more than eight bytes"])
        assert response.status_code == 413

    run(test, app)


def test_a_body_that_stops_arriving_times_out_with_trio(app: QuartTrio) -> None:
    app.config["BODY_TIMEOUT"] = 0.1

    async def test(app: QuartTrio, client: TrioClient) -> None:
        connection = client.request(
            "/echo", method="POST", headers={"Content-Type": "application/json"}
        )
        async with connection:
            await connection.send(b'{"never": "finished')
            response = await connection.as_response()
        assert response.status_code == 408

    run(test, app)


def test_streamed_responses_async_and_sync(app: QuartTrio) -> None:
    async def test(app: QuartTrio, client: TrioClient) -> None:
        response = await client.get("/stream")
        assert response.status_code == 200
        assert await response.get_data() == b"chunk 0\nchunk 1\nchunk 2\n"
        assert response.headers["X-Hooks"] == "before,after"
        # A sync generator: quart-trio's TrioIterableBody steps it in trio's threads.
        response = await client.get("/count")
        assert await response.get_data() == b"1,2,3"

    run(test, app)


def test_error_handlers_and_unhandled_errors(app: QuartTrio) -> None:
    async def test(app: QuartTrio, client: TrioClient) -> None:
        response = await client.get("/fail")
        assert response.status_code == 418
        assert await response.get_json() == {"error": "nothing here"}
        response = await client.get("/crash")  # not testing: a logged 500
        assert response.status_code == 500
        response = await client.get("/missing")
        assert response.status_code == 404

    run(test, app)


def test_options_and_head(app: QuartTrio) -> None:
    async def test(app: QuartTrio, client: TrioClient) -> None:
        response = await client.options("/echo")
        assert response.status_code == 200
        assert set(response.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}
        response = await client.head("/")
        assert response.status_code == 200
        assert response.headers["X-Hooks"] == "before,after"
        assert await response.get_data() == b""

    run(test, app)


def test_send_file_streams_with_trio_file_body_and_serves_ranges(
    app: QuartTrio, tmp_path: Path
) -> None:
    path = tmp_path / "large.bin"
    path.write_bytes(large_file_bytes())
    app = make_app(path)

    async def test(app: QuartTrio, client: TrioClient) -> None:
        response = await client.get("/large", headers={"Range": "bytes=1000-1099"})
        assert response.status_code == 206
        assert response.headers["Content-Range"] == f"bytes 1000-1099/{LARGE_FILE_SIZE}"
        assert await response.get_data() == large_file_bytes()[1000:1100]
        response = await client.get("/large", headers={"Range": f"bytes={LARGE_FILE_SIZE}-"})
        assert response.status_code == 416

    run(test, app)


def test_a_background_task_runs_in_the_app_nursery(app: QuartTrio) -> None:
    async def test(app: QuartTrio, client: TrioClient) -> None:
        response = await client.get("/background")
        assert await response.get_data() == b"scheduled"

    run(test, app)  # leaving the test app waits for the nursery's tasks
    assert f"background:{app.name}" in app.config["events"]


def test_the_lifespan_runs_the_serving_functions(app: QuartTrio) -> None:
    async def test(app: QuartTrio, client: TrioClient) -> None:
        assert app.config["events"] == ["before_serving", "while_serving:start"]

    run(test, app)
    # QuartTrio's shutdown: the after_serving functions, then the while_serving generators.
    assert app.config["events"] == [
        "before_serving",
        "while_serving:start",
        "after_serving",
        "while_serving:stop",
    ]
    app.config["events"].clear()
    run(test, app)  # served again: the while_serving generators are made afresh
    assert app.config["events"][-1] == "while_serving:stop"


def test_the_client_preserves_the_request_context_and_test_contexts_work(
    app: QuartTrio,
) -> None:
    async def test(app: QuartTrio, client: TrioClient) -> None:
        async with client:
            response = await client.get("/?page=2")
            assert response.status_code == 200
            assert request.args["page"] == "2"  # the request's context, kept
        async with app.test_request_context("/made-up", method="POST", json={"z": 1}):
            assert request.path == "/made-up"
            assert await request.get_json() == {"z": 1}

    run(test, app)


# ------------------------------------------------------------- websockets, in memory


def test_websocket_accept_echo_and_close_code(app: QuartTrio) -> None:
    async def test(app: QuartTrio, client: TrioClient) -> None:
        async with client.websocket("/ws") as conversation:
            await conversation.send("hello")
            assert await conversation.receive() == "echo: hello"
            await conversation.send(b"bytes")
            assert await conversation.receive() == "echo: bytes"
            await conversation.send("close")
            with pytest.raises(WebsocketDisconnectError) as closed:
                await conversation.receive()
        assert closed.value.code == 4001
        assert conversation.accepted  # type: ignore[attr-defined]

    run(test, app)


def test_a_refused_websocket_gets_the_http_response(app: QuartTrio) -> None:
    async def test(app: QuartTrio, client: TrioClient) -> None:
        async with client.websocket("/ws", query_string={"refuse": "1"}) as conversation:
            with pytest.raises(WebsocketResponseError) as refused:
                await conversation.receive()
        assert refused.value.response.status_code == 403

    run(test, app)


def test_a_websocket_handler_that_sends_in_a_loop(app: QuartTrio) -> None:
    @app.websocket("/ticks")
    async def ticks() -> None:
        for number in range(5):
            await websocket.send(str(number))  # no receive between sends

    async def test(app: QuartTrio, client: TrioClient) -> None:
        async with client.websocket("/ticks") as conversation:
            assert [await conversation.receive() for _ in range(5)] == list("01234")
            with pytest.raises(WebsocketDisconnectError) as closed:
                await conversation.receive()
        assert closed.value.code == 1000

    run(test, app)


# ------------------------------------------------------ served by hypercorn's trio worker


class TrioServer:
    """``trio_app:app`` served by hypercorn's trio worker in a subprocess until
    ``stop()`` (or the end of the module)."""

    def __init__(self, directory: Path) -> None:
        self.large = directory / "large.bin"
        self.large.write_bytes(large_file_bytes())
        self.log = directory / "events.log"
        self._stack = ExitStack()
        patch = self._stack.enter_context(pytest.MonkeyPatch.context())
        patch.setenv("TRIO_APP_LARGE_FILE", str(self.large))
        patch.setenv("TRIO_APP_LOG", str(self.log))
        served_app = served("hypercorn", "trio_app:app", HERE, TRIO_WORKER)
        _process, port = self._stack.enter_context(served_app)
        self.address = f"127.0.0.1:{port}"

    def stop(self) -> None:
        """Stop the server (SIGTERM): it must shut down without a traceback."""
        self._stack.close()


@pytest.fixture(scope="module")
def trio_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrioServer]:
    server = TrioServer(tmp_path_factory.mktemp("trio-server"))
    try:
        yield server
    finally:
        server.stop()


def test_served_http(trio_server: TrioServer) -> None:
    with httpx.Client(base_url=f"http://{trio_server.address}", timeout=10) as client:
        response = client.get("/")
        assert response.status_code == 200
        assert response.text == "hello from trio"
        assert response.headers["X-Hooks"] == "before,after"
        response = client.post("/echo", json={"a": 1})
        assert response.json() == {"echoed": {"a": 1}, "library": "trio"}
        response = client.get("/stream")
        assert response.text == "chunk 0\nchunk 1\nchunk 2\n"
        response = client.get("/fail")
        assert response.status_code == 418
        response = client.get("/large")
        assert response.status_code == 200
        assert response.content == large_file_bytes()
        response = client.get("/large", headers={"Range": "bytes=-10"})
        assert response.status_code == 206
        assert response.content == large_file_bytes()[-10:]
        response = client.get("/background")
        assert response.text == "scheduled"


def test_served_websocket_echo(trio_server: TrioServer) -> None:
    with connect(f"ws://{trio_server.address}/ws", open_timeout=10) as conversation:
        conversation.send("over the wire")
        assert conversation.recv(timeout=10) == "echo: over the wire"
        conversation.send(b"binary")
        assert conversation.recv(timeout=10) == "echo: binary"
        conversation.send("close")
        with pytest.raises(ConnectionClosed) as closed:
            conversation.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4001
    assert closed.value.rcvd.reason == "asked to"


def test_served_lifespan_runs_under_trio(trio_server: TrioServer) -> None:
    with httpx.Client(base_url=f"http://{trio_server.address}", timeout=10) as client:
        client.get("/background")
    trio_server.stop()  # SIGTERM: hypercorn runs the lifespan's shutdown
    events = trio_server.log.read_text().split()
    assert events[:2] == ["before_serving", "while_serving:start"]
    assert "background:trio_app" in events  # finished before the shutdown
    assert events[-2:] == ["after_serving", "while_serving:stop"]


# ------------------------------------------------------- plain Quart, in the same process


def test_importing_quart_trio_leaves_our_classes_as_they_were() -> None:
    """QuartTrio's subclasses are looked at once, when they are defined: our own
    classes keep their fast paths, with nothing to check per request."""
    assert QuartTrio.asgi_http_class is not ASGIHTTPConnection
    assert ASGIWebsocketConnection._pushed is False
    assert QuartTrio.asgi_websocket_class._pushed is True
    assert Quart._own_sync_to_async is False
    assert QuartTrio._own_sync_to_async is True
    assert "send_response" in inspect.signature(Quart.handle_request).parameters
    assert Quart.handle_request.__qualname__ == "Quart.handle_request"
    assert Body.__init__.__qualname__ == "Body.__init__"
    assert Request.get_json.__qualname__ == "Request.get_json"
    assert QuartTrio.request_class.get_json is Request._get_json_through_get_data
    _raise_if_invalid_range(0, 10, 100)  # a valid range: nothing raised
    with pytest.raises(RequestedRangeNotSatisfiable) as raised:
        _raise_if_invalid_range(10, 10, 100)
    assert raised.value.get_headers()[-1] == ("Content-Range", "bytes */100")


async def test_a_plain_quart_app_works_beside_quart_trio() -> None:
    app = Quart(__name__)

    @app.post("/echo")
    async def echo() -> Any:
        return {"got": await request.get_json(), "form": (await request.form).to_dict()}

    @app.get("/stream")
    async def stream() -> Any:
        async def chunks() -> AsyncGenerator[bytes, None]:
            for number in range(20):
                yield b"%d," % number

        return chunks()

    @app.websocket("/ws")
    async def ws() -> None:
        while True:
            message = await websocket.receive()
            await websocket.send(message if isinstance(message, str) else message.decode())

    client = app.test_client()
    response = await client.post("/echo", json=[1])
    assert await response.get_json() == {"got": [1], "form": {}}
    response = await client.get("/stream")
    assert await response.get_data() == b"".join(b"%d," % number for number in range(20))
    async with client.websocket("/ws") as conversation:
        await conversation.send("ping")
        assert await conversation.receive() == "ping"


async def test_a_quart_shaped_handle_request_override_is_served_by_our_connection() -> None:
    """``handle_request(request)`` written for Quart, which sends what it returns."""
    seen: list[str] = []

    class Recording(Quart):
        async def handle_request(self, request: Request) -> Response:  # type: ignore[override]
            seen.append(request.path)
            response: Response = await super().handle_request(request)
            response.headers["X-Recorded"] = "yes"
            return response

    app = Recording(__name__)

    @app.get("/")
    async def index() -> str:
        return "hi"

    response = await app.test_client().get("/")
    assert await response.get_data() == b"hi"
    assert response.headers["X-Recorded"] == "yes"
    assert seen == ["/"]
