"""An in-memory publish/subscribe hub: every subscriber owns a queue, a publication is
put on each of them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


class Broker:
    def __init__(self) -> None:
        self.connections: set[asyncio.Queue[Any]] = set()

    async def publish(self, message: Any) -> None:
        for queue in self.connections:
            await queue.put(message)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Any]]:
        """Registered as soon as the block is entered, so nothing published after that is
        missed; gone when the block is left, however it is left."""
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self.connections.add(queue)
        try:
            yield queue
        finally:
            self.connections.discard(queue)
