"""The lifespan connection: the server's ``lifespan.startup`` and ``lifespan.shutdown``
messages in, the app's startup and shutdown run, their outcome reported back."""

from __future__ import annotations

import traceback
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .app import Quart
    from .typing import ASGIReceiveCallable, ASGISendCallable, Scope


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
