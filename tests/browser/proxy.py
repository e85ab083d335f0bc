"""A TCP relay in front of a server, to cut a browser's connections as a network failure
would: the server stays up, the browser sees its connections drop and must reconnect."""

from __future__ import annotations

import asyncio
from types import TracebackType

HOST = "127.0.0.1"


class DroppingProxy:
    """``async with DroppingProxy(port) as proxy:`` relays ``proxy.base_url`` to the
    server on ``port``. ``cut()`` drops every connection and refuses new ones until
    ``restore()``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._refusing = False
        self._transports: set[asyncio.BaseTransport] = set()
        self._server: asyncio.Server | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    async def __aenter__(self) -> DroppingProxy:
        self._server = await asyncio.start_server(self._relay, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        self.cut()
        await self._server.wait_closed()

    def cut(self) -> None:
        self._refusing = True
        for transport in list(self._transports):
            transport.abort()

    def restore(self) -> None:
        self._refusing = False

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._refusing:
            writer.transport.abort()
            return
        upstream_reader, upstream_writer = await asyncio.open_connection(HOST, self.target_port)
        transports = {writer.transport, upstream_writer.transport}
        self._transports |= transports
        try:
            await asyncio.gather(
                self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
            )
        finally:
            self._transports -= transports

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy until either side goes away, then drop the other side too."""
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.transport.abort()
