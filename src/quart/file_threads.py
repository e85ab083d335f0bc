"""The worker threads that file responses make their blocking calls in (stat, open,
read, close), so that no file call ever runs on the event loop.

Not the loop's default executor, for cost: a call through ``loop.run_in_executor``
executes some 130,000 instructions under uvloop (a ``concurrent.futures.Future`` with its
``Condition``, the executor's idle semaphore, an asyncio future chained to it), a call
here about 25,000 (a queue, a thread waiting on it, ``call_soon_threadsafe`` to hand back
the result). A small file is one such call and a large one a call per chunk, so this is
most of what a file response costs. Only calls on files this package opened itself are
made here (a file object given to ``send_file`` may be anything, so it is read with
``run_sync``): they are short, and need none of what ``run_sync`` adds for user code (the
caller's context, a thread lent by a waiting sync view); they never wait for the event
loop, so they cannot deadlock a busy pool.

Threads start when calls find none idle, up to as many as the default executor would
have (``min(32, cpus + 4)``); they are daemon threads that wait for work for the life of
the process (a forked child starts with none).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any, TypeVar

T = TypeVar("T")

#: The most threads started, as for the default executor: calls may wait on a slow disk.
MAX_THREADS = min(32, (os.cpu_count() or 1) + 4)

_Call = tuple[
    asyncio.AbstractEventLoop,
    "asyncio.Future[Any]",
    Callable[..., Any],
    tuple[Any, ...],
    Callable[[], None] | None,
]


def call_in_thread(
    func: Callable[..., T], *args: Any, cleanup: Callable[[], None] | None = None
) -> asyncio.Future[T]:
    """Start ``func(*args)`` in a file thread; the future resolves with its result.

    A thread cannot be stopped: when the future is cancelled first (the client left, a
    timeout), the call runs on, and then ``cleanup()`` runs on the loop (in the thread if
    the loop is closed by then) to release what the call may have acquired, such as a
    file it opened.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    _pool.submit((loop, future, func, args, cleanup))
    return future


class _Pool:
    """A queue of calls and the threads that make them."""

    def __init__(self) -> None:
        self._calls: SimpleQueue[_Call] = SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0  # threads waiting for a call, or about to
        self._queued = 0  # calls no thread has taken yet

    def submit(self, call: _Call) -> None:
        with self._lock:
            self._queued += 1
            start = self._queued > self._idle and self._threads < MAX_THREADS
            if start:
                self._threads += 1
        if start:
            try:
                threading.Thread(target=self._work, name="quart-file", daemon=True).start()
            except BaseException:  # no thread to be had (at interpreter shutdown, say)
                with self._lock:
                    self._threads -= 1
                    self._queued -= 1
                raise
        self._calls.put(call)

    def _work(self) -> None:
        calls, lock = self._calls, self._lock
        with lock:
            self._idle += 1
        while True:
            loop, future, func, args, cleanup = calls.get()
            with lock:
                self._idle -= 1
                self._queued -= 1
            try:
                outcome: tuple[bool, Any] = (True, func(*args))
            except BaseException as error:  # handed to the awaiting task, whatever it is
                outcome = (False, error)
            # Idle again before the caller hears back, so that its next call (made as
            # soon as it does) finds this thread rather than starting another.
            with lock:
                self._idle += 1
            try:
                loop.call_soon_threadsafe(_settle, future, outcome, cleanup)
            except RuntimeError:  # the loop is closed: nobody waits for the outcome
                if cleanup is not None:
                    with contextlib.suppress(Exception):  # nobody to tell; the thread lives on
                        cleanup()
            del loop, future, func, args, cleanup, outcome  # nothing held while idle


def _settle(future: asyncio.Future[Any], outcome: tuple[bool, Any], cleanup: Any) -> None:
    """On the loop: resolve ``future``, or clean up after a call nobody waits for."""
    if future.cancelled():
        if cleanup is not None:
            cleanup()
        return
    succeeded, value = outcome
    if succeeded:
        future.set_result(value)
    else:
        future.set_exception(value)


_pool = _Pool()


def _forget_threads() -> None:
    """In a forked child, the parent's threads do not exist: start from none."""
    global _pool
    _pool = _Pool()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_threads)
