"""The websocket connection: an ASGI ``websocket`` scope in, a ``Websocket`` run through the
app, the conversation relayed as ASGI messages, and the close.

The handler runs in the task the server called us in; a reader task is added only while
the handler stays away from ``receive()`` (see ``ASGIWebsocketConnection``).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import sys
import warnings
from collections import deque
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn

from werkzeug.datastructures import Headers

from .asgi_channel import ReceiveChannel
from .asgi_headers import encode_headers
from .asgi_http import split_path
from .exceptions import ConnectionClosed
from .signals import websocket_received, websocket_sent

if TYPE_CHECKING:
    from .app import Quart
    from .typing import ASGIReceiveCallable, ASGISendCallable, Message, Scope
    from .wrappers import Response, Websocket


class ASGIWebsocketConnection(ReceiveChannel["str | bytes"]):
    """One websocket: the handshake, the conversation and the close.

    The handler runs in the task the server called us in. While it waits in
    ``receive()`` it reads from the server itself; whenever it is away (sending, working,
    waiting on something else) a reader task reads for it, so that a client leaving is
    noticed whatever the handler is doing: a pending ``receive()`` then raises
    ``ConnectionClosed`` and a handler waiting on anything else is cancelled, and either
    way the handler ends normally (see ``_Handling``). The reader starts when the handler
    has been away for ``reader_delay`` (counted from the start of the conversation until
    its first ``receive()``), so a handler that comes straight back (an echo, a
    request-reply protocol) never pays for the hand-over. Messages read ahead
    wait in a short inbox; when it is full the reader pauses, so a fast client meets the
    server's back-pressure rather than filling our memory. The handler and the reader
    share ``receive`` through the channel this connection is (``quart.asgi_channel``).

    Every ``send`` lets other work run unless the handler has waited for the client
    since its previous one (see ``send_data``), so a handler that only sends never holds
    the event loop.

    ``handle_websocket``, ``handle_messages``, ``send_data``, ``accept_connection`` and
    ``close_connection`` are the methods a subclass (``app.asgi_websocket_class``) may
    override or call, with Quart's signatures.
    """

    inbox_size = 32
    #: Seconds the handler may be away from ``receive()`` before the reader starts. Most
    #: handlers are back far sooner (they sent a reply), and this way the timer is set at
    #: most once per delay rather than once per message.
    reader_delay = 0.05
    #: Whether something other than our lazy reader feeds the handler: our
    #: ``handle_messages``, run by a subclass beside ``handle_websocket``, or a subclass
    #: with a ``__call__`` of its own, which runs its own reader as Quart's connection
    #: does (quart-trio's). Then no reader, timer or yield of ours (asyncio's) is used.
    #: Set for such a subclass once, by ``__init_subclass__``.
    _pushed = False
    # Defaults for what ``__init__`` sets, for a subclass whose own ``__init__`` does not
    # call it, as quart-trio's does not (it sets ``app``, ``scope``, ``_accepted``,
    # ``_closed`` and its channels, as Quart's sets its queue).
    _send: ASGISendCallable | None = None
    _close_code = 1006
    _close_reason = ""
    _reader_start: asyncio.Handle | None = None
    _waited = True
    _handling_task: asyncio.Task[Any] | None = None
    _cancelled_handler = False
    _max_message_size: int | None = None
    _size_limit = sys.maxsize

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass with a ``__call__`` of its own is ``_pushed``, decided once, here
        (our ``__init__`` leaves the class's value be)."""
        super().__init_subclass__(**kwargs)
        if cls.__call__ is not ASGIWebsocketConnection.__call__:
            cls._pushed = True

    def __init__(self, app: Quart, scope: Scope) -> None:
        self.app = app
        self.scope = scope
        self._receive = None
        self._send = None
        self._accepted = False
        self._closed = False  # nothing more can be sent: we closed, or the client left
        self._close_code = 1006
        self._close_reason = ""
        # The channel's state that every receive() reads, set on the instance: an
        # attribute of the instance is found faster than a class-level default.
        self._client_left = False
        self._inbox = None
        self._waiter = None
        self._idle = None
        self._reader = None
        self._reading_ahead = False
        self._reading_directly = False
        self._reader_start = None
        self._waited = True  # the handler has waited for the client since its last send
        self._handling_task = None
        self._cancelled_handler = False
        self._max_message_size = app.config["MAX_WEBSOCKET_MESSAGE_SIZE"]
        self._size_limit = sys.maxsize if self._max_message_size is None else self._max_message_size

    async def __call__(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        self._receive = receive
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        websocket = self._create_websocket_from_scope(send)
        await self.handle_websocket(websocket, send)

    async def handle_websocket(self, websocket: Websocket, send: ASGISendCallable) -> None:
        """Run the app for ``websocket``, then close the connection, or refuse the
        handshake with the response the app gave instead of accepting."""
        self._send = send
        self._schedule_reader()  # until its first receive(), the handler counts as away
        open_websockets = self.app._open_websockets
        open_websockets.add(self)
        try:
            response = await self.app.handle_websocket(websocket)
        finally:
            open_websockets.discard(self)
            await self._stop_reader()
        if self._closed:
            return
        if response is None:
            await self.close_connection(send, 1000, "")
        elif self._accepted:
            await self.close_connection(send, 1011 if response.status_code >= 500 else 1008, "")
        else:
            await self._send_denial(response)

    async def handle_messages(self, receive: ASGIReceiveCallable) -> None:
        """Read the client's messages until it leaves, each to a pending ``receive()`` or
        the inbox. Our own ``__call__`` reads lazily instead (see the class docstring);
        this is for a subclass that runs a reader of its own beside ``handle_websocket``.
        """
        self._receive = receive
        self._pushed = True
        await self._read_ahead(self._next_message, keep_reading=True)

    def _create_websocket_from_scope(self, send: ASGISendCallable) -> Websocket:
        scope = self.scope
        path, root_path = split_path(scope)
        return self.app.websocket_class(
            path,
            scope.get("query_string", b""),
            scope.get("scheme", "ws"),
            None,
            root_path,
            scope.get("http_version", "1.1"),
            list(scope.get("subprotocols", [])),
            self._receive_data,
            partial(self.send_data, send),
            partial(self.accept_connection, send),
            partial(self.close_connection, send),
            scope,
            handling=self._handling,
        )

    # ------------------------------------------------------------------ reading

    async def _receive_data(self) -> str | bytes:
        """``receive()`` as the handler sees it: the channel's front door (see
        ``quart.asgi_channel``), reading as ``_next_message`` does. Besides, it refuses a
        second ``receive()`` while one is pending, notes that the handler waited for the
        client (for ``send_data``), turns a cancellation caused by the client leaving into
        ``ConnectionClosed``, and once it returns, arms the reader for while the handler
        is away."""
        try:
            if self._inbox:
                return self._take_ahead()
            if self._client_left:
                raise ConnectionClosed(self._close_code, self._close_reason)
            if self._waiter is not None or self._reading_directly:
                raise RuntimeError("Another task is already waiting to receive on this websocket.")
            self._waited = True
            while self._reading_ahead:
                data = await self._receive_from_reader()
                if data is not None:
                    return data
            self._reading_directly = True
            receive = self._receive
            assert receive is not None
            try:
                # _next_message's steps, written out: a coroutine less on every message.
                message = await receive()
                received = self._plain_data(message)
                if received is None:
                    received = await self._other_message(message)
                return received
            finally:
                self._reading_directly = False
                idle = self._idle
                if idle is not None and not idle.done():
                    idle.set_result(None)
        except ConnectionClosed:
            raise
        except asyncio.CancelledError:
            self._raise_if_client_left()
            raise
        finally:
            if self._reader_start is None:
                self._schedule_reader()

    def _schedule_reader(self) -> None:
        """The handler is away from ``receive()``: read for it if it stays away."""
        if self._reader is None and self._reader_start is None and not self._client_left:
            if self._pushed:
                return
            self._reader_start = asyncio.get_running_loop().call_later(
                self.reader_delay, self._start_reader, context=contextvars.Context()
            )

    def _start_reader(self) -> None:
        """Start reading for the handler until the next hand-over, unless it is reading
        for itself right now."""
        self._reader_start = None
        if self._reader is None and not self._reading_directly and not self._client_left:
            self._start_reading_ahead(self._next_message, keep_reading=False)

    async def _stop_reader(self) -> None:
        if self._reader_start is not None:
            self._reader_start.cancel()
            self._reader_start = None
        await self._stop_reading_ahead()

    async def _next_message(self) -> str | bytes:
        """The next message from the server; ``ConnectionClosed`` once the client left."""
        receive = self._receive
        assert receive is not None
        message = await receive()
        received = self._plain_data(message)
        if received is None:
            received = await self._other_message(message)
        return received

    def _plain_data(self, message: Message) -> str | bytes | None:
        """The data of a ``websocket.receive`` message that needs nothing more: within
        ``MAX_WEBSOCKET_MESSAGE_SIZE`` (counted in characters for text) and with no
        ``websocket_received`` receivers to announce it to. None for anything else."""
        if message["type"] != "websocket.receive":
            return None
        data = message.get("bytes")
        received = message.get("text") or "" if data is None else bytes(data)
        if len(received) > self._size_limit or websocket_received.receivers:
            return None
        return received

    async def _other_message(self, message: Message) -> str | bytes:
        """What ``_plain_data`` leaves: a message over the size limit is refused, one with
        receivers announced, the disconnect ends the conversation, and a message of
        another kind is skipped for the next one."""
        assert self._receive is not None
        while True:
            kind = message["type"]
            if kind == "websocket.receive":
                data = message.get("bytes")
                received = message.get("text") or "" if data is None else bytes(data)
                if len(received) > self._size_limit:
                    assert self._max_message_size is not None
                    await self._refuse_message(len(received), self._max_message_size)
                if websocket_received.receivers:
                    await websocket_received.send_async(received)
                return received
            if kind == "websocket.disconnect":
                self._end(message.get("code", 1005), message.get("reason") or "")
            message = await self._receive()

    async def _refuse_message(self, size: int, limit: int) -> NoReturn:
        """A message over ``MAX_WEBSOCKET_MESSAGE_SIZE``: close with 1009 (message too
        big), whatever the server would accept, and end the conversation as if the
        client had left (its length is counted in characters for text)."""
        reason = f"Message too big ({size} > {limit})"
        if self._send is not None:
            await self.close_connection(self._send, 1009, reason)
        self._end(1009, reason)

    async def _go_away(self, code: int, reason: str) -> None:
        """The server is shutting down: close the connection with ``code`` and end the
        handler as if the client had left, its ``receive()`` or ``send()`` raising
        ``ConnectionClosed``."""
        if self._closed or self._send is None:
            return
        await self.close_connection(self._send, code, reason)
        self._client_gone()

    def _end(self, code: int, reason: str) -> NoReturn:
        """The conversation is over (``code``, ``reason``): tell the handler, and raise
        ``ConnectionClosed`` in the task that read the news."""
        self._closed = True
        self._close_code = code
        self._close_reason = reason
        self._client_gone()
        raise ConnectionClosed(code, reason)

    def _ended(self) -> NoReturn:
        raise ConnectionClosed(self._close_code, self._close_reason)

    def _inbox_full(self, inbox: deque[str | bytes]) -> bool:
        return len(inbox) >= self.inbox_size

    def _on_client_gone(self, learning: asyncio.Task[Any] | None) -> None:
        """A ``receive()`` waiting on the reader raises ``ConnectionClosed`` (the channel
        sees to that), and the handler is cancelled unless it is the task that learns it
        from its own ``receive()``. A handler that waits on something else while another
        task of its own receives (the chat pattern) must end too, or it would wait for
        ever."""
        handling = self._handling_task
        if handling is not None and handling is not learning:
            self._cancel_handler()

    def _cancel_handler(self) -> None:
        assert self._handling_task is not None
        if not self._cancelled_handler:
            self._cancelled_handler = True
            self._handling_task.cancel()

    def _raise_if_client_left(self) -> None:
        """Called when a call of ours was cancelled: if that was because the client left,
        the handler (inside ``receive``, ``send`` or ``accept`` at that moment) is told
        so with ``ConnectionClosed``."""
        if self._client_left:
            raise ConnectionClosed(self._close_code, self._close_reason)

    # ------------------------------------------------------------------ sending

    async def send_data(self, send: ASGISendCallable, data: str | bytes) -> None:
        """Send one message.

        Servers return from ``send`` at once while their buffer has room, so a handler
        that sends in a loop without waiting for the client would hold the event loop:
        other clients would wait, and the reader would never see this client leave.
        Such a send first lets other work run; one that follows a ``receive()`` (an
        echo) does not need to.
        """
        if self._closed:
            raise ConnectionClosed(self._close_code, self._close_reason)
        if isinstance(data, str):
            message: dict[str, Any] = {"type": "websocket.send", "text": data}
        else:
            message = {"type": "websocket.send", "bytes": bytes(data)}
        try:
            if not self._waited and not self._pushed:
                await asyncio.sleep(0)
                if self._closed:
                    raise ConnectionClosed(self._close_code, self._close_reason)
            self._waited = False
            await send(message)
        except OSError as error:  # the server found the connection gone
            self._closed = True
            raise ConnectionClosed(self._close_code, self._close_reason) from error
        except asyncio.CancelledError:
            self._raise_if_client_left()
            raise
        if websocket_sent.receivers:
            await websocket_sent.send_async(data)

    async def accept_connection(
        self, send: ASGISendCallable, headers: Headers | None, subprotocol: str | None
    ) -> None:
        """Accept the handshake (once). Headers go with it where the server's ASGI
        version (2.1 and later) allows them; otherwise they are dropped with a warning."""
        if self._accepted:
            return
        if self._closed:
            raise ConnectionClosed(self._close_code, self._close_reason)
        message: dict[str, Any] = {"type": "websocket.accept", "subprotocol": subprotocol}
        if headers:
            if _spec_version(self.scope) > (2, 0):
                message["headers"] = encode_headers(headers)
            else:
                warnings.warn(
                    "The ASGI server does not support headers on a websocket accept "
                    "(ASGI spec_version 2.0): the headers are not sent.",
                    stacklevel=2,
                )
        self._accepted = True
        try:
            await send(message)
        except asyncio.CancelledError:
            self._raise_if_client_left()
            raise

    async def close_connection(self, send: ASGISendCallable, code: int, reason: str) -> None:
        """Close the connection (before accepting, this refuses it). Closing a
        connection that is already closed, by us or by the client, does nothing."""
        if self._closed:
            return
        self._closed = True
        self._close_code = code
        self._close_reason = reason
        with contextlib.suppress(OSError):  # the client left meanwhile: nothing to close
            await send({"type": "websocket.close", "code": code, "reason": reason})

    def _handling(self) -> _Handling:
        return _Handling(self)

    async def _send_denial(self, response: Response) -> None:
        """Refuse the handshake with ``response`` where the server can send one, else
        close: 1011 for a server error, 1008 (policy violation) for anything else."""
        send = self._send
        assert send is not None
        if "websocket.http.response" not in self.scope.get("extensions", {}):
            await self.close_connection(send, 1011 if response.status_code >= 500 else 1008, "")
            return
        self._closed = True
        await send(
            {
                "type": "websocket.http.response.start",
                "status": response.status_code,
                "headers": encode_headers(response.headers),
            }
        )
        data = await response.get_data()
        await send({"type": "websocket.http.response.body", "body": data, "more_body": False})


def _spec_version(scope: Scope) -> tuple[int, ...]:
    """The ASGI spec version the server implements ("2.0" when it does not say)."""
    raw = scope.get("asgi", {}).get("spec_version", "2.0")
    try:
        return tuple(int(part) for part in raw.split("."))
    except ValueError:
        return (2, 0)


class _Handling:
    """The span in which the app handles a websocket (``before_websocket`` hooks and the
    handler). A client that leaves meanwhile cancels it, unless a ``receive()`` is
    pending, which raises ``ConnectionClosed`` instead. The span then ends normally,
    whether the handler lets the ``ConnectionClosed`` or cancellation through or not;
    a ``ConnectionClosed`` after the app closed the connection does too. Anything else
    propagates."""

    def __init__(self, connection: ASGIWebsocketConnection) -> None:
        self.connection = connection

    async def __aenter__(self) -> None:
        connection = self.connection
        connection._handling_task = asyncio.current_task()
        if connection._client_left:  # gone already: end the handler at its first wait
            connection._cancel_handler()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        connection = self.connection
        connection._handling_task = None
        if connection._cancelled_handler:
            connection._cancelled_handler = False
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
        if exc_type is None or not issubclass(exc_type, asyncio.CancelledError):
            return False
        # A ConnectionClosed raised in a task the handler awaits (asyncio.wait_for makes
        # one) reaches the handler as a plain cancellation: the client having left is
        # what tells them apart from a server shutting down.
        return connection._client_left or issubclass(exc_type, ConnectionClosed)
