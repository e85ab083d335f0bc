"""Background tasks under real servers (hypercorn and uvicorn on 127.0.0.1): the server's
shutdown waits for them (and cancels a loop started at startup), and a failing task is
logged and signalled while the app goes on serving."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from quart import Quart, got_background_exception

from .serving import running_server, running_uvicorn


@pytest.fixture(params=["hypercorn", "uvicorn"])
def running(request: pytest.FixtureRequest):
    """``async with running(app) as base_url:``; leaving it stops the server and returns
    once the server (its lifespan shutdown included) has finished."""
    return running_server if request.param == "hypercorn" else running_uvicorn


async def test_shutdown_waits_for_tasks(running):
    app = Quart(__name__, static_folder=None)
    events = []
    release = asyncio.Event()

    async def record(value):
        await release.wait()
        await asyncio.sleep(0.05)
        events.append(value)

    @app.post("/jobs/<int:value>")
    async def create_job(value):
        app.add_background_task(record, value)
        return "accepted", 202

    @app.after_serving
    async def stop():
        events.append("after_serving")

    async with running(app) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post("/jobs/7")
        assert response.status_code == 202  # answered while the task still waits
        assert events == []
        release.set()
    # the task's write came before the server's shutdown returned, and before after_serving
    assert events == [7, "after_serving"]
    assert app.background_tasks == set()


async def test_startup_loop_is_cancelled_at_shutdown(running):
    app = Quart(__name__, static_folder=None)
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = 0.2
    ticks = []
    events = []

    async def heartbeat():
        try:
            while True:
                ticks.append(None)
                await asyncio.sleep(0.01)
        finally:
            events.append("heartbeat stopped")

    @app.before_serving
    async def start():
        app.add_background_task(heartbeat)

    @app.get("/ticks")
    async def count():
        return {"ticking": bool(ticks)}

    async with running(app) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        assert (await http.get("/ticks")).json() == {"ticking": True}
    assert events == ["heartbeat stopped"]
    assert app.background_tasks == set()


async def test_failing_task_is_reported_and_serving_goes_on(running, caplog):
    app = Quart(__name__, static_folder=None)
    signalled = []
    reported = asyncio.Event()

    async def on_failure(sender, exception):
        signalled.append(exception)
        reported.set()

    async def broken():
        raise ValueError("task broke")

    @app.get("/fail")
    async def fail():
        app.add_background_task(broken)
        return "queued"

    @app.get("/ok")
    async def ok():
        return "ok"

    with caplog.at_level(logging.ERROR), got_background_exception.connected_to(on_failure, app):
        async with running(app) as base_url, httpx.AsyncClient(base_url=base_url) as http:
            assert (await http.get("/fail")).status_code == 200
            async with asyncio.timeout(5):
                await reported.wait()
            for _ in range(20):
                response = await http.get("/ok")
                assert (response.status_code, response.text) == (200, "ok")
    [error] = signalled
    assert str(error) == "task broke"
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[1] is error]
    assert len(logged) == 1
    assert logged[0].name == app.logger.name
