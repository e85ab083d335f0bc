"""ASGI adapters: an HTTP, websocket or lifespan scope in, framework calls, ASGI messages out.

Nothing here creates a task on the common path: the request is handled in the task the
server called us in, and the body is pulled from ``receive`` only when the view awaits it.
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from werkzeug.datastructures import Headers

from .exceptions import ConnectionClosed
from .globals import _cv_app, _cv_request
from .utils import encode_headers
from .wrappers.response import _USE_CONFIG, DataBody

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
    """One HTTP request: builds the ``Request``, runs the app, sends the response."""

    def __init__(self, app: Quart, scope: Scope) -> None:
        self.app = app
        self.scope = scope
        self._send: ASGISendCallable | None = None

    async def __call__(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        self._send = send
        request = self._create_request_from_scope(receive, send)
        try:
            await self.app.handle_request(request, self.send_response)
        except ConnectionClosed:
            return  # the client went away while its body was awaited: nothing to answer

    def _create_request_from_scope(
        self, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> Request:
        scope = self.scope
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
            receive=receive,
        )

    async def send_response(self, response: Response) -> None:
        """Send ``response``: a body in memory goes in one message, a stream chunk by
        chunk within the response timeout."""
        send = self._send
        assert send is not None
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": encode_headers(response.headers),
            }
        )
        body = response.response
        if self.scope["method"] == "HEAD":
            await _send_last(send, {"type": "http.response.body", "body": b"", "more_body": False})
            return
        if type(body) is DataBody:
            await _send_last(
                send, {"type": "http.response.body", "body": body.data, "more_body": False}
            )
            return
        timeout = response.timeout
        if timeout is _USE_CONFIG:
            timeout = self.app.config["RESPONSE_TIMEOUT"]
        try:
            async with asyncio.timeout(timeout), body as chunks:
                async for chunk in chunks:
                    if chunk:
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except TimeoutError:
            self.app.logger.warning(
                "The response to %s %s was cut off after RESPONSE_TIMEOUT (%s s).",
                self.scope["method"],
                self.scope["path"],
                timeout,
            )
        except (asyncio.CancelledError, OSError):
            raise
        except Exception:
            # Headers are out, so no error page can follow: log the app's error once and
            # end without completing the body, so the client sees a truncated response.
            self.app.log_exception(sys.exc_info())
            return
        await _send_last(send, {"type": "http.response.body", "body": b"", "more_body": False})

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
    """One websocket: the handshake, the conversation and the close."""

    def __init__(self, app: Quart, scope: Scope) -> None:
        self.app = app
        self.scope = scope
        self._receive: ASGIReceiveCallable | None = None
        self._send: ASGISendCallable | None = None
        self._accepted = False
        self._closed = False
        self._close_code = 1006
        self._close_reason = ""

    async def __call__(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        self._receive = receive
        self._send = send
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        websocket = self._create_websocket_from_scope()
        try:
            response = await self.app.handle_websocket(websocket)
        except ConnectionClosed:
            return
        if self._closed:
            return
        if response is not None and not self._accepted:
            await self._send_denial(response)
        elif self._accepted:
            await self._close(1000, "")
        else:
            await self._close(1000, "")

    def _create_websocket_from_scope(self) -> Websocket:
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
            self._send_data,
            self._accept,
            self._close,
            scope,
        )

    async def _receive_data(self) -> str | bytes:
        if self._closed:
            raise ConnectionClosed(self._close_code, self._close_reason)
        assert self._receive is not None
        message = await self._receive()
        if message["type"] == "websocket.disconnect":
            self._closed = True
            self._close_code = message.get("code", 1005)
            self._close_reason = message.get("reason") or ""
            raise ConnectionClosed(self._close_code, self._close_reason)
        data = message.get("bytes")
        if data is not None:
            return bytes(data)
        return message.get("text") or ""

    async def _send_data(self, data: str | bytes) -> None:
        if self._closed:
            raise ConnectionClosed(self._close_code, self._close_reason)
        assert self._send is not None
        message: dict[str, Any] = {"type": "websocket.send"}
        if isinstance(data, str):
            message["text"] = data
        else:
            message["bytes"] = bytes(data)
        try:
            await self._send(message)
        except OSError as error:
            self._closed = True
            raise ConnectionClosed(self._close_code, self._close_reason) from error

    async def _accept(self, headers: Headers | None, subprotocol: str | None) -> None:
        if self._accepted:
            return
        if self._closed:
            raise ConnectionClosed(self._close_code, self._close_reason)
        assert self._send is not None
        message: dict[str, Any] = {"type": "websocket.accept", "subprotocol": subprotocol}
        if headers:
            message["headers"] = encode_headers(headers)
        await self._send(message)
        self._accepted = True

    async def _close(self, code: int, reason: str = "") -> None:
        if self._closed:
            return
        assert self._send is not None
        self._closed = True
        self._close_code = code
        self._close_reason = reason
        await self._send({"type": "websocket.close", "code": code, "reason": reason})

    async def _send_denial(self, response: Response) -> None:
        """Refuse the handshake with ``response`` where the server can send one, else
        close with 1008 (policy violation)."""
        assert self._send is not None
        if "websocket.http.response" not in self.scope.get("extensions", {}):
            await self._close(1008, "")
            return
        self._closed = True
        await self._send(
            {
                "type": "websocket.http.response.start",
                "status": response.status_code,
                "headers": encode_headers(response.headers),
            }
        )
        data = await response.get_data()
        await self._send({"type": "websocket.http.response.body", "body": data, "more_body": False})


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
