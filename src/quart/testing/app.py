"""``app.test_app()``: run an app's lifespan (startup and shutdown) around a block."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..app import Quart
    from ..typing import Message
    from .client import QuartClient

DEFAULT_TIMEOUT = 6


class LifespanError(Exception):
    """Startup or shutdown failed; the message is the app's."""


class TestApp:
    """``async with app.test_app() as test_app:`` starts the app as a server would
    (before_serving, while_serving) and shuts it down at the end of the block.

    Leaving the block waits for the background tasks the app started (as a server's
    shutdown does), so the test can then assert what they did. ``shutdown_timeout``
    comes on top of ``BACKGROUND_TASK_SHUTDOWN_TIMEOUT``."""

    def __init__(
        self,
        app: Quart,
        startup_timeout: float = DEFAULT_TIMEOUT,
        shutdown_timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.app = app
        self.startup_timeout = startup_timeout
        self.shutdown_timeout = shutdown_timeout
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def test_client(self) -> QuartClient:
        return self.app.test_client()

    async def startup(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
        self._task = asyncio.create_task(self.app(scope, self._to_app.get, self._from_app.put))
        await self._to_app.put({"type": "lifespan.startup"})
        await self._expect("lifespan.startup", self.startup_timeout)

    async def shutdown(self) -> None:
        await self._to_app.put({"type": "lifespan.shutdown"})
        background_timeout = self.app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"]
        if background_timeout is None:  # the app waits for its tasks as long as they take
            await self._expect("lifespan.shutdown", None)
        else:
            await self._expect("lifespan.shutdown", self.shutdown_timeout + background_timeout)
        assert self._task is not None
        await self._task

    async def _expect(self, stage: str, timeout: float | None) -> None:
        assert self._task is not None
        async with asyncio.timeout(timeout):
            getter = asyncio.ensure_future(self._from_app.get())
            await asyncio.wait({getter, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if not getter.done():
            getter.cancel()
            self._task.result()
            raise LifespanError(f"The app ended its lifespan before {stage} completed.")
        message = getter.result()
        if message["type"] == f"{stage}.failed":
            await self._task
            raise LifespanError(message.get("message", ""))

    async def __aenter__(self) -> TestApp:
        await self.startup()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.shutdown()
