"""The JSON helpers with and without an app, and how sync code is run off the loop."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import io
import threading
from datetime import date
from decimal import Decimal

from quart import Quart, json
from quart.utils import is_async_callable, run_sync, run_sync_iterable


@dataclasses.dataclass
class Point:
    x: int
    y: int


async def test_json_helpers_use_the_app_provider_when_there_is_one(app: Quart) -> None:
    value = {"b": Decimal("1.5"), "a": date(2024, 1, 2), "p": Point(1, 2)}
    expected = '{"a": "Tue, 02 Jan 2024 00:00:00 GMT", "b": "1.5", "p": {"x": 1, "y": 2}}'
    assert json.dumps(value, sort_keys=True) == expected  # no app: Flask's defaults
    async with app.app_context():
        app.json.sort_keys = False  # type: ignore[attr-defined]
        assert json.dumps({"b": 1, "a": 2}) == '{"b": 1, "a": 2}'
        assert json.loads('{"a": [1]}') == {"a": [1]}
        buffer = io.StringIO()
        json.dump({"k": "v"}, buffer)
        assert json.load(io.StringIO(buffer.getvalue())) == {"k": "v"}
    assert json.loads(b'{"a": 1}') == {"a": 1}
    buffer = io.StringIO()
    json.dump({"d": date(2024, 1, 2)}, buffer)
    assert json.load(io.StringIO(buffer.getvalue())) == {"d": "Tue, 02 Jan 2024 00:00:00 GMT"}


async def test_jsonify_needs_an_app() -> None:
    import pytest

    with pytest.raises(RuntimeError, match="application context"):
        json.jsonify(a=1)


async def test_async_callables_are_recognised_through_partials_and_objects() -> None:
    async def coroutine_function(value):
        return value

    class AsyncCall:
        async def __call__(self):
            return 1

    class SyncCall:
        def __call__(self):
            return 1

    assert is_async_callable(coroutine_function)
    assert is_async_callable(functools.partial(coroutine_function, 1))
    assert is_async_callable(AsyncCall())
    assert not is_async_callable(SyncCall())
    assert not is_async_callable(len)


async def test_run_sync_runs_in_a_thread_and_handles_generators_and_coroutines() -> None:
    loop_thread = threading.current_thread()

    def where() -> threading.Thread:
        return threading.current_thread()

    assert await run_sync(where)() is not loop_thread

    def numbers():
        yield threading.current_thread()
        yield threading.current_thread()

    iterator = await run_sync(numbers)()
    threads = [thread async for thread in iterator]
    assert len(threads) == 2 and loop_thread not in threads

    async def inner():
        return threading.current_thread()

    def wraps_async():
        return inner()  # a sync decorator around an async function returns a coroutine

    assert await run_sync(wraps_async)() is loop_thread  # awaited on the loop


async def test_run_sync_iterable_closes_the_iterator_when_abandoned() -> None:
    closed = threading.Event()

    def endless():
        try:
            while True:
                yield 1
        finally:
            closed.set()

    iterator = run_sync_iterable(endless())
    assert await iterator.__anext__() == 1
    await iterator.aclose()  # type: ignore[attr-defined]
    assert await asyncio.get_running_loop().run_in_executor(None, closed.wait, 5)
