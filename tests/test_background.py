"""Background tasks (``app.add_background_task``) through the test client and
``app.test_app()``: where they may be added, the context they run in, how shutdown waits
for and cancels them, and how their failures (and those of startup and shutdown code) are
reported."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
import warnings

import pytest

from quart import (
    current_app,
    g,
    got_background_exception,
    got_serving_exception,
    has_app_context,
    has_request_context,
    has_websocket_context,
    request,
    session,
    websocket,
)
from quart.testing import LifespanError

# ------------------------------------------------------------------ from views and hooks


async def test_response_is_sent_before_the_task_finishes(app):
    release = asyncio.Event()
    events = []

    async def job():
        await release.wait()
        events.append("job done")

    @app.route("/")
    async def index():
        app.add_background_task(job)
        return "accepted"

    async with app.test_app() as test_app:
        response = await test_app.test_client().get("/")
        assert await response.get_data(as_text=True) == "accepted"
        assert events == []
        [task] = app.background_tasks
        assert not task.done()
        release.set()
    assert events == ["job done"]
    assert app.background_tasks == set()


async def test_arguments_reach_the_task(app):
    received = []

    async def job(first, second, *, flag):
        received.append((first, second, flag))

    @app.route("/")
    async def index():
        app.add_background_task(job, 1, "two", flag=True)
        return ""

    async with app.test_app() as test_app:
        await test_app.test_client().get("/")
    assert received == [(1, "two", True)]


async def test_task_runs_in_a_copy_of_the_app_context(app):
    seen = {}

    async def job():
        seen["app"] = current_app.name
        seen["user"] = g.user
        seen["request"] = has_request_context()
        seen["websocket"] = has_websocket_context()
        with pytest.raises(RuntimeError, match="outside of request context"):
            _ = request.path
        with pytest.raises(RuntimeError, match="outside of request context"):
            _ = session.get("x")

    @app.route("/")
    async def index():
        g.user = "ada"
        app.add_background_task(job)
        return ""

    async with app.test_app() as test_app:
        await test_app.test_client().get("/")
    assert seen == {"app": app.name, "user": "ada", "request": False, "websocket": False}


async def test_task_tears_down_its_own_app_context(app):
    torn_down = []
    release = asyncio.Event()

    @app.teardown_appcontext
    def teardown(exc):
        torn_down.append((g.get("marker"), exc))

    async def job():
        await release.wait()
        g.marker = "task"

    @app.route("/")
    async def index():
        g.marker = "request"
        app.add_background_task(job)
        return ""

    async with app.test_app() as test_app:
        await test_app.test_client().get("/")
        assert torn_down[-1] == ("request", None)
        seen_before = len(torn_down)
        [task] = app.background_tasks
        release.set()
        await task
        # once more, for the task's own copy of the context (sharing the request's g)
        assert torn_down[seen_before:] == [("task", None)]


async def test_sync_task_runs_in_a_thread_with_the_app_context(app):
    seen = {}

    def job(value):
        seen["thread"] = threading.get_ident()
        seen["app"] = current_app.name
        seen["value"] = value

    @app.route("/")
    async def index():
        app.add_background_task(job, 42)
        return ""

    async with app.test_app() as test_app:
        await test_app.test_client().get("/")
    assert seen["thread"] != threading.get_ident()
    assert seen["app"] == app.name
    assert seen["value"] == 42


async def test_sync_view_adds_a_tracked_task(app):
    release = asyncio.Event()
    events = []

    async def job():
        await release.wait()
        events.append("done")

    def chores():  # runs in a thread, away from the event loop
        app.add_background_task(job)
        return "queued"

    app.add_url_rule("/", view_func=chores)

    async with app.test_app() as test_app:
        response = await test_app.test_client().get("/")
        assert response.status_code == 200
        [task] = app.background_tasks  # tracked by the time the response is back
        assert not task.done()
        release.set()
    assert events == ["done"]


async def test_sync_task_adds_another_task(app):
    events = []

    async def follow_up():
        events.append("follow-up")

    def job():
        events.append("job")
        current_app.add_background_task(follow_up)

    async with app.test_app():
        app.add_background_task(job)
    assert events == ["job", "follow-up"]


def test_adding_needs_an_event_loop(app):
    async def job():
        pass

    with pytest.raises(RuntimeError, match="needs a running event loop"):
        app.add_background_task(job)


async def test_tasks_from_request_hooks(app):
    events = []

    async def job(name):
        events.append(name)

    @app.before_request
    async def before():
        app.add_background_task(job, "before_request")

    @app.after_request
    def after(response):
        app.add_background_task(job, "after_request")
        return response

    @app.route("/")
    async def index():
        return ""

    async with app.test_app() as test_app:
        response = await test_app.test_client().get("/")
        assert response.status_code == 200
    assert sorted(events) == ["after_request", "before_request"]


async def test_task_from_a_websocket_handler(app):
    seen = []

    async def job(message):
        seen.append((message, has_websocket_context(), current_app.name))

    @app.websocket("/ws")
    async def ws():
        message = await websocket.receive()
        app.add_background_task(job, message)
        await websocket.send("queued")

    async with app.test_app() as test_app, test_app.test_client().websocket("/ws") as conn:
        await conn.send("hello")
        assert await conn.receive() == "queued"
    assert seen == [("hello", False, app.name)]


async def test_task_outside_any_context_gets_a_fresh_app_context(app):
    seen = []

    async def job():
        seen.append((current_app.name, has_request_context()))

    async with app.test_app():
        assert not has_app_context()
        app.add_background_task(job)
    assert seen == [(app.name, False)]


async def test_other_context_variables_are_copied(app):
    trace_id = contextvars.ContextVar("trace_id")
    seen = []

    async def job():
        seen.append(trace_id.get("unset"))

    @app.route("/")
    async def index():
        trace_id.set("abc123")
        app.add_background_task(job)
        return ""

    async with app.test_app() as test_app:
        await test_app.test_client().get("/")
    assert seen == ["abc123"]


async def test_test_client_runs_tasks_without_test_app(app, client):
    done = asyncio.Event()

    async def job():
        done.set()

    @app.route("/")
    async def index():
        app.add_background_task(job)
        return ""

    response = await client.get("/")
    assert response.status_code == 200
    async with asyncio.timeout(5):
        await done.wait()  # times out (and fails) if the task never ran
    assert done.is_set()


async def test_a_coroutine_object_is_refused(app):
    async def job():
        pass

    coroutine = job()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # closed, so no "never awaited" warning either
        with pytest.raises(TypeError, match="without calling it"):
            app.add_background_task(coroutine)
    assert coroutine.cr_frame is None  # closed
    with pytest.raises(TypeError, match="takes a function"):
        app.add_background_task("not a function")
    assert app.background_tasks == set()


# -------------------------------------------------------------- startup and shutdown


async def test_loop_from_before_serving_is_cancelled_at_shutdown(app, caplog):
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = 0.2
    events = []
    running = asyncio.Event()

    async def poll():
        try:
            while True:
                running.set()
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            events.append("cancelled")
            raise
        finally:
            events.append("cleaned up")

    @app.before_serving
    async def start():
        app.add_background_task(poll)

    with caplog.at_level(logging.WARNING):
        async with app.test_app():
            await running.wait()
            started = time.monotonic()
        elapsed = time.monotonic() - started
    assert events == ["cancelled", "cleaned up"]
    assert 0.2 <= elapsed < 2
    assert app.background_tasks == set()
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "poll" in warning.getMessage()


async def test_shutdown_waits_for_tasks_then_cancels_the_rest(app):
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = 0.3
    events = []
    never = asyncio.Event()

    async def quick():
        await asyncio.sleep(0.05)
        events.append("quick done")

    async def stuck():
        try:
            await never.wait()
        except asyncio.CancelledError:
            events.append("stuck cancelled")
            raise

    @app.route("/")
    async def index():
        app.add_background_task(quick)
        app.add_background_task(stuck)
        return ""

    async with app.test_app() as test_app:
        await test_app.test_client().get("/")
        started = time.monotonic()
    elapsed = time.monotonic() - started
    assert events == ["quick done", "stuck cancelled"]
    assert 0.3 <= elapsed < 2


async def test_shutdown_waits_for_tasks_added_meanwhile(app):
    events = []

    async def second():
        await asyncio.sleep(0.01)
        events.append("second")

    async def first():
        await asyncio.sleep(0.01)
        current_app.add_background_task(second)
        events.append("first")

    @app.route("/")
    async def index():
        app.add_background_task(first)
        return ""

    async with app.test_app() as test_app:
        await test_app.test_client().get("/")
    assert events == ["first", "second"]


async def test_tasks_finish_before_after_serving_and_its_own_tasks_are_awaited(app):
    events = []

    async def job(name):
        await asyncio.sleep(0.01)
        events.append(name)

    @app.route("/")
    async def index():
        app.add_background_task(job, "request task")
        return ""

    @app.after_serving
    async def stop():
        events.append("after_serving")
        app.add_background_task(job, "shutdown task")

    async with app.test_app() as test_app:
        await test_app.test_client().get("/")
    assert events == ["request task", "after_serving", "shutdown task"]


async def test_no_timeout_waits_as_long_as_tasks_take(app):
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = None
    events = []

    async def job():
        await asyncio.sleep(0.05)
        events.append("done")

    async with app.test_app():
        app.add_background_task(job)
    assert events == ["done"]


async def test_zero_timeout_cancels_at_once(app):
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = 0
    events = []

    async def job():
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            events.append("cancelled")
            raise

    async with app.test_app():
        app.add_background_task(job)
        started = time.monotonic()
    assert time.monotonic() - started < 1
    assert events == ["cancelled"]


async def test_test_app_allows_for_the_background_timeout(app):
    # Longer than TestApp's own shutdown timeout, but within the app's task timeout.
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = 5
    events = []

    async def job():
        await asyncio.sleep(0.2)
        events.append("done")

    test_app = app.test_app()
    test_app.shutdown_timeout = 0.1
    async with test_app:
        app.add_background_task(job)
    assert events == ["done"]


# ------------------------------------------------------------------------- failures


async def test_failing_task_is_logged_and_signalled_and_the_app_serves_on(app, caplog):
    sync_seen = []
    async_seen = []

    def on_sync(sender, exception):
        sync_seen.append((sender, exception))

    async def on_async(sender, exception):
        async_seen.append((sender, exception, current_app.name))

    async def job():
        raise ValueError("task broke")

    @app.route("/fail")
    async def fail():
        app.add_background_task(job)
        return "queued"

    @app.route("/ok")
    async def ok():
        return "ok"

    with (
        caplog.at_level(logging.ERROR),
        got_background_exception.connected_to(on_sync, app),
        got_background_exception.connected_to(on_async, app),
    ):
        async with app.test_app() as test_app:
            client = test_app.test_client()
            assert (await client.get("/fail")).status_code == 200
            for _ in range(5):
                assert (await client.get("/ok")).status_code == 200
    # shutdown ended without error (no exception from the block)
    [(sender, error)] = sync_seen
    assert sender is app
    assert isinstance(error, ValueError) and str(error) == "task broke"
    assert async_seen == [(app, error, app.name)]
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[1] is error]
    assert len(logged) == 1
    assert logged[0].name == app.logger.name
    assert logged[0].exc_info[2] is not None  # with its traceback


async def test_failing_sync_task_is_reported(app, caplog):
    seen = []

    def job():
        raise KeyError("missing")

    with (
        caplog.at_level(logging.ERROR),
        got_background_exception.connected_to(
            lambda sender, exception: seen.append(exception), app
        ),
    ):
        async with app.test_app():
            app.add_background_task(job)
    [error] = seen
    assert isinstance(error, KeyError)
    assert any(r.exc_info and r.exc_info[1] is error for r in caplog.records)


async def test_teardown_of_a_failing_task_sees_its_error(app, caplog):
    seen = []

    @app.teardown_appcontext
    def teardown(exc):
        seen.append(exc)

    async def job():
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR):
        async with app.test_app():
            app.add_background_task(job)
    # startup's context, then the task's, then shutdown's
    assert [type(exc) for exc in seen] == [type(None), RuntimeError, type(None)]


async def test_failing_signal_receiver_is_logged_not_lost(app, caplog):
    def broken_receiver(sender, exception):
        raise LookupError("receiver broke")

    async def job():
        raise ValueError("task broke")

    with (
        caplog.at_level(logging.ERROR),
        got_background_exception.connected_to(broken_receiver, app),
    ):
        async with app.test_app():
            app.add_background_task(job)
    errors = [type(r.exc_info[1]) for r in caplog.records if r.exc_info]
    assert errors == [ValueError, LookupError]


@pytest.mark.parametrize("stage", ["before_serving", "while_serving_start"])
async def test_startup_failure_sends_got_serving_exception(app, caplog, stage):
    seen = []
    if stage == "before_serving":

        @app.before_serving
        async def start():
            raise RuntimeError("cannot start")
    else:

        @app.while_serving
        async def lifespan():
            raise RuntimeError("cannot start")
            yield

    with (
        caplog.at_level(logging.ERROR),
        got_serving_exception.connected_to(lambda sender, exception: seen.append(exception), app),
        pytest.raises(LifespanError, match="RuntimeError: cannot start"),
    ):
        async with app.test_app():
            pass
    [error] = seen
    assert str(error) == "cannot start"


@pytest.mark.parametrize("stage", ["after_serving", "while_serving_end"])
async def test_shutdown_failure_sends_got_serving_exception(app, caplog, stage):
    seen = []
    if stage == "after_serving":

        @app.after_serving
        async def stop():
            raise RuntimeError("cannot stop")
    else:

        @app.while_serving
        async def lifespan():
            yield
            raise RuntimeError("cannot stop")

    with (
        caplog.at_level(logging.ERROR),
        got_serving_exception.connected_to(lambda sender, exception: seen.append(exception), app),
        pytest.raises(LifespanError, match="cannot stop"),
    ):
        async with app.test_app():
            pass
    [error] = seen
    assert str(error) == "cannot stop"


async def test_startup_failure_cancels_tasks_startup_began(app, caplog):
    events = []

    async def poll():
        try:
            await asyncio.Event().wait()
        finally:
            events.append("ended")

    @app.before_serving
    async def start():
        app.add_background_task(poll)
        await asyncio.sleep(0)  # the task is running when startup fails
        raise RuntimeError("cannot start")

    with caplog.at_level(logging.ERROR), pytest.raises(LifespanError):
        async with app.test_app():
            pass
    assert events == ["ended"]
    assert app.background_tasks == set()
