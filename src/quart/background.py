"""Background tasks: work the app starts that outlives the request, websocket or startup
code that started it (``app.add_background_task``).

Each task runs in a copy of the app context of the code that added it (the same ``g``),
never in its request or websocket context: a request is over once its response is sent,
so ``request``, ``websocket`` and ``session`` raise ``RuntimeError`` inside a task. Pass
what the task needs from the request as arguments. Other context variables (a tracing
library's, say) are copied as ``asyncio.create_task`` copies them.

The app keeps a strong reference to every task in ``app.background_tasks`` until it ends,
and shutdown waits for them (``finish_background_tasks``), including those added while it
waits or by ``after_serving`` code. A task added once shutdown has finished still runs,
but nothing waits for it.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Callable
from contextvars import Context, ContextVar, copy_context
from typing import TYPE_CHECKING, Any

from . import concurrency
from . import globals as _globals

if TYPE_CHECKING:
    from .app import Quart

# Assigned, not imported: see the note in quart/globals.py.
_cv_loop = concurrency._cv_loop
_cv_app = _globals._cv_app
_cv_request = _globals._cv_request
_cv_websocket = _globals._cv_websocket

# The framework's own context variables: a task gets a fresh app context and no request.
_FRAMEWORK_VARS: frozenset[ContextVar[Any]] = frozenset({_cv_app, _cv_request, _cv_websocket})


def start_background_task(
    app: Quart, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """Schedule ``func(*args, **kwargs)`` as a tracked task on the running loop or, from
    sync code ``run_sync`` runs in a thread, on the loop that started that code."""
    if not callable(func):
        if inspect.iscoroutine(func):
            func.close()  # never awaited: close it so Python does not warn about it
        raise TypeError(
            f"add_background_task takes a function and its arguments, not {func!r}: pass"
            " the function without calling it."
        )
    call = app.ensure_async(func)  # sync or async decided once, here
    current = _cv_app.get(None)
    app_context = (
        current.copy() if current is not None and current.app is app else app.app_context()
    )

    async def run() -> None:
        try:
            await app_context.push()
            error: Exception | None = None
            try:
                await call(*args, **kwargs)
            except Exception as raised:
                error = raised
                await app.handle_background_exception(raised)
            finally:
                await app_context.pop(error)
        except Exception:
            # The app context's teardown or a got_background_exception receiver failed:
            # there is no one left to tell but the log.
            app.log_exception(sys.exc_info())

    name = f"background task {getattr(func, '__qualname__', repr(func))}"
    context = _task_context()

    def create() -> None:
        task = loop.create_task(run(), name=name, context=context)
        app.background_tasks.add(task)
        task.add_done_callback(app.background_tasks.discard)

    loop, in_loop_thread = _target_loop()
    if in_loop_thread:
        create()
    else:
        # Runs on the loop before the thread's result gets back to it (callbacks keep
        # their order), so the task is tracked before the calling view or hook returns.
        loop.call_soon_threadsafe(create)


def _target_loop() -> tuple[asyncio.AbstractEventLoop, bool]:
    """The loop to run a task on, and whether this is its thread."""
    try:
        return asyncio.get_running_loop(), True
    except RuntimeError:
        pass
    starter = _cv_loop.get(None)
    if starter is None:
        raise RuntimeError(
            "add_background_task needs a running event loop: call it from the app's code"
            " (views, hooks, serving functions) or from a coroutine."
        )
    return starter, False


def _task_context() -> Context:
    """A copy of the current context without the framework's variables."""
    context = Context()
    for var, value in copy_context().items():
        if var not in _FRAMEWORK_VARS:
            context.run(var.set, value)
    return context


async def finish_background_tasks(app: Quart) -> None:
    """Wait for the app's background tasks, including those they add meanwhile, for up to
    ``BACKGROUND_TASK_SHUTDOWN_TIMEOUT`` seconds (``None``: as long as they take), then
    cancel the rest and wait for them to end."""
    timeout = app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"]
    try:
        async with asyncio.timeout(timeout):
            while pending := _running(app):
                await asyncio.wait(pending)
    except TimeoutError:
        pending = _running(app)
        names = ", ".join(sorted(task.get_name() for task in pending))
        app.logger.warning(
            f"Cancelling {len(pending)} background task(s) still running after"
            f" BACKGROUND_TASK_SHUTDOWN_TIMEOUT ({timeout} s): {names}"
        )
        await cancel_background_tasks(app)


async def cancel_background_tasks(app: Quart) -> None:
    """Cancel every running background task and wait until each has ended (its
    ``finally`` blocks run). A task that catches the cancellation and carries on keeps
    this waiting: let ``CancelledError`` through."""
    while pending := _running(app):
        for task in pending:
            task.cancel()
        await asyncio.wait(pending)


def _running(app: Quart) -> set[asyncio.Task[None]]:
    return {task for task in app.background_tasks if not task.done()}
