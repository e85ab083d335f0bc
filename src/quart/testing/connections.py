"""Test connections: drive the app's ASGI interface as a server would, in memory."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import TYPE_CHECKING, Any

from werkzeug.datastructures import Headers

from ..asgi_headers import decode_headers
from ..json import dumps, loads

if TYPE_CHECKING:
    from ..app import Quart
    from ..typing import Message, Scope
    from ..wrappers import Response


class HTTPDisconnectError(Exception):
    """The response is complete; nothing more can be received."""


class WebsocketDisconnectError(Exception):
    """The app closed the websocket: ``WebsocketDisconnectError(code, reason)``, as
    Quart raises it with the close code first."""

    @property
    def code(self) -> int:
        """The close code (1000, a normal closure, if none was given)."""
        return self.args[0] if self.args else 1000

    @property
    def reason(self) -> str:
        """The close reason ("" if none was given)."""
        return self.args[1] if len(self.args) > 1 else ""


class WebsocketResponseError(Exception):
    """The app refused the websocket handshake with an HTTP response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response)
        self.response = response


class _FromApp:
    """What the app sent, waiting for the test to receive it.

    At most ``limit`` messages wait: an app that sends more waits for room, as it would
    for a client that reads slowly, so a handler or stream that only sends never fills
    the test's memory. Once released (the test left, or waits for the end), the app
    never waits again; the messages that end a conversation never wait.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self._room: asyncio.Future[None] | None = None
        self._released = False

    async def put(self, item: Any) -> None:
        while self.queue.qsize() >= self.limit and not self._released:
            self._room = asyncio.get_running_loop().create_future()
            await self._room
        self.queue.put_nowait(item)

    def put_last(self, item: Any) -> None:
        self.queue.put_nowait(item)

    def release(self) -> None:
        self._released = True
        self._make_room()

    def _make_room(self) -> None:
        room = self._room
        if room is not None and not room.done():
            room.set_result(None)

    async def get(self, task: asyncio.Task[None], ended: Exception) -> Any:
        """The next message, or the app's own error if it failed first, or ``ended``
        if it finished without sending one."""
        getter = asyncio.ensure_future(self.queue.get())
        await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
        if getter.done():
            self._make_room()
            return getter.result()
        getter.cancel()
        task.result()  # the app raised: propagate it
        return ended

    def drain(self) -> list[Any]:
        """What is left, once the app has finished."""
        items = []
        while not self.queue.empty():
            items.append(self.queue.get_nowait())
        return items


class TestHTTPConnection:
    """One HTTP request to the app, with the body sent and the response read as streams.

    ``async with client.request("/path", method="POST") as connection:`` then
    ``await connection.send(b"...")``, ``await connection.send_complete()``,
    ``await connection.receive()`` (a chunk) or ``await connection.as_response()``.
    At most ``queue_size`` chunks of a streamed response wait for the test to receive
    them; leaving the block lets the app finish.
    """

    queue_size = 64

    def __init__(self, app: Quart, scope: Scope, _preserve_context: bool = False) -> None:
        self.app = app
        self.scope = scope
        self.headers: Headers | None = None
        self.status_code: int | None = None
        self.push_promises: list[tuple[str, Headers]] = []
        self.response_data = bytearray()
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app = _FromApp(self.queue_size)
        self._task: asyncio.Task[None] | None = None
        self._preserve_context = _preserve_context

    async def send(self, data: bytes) -> None:
        await self._to_app.put({"type": "http.request", "body": data, "more_body": True})

    async def send_complete(self) -> None:
        await self._to_app.put({"type": "http.request", "body": b"", "more_body": False})

    async def receive(self) -> bytes:
        """The next chunk of the response body; raises HTTPDisconnectError at the end."""
        item = await self._next_from_app()
        if isinstance(item, Exception):
            raise item
        return item

    async def disconnect(self) -> None:
        self._from_app.release()
        await self._to_app.put({"type": "http.disconnect"})

    async def __aenter__(self) -> TestHTTPConnection:
        self._task = asyncio.create_task(self.app(self.scope, self._asgi_receive, self._asgi_send))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._task is not None
        self._from_app.release()
        if exc_type is not None:
            await self.disconnect()
        await self._task
        for item in self._from_app.drain():
            if isinstance(item, bytes):
                self.response_data.extend(item)

    async def as_response(self) -> Response:
        """The whole response, once the app has finished."""
        assert self._task is not None
        while True:
            item = await self._next_from_app()
            if isinstance(item, Exception):
                break
            self.response_data.extend(item)
        response = self.app.response_class(bytes(self.response_data), self.status_code)
        if self.headers is not None:
            response.headers = self.headers  # as sent, Content-Length of a HEAD included
        return response

    async def _next_from_app(self) -> bytes | Exception:
        """The next item from the app, or the app's own error if it failed first."""
        assert self._task is not None
        ended = HTTPDisconnectError("The app ended without completing the response.")
        return await self._from_app.get(self._task, ended)  # type: ignore[no-any-return]

    async def _asgi_receive(self) -> Message:
        return await self._to_app.get()

    async def _asgi_send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.headers = decode_headers(message["headers"])
            self.status_code = message["status"]
        elif kind == "http.response.body":
            if message.get("more_body", False):
                await self._from_app.put(message.get("body", b""))
            else:
                self._from_app.put_last(message.get("body", b""))
                self._from_app.put_last(HTTPDisconnectError())
        elif kind == "http.response.push":
            self.push_promises.append((message["path"], decode_headers(message["headers"])))


class TestWebsocketConnection:
    """A websocket conversation with the app: ``async with client.websocket("/ws") as ws``.

    At most ``queue_size`` messages from the app wait for the test to receive them; a
    handler that sends more waits, as it would for a client that reads slowly, so a
    handler that sends in a loop never fills the test's memory.
    """

    queue_size = 64

    def __init__(self, app: Quart, scope: Scope) -> None:
        self.app = app
        self.scope = scope
        self.accepted = False
        self.subprotocol: str | None = None
        self.response_headers: Headers | None = None
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app = _FromApp(self.queue_size)
        self._task: asyncio.Task[None] | None = None
        self._denial_status: int | None = None
        self._denial_headers: Headers | None = None
        self._denial_body = bytearray()

    async def __aenter__(self) -> TestWebsocketConnection:
        self._task = asyncio.create_task(self.app(self.scope, self._asgi_receive, self._asgi_send))
        await self._to_app.put({"type": "websocket.connect"})
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._task is not None
        await self.disconnect()
        await self._task
        for item in self._from_app.drain():
            if isinstance(item, WebsocketResponseError) and exc_type is None:
                raise item

    async def receive(self) -> str | bytes:
        """The next message from the app."""
        item = await self._next_from_app()
        if isinstance(item, Exception):
            raise item
        return item  # type: ignore[no-any-return]

    async def send(self, data: str | bytes) -> None:
        if isinstance(data, str):
            await self._to_app.put({"type": "websocket.receive", "text": data})
        else:
            await self._to_app.put({"type": "websocket.receive", "bytes": data})

    async def receive_json(self) -> Any:
        return loads(await self.receive())

    async def send_json(self, data: Any) -> None:
        await self.send(dumps(data))

    async def close(self, code: int, reason: str = "") -> None:
        self._from_app.release()
        await self._to_app.put({"type": "websocket.disconnect", "code": code, "reason": reason})

    async def disconnect(self) -> None:
        self._from_app.release()
        await self._to_app.put({"type": "websocket.disconnect", "code": 1000, "reason": ""})

    async def _next_from_app(self) -> Any:
        assert self._task is not None
        ended = WebsocketDisconnectError(1006, "The app ended the conversation.")
        return await self._from_app.get(self._task, ended)

    async def _asgi_receive(self) -> Message:
        return await self._to_app.get()

    async def _asgi_send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "websocket.accept":
            self.accepted = True
            self.subprotocol = message.get("subprotocol")
            self.response_headers = decode_headers(message.get("headers", []))
        elif kind == "websocket.send":
            data = message.get("bytes")
            await self._from_app.put(data if data is not None else message.get("text"))
        elif kind == "websocket.close":
            self._from_app.put_last(
                WebsocketDisconnectError(message.get("code", 1000), message.get("reason") or "")
            )
        elif kind == "websocket.http.response.start":
            self._denial_status = message["status"]
            self._denial_headers = decode_headers(message["headers"])
        elif kind == "websocket.http.response.body":
            self._denial_body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                response = self.app.response_class(
                    bytes(self._denial_body), self._denial_status, self._denial_headers
                )
                self._from_app.put_last(WebsocketResponseError(response))
