"""The worker threads file responses make their blocking calls in (quart.file_threads):
results and errors come back to the caller, a call nobody waits for any more still
releases what it acquired, and threads are reused rather than started per call."""

from __future__ import annotations

import asyncio
import threading

import pytest

from quart.file_threads import MAX_THREADS, call_in_thread

TIMEOUT = 10.0


def file_threads() -> int:
    return sum(thread.name == "quart-file" for thread in threading.enumerate())


async def test_a_call_runs_in_another_thread_and_returns_its_result() -> None:
    assert await call_in_thread(threading.get_ident) != threading.get_ident()
    assert await call_in_thread(divmod, 7, 2) == (3, 1)


async def test_a_call_raising_raises_in_the_caller() -> None:
    def fail() -> None:
        raise PermissionError("no")

    with pytest.raises(PermissionError, match="no"):
        await call_in_thread(fail)


async def test_sequential_calls_reuse_a_thread() -> None:
    await call_in_thread(int)  # at least one thread exists from here on
    before = file_threads()
    for number in range(50):
        assert await call_in_thread(int, number) == number
    assert file_threads() == before


async def test_calls_at_the_same_time_run_at_the_same_time() -> None:
    count = min(3, MAX_THREADS)
    barrier = threading.Barrier(count, timeout=TIMEOUT)  # broken unless all wait at once
    results = await asyncio.gather(*(call_in_thread(barrier.wait) for _ in range(count)))
    assert sorted(results) == list(range(count))


async def test_a_call_nobody_waits_for_cleans_up_once_done() -> None:
    started = threading.Event()
    release = threading.Event()
    cleaned = asyncio.Event()
    cleaned_in: list[int] = []

    def slow() -> str:
        started.set()
        release.wait(TIMEOUT)
        return "acquired"

    def cleanup() -> None:
        cleaned_in.append(threading.get_ident())
        cleaned.set()

    waiting = asyncio.ensure_future(call_in_thread(slow, cleanup=cleanup))
    assert await asyncio.to_thread(started.wait, TIMEOUT)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert not cleaned.is_set()  # the call still runs: nothing to clean up yet
    release.set()
    async with asyncio.timeout(TIMEOUT):
        await cleaned.wait()
    assert cleaned_in == [threading.get_ident()]  # on the loop, as the caller would


async def test_a_call_that_completes_needs_no_cleanup() -> None:
    cleaned: list[bool] = []
    # The outcome is handed over by the same callback that would clean up instead.
    assert await call_in_thread(len, "abc", cleanup=lambda: cleaned.append(True)) == 3
    assert cleaned == []


def test_a_call_outliving_its_loop_cleans_up_in_its_thread() -> None:
    started = threading.Event()
    release = threading.Event()
    cleaned = threading.Event()

    def slow() -> None:
        started.set()
        release.wait(TIMEOUT)

    async def leave_it_running() -> None:
        # Not awaited: the loop closes while the call runs.
        call_in_thread(slow, cleanup=cleaned.set)
        await asyncio.to_thread(started.wait, TIMEOUT)

    asyncio.run(leave_it_running())
    release.set()
    assert cleaned.wait(TIMEOUT)
