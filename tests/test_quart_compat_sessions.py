"""``app.session_interface`` may be any object with the methods, looked up on the
instance when called: a mock, a proxy forwarding through ``__getattr__``, an instance
with methods of its own. The stock cookie interface keeps its lazy loading."""

from __future__ import annotations

from typing import Any
from unittest.mock import AsyncMock, Mock

from quart import Quart, session, websocket
from quart.sessions import SecureCookieSession, SecureCookieSessionInterface


def _app() -> Quart:
    app = Quart(__name__, static_folder=None)
    app.secret_key = "secret"

    @app.route("/set/<value>")
    async def set_value(value: str) -> str:
        session["value"] = value
        return "set"

    @app.route("/get")
    async def get_value() -> str:
        return session.get("value", "unset")

    @app.route("/untouched")
    async def untouched() -> str:
        return "untouched"

    return app


async def test_an_async_mock_interface_is_called() -> None:
    app = _app()
    interface = AsyncMock()
    interface.open_session.return_value = SecureCookieSession({"value": "from mock"})
    interface.is_null_session = Mock(return_value=False)
    app.session_interface = interface

    response = await app.test_client().get("/get")
    assert await response.get_data(as_text=True) == "from mock"
    interface.open_session.assert_awaited_once()
    assert interface.open_session.await_args.args[0] is app
    interface.save_session.assert_awaited_once()
    saved_app, saved_session, saved_response = interface.save_session.await_args.args
    assert saved_app is app
    assert saved_session == {"value": "from mock"}
    assert saved_response.status_code == 200


async def test_a_sync_mock_interface_is_called_in_a_thread() -> None:
    app = _app()
    interface = Mock()
    interface.open_session.return_value = None  # None: a null session is made
    interface.make_null_session.return_value = SecureCookieSession({"value": "null"})
    interface.is_null_session.return_value = True
    app.session_interface = interface

    response = await app.test_client().get("/get")
    assert await response.get_data(as_text=True) == "null"
    interface.open_session.assert_called_once()
    interface.make_null_session.assert_called_once_with(app)
    interface.save_session.assert_not_called()  # a null session is never saved


async def test_a_proxy_forwarding_through_getattr_works() -> None:
    app = _app()
    asked: list[str] = []

    class Forwarding:
        def __init__(self, inner: SecureCookieSessionInterface) -> None:
            self._inner = inner

        def __getattr__(self, name: str) -> Any:
            asked.append(name)
            return getattr(self._inner, name)

    app.session_interface = Forwarding(SecureCookieSessionInterface())  # type: ignore[assignment]
    client = app.test_client()
    await client.get("/set/proxied")
    assert "open_session" in asked
    assert "save_session" in asked
    response = await client.get("/get")
    assert await response.get_data(as_text=True) == "proxied"


async def test_methods_set_on_the_instance_are_used() -> None:
    app = _app()
    interface = SecureCookieSessionInterface()
    stored: dict[str, Any] = {}

    async def open_session(app: Quart, request: Any) -> SecureCookieSession:
        return SecureCookieSession(stored)

    def save_session(app: Quart, session: SecureCookieSession, response: Any) -> None:
        stored.update(session)  # sync: run in a thread, as Quart does

    interface.open_session = open_session  # type: ignore[method-assign]
    interface.save_session = save_session  # type: ignore[assignment,method-assign]
    app.session_interface = interface
    client = app.test_client()
    response = await client.get("/set/server-side")
    assert "Set-Cookie" not in response.headers  # the instance's save_session ran instead
    assert stored == {"value": "server-side"}
    client.cookie_jar.clear()
    response = await client.get("/get")
    assert await response.get_data(as_text=True) == "server-side"


async def test_the_stock_interface_still_loads_lazily() -> None:
    app = _app()
    loads: list[str] = []

    class Counting(SecureCookieSessionInterface):
        def load_session(self, app: Any, request: Any) -> SecureCookieSession | None:
            loads.append(request.path)
            return super().load_session(app, request)

    app.session_interface = Counting()
    await app.test_client().get("/untouched")  # no cookie, session unused: nothing loaded
    assert loads == []
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    client = app.test_client()
    await client.get("/set/lazy")
    loads.clear()
    await client.get("/untouched")  # a cookie nobody reads (and none to refresh)
    assert loads == []
    response = await client.get("/get")
    assert await response.get_data(as_text=True) == "lazy"
    assert loads == ["/get"]


async def test_a_mock_interface_serves_websockets_too() -> None:
    app = _app()

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.send(session.get("value", "unset"))

    interface = AsyncMock()
    interface.open_session.return_value = SecureCookieSession({"value": "ws"})
    interface.is_null_session = Mock(return_value=False)
    app.session_interface = interface
    async with app.test_client().websocket("/ws") as connection:
        assert await connection.receive() == "ws"
    interface.save_session.assert_awaited_once()
    assert interface.save_session.await_args.args[2] is None  # no response to a websocket
