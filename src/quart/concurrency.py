"""Sync code and async code calling each other: a sync view or hook runs in the thread
pool (``run_sync``), sync code in such a thread waits for a coroutine on the event loop
(``run_async``), and a group of tasks is cancelled and its failures raised."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import queue
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Iterator
from contextvars import ContextVar, copy_context
from typing import Any, ParamSpec, TypeVar

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
    coroutine result (a sync decorator around an async function) is awaited. In a
    coroutine that a pool thread waits for (``wait_for_coroutine``), the call runs in
    that waiting thread instead.
    """

    @functools.wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
        loop = asyncio.get_running_loop()
        call = functools.partial(func, *args, **kwargs)
        context = copy_context()
        context.run(_cv_loop.set, loop)
        waiting = _cv_waiting.get(None)
        lent = None if waiting is None else waiting.submit(functools.partial(context.run, call))
        if lent is None:
            result = await loop.run_in_executor(None, context.run, call)
        else:
            result = await asyncio.wrap_future(lent)
        if inspect.isgenerator(result):
            return run_sync_iterable(result)
        if inspect.iscoroutine(result):
            return await result
        return result

    return wrapper


def run_async(func: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """Wrap an async callable so that sync code can call it and get its result (see
    ``wait_for_coroutine``): the reverse of ``run_sync``.

    .. versionadded:: 0.20
    """
    what = getattr(func, "__qualname__", None) or repr(func)

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        return wait_for_coroutine(func(*args, **kwargs), f"await {what}(...)")

    return wrapper


def wait_for_coroutine(coroutine: Coroutine[Any, Any, T], instead: str) -> T:
    """Run ``coroutine`` to its end from sync code and return its result.

    Sync code in a thread ``run_sync`` started (a sync view or hook, or a Flask
    extension's wrapper around an async view) hands it to the event loop that started
    the thread and waits; it runs there in a copy of the thread's context, so
    ``request`` and the other globals are the caller's. On the event loop's own thread
    waiting would stop the loop for good, so that is a RuntimeError naming what to write
    ``instead``. Where there is no event loop at all, one is run for the call.

    .. versionadded:: 0.20
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        coroutine.close()
        raise RuntimeError(
            "A coroutine cannot be waited for synchronously on the event loop's thread: it"
            f" would block the loop forever. In async code, use `{instead}`; or run the"
            " sync code in a worker thread (a sync view or hook runs in one)."
        )
    loop = _cv_loop.get(None)
    if loop is None:
        return asyncio.run(coroutine)
    waiting = _WaitingThread()
    context = copy_context()
    context.run(_cv_waiting.set, waiting)
    try:
        # Scheduled from within ``context``, the coroutine runs in a copy of it.
        future = context.run(asyncio.run_coroutine_threadsafe, coroutine, loop)
    except BaseException:
        coroutine.close()  # the loop is closed: nothing will run it
        raise
    return waiting.serve_until(future)


class _WaitingThread:
    """A thread blocked in ``wait_for_coroutine``, lent to the coroutine it waits for:
    the sync calls that coroutine makes through ``run_sync`` run here, not in another
    pool thread. Otherwise, once every pool thread waited so, those calls would wait
    for a free thread for ever: a sync view rendering a template that has a sync context
    processor (Flask-Login adds one) would hang the app under a few concurrent requests.
    """

    def __init__(self) -> None:
        self._calls: queue.SimpleQueue[_LentCall | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._open = True

    def submit(self, call: Callable[[], Any]) -> concurrent.futures.Future[Any] | None:
        """Queue ``call`` to run in this thread; None once the thread stopped waiting."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._lock:
            if not self._open:
                return None
            self._calls.put((call, future))
        return future

    def serve_until(self, done: concurrent.futures.Future[T]) -> T:
        """Run the calls queued here until ``done`` is, then return its result."""
        done.add_done_callback(lambda _: self._calls.put(None))
        while (lent := self._calls.get()) is not None:
            _run_lent(lent)
        with self._lock:
            self._open = False
        while not self._calls.empty():  # queued just before closing
            lent = self._calls.get()
            if lent is not None:
                _run_lent(lent)
        return done.result()


_LentCall = tuple[Callable[[], Any], "concurrent.futures.Future[Any]"]

#: The thread waiting for the coroutine this context runs in (see ``_WaitingThread``).
_cv_waiting: ContextVar[_WaitingThread] = ContextVar("quart.waiting_thread")


def _run_lent(lent: _LentCall) -> None:
    call, future = lent
    if not future.set_running_or_notify_cancel():
        return  # whoever awaited it was cancelled first
    try:
        result = call()
    except BaseException as error:
        future.set_exception(error)
    else:
        future.set_result(result)


def finish_without_waiting(coroutine: Coroutine[Any, Any, T], instead: str) -> T:
    """Run ``coroutine`` at once in the calling thread and context, for sync code on the
    event loop's thread: work that needs no I/O (parsing a body already received,
    loading a cookie session) completes without suspending. If it would have to wait,
    it is closed (its ``finally`` blocks run) and a RuntimeError names what to write
    ``instead``.

    .. versionadded:: 0.20
    """
    try:
        coroutine.send(None)
    except StopIteration as finished:
        return finished.value  # type: ignore[no-any-return]
    coroutine.close()
    raise RuntimeError(
        f"This needs to wait for I/O, which sync code cannot do here. Use `{instead}`."
    )


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


async def cancel_tasks(tasks: set[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks``, wait until each has finished (running its cleanup), then raise
    the first exception one of them ended with other than its cancellation."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    raise_task_exceptions(tasks)


def raise_task_exceptions(tasks: set[asyncio.Task[Any]]) -> None:
    """Raise the exception of the first finished task of ``tasks`` that failed (cancelled
    tasks did not fail)."""
    for task in tasks:
        if task.done() and not task.cancelled():
            error = task.exception()
            if error is not None:
                raise error
