"""Shutdown under a real server (hypercorn), as in Quart 0.22: ``shutdown_event`` is
set first, so a long-running background loop started by a request ends at once; then
the ``while_serving`` generators finish, last registered first; then ``after_serving``.
A Host outside SERVER_NAME gets werkzeug's warning and a 404."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import httpx
import pytest

from quart import Quart
from server.serving import running_server


async def test_shutdown_sets_the_event_then_ends_serving_in_quarts_order() -> None:
    app = Quart(__name__)
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = 60  # only the event can end it in time
    events: list[str] = []
    loop_started = asyncio.Event()

    async def poller() -> None:
        loop_started.set()
        await app.shutdown_event.wait()  # a long-lived loop would check it between rounds
        events.append("poller stopped")

    @app.route("/start")
    async def start() -> str:
        app.add_background_task(poller)
        return "started"

    @app.while_serving
    async def database() -> AsyncGenerator[None, None]:
        yield
        events.append("database closed")

    @app.while_serving
    async def cache() -> AsyncGenerator[None, None]:
        yield
        events.append("cache closed")

    @app.after_serving
    async def goodbye() -> None:
        events.append("after_serving")

    async with asyncio.timeout(20):
        async with running_server(app) as base_url:
            async with httpx.AsyncClient() as client:
                assert (await client.get(f"{base_url}/start")).text == "started"
            await loop_started.wait()
            assert not app.shutdown_event.is_set()
    assert app.shutdown_event.is_set()
    assert events == ["poller stopped", "cache closed", "database closed", "after_serving"]


async def test_a_host_outside_server_name_is_warned_about_and_not_found() -> None:
    app = Quart(__name__)
    app.config["SERVER_NAME"] = "example.com"

    @app.route("/")
    async def index() -> str:
        return "ok"

    async with running_server(app) as base_url, httpx.AsyncClient() as client:
        response = await client.get(f"{base_url}/", headers={"Host": "example.com"})
        assert response.text == "ok"
        with pytest.warns(UserWarning, match="SERVER_NAME"):
            response = await client.get(f"{base_url}/", headers={"Host": "elsewhere.org"})
        assert response.status_code == 404
