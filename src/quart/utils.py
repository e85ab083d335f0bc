"""Small tools used across the framework: running sync code off the loop, path handling."""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextvars import ContextVar, copy_context
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from werkzeug.datastructures import Headers

from .typing import FilePath

P = ParamSpec("P")
T = TypeVar("T")

_STOP = object()

#: The event loop that handed the current thread its work (set in the threads ``run_sync``
#: uses), so sync code can schedule work back on it: ``app.add_background_task``.
_cv_loop: ContextVar[asyncio.AbstractEventLoop] = ContextVar("quart.loop")


def is_async_callable(func: Any) -> bool:
    """True if calling ``func`` returns an awaitable we should await directly.

    Looks through ``functools.partial`` and at the ``__call__`` of callable objects, so that
    class-based handlers with ``async def __call__`` are awaited instead of sent to a thread.
    """
    while isinstance(func, functools.partial):
        func = func.func
    if inspect.iscoroutinefunction(func):
        return True
    call = getattr(func, "__call__", None)  # noqa: B004 - we want the method itself
    return call is not None and not inspect.isfunction(func) and inspect.iscoroutinefunction(call)


def run_sync(func: Callable[P, Any]) -> Callable[P, Awaitable[Any]]:
    """Wrap a sync callable so that awaiting it runs it in the loop's thread pool.

    Blocking code in a view or hook must never stall the event loop. The call runs in a copy
    of the current context, so ``request``, ``g`` and friends work inside it. A generator
    result is turned into an async iterator whose steps also run in the pool, and a
    coroutine result (a sync decorator around an async function) is awaited.
    """

    @functools.wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
        loop = asyncio.get_running_loop()
        call = functools.partial(func, *args, **kwargs)
        context = copy_context()
        context.run(_cv_loop.set, loop)
        result = await loop.run_in_executor(None, context.run, call)
        if inspect.isgenerator(result):
            return run_sync_iterable(result)
        if inspect.iscoroutine(result):
            return await result
        return result

    return wrapper


def run_sync_iterable(iterable: Iterable[T]) -> AsyncIterator[T]:
    """Iterate a sync iterable in the thread pool, one step at a time.

    Each ``next`` runs in the context this function was called in, so a generator that
    reads ``request`` keeps seeing the request it was made for.
    """
    iterator: Iterator[T] = iter(iterable)
    context = copy_context()

    def step() -> Any:
        return next(iterator, _STOP)

    async def generate() -> AsyncIterator[T]:
        loop = asyncio.get_running_loop()
        context.run(_cv_loop.set, loop)
        running: asyncio.Future[Any] | None = None
        try:
            while True:
                running = loop.run_in_executor(None, context.run, step)
                # Shielded: a thread cannot be stopped, so when we are cancelled (a
                # timeout, a client that left) the step runs on and is waited for below.
                item = await asyncio.shield(running)
                running = None
                if item is _STOP:
                    return
                yield item
        finally:
            if running is not None:
                # A generator cannot be closed while a step is running in it.
                await asyncio.wait((running,))
                if not running.cancelled():
                    running.exception()  # retrieved: the stream is over either way
            close = getattr(iterator, "close", None)
            if close is not None:
                await loop.run_in_executor(None, context.run, close)

    return generate()


def file_path_to_path(*paths: FilePath) -> Path:
    """Join and normalise path parts given as str, bytes or path-likes."""
    parts = [os.fsdecode(path) for path in paths]
    return Path(*parts)


# Headers whose few distinct values recur on nearly every response; their ASGI encoding is
# kept. Others (cookies, locations, ETags) are encoded each time and never kept.
_RECURRING_HEADERS = frozenset(
    {"Content-Type", "Content-Length", "Vary", "Cache-Control", "Allow", "Accept-Ranges"}
)
_ENCODED: dict[tuple[str, str], tuple[bytes, bytes]] = {}


def encode_headers(headers: Headers) -> list[tuple[bytes, bytes]]:
    """Headers as ASGI wants them: lower-cased latin-1 names and latin-1 values."""
    encoded = []
    for pair in headers:
        item = _ENCODED.get(pair)
        if item is None:
            name, value = pair
            item = (name.lower().encode("latin1"), value.encode("latin1"))
            if name in _RECURRING_HEADERS and len(_ENCODED) < 1024:
                _ENCODED[pair] = item
        encoded.append(item)
    return encoded


def decode_headers(raw: Iterable[tuple[bytes, bytes]]) -> Headers:
    """An ASGI header list as a werkzeug ``Headers`` object."""
    return Headers([(key.decode("latin1"), value.decode("latin1")) for key, value in raw])


class MustReloadError(Exception):
    """A watched source file changed: the development server must restart."""


def _watched_files() -> dict[str, float]:
    mtimes: dict[str, float] = {}
    for module in list(sys.modules.values()):
        filename = getattr(module, "__file__", None)
        if not filename:
            continue
        try:
            mtimes[filename] = os.stat(filename).st_mtime
        except OSError:
            continue
    return mtimes


async def observe_changes(shutdown_event: asyncio.Event, interval: float = 1.0) -> None:
    """Poll the files of loaded modules; raise ``MustReloadError`` when one changes.

    Returns quietly once ``shutdown_event`` is set.
    """
    last = _watched_files()
    while not shutdown_event.is_set():
        try:
            async with asyncio.timeout(interval):
                await shutdown_event.wait()
        except TimeoutError:
            pass
        current = _watched_files()
        for filename, mtime in current.items():
            if last.get(filename, mtime) != mtime:
                shutdown_event.set()
                raise MustReloadError(filename)
        last = current


def restart() -> None:
    """Replace this process with a fresh run of the same command (for the reloader)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name not in ("__main__", None):
        name = spec.name[: -len(".__main__")] if spec.name.endswith(".__main__") else spec.name
        args = ["-m", name, *sys.argv[1:]]
    else:
        args = sys.argv
    os.execv(sys.executable, [sys.executable, *args])
