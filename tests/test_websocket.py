"""Websockets through the test client: the API, refusals, disconnects, errors and hooks."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from werkzeug.exceptions import BadRequest

from quart import (
    Blueprint,
    Quart,
    abort,
    after_this_websocket,
    copy_current_websocket_context,
    g,
    has_request_context,
    has_websocket_context,
    url_for,
    websocket,
)
from quart.exceptions import ConnectionClosed
from quart.signals import (
    got_websocket_exception,
    websocket_finished,
    websocket_started,
    websocket_tearing_down,
)
from quart.testing import WebsocketDisconnectError, WebsocketResponseError


async def wait_for(condition: Any, timeout: float = 2.0) -> None:
    """Until ``condition()`` is true: the app's side runs in its own task."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


async def test_text_and_binary_messages_come_back_as_sent(app: Quart, client) -> None:
    @app.websocket("/echo")
    async def echo() -> None:
        while True:
            data = await websocket.receive()
            await websocket.send(data)

    async with client.websocket("/echo") as ws:
        await ws.send("héllo")
        assert await ws.receive() == "héllo"
        await ws.send(b"\x00\xff")
        assert await ws.receive() == b"\x00\xff"
        await ws.send("")
        assert await ws.receive() == ""


async def test_the_websocket_object_describes_the_handshake(app: Quart, client) -> None:
    @app.websocket("/room/<int:number>")
    async def room(number: int) -> None:
        await websocket.send_json(
            {
                "number": number,
                "path": websocket.path,
                "full_path": websocket.full_path,
                "query_string": websocket.query_string.decode(),
                "args": websocket.args.to_dict(),
                "header": websocket.headers.get("X-Token"),
                "cookie": websocket.cookies.get("flavour"),
                "scheme": websocket.scheme,
                "host": websocket.host,
                "remote_addr": websocket.remote_addr,
                "subprotocols": websocket.requested_subprotocols,
                "endpoint": websocket.endpoint,
                "view_args": websocket.view_args,
                "contexts": [has_websocket_context(), has_request_context()],
            }
        )

    client.set_cookie("localhost", "flavour", "lemon")
    async with client.websocket(
        "/room/7",
        query_string={"a": "1"},
        headers={"X-Token": "t"},
        subprotocols=["chat.v2", "chat.v1"],
    ) as ws:
        described = await ws.receive_json()
    assert described == {
        "number": 7,
        "path": "/room/7",
        "full_path": "/room/7?a=1",
        "query_string": "a=1",
        "args": {"a": "1"},
        "header": "t",
        "cookie": "lemon",
        "scheme": "ws",
        "host": "localhost",
        "remote_addr": "127.0.0.1",
        "subprotocols": ["chat.v2", "chat.v1"],
        "endpoint": "room",
        "view_args": {"number": 7},
        "contexts": [True, False],
    }


async def test_accept_sends_headers_and_the_chosen_subprotocol(app: Quart, client) -> None:
    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.accept(headers={"X-Served-By": "us"}, subprotocol="chat.v1")
        await websocket.accept()  # a second accept does nothing
        await websocket.send("ready")

    async with client.websocket("/ws", subprotocols=["chat.v1"]) as ws:
        assert await ws.receive() == "ready"
        assert ws.subprotocol == "chat.v1"
        assert ws.response_headers is not None
        assert ws.response_headers["X-Served-By"] == "us"


async def test_the_first_send_or_receive_accepts(app: Quart, client) -> None:
    @app.websocket("/send")
    async def sends() -> None:
        await websocket.send("hi")

    @app.websocket("/receive")
    async def receives() -> None:
        await websocket.send(await websocket.receive())

    async with client.websocket("/send") as ws:
        assert await ws.receive() == "hi"
        assert ws.accepted
    async with client.websocket("/receive") as ws:
        await ws.send("x")
        assert await ws.receive() == "x"
        assert ws.accepted


async def test_send_json_forms_and_invalid_json_leaving_the_connection_usable(
    app: Quart, client
) -> None:
    @app.websocket("/json")
    async def handler() -> None:
        await websocket.send_json({"b": 1, "a": 2})
        await websocket.send_json(1, "two", None)
        await websocket.send_json(name="x", count=2)
        await websocket.send_json([1], indent=2)
        while True:
            try:
                data = await websocket.receive_json()
            except BadRequest as error:
                await websocket.send_json(error=error.description)
            else:
                await websocket.send_json(got=data)

    async with client.websocket("/json") as ws:
        assert await ws.receive() == '{"a": 2, "b": 1}'
        assert await ws.receive_json() == [1, "two", None]
        assert await ws.receive_json() == {"name": "x", "count": 2}
        assert await ws.receive() == "[\n  1\n]"
        await ws.send("{not json")
        reply = await ws.receive_json()
        assert reply["error"].startswith("The websocket message is not valid JSON")
        await ws.send("[" * 100_000 + "]" * 100_000)  # deeper than the parser recurses
        reply = await ws.receive_json()
        assert reply["error"].startswith("The websocket message is not valid JSON")
        await ws.send_json({"still": "usable"})
        assert await ws.receive_json() == {"got": {"still": "usable"}}


async def test_the_handler_closes_with_a_code_and_reason(app: Quart, client) -> None:
    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send("bye")
        await websocket.close(4000, "done here")

    async with client.websocket("/ws") as ws:
        assert await ws.receive() == "bye"
        with pytest.raises(WebsocketDisconnectError) as closed:
            await ws.receive()
    assert (closed.value.code, closed.value.reason) == (4000, "done here")


async def test_a_handler_that_returns_closes_normally(app: Quart, client) -> None:
    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send("only message")

    async with client.websocket("/ws") as ws:
        assert await ws.receive() == "only message"
        with pytest.raises(WebsocketDisconnectError) as closed:
            await ws.receive()
    assert closed.value.code == 1000


async def test_refusals_send_their_http_response(app: Quart, client) -> None:
    @app.websocket("/closed")
    async def closed() -> None:
        await websocket.close(4003)

    @app.websocket("/aborted")
    async def aborted() -> None:
        abort(401)

    @app.websocket("/answered")
    async def answered() -> Any:
        return "go away", 403, {"X-Why": "not invited"}

    async with client.websocket("/closed") as ws:
        with pytest.raises(WebsocketDisconnectError) as refused:
            await ws.receive()
    assert refused.value.code == 4003
    assert not ws.accepted

    with pytest.raises(WebsocketResponseError) as denial:
        async with client.websocket("/aborted") as ws:
            await ws.receive()
    assert denial.value.response.status_code == 401

    with pytest.raises(WebsocketResponseError) as denial:
        async with client.websocket("/answered") as ws:
            await ws.receive()
    assert denial.value.response.status_code == 403
    assert denial.value.response.headers["X-Why"] == "not invited"
    assert await denial.value.response.get_data() == b"go away"


async def test_refusals_close_with_policy_violation_without_the_denial_extension(
    app: Quart,
) -> None:
    @app.websocket("/aborted")
    async def aborted() -> None:
        abort(401)

    @app.websocket("/failed")
    async def failed() -> None:
        raise RuntimeError("broken before accepting")

    async def refuse(path: str) -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []
        messages = [{"type": "websocket.connect"}]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop(0)
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"localhost")],
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 80),
            "subprotocols": [],
        }
        await app(scope, receive, send)
        return sent

    assert await refuse("/aborted") == [{"type": "websocket.close", "code": 1008, "reason": ""}]
    assert await refuse("/failed") == [{"type": "websocket.close", "code": 1011, "reason": ""}]


async def test_a_client_leaving_during_receive_raises_connection_closed(
    app: Quart, client, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[Any] = []

    @app.websocket("/ws")
    async def handler() -> None:
        try:
            while True:
                await websocket.receive()
        except ConnectionClosed as closed:
            seen.append((closed.code, closed.reason, isinstance(closed, asyncio.CancelledError)))
            raise

    @app.teardown_websocket
    async def torn_down(exc: BaseException | None) -> None:
        seen.append(("teardown", exc))

    async with client.websocket("/ws") as ws:
        await ws.send("hello")
        await ws.close(4001, "gone")
    await wait_for(lambda: len(seen) == 2)
    assert seen == [(4001, "gone", True), ("teardown", None)]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_handler_waiting_elsewhere_is_cancelled_when_the_client_leaves(
    app: Quart, client, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []
    finished: list[Any] = []

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send("waiting")
        try:
            await asyncio.Event().wait()  # e.g. a broadcast queue nobody writes to
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    @app.after_websocket
    async def after(response: Any) -> Any:
        seen.append("after")
        return response

    @app.teardown_websocket
    async def torn_down(exc: BaseException | None) -> None:
        seen.append(f"teardown {exc!r}")

    async def on_finished(sender: Quart) -> None:  # takes only the sender
        finished.append(sender)

    async def on_exception(sender: Quart, exception: BaseException) -> None:
        finished.append(exception)

    with (
        websocket_finished.connected_to(on_finished, app),
        got_websocket_exception.connected_to(on_exception, app),
    ):
        async with client.websocket("/ws") as ws:
            assert await ws.receive() == "waiting"
        await wait_for(lambda: len(seen) == 3)
    assert seen == ["cancelled", "after", "teardown None"]
    assert finished == [app]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_handler_may_do_async_cleanup_after_the_client_left(app: Quart, client) -> None:
    cleaned: list[str] = []

    @app.websocket("/ws")
    async def handler() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await asyncio.sleep(0.01)  # the cancellation is delivered once
            cleaned.append("saved")
            raise

    async with client.websocket("/ws") as ws:
        await ws.send("anything")
    await wait_for(lambda: bool(cleaned))
    assert cleaned == ["saved"]


async def test_heartbeats_with_wait_for_lose_no_message(app: Quart, client) -> None:
    received: list[str] = []

    @app.websocket("/ws")
    async def handler() -> None:
        while True:
            try:
                data = await asyncio.wait_for(websocket.receive(), 0.002)
            except TimeoutError:
                await websocket.send("ping")
            else:
                received.append(data)

    async with client.websocket("/ws") as ws:
        for index in range(200):
            await ws.send(str(index))
            if index % 7 == 0:
                await asyncio.sleep(0.002)
        await wait_for(lambda: len(received) == 200)
    assert received == [str(index) for index in range(200)]


async def test_messages_wait_in_order_while_the_handler_is_busy(app: Quart, client) -> None:
    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.accept()
        first = await websocket.receive()
        await asyncio.sleep(0.05)  # meanwhile the client sends more than the inbox holds
        rest = [await websocket.receive() for _ in range(99)]
        await websocket.send_json([first, *rest])

    async with client.websocket("/ws") as ws:
        for index in range(100):
            await ws.send(str(index))
        assert await ws.receive_json() == [str(index) for index in range(100)]


async def test_an_error_after_accepting_closes_with_1011_and_is_reported_once(
    app: Quart, client, caplog: pytest.LogCaptureFixture
) -> None:
    reported: list[BaseException] = []
    torn_down: list[BaseException | None] = []

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send("about to fail")
        raise ValueError("handler bug")

    @app.teardown_websocket
    async def teardown(exc: BaseException | None) -> None:
        torn_down.append(exc)

    async def on_exception(sender: Quart, exception: BaseException) -> None:
        reported.append(exception)

    with got_websocket_exception.connected_to(on_exception, app):
        async with client.websocket("/ws") as ws:
            assert await ws.receive() == "about to fail"
            with pytest.raises(WebsocketDisconnectError) as closed:
                await ws.receive()
    assert closed.value.code == 1011
    assert [type(error) for error in reported] == [ValueError]
    assert [type(error) for error in torn_down] == [ValueError]
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(logged) == 1 and logged[0].exc_info is not None


async def test_error_handlers_apply_to_websockets(app: Quart, client) -> None:
    @app.errorhandler(KeyError)
    async def missing(error: KeyError) -> Any:
        return "no such key", 404

    @app.websocket("/refused")
    async def refused() -> None:
        raise KeyError("x")

    with pytest.raises(WebsocketResponseError) as denial:
        async with client.websocket("/refused") as ws:
            await ws.receive()
    assert denial.value.response.status_code == 404


async def test_other_tasks_can_use_a_websocket_while_it_lives(app: Quart, client) -> None:
    members: set[Any] = set()

    @app.websocket("/chat")
    async def chat() -> None:
        me = websocket._get_current_object()
        members.add(me)
        try:
            while True:
                message = await websocket.receive()
                await asyncio.gather(*(member.send(message) for member in members))
        finally:
            members.discard(me)

    @app.websocket("/context")
    async def context() -> None:
        @copy_current_websocket_context
        async def in_a_task() -> str:
            return f"{websocket.path} {g.marker}"

        g.marker = "kept"
        await websocket.send(await asyncio.create_task(in_a_task()))

    async with client.websocket("/chat") as alice, client.websocket("/chat") as bob:
        await wait_for(lambda: len(members) == 2)
        await alice.send("hello all")
        assert await alice.receive() == "hello all"
        assert await bob.receive() == "hello all"
    await wait_for(lambda: not members)

    async with client.websocket("/context") as ws:
        assert await ws.receive() == "/context kept"


async def test_websocket_hooks_run_in_order_with_blueprints(app: Quart, client) -> None:
    calls: list[str] = []
    blueprint = Blueprint("bp", __name__, url_prefix="/bp")

    @app.before_websocket
    async def app_before() -> None:
        calls.append("app before")

    @blueprint.before_websocket
    async def bp_before() -> None:
        calls.append("bp before")

    @blueprint.before_app_websocket
    def bp_app_before() -> None:  # sync hooks work too
        calls.append("app before (from bp)")

    @app.after_websocket
    async def app_after(response: Any) -> Any:
        calls.append("app after")
        return response

    @blueprint.after_websocket
    async def bp_after(response: Any) -> Any:
        calls.append("bp after")
        return response

    @blueprint.teardown_websocket
    async def bp_teardown(exc: BaseException | None) -> None:
        calls.append("bp teardown")

    @app.teardown_websocket
    async def app_teardown(exc: BaseException | None) -> None:
        calls.append("app teardown")

    @blueprint.websocket("/ws")
    async def handler() -> None:
        @after_this_websocket
        async def once(response: Any) -> Any:
            calls.append("after this websocket")
            return response

        calls.append("handler")
        await websocket.send("hi")

    app.register_blueprint(blueprint)
    async with client.websocket("/bp/ws") as ws:
        assert await ws.receive() == "hi"
        await wait_for(lambda: "app teardown" in calls)
    assert calls == [
        "app before",
        "app before (from bp)",
        "bp before",
        "handler",
        "after this websocket",
        "bp after",
        "app after",
        "bp teardown",
        "app teardown",
    ]


async def test_a_before_websocket_hook_can_refuse(app: Quart, client) -> None:
    @app.before_websocket
    async def check_token() -> Any:
        if websocket.args.get("token") != "secret":
            return "unauthorised", 401
        return None

    @app.websocket("/ws")
    async def handler() -> None:
        await websocket.send("welcome")

    with pytest.raises(WebsocketResponseError) as denial:
        async with client.websocket("/ws") as ws:
            await ws.receive()
    assert denial.value.response.status_code == 401
    async with client.websocket("/ws", query_string={"token": "secret"}) as ws:
        assert await ws.receive() == "welcome"


async def test_url_processors_and_signals_apply_to_websockets(app: Quart, client) -> None:
    events: list[Any] = []

    @app.url_value_preprocessor
    def pull_lang(endpoint: str | None, values: dict[str, Any] | None) -> None:
        g.lang = (values or {}).pop("lang", None)

    @app.url_defaults
    def add_lang(endpoint: str, values: dict[str, Any]) -> None:
        if app.url_map.is_endpoint_expecting(endpoint, "lang") and hasattr(g, "lang"):
            values.setdefault("lang", g.lang)

    @app.websocket("/<lang>/ws")
    async def handler() -> None:
        await websocket.send(f"{g.lang} {url_for('handler')}")

    def started(sender: Quart) -> None:
        events.append("started")

    def tearing_down(sender: Quart, exc: BaseException | None) -> None:
        events.append(("tearing down", exc))

    with (
        websocket_started.connected_to(started, app),
        websocket_tearing_down.connected_to(tearing_down, app),
    ):
        async with client.websocket("/fr/ws") as ws:
            assert await ws.receive() == "fr ws://localhost/fr/ws"
        await wait_for(lambda: len(events) == 2)
    assert events == ["started", ("tearing down", None)]


async def test_a_url_may_have_an_http_route_and_a_websocket_route(app: Quart, client) -> None:
    @app.get("/live")
    async def page() -> str:
        return "the page"

    @app.websocket("/live")
    async def live() -> None:
        await websocket.send("the socket")

    assert await (await client.get("/live")).get_data() == b"the page"
    async with client.websocket("/live") as ws:
        assert await ws.receive() == "the socket"


async def test_websockets_to_unknown_or_http_only_paths_are_refused(app: Quart, client) -> None:
    @app.get("/page")
    async def page() -> str:
        return "http only"

    # As werkzeug's routing has it: no rule is a 404, an HTTP-only rule a 400.
    for path, status in (("/missing", 404), ("/page", 400)):
        with pytest.raises(WebsocketResponseError) as denial:
            async with client.websocket(path) as ws:
                await ws.receive()
        assert denial.value.response.status_code == status


async def test_send_after_the_client_left_raises_connection_closed(app: Quart, client) -> None:
    outcome: list[Any] = []

    @app.websocket("/ws")
    async def handler() -> None:
        try:
            await websocket.receive()
        except ConnectionClosed:
            try:
                await websocket.send("too late")
            except ConnectionClosed as closed:
                outcome.append(closed.code)

    async with client.websocket("/ws") as ws:
        await ws.close(1001)
    await wait_for(lambda: outcome == [1001])


async def test_context_processors_apply_to_templates_rendered_in_a_websocket(
    app: Quart, client
) -> None:
    from quart import render_template_string

    blueprint = Blueprint("live", __name__)

    @app.context_processor
    def site() -> dict[str, Any]:
        return {"site": "example"}

    @blueprint.context_processor
    def section() -> dict[str, Any]:
        return {"section": "live"}

    @blueprint.websocket("/ws")
    async def handler() -> None:
        await websocket.send(
            await render_template_string("{{ site }}/{{ section }}{{ websocket.path }}")
        )

    app.register_blueprint(blueprint)
    async with client.websocket("/ws") as ws:
        assert await ws.receive() == "example/live/ws"


async def test_add_websocket_and_app_wide_hooks_from_a_blueprint(app: Quart, client) -> None:
    calls: list[str] = []
    blueprint = Blueprint("hooks", __name__)

    @blueprint.after_app_websocket
    async def after(response: Any) -> Any:
        calls.append("after (app-wide, from bp)")
        return response

    @blueprint.teardown_app_websocket
    async def teardown(exc: BaseException | None) -> None:
        calls.append("teardown (app-wide, from bp)")

    async def handler(name: str) -> None:
        calls.append(f"handler {name}")
        await websocket.send(name)

    app.add_websocket("/hello/<name>", "hello", handler)
    app.register_blueprint(blueprint)
    async with client.websocket("/hello/ann") as ws:
        assert await ws.receive() == "ann"
        await wait_for(lambda: len(calls) == 3)
    assert calls == ["handler ann", "after (app-wide, from bp)", "teardown (app-wide, from bp)"]
    async with app.test_request_context("/"):
        assert url_for("hello", name="bo") == "ws://localhost/hello/bo"
