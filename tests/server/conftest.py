"""``serve_each``: like ``serve`` (tests/conftest.py), parametrised over hypercorn and
uvicorn, for behaviour that must hold whichever server runs the app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest

from .serving import running_server, running_uvicorn

ServeFn = Callable[..., Awaitable[str]]


@pytest.fixture(params=["hypercorn", "uvicorn"])
async def serve_each(request: pytest.FixtureRequest) -> AsyncIterator[ServeFn]:
    """``base_url = await serve_each(app)``, once with each server (``serve_each.server``
    names it)."""
    runner = running_server if request.param == "hypercorn" else running_uvicorn
    async with AsyncExitStack() as stack:

        async def _serve(app: Any, **config: Any) -> str:
            return await stack.enter_async_context(runner(app, **config))

        _serve.server = request.param  # type: ignore[attr-defined]
        yield _serve
