"""ASGI adapters: an HTTP, websocket or lifespan scope in, framework calls, ASGI messages out.

An HTTP request creates no task: it is handled in the task the server called us in, and
the body is pulled from ``receive`` only when the view awaits it. (A streamed response
adds one while it is sent, to notice a client that leaves mid-stream.) A websocket adds one
reader task, so that a client leaving is noticed whatever the handler is doing.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import sys
import traceback
import warnings
from collections import deque
from collections.abc import Awaitable
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

from werkzeug.datastructures import Headers

from .exceptions import ConnectionClosed
from .globals import _cv_app, _cv_request
from .signals import websocket_received, websocket_sent
from .utils import encode_headers
from .wrappers.response import _USE_CONFIG, DataBody, FileBody, IOBody, ResponseBody

if TYPE_CHECKING:
    from .app import Quart
    from .typing import ASGIReceiveCallable, ASGISendCallable, Message, Scope
    from .wrappers import Request, Response, Websocket


def _split_path(scope: Scope) -> tuple[str, str]:
    """The app-relative path and the root path of a scope.

    ASGI's ``path`` includes ``root_path``; a proxy may also send an absolute URL.
    """
    path: str = scope["path"]
    if path[:1] != "/":
        path = urlsplit(path).path or "/"
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :] or "/"
    return path, root_path


class ASGIHTTPConnection:
    """One HTTP request: builds the ``Request``, runs the app, sends the response.

    While a streamed response is sent (a generator, server-sent events, a streamed
    template, a file), a watcher task reads ``receive`` for the client leaving. When it
    does, the task sending the stream is cancelled wherever it waits (most often inside
    the generator, at an ``await``), the generator is closed and the request ends
    quietly, so that teardown runs at once and nothing keeps working for nobody.

    The request body shares ``receive`` with the watcher: the body reads through
    ``_receive_body``, and while the watcher runs it hands each body message over
    rather than dropping it. It reads at most one message ahead of the body: a view
    that never reads an unfinished upload holds it there (the server's back-pressure
    then applies), and the client leaving is noticed when sending fails or the response
    times out instead.
    """

    # Per-request state that only a streamed response or a body read during one
    # changes, kept as class-level defaults so that building a connection sets little.
    _watcher: asyncio.Task[None] | None = None
    _held: Message | None = None  # read by the watcher, not yet taken by the body
    _delivery: asyncio.Future[Message | None] | None = None  # a body read, on the watcher
    _room: asyncio.Future[None] | None = None  # the watcher, waiting for _held to be taken
    _idle: asyncio.Future[None] | None = None  # the watcher, waiting for a direct read
    _receiving = False  # the body is reading from the server itself
    _client_left = False
    _streaming: asyncio.Task[Any] | None = None  # the task sending a stream
    _cancelled_stream = False
    # The message that ends a response in memory, when it is sent after the request
    # context is popped (see ``send_response``).
    _last: Message | None = None

    def __init__(self, app: Quart, scope: Scope) -> None:
        self.app = app
        self.scope = scope
        self._send: ASGISendCallable | None = None
        self._receive: ASGIReceiveCallable | None = None
        self._may_send_last_later = False

    def __call__(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> Awaitable[None]:
        """The ASGI call: awaiting it runs ``handle_request``. A plain method that
        returns that coroutine, so that every request is one coroutine frame shorter."""
        self._receive = receive
        return self.handle_request(self._create_request_from_scope(send), send)

    async def handle_request(self, request: Request, send: ASGISendCallable) -> None:
        """Run the app for ``request`` and send its response with ``send``."""
        self._send = send
        self._may_send_last_later = True
        try:
            await self.app.handle_request(request, self.send_response)
        except ConnectionClosed:
            return  # the client went away while its body was awaited: nothing to answer
        last = self._last
        if last is not None:
            try:
                await send(last)
            except OSError:
                return  # the client left: nothing more to do

    async def handle_messages(self, request: Request, receive: ASGIReceiveCallable) -> None:
        """Push the request body from ``receive`` into ``request.body`` until the client
        leaves. Our own ``__call__`` lets the body pull from ``receive`` instead, when it
        is awaited; this is for a subclass that runs a reader of its own beside
        ``handle_request`` (its ``_create_request_from_scope`` then makes a body that
        waits to be pushed)."""
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "http.request":
                request.body.append(message.get("body", b""))
                if not message.get("more_body", False):
                    request.body.set_complete()
            elif kind == "http.disconnect":
                return

    def _create_request_from_scope(self, send: ASGISendCallable) -> Request:
        scope = self.scope
        path: str = scope["path"]
        root_path: str = scope.get("root_path", "")
        if root_path or path[:1] != "/":
            path, root_path = _split_path(scope)
        config = self.app.config
        push = None
        if "http.response.push" in scope.get("extensions", {}):
            push = self._send_push_promise
        return self.app.request_class(
            scope["method"],
            scope.get("scheme", "http"),
            path,
            scope.get("query_string", b""),
            None,
            root_path,
            scope.get("http_version", "1.1"),
            scope,
            max_content_length=config["MAX_CONTENT_LENGTH"],
            body_timeout=config["BODY_TIMEOUT"],
            send_push_promise=push,
            # Without a receive channel of ours (a subclass reading for itself with
            # handle_messages), the body waits to be pushed.
            receive=None if self._receive is None else self._receive_body,
        )

    async def _send_response(self, send: ASGISendCallable, response: Response) -> None:
        """Send ``response`` with ``send`` (for subclasses that call it as Quart's)."""
        self._send = send
        await self.send_response(response)

    async def send_response(self, response: Response) -> None:
        """Send ``response``: a body in memory goes in one message, a stream chunk by
        chunk within the response timeout. A client found gone (``send`` raising
        ``OSError``) ends the response quietly."""
        send = self._send
        assert send is not None
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": encode_headers(response._header_pairs),
                }
            )
            body = response.response
            if self.scope["method"] == "HEAD":
                await response._discard_body()  # a file given to send_file is closed all the same
                await _send_last(
                    send, {"type": "http.response.body", "body": b"", "more_body": False}
                )
                return
            if type(body) is DataBody:
                last = {"type": "http.response.body", "body": body.data, "more_body": False}
                ctx = _cv_request.get(None)
                if self._may_send_last_later and ctx is not None and ctx._pops_quietly():
                    # Popping the context will run nothing: the body goes out once it is
                    # popped, which is all that _send_last would do, at no cost.
                    self._last = last
                else:
                    await _send_last(send, last)
                return
        except OSError:
            await response._discard_body()
            return
        timeout = response.timeout
        if timeout is _USE_CONFIG:
            timeout = self.app.config["RESPONSE_TIMEOUT"]
        await self._send_stream(body, timeout)

    async def _send_stream(self, body: ResponseBody, timeout: float | None) -> None:
        """Send a streamed body, watching for the client leaving meanwhile."""
        send = self._send
        assert send is not None
        task = asyncio.current_task()
        assert task is not None
        self._start_watching(task)
        is_file = isinstance(body, (FileBody, IOBody))
        held = b""
        sent = 0  # chunks, of which every eighth lets other work run
        try:
            async with asyncio.timeout(timeout), body as chunks:
                # Closed here when the loop is left early, not later by the garbage
                # collector (which would start a task to do it).
                iterator = aiter(chunks)
                try:
                    async for chunk in iterator:
                        if self._client_left:
                            return
                        if is_file:
                            # A file's chunks go out one behind, so that the last one ends
                            # the response: a client that hangs up once it has
                            # Content-Length bytes never sees the response unfinished.
                            chunk, held = held, chunk
                        if chunk:
                            try:
                                await send(
                                    {"type": "http.response.body", "body": chunk, "more_body": True}
                                )
                            except OSError:
                                self._client_left = True
                                return
                        sent += 1
                        if not is_file and not sent % 8:
                            # Servers return from send at once while their buffer has
                            # room, so a generator that never awaits would hold the loop
                            # for the whole stream: other clients would wait, and the
                            # watcher would never see this one leave. Every eighth chunk
                            # lets the loop run. (A file's chunks are read in a thread,
                            # which lets the loop run.)
                            await asyncio.sleep(0)
                finally:
                    close = getattr(iterator, "aclose", None)
                    if close is not None:
                        await close()
        except TimeoutError:
            self.app.logger.warning(
                "The response to %s %s was cut off after RESPONSE_TIMEOUT (%s s).",
                self.scope["method"],
                self.scope["path"],
                timeout,
            )
        except ConnectionClosed:
            return  # the stream read the request body and found the client gone
        except asyncio.CancelledError:
            if self._cancelled_stream and task.cancelling() <= 1:
                return  # cancelled because the client left: the stream just ends
            raise
        except Exception:
            # Headers are out, so no error page can follow: log the app's error once and
            # end without completing the body, so the client sees a truncated response.
            self.app.log_exception(sys.exc_info())
            return
        finally:
            self._streaming = None
            if self._cancelled_stream:
                self._cancelled_stream = False
                task.uncancel()
            await self._stop_watching()
        if self._client_left:
            return
        with contextlib.suppress(OSError):
            await _send_last(send, {"type": "http.response.body", "body": held, "more_body": False})

    # ------------------------------------------------------------ the receive channel

    async def _receive_body(self) -> Message:
        """``receive`` as the request body sees it: a message the watcher read for it,
        else the next one from the server."""
        held = self._held
        if held is not None:
            self._held = None
            room = self._room
            if room is not None and not room.done():
                room.set_result(None)
            return held
        if self._client_left:
            return {"type": "http.disconnect"}
        while self._watcher is not None:
            delivery: asyncio.Future[Message | None] = asyncio.get_running_loop().create_future()
            self._delivery = delivery
            try:
                message = await delivery
            finally:
                self._delivery = None
            if message is not None:
                return message
            # None: the watcher stopped without a message for us; read for ourselves.
        assert self._receive is not None
        self._receiving = True
        try:
            return await self._receive()
        finally:
            self._receiving = False
            idle = self._idle
            if idle is not None and not idle.done():
                idle.set_result(None)

    def _start_watching(self, task: asyncio.Task[Any]) -> None:
        """Start the watcher for the stream ``task`` sends. It runs in a context of its
        own: it needs none of the request's, and a copy would keep it alive."""
        self._streaming = task
        if self._watcher is None and not self._client_left:
            self._watcher = asyncio.create_task(self._watch(), context=contextvars.Context())

    async def _stop_watching(self) -> None:
        """Stop the watcher and wait until it has ended, so that no task outlives the
        request."""
        watcher, self._watcher = self._watcher, None
        try:
            if watcher is not None and not watcher.done():
                watcher.cancel()
                await asyncio.wait((watcher,))
        finally:
            delivery = self._delivery
            if delivery is not None and not delivery.done():
                delivery.set_result(None)  # a body read in another task goes on by itself

    async def _watch(self) -> None:
        """Read ``receive`` until the client leaves; hand body messages to the body."""
        receive = self._receive
        assert receive is not None
        loop = asyncio.get_running_loop()
        try:
            while True:
                if self._receiving:  # a body read started before we did: let it finish
                    self._idle = loop.create_future()
                    await self._idle
                    self._idle = None
                    continue
                message = await receive()
                kind = message["type"]
                if kind == "http.disconnect":
                    break
                if kind != "http.request":
                    continue
                delivery = self._delivery
                if delivery is not None and not delivery.done():
                    delivery.set_result(message)
                else:
                    self._held = message
                    if message.get("more_body", False):
                        # Read no further ahead than this: the body may never be read.
                        self._room = loop.create_future()
                        await self._room
                        self._room = None
        except Exception:
            pass  # a broken channel: the client is as good as gone
        self._client_left = True
        delivery = self._delivery
        if delivery is not None and not delivery.done():
            delivery.set_result({"type": "http.disconnect"})
        streaming = self._streaming
        if streaming is not None and not self._cancelled_stream:
            self._cancelled_stream = True
            streaming.cancel()

    async def _send_push_promise(self, path: str, headers: Headers) -> None:
        assert self._send is not None
        await self._send(
            {"type": "http.response.push", "path": path, "headers": encode_headers(headers)}
        )


async def _send_last(send: ASGISendCallable, message: Message) -> None:
    """Send the message that completes a response with the framework's context variables
    unset. Servers schedule work while it is sent (uvicorn arms its keep-alive timer), and
    a scheduled callback keeps a copy of the current context: with our variables set, that
    copy would keep this request's objects alive until the connection's next request,
    making work for the garbage collector on every request."""
    app_token = _cv_app.set(None)  # type: ignore[arg-type]
    request_token = _cv_request.set(None)  # type: ignore[arg-type]
    try:
        await send(message)
    finally:
        _cv_request.reset(request_token)
        _cv_app.reset(app_token)


class ASGIWebsocketConnection:
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
    server's back-pressure rather than filling our memory.

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

    def __init__(self, app: Quart, scope: Scope) -> None:
        self.app = app
        self.scope = scope
        self._receive: ASGIReceiveCallable | None = None
        self._send: ASGISendCallable | None = None
        self._accepted = False
        self._closed = False  # nothing more can be sent: we closed, or the client left
        self._client_left = False
        self._close_code = 1006
        self._close_reason = ""
        self._inbox: deque[str | bytes] = deque()
        self._waiter: asyncio.Future[str | bytes] | None = None  # a receive() on the reader
        self._waiter_task: asyncio.Task[Any] | None = None  # the task in that receive()
        self._room: asyncio.Future[None] | None = None  # the reader, waiting for inbox room
        self._reader: asyncio.Task[None] | None = None
        self._reader_start: asyncio.Handle | None = None
        self._receiving_directly = False
        self._pushed = False  # a subclass reads with handle_messages: never read directly
        self._waited = True  # the handler has waited for the client since its last send
        self._handling_task: asyncio.Task[Any] | None = None
        self._cancelled_handler = False
        self._max_message_size: int | None = app.config["MAX_WEBSOCKET_MESSAGE_SIZE"]

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
        await self._read(until_handed_over=False)

    def _create_websocket_from_scope(self, send: ASGISendCallable) -> Websocket:
        scope = self.scope
        path, root_path = _split_path(scope)
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

    def _schedule_reader(self) -> None:
        """The handler is away from ``receive()``: read for it if it stays away."""
        if self._reader is None and self._reader_start is None and not self._client_left:
            if self._pushed:
                return
            self._reader_start = asyncio.get_running_loop().call_later(
                self.reader_delay, self._start_reader, context=contextvars.Context()
            )

    def _start_reader(self) -> None:
        """Start reading for the handler, unless it is reading for itself right now. The
        reader runs in a context of its own: it needs none of the handler's, and holding
        a copy would keep the handler's context objects alive for as long as it runs."""
        self._reader_start = None
        if self._reader is None and not self._receiving_directly and not self._client_left:
            self._reader = asyncio.create_task(self._read(), context=contextvars.Context())

    async def _stop_reader(self) -> None:
        if self._reader_start is not None:
            self._reader_start.cancel()
            self._reader_start = None
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    async def _read(self, until_handed_over: bool = True) -> None:
        """Read for the handler: into the inbox, or straight to a ``receive()`` that
        came back meanwhile (after which, ``until_handed_over``, the handler reads
        again for itself)."""
        try:
            while True:
                data = await self._next_message()
                waiter = self._waiter
                if waiter is not None and not waiter.done():
                    waiter.set_result(data)
                    if until_handed_over:
                        return
                    continue
                self._inbox.append(data)
                if len(self._inbox) >= self.inbox_size:
                    self._room = asyncio.get_running_loop().create_future()
                    await self._room
        except ConnectionClosed:
            pass  # _next_message told the handler
        finally:
            if self._reader is asyncio.current_task():
                self._reader = None

    async def _next_message(self) -> str | bytes:
        """The next message from the server; ``ConnectionClosed`` once the client left."""
        assert self._receive is not None
        while True:
            message = await self._receive()
            kind = message["type"]
            if kind == "websocket.receive":
                data = message.get("bytes")
                received = message.get("text") or "" if data is None else bytes(data)
                limit = self._max_message_size
                if limit is not None and len(received) > limit:
                    await self._refuse_message(len(received), limit)
                if websocket_received.receivers:
                    await websocket_received.send_async(received)
                return received
            if kind == "websocket.disconnect":
                self._end(message.get("code", 1005), message.get("reason") or "")

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
        self._client_left = True
        self._tell_handler(ConnectionClosed(code, reason))

    def _end(self, code: int, reason: str) -> NoReturn:
        """The conversation is over (``code``, ``reason``): tell the handler, and raise
        ``ConnectionClosed`` in the task that read the news."""
        self._closed = self._client_left = True
        self._close_code = code
        self._close_reason = reason
        closed = ConnectionClosed(code, reason)
        self._tell_handler(closed)
        raise closed

    def _tell_handler(self, closed: ConnectionClosed) -> None:
        """The client left: a ``receive()`` waiting on the reader raises ``closed``, and
        the handler is cancelled unless it is the task that learns it from its own
        ``receive()``. A handler that waits on something else while another task of its
        own receives (the chat pattern) must end too, or it would wait for ever."""
        learning = asyncio.current_task()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(closed)
            learning = self._waiter_task
        if self._handling_task is not None and self._handling_task is not learning:
            self._cancel_handler()

    def _cancel_handler(self) -> None:
        assert self._handling_task is not None
        if not self._cancelled_handler:
            self._cancelled_handler = True
            self._handling_task.cancel()

    async def _receive_data(self) -> str | bytes:
        try:
            if self._inbox:
                data = self._inbox.popleft()
                if self._room is not None and not self._room.done():
                    self._room.set_result(None)
                return data
            if self._client_left:
                raise ConnectionClosed(self._close_code, self._close_reason)
            if self._waiter is not None or self._receiving_directly:
                raise RuntimeError("Another task is already waiting to receive on this websocket.")
            self._waited = True
            if self._reader is not None or self._pushed:
                return await self._receive_from_reader()
            self._receiving_directly = True
            try:
                return await self._next_message()
            except asyncio.CancelledError:
                self._raise_if_client_left()
                raise
            finally:
                self._receiving_directly = False
        finally:
            self._schedule_reader()

    async def _receive_from_reader(self) -> str | bytes:
        waiter: asyncio.Future[str | bytes] = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        self._waiter_task = asyncio.current_task()
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._inbox.appendleft(waiter.result())  # arrived as we were cancelled: kept
            self._raise_if_client_left()
            raise
        finally:
            self._waiter = self._waiter_task = None

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
            if not self._waited:
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


class ASGILifespan:
    """The lifespan protocol: the app's startup and shutdown."""

    def __init__(self, app: Quart, scope: Scope) -> None:
        self.app = app
        self.scope = scope

    async def __call__(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.app.startup()
                except Exception as error:
                    await send({"type": "lifespan.startup.failed", "message": _describe(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await self.app.shutdown()
                except Exception as error:
                    await send({"type": "lifespan.shutdown.failed", "message": _describe(error)})
                    return
                await send({"type": "lifespan.shutdown.complete"})
                return


def _describe(error: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(error), error)).strip()
