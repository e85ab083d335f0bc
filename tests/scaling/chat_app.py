"""The chat example as the scaling tests serve it: the example's app, unchanged, behind
a few lines of ASGI that add the worker's process id to every websocket handshake answer
(``X-Worker-Pid``), so that a test can tell which worker each client reached.

The example reads ``QUART_BROADCAST_URL`` from the environment the tests give the
server."""

from __future__ import annotations

import os
from typing import Any

from example_apps import load_example

chat = load_example("chat").app
PID = str(os.getpid()).encode()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "websocket":
        await chat(scope, receive, send)
        return

    async def send_with_pid(message: dict[str, Any]) -> None:
        if message["type"] == "websocket.accept":
            headers = [*message.get("headers", ()), (b"x-worker-pid", PID)]
            message = {**message, "headers": headers}
        await send(message)

    await chat(scope, receive, send_with_pid)
