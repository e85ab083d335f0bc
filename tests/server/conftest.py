"""The ``serve`` fixture: ``base_url = await serve(app)`` serves ``app`` with hypercorn on
127.0.0.1 at a free port; talk to it with ``httpx.AsyncClient``. Stopped at teardown."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest

from .serving import running_server

ServeFn = Callable[..., Awaitable[str]]


@pytest.fixture
async def serve() -> AsyncIterator[ServeFn]:
    """``base_url = await serve(app, **hypercorn_config)``; stopped at teardown."""
    async with AsyncExitStack() as stack:

        async def _serve(app: Any, **config: Any) -> str:
            return await stack.enter_async_context(running_server(app, **config))

        yield _serve
