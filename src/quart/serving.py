"""The embedded development server: the app on hypercorn, with signals and a reloader."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from hypercorn.asyncio import serve
from hypercorn.config import Config as HyperConfig

from .helpers import get_debug_flag
from .reloader import MustReloadError, reload_on_change, restart

if TYPE_CHECKING:
    from .app import Quart

#: One line per request, in the common log format (client, time, request line with its
#: query string, status, body size) followed by the time taken in seconds.
ACCESS_LOG_FORMAT = '%(h)s - - %(t)s "%(m)s %(Uq)s HTTP/%(H)s" %(s)s %(b)s %(L)ss'

#: Set by ``quart run`` around its call of ``app.run()``, which is then not one to ignore.
cli_run: ContextVar[bool] = ContextVar("quart.serving.cli_run", default=False)

#: Files besides the app's source whose change restarts the server (``quart run
#: --extra-files``), set by the command around its call of ``app.run()``.
reload_extra_files: ContextVar[tuple[str, ...]] = ContextVar(
    "quart.serving.reload_extra_files", default=()
)


def serve_app(
    app: Quart,
    host: str,
    port: int,
    ca_certs: str | None = None,
    certfile: str | None = None,
    keyfile: str | None = None,
    shutdown_trigger: Callable[..., Awaitable[None]] | None = None,
) -> Coroutine[None, None, None]:
    """A coroutine serving ``app`` with hypercorn on ``host:port`` until the trigger."""
    config = HyperConfig()
    config.access_log_format = ACCESS_LOG_FORMAT
    config.accesslog = "-"
    config.errorlog = "-"
    config.bind = [f"{_bracketed(host)}:{port}"]
    config.ca_certs = ca_certs
    config.certfile = certfile
    config.keyfile = keyfile
    return serve(app, config, shutdown_trigger=shutdown_trigger)  # type: ignore[arg-type]


def run(
    app: Quart,
    host: str | None,
    port: int | None,
    debug: bool | None,
    use_reloader: bool,
    loop: asyncio.AbstractEventLoop | None,
    ca_certs: str | None,
    certfile: str | None,
    keyfile: str | None,
) -> None:
    """Serve ``app`` in the foreground until SIGINT or SIGTERM (see ``Quart.run``).

    Called by ``quart run`` (``cli_run`` set), which has set ``app.debug`` already.
    Otherwise (``app.run()`` in the app's code) a call made while a ``quart`` command
    imports the app does nothing, so that an ``app.run()`` outside a ``__main__`` guard
    cannot block the command.
    """
    if not cli_run.get():
        if os.environ.get("QUART_RUN_FROM_CLI") == "true":
            print(
                " * Ignoring a call to 'app.run()': the 'quart' command is loading the app."
                " Call 'app.run()' only under 'if __name__ == \"__main__\":'.",
                file=sys.stderr,
            )
            return
        if "QUART_DEBUG" in os.environ:
            app.debug = get_debug_flag()
    if debug is not None:
        app.debug = debug
    if loop is None:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.set_debug(bool(app.debug))

    shutdown_event = asyncio.Event()
    stop_asked = False

    def stop(*_: Any) -> None:
        nonlocal stop_asked
        stop_asked = True
        shutdown_event.set()

    async def stopped() -> None:
        await shutdown_event.wait()
        # Tell websocket clients the server is going away (1001) before hypercorn stops:
        # it would otherwise hold them for its graceful timeout, then cancel them.
        await close_websockets(app)

    for name in ("SIGINT", "SIGTERM"):
        try:
            loop.add_signal_handler(getattr(signal, name), stop)
        except NotImplementedError:  # pragma: no cover - not on Windows
            signal.signal(getattr(signal, name), stop)

    server_host, _, server_port = (app.config.get("SERVER_NAME") or "").partition(":")
    host = host or server_host or "127.0.0.1"
    port = port or int(server_port or 5000)
    scheme = "https" if certfile and keyfile else "http"
    print(f" * Serving Quart app '{app.name}'")
    print(f" * Debug mode: {bool(app.debug)}")
    print(" * Please use an ASGI server (e.g. hypercorn) directly in production")
    print(f" * Running on {scheme}://{_bracketed(host)}:{port} (CTRL + C to quit)")

    server = serve_app(app, host, port, ca_certs, certfile, keyfile, stopped)
    tasks: list[asyncio.Future[Any]] = [loop.create_task(server)]
    if use_reloader:
        watcher = reload_on_change(shutdown_event, reload_extra_files.get())
        tasks.append(loop.create_task(watcher))
    must_reload = False
    try:
        loop.run_until_complete(asyncio.gather(*tasks))
    except MustReloadError:
        must_reload = True
        # The shutdown event is set: let the server close its connections and run the
        # lifespan shutdown, as on CTRL+C, rather than cancelling it halfway.
        loop.run_until_complete(asyncio.wait(tasks[:1]))
    finally:
        try:
            _cancel_all_tasks(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()
    if must_reload and not stop_asked:  # CTRL+C while reloading means stop
        restart()


async def close_websockets(app: Quart) -> None:
    """Close every websocket ``app`` is handling with 1001 (going away), ending each
    handler as if its client had left: what a server shutting down owes its clients,
    and which ASGI has no message for."""
    for connection in list(app._open_websockets):
        await connection._go_away(1001, "Server shutting down")


def _bracketed(host: str) -> str:
    """An IPv6 address in brackets, as it must be beside a port."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _cancel_all_tasks(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler(
                {
                    "message": "unhandled exception during shutdown",
                    "exception": task.exception(),
                    "task": task,
                }
            )
