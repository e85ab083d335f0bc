"""Startup and shutdown as in Quart 0.22: ``shutdown_event`` is made at startup and set
first thing at shutdown, before background tasks are waited for; then the
``while_serving`` generators finish (last registered first), then ``after_serving``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from datetime import timedelta

import pytest

from quart import Quart


async def test_while_serving_generators_finish_in_reverse_then_after_serving(
    app: Quart,
) -> None:
    events: list[str] = []

    @app.while_serving
    async def first() -> AsyncGenerator[None, None]:
        events.append("first up")
        yield
        events.append("first down")

    @app.after_serving
    async def after_one() -> None:
        events.append("after one")

    @app.while_serving
    async def second() -> AsyncGenerator[None, None]:
        events.append("second up")
        yield
        events.append("second down")

    @app.after_serving
    def after_two() -> None:  # sync: run in a thread
        events.append("after two")

    async with app.test_app():
        assert events == ["first up", "second up"]
    assert events == [
        "first up",
        "second up",
        "second down",
        "first down",
        "after one",
        "after two",
    ]


async def test_shutdown_event_is_made_at_startup_and_set_first_at_shutdown(app: Quart) -> None:
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = 60  # only the event can end it in time
    seen: list[str] = []

    async def watcher() -> None:
        await app.shutdown_event.wait()
        seen.append("watcher saw shutdown")

    @app.before_serving
    async def start() -> None:
        assert not app.shutdown_event.is_set()
        app.add_background_task(watcher)

    @app.while_serving
    async def lifetime() -> AsyncGenerator[None, None]:
        yield
        seen.append("while_serving ended")  # after the background task has ended

    async with asyncio.timeout(10):
        async with app.test_app():
            event = app.shutdown_event
            assert isinstance(event, app.event_class)
            assert not event.is_set()
    assert event.is_set()
    assert seen == ["watcher saw shutdown", "while_serving ended"]

    async with app.test_app():  # a new event for each time the app serves
        assert app.shutdown_event is not event
        assert not app.shutdown_event.is_set()


async def test_event_and_lock_classes_are_asyncio_s() -> None:
    assert Quart.event_class is asyncio.Event
    assert Quart.lock_class is asyncio.Lock

    class TracedEvent(asyncio.Event):
        pass

    class App(Quart):
        event_class = TracedEvent

    app = App(__name__)
    async with app.test_app():
        assert type(app.shutdown_event) is TracedEvent


async def test_a_quart_tasks_periodic_task_runs_and_stops_at_shutdown(
    app: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    quart_tasks = pytest.importorskip("quart_tasks")
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = 60
    tasks = quart_tasks.QuartTasks(app)
    ran = asyncio.Event()
    runs: list[str] = []

    @tasks.periodic(timedelta(milliseconds=5))
    async def tick() -> None:
        from quart import current_app

        runs.append(current_app.name)  # in the app's context
        ran.set()

    with caplog.at_level(logging.WARNING):
        async with asyncio.timeout(10):
            async with app.test_app():
                await ran.wait()
    assert runs and set(runs) == {app.name}
    loops = list(app.background_tasks)
    assert loops and all(task.done() and not task.cancelled() for task in loops)
    assert "Cancelling" not in caplog.text  # the loop ended on shutdown_event, not by force
