"""The websocket object: the handshake's request data plus receive, send and close."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import TYPE_CHECKING, Any, AnyStr

from werkzeug.datastructures import Headers
from werkzeug.exceptions import BadRequest

from ..json import dumps
from .base import BaseRequestWebsocket

if TYPE_CHECKING:
    from ..typing import Scope


class Websocket(BaseRequestWebsocket):
    """A websocket connection, as seen by its handler.

    The first ``send`` or ``receive`` accepts the connection if the handler has not
    called ``accept`` itself. Once the client has gone, ``receive`` and ``send`` raise
    ``quart.exceptions.ConnectionClosed``.
    """

    def __init__(
        self,
        path: str,
        query_string: bytes,
        scheme: str,
        headers: Headers | None,
        root_path: str,
        http_version: str,
        subprotocols: list[str],
        receive: Callable[[], Awaitable[str | bytes]],
        send: Callable[[str | bytes], Awaitable[None]],
        accept: Callable[[Headers | None, str | None], Awaitable[None]],
        close: Callable[[int, str], Awaitable[None]],
        scope: Scope,
        *,
        handling: Callable[[], AbstractAsyncContextManager[Any]] | None = None,
    ) -> None:
        super().__init__("GET", scheme, path, query_string, headers, root_path, http_version, scope)
        self._subprotocols = subprotocols
        self._receive = receive
        self._send = send
        self._accept = accept
        self._close = close
        self._handling_span = handling
        self._accepted = False

    def _handling(self) -> AbstractAsyncContextManager[Any]:
        """The span in which the app handles this websocket, given by the server side:
        there, a client that leaves ends the handler normally (see ``quart.asgi_websocket``)."""
        if self._handling_span is None:
            return nullcontext()
        return self._handling_span()

    @property
    def requested_subprotocols(self) -> list[str]:
        """The subprotocols the client offered, in its order of preference."""
        return self._subprotocols

    async def receive(self) -> str | bytes:
        """The next message: str for a text frame, bytes for a binary one."""
        if not self._accepted:
            await self.accept()
        return await self._receive()

    async def send(self, data: AnyStr) -> None:
        """Send a text (str) or binary (bytes) message."""
        if not self._accepted:
            await self.accept()
        await self._send(data)

    async def receive_json(self) -> Any:
        """The next message parsed as JSON; invalid JSON raises ``BadRequest`` and the
        connection stays usable."""
        data = await self.receive()
        try:
            return self.json_module.loads(data)
        except (ValueError, RecursionError) as error:  # too deeply nested is the client's fault
            raise BadRequest(f"The websocket message is not valid JSON: {error}") from error

    async def send_json(self, *args: Any, **kwargs: Any) -> None:
        """Send JSON: one positional value is the data, several make a list (keywords then
        go to the encoder); with no positional value the keywords are the data."""
        if not args:
            data: Any = kwargs
            kwargs = {}
        elif len(args) == 1:
            data = args[0]
        else:
            data = list(args)
        await self.send(dumps(data, **kwargs))

    async def accept(
        self, headers: dict[str, str] | Headers | None = None, subprotocol: str | None = None
    ) -> None:
        """Accept the connection (once; later calls do nothing)."""
        await self._accept(Headers(headers) if headers else None, subprotocol)
        self._accepted = True

    async def close(self, code: int, reason: str = "") -> None:
        """Close the connection; before accepting, this refuses it."""
        await self._close(code, reason)
