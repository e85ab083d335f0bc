"""The HTTP connection: an ASGI ``http`` scope in, a ``Request`` run through the app, the
response out as ASGI messages.

A request creates no task: it is handled in the task the server called us in, and the
body is pulled from ``receive`` only when the view awaits it. A streamed response adds one
task while it is sent, the watcher, to notice a client that leaves mid-stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections import deque
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from werkzeug.datastructures import Headers

from . import globals as _globals
from .asgi_channel import MessageChannel
from .asgi_headers import encode_headers
from .exceptions import ConnectionClosed
from .wrappers.response import _USE_CONFIG, DataBody, FileBody, IOBody, Response, ResponseBody

if TYPE_CHECKING:
    from .app import Quart
    from .typing import ASGIReceiveCallable, ASGISendCallable, Message, Scope
    from .wrappers import Request

# Assigned, not imported: see the note in quart/globals.py.
_cv_app = _globals._cv_app
_cv_request = _globals._cv_request


def split_path(scope: Scope) -> tuple[str, str]:
    """The app-relative path and the root path of an HTTP or websocket scope.

    ASGI's ``path`` includes ``root_path``; a proxy may also send an absolute URL.
    """
    path: str = scope["path"]
    if path[:1] != "/":
        path = urlsplit(path).path or "/"
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :] or "/"
    return path, root_path


class ASGIHTTPConnection(MessageChannel):
    """One HTTP request: builds the ``Request``, runs the app, sends the response.

    While a streamed response is sent (a generator, server-sent events, a streamed
    template, a file), a watcher task reads ``receive`` for the client leaving. When it
    does, the task sending the stream is cancelled wherever it waits (most often inside
    the generator, at an ``await``), the generator is closed and the request ends
    quietly, so that teardown runs at once and nothing keeps working for nobody.

    The request body shares ``receive`` with the watcher through the channel this
    connection is (``quart.asgi_channel``): the body reads with ``_receive_message``, and
    while the watcher runs it hands each body message over rather than dropping it. It
    reads at most one message ahead of the body: a view that never reads an unfinished
    upload holds it there (the server's back-pressure then applies), and the client
    leaving is noticed when sending fails or the response times out instead.
    """

    # Per-request state that only a streamed response changes, kept as class-level
    # defaults (as the channel's is) so that building a connection sets little.
    _streaming: asyncio.Task[Any] | None = None  # the task sending a stream
    _body_complete = False  # the watcher has read the body's last message
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
            path, root_path = split_path(scope)
        config = self.app.config
        push = None
        if "http.response.push" in scope.get("extensions", ()):
            push = self._send_push_promise
            self._send = send  # for a subclass that sends the response itself (quart-trio)
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
            receive=None if self._receive is None else self._receive_message,
        )

    async def _send_response(self, send: ASGISendCallable, response: Response) -> None:
        """Send ``response`` with ``send``, as Quart's connection does: for a subclass
        that runs the request itself and then calls this (quart-trio's ``handle_request``,
        under trio). Our own path calls ``send_response`` instead, so nothing here costs
        it anything.

        A werkzeug response is sent as one of ours. A body in memory goes as
        ``send_response`` sends it; a stream goes chunk by chunk without what
        ``send_response`` adds around one (the watcher task, the response timeout, the
        yields to the loop, the logging of its errors), which are asyncio's: the caller
        sees to the timeout, as Quart's ``handle_request`` does.
        """
        if not isinstance(response, Response):
            response = self.app._sendable(response)
        self._send = send
        body = response.response
        if type(body) is DataBody or self.scope["method"] == "HEAD":
            await self.send_response(response)
            return
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": encode_headers(response._header_pairs),
                }
            )
            async with body as chunks:
                async for chunk in chunks:
                    if chunk:
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except OSError:
            return  # the client left
        # An error in the stream goes on to the caller, as from Quart's: its server logs
        # it and ends the connection, the body unfinished.
        with contextlib.suppress(OSError):
            await _send_last(send, {"type": "http.response.body", "body": b"", "more_body": False})

    async def send_response(self, response: Response) -> None:
        """Send ``response``: a body in memory goes in one message, a stream chunk by
        chunk within the response timeout. A client found gone (``send`` raising
        ``OSError``) ends the response quietly."""
        send = self._send
        assert send is not None
        pairs = response._header_list  # Response._header_pairs, without the call
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": encode_headers(response.headers if pairs is None else pairs),
                }
            )
            body = response.response
            if self.scope["method"] == "HEAD":
                await response._discard_body()  # a file given to send_file is closed all the same
                await _send_last(
                    send, {"type": "http.response.body", "body": b"", "more_body": False}
                )
                return
            if type(body) is FileBody and body.begin == 0 and body.end == body.size:
                extensions = self.scope.get("extensions") or {}
                if "http.response.pathsend" in extensions:
                    # The server sends the whole file itself (granian offers this): no
                    # thread and no chunks of ours.
                    path = os.path.abspath(body.file_path)
                    await _send_last(send, {"type": "http.response.pathsend", "path": path})
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
            await self._stop_reading_ahead()
        if self._client_left:
            return
        with contextlib.suppress(OSError):
            await _send_last(send, {"type": "http.response.body", "body": held, "more_body": False})

    # ------------------------------------------------------------ the receive channel

    def _start_watching(self, task: asyncio.Task[Any]) -> None:
        """Start the watcher for the stream ``task`` sends (unless the client has gone)."""
        self._streaming = task
        if self._reader is None and not self._client_left:
            self._start_reading_ahead(self._next_body_message, keep_reading=True)

    async def _next_body_message(self) -> Message:
        """What the watcher reads: the next message that carries body; ``ConnectionClosed``
        once the client has gone (or ``receive`` broke, which comes to the same)."""
        receive = self._receive
        assert receive is not None
        try:
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "http.request":
                    if not self._body_complete:
                        self._body_complete = not message.get("more_body", False)
                        return message
                    # Past the body's end a server should send nothing but the
                    # disconnect: one that answers with more body would have the watcher
                    # fill the inbox without end, so such messages are dropped, and the
                    # loop gets a turn between them in case they come without a wait.
                    await asyncio.sleep(0)
                elif kind == "http.disconnect":
                    break
        except Exception:
            pass  # a broken channel: the client is as good as gone
        self._client_gone()
        raise ConnectionClosed()

    def _ended(self) -> Message:
        return {"type": "http.disconnect"}

    def _inbox_full(self, inbox: deque[Message]) -> bool:
        """Read no further ahead than one message of an unfinished body: the view may never
        read it. A body's last message holds nothing up, since after it only the client
        leaving can come, and that is what the watcher is for."""
        return bool(inbox[-1].get("more_body", False))

    def _on_client_gone(self, learning: asyncio.Task[Any] | None) -> None:
        """Cancel the task sending the stream, wherever it waits."""
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
