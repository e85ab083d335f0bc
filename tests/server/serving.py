"""Serve an app with a real server (hypercorn) on 127.0.0.1 inside the test's event loop.

Most tests use the ``serve`` fixture (conftest.py). Tests that need to stop the server
themselves (to watch ``after_serving`` run) use ``running_server`` directly.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config

HOST = "127.0.0.1"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


def free_port() -> int:
    """A port that was free a moment ago (the OS picks it; hypercorn cannot report one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


async def _accepts_connections(port: int) -> bool:
    try:
        _reader, writer = await asyncio.open_connection(HOST, port)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True


async def _wait_until_listening(port: int, server: asyncio.Task[None]) -> None:
    """Poll until the port accepts connections; fail at once if the server task ended."""
    async with asyncio.timeout(START_TIMEOUT):
        while not await _accepts_connections(port):
            if server.done():
                server.result()  # re-raise the server's own error
                raise RuntimeError("hypercorn stopped before it started listening")
            # Nothing announces that hypercorn is listening, so poll (the brief allows this).
            await asyncio.sleep(0.01)


@asynccontextmanager
async def running_server(app: Any, **config: Any) -> AsyncIterator[str]:
    """Serve ``app`` with hypercorn on 127.0.0.1 at a free port; yield its base URL.

    Keyword arguments set hypercorn ``Config`` attributes. On exit the server is shut
    down through its shutdown trigger and the serving task is awaited, so the ASGI
    lifespan shutdown (``after_serving``) has finished when this returns.
    """
    port = free_port()
    hypercorn_config = Config()
    hypercorn_config.bind = [f"{HOST}:{port}"]
    hypercorn_config.accesslog = None
    # A Logger object (not "-"), so records propagate to pytest's capture.
    hypercorn_config.errorlog = logging.getLogger("hypercorn.error")
    hypercorn_config.graceful_timeout = 2.0
    for name, value in config.items():
        setattr(hypercorn_config, name, value)

    shutdown = asyncio.Event()
    server = asyncio.create_task(
        hypercorn_serve(app, hypercorn_config, shutdown_trigger=shutdown.wait)
    )
    try:
        await _wait_until_listening(port, server)
        yield f"http://{HOST}:{port}"
    finally:
        shutdown.set()
        async with asyncio.timeout(STOP_TIMEOUT):
            await server


@asynccontextmanager
async def running_uvicorn(app: Any, **config: Any) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1 at a free port; yield its base URL.

    Keyword arguments go to ``uvicorn.Config``. Stopped by asking the server to exit,
    which runs the lifespan shutdown before this returns.
    """
    import uvicorn

    port = free_port()
    settings: dict[str, Any] = {"log_level": "warning", "lifespan": "on", **config}
    server = uvicorn.Server(uvicorn.Config(app, host=HOST, port=port, **settings))
    serving = asyncio.create_task(server.serve())
    try:
        await _wait_until_listening(port, serving)
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        async with asyncio.timeout(STOP_TIMEOUT):
            await serving
