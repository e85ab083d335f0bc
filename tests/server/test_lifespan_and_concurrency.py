"""Serving hooks run through the ASGI lifespan protocol; many requests are served at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypercorn.utils import LifespanFailureError

from quart import Quart, current_app

from .serving import running_server

TIMEOUT = 10.0


async def test_serving_hooks_run_when_the_server_starts_and_stops() -> None:
    app = Quart(__name__)
    events: list[str] = []

    @app.before_serving
    async def open_pool() -> None:
        events.append("before_serving")
        current_app.config["POOL"] = "open"  # runs inside an app context

    @app.before_serving
    def sync_hook() -> None:
        events.append("sync before_serving")

    @app.while_serving
    async def around() -> AsyncIterator[None]:
        events.append("while_serving start")
        yield
        events.append("while_serving end")

    @app.after_serving
    async def close_pool() -> None:
        events.append("after_serving")
        current_app.config["POOL"] = "closed"

    @app.route("/state")
    async def state() -> dict[str, Any]:
        return {"events": events, "pool": current_app.config["POOL"]}

    assert events == []
    async with running_server(app) as base_url:
        # startup completed before the server accepted connections
        assert events == ["before_serving", "sync before_serving", "while_serving start"]
        async with httpx.AsyncClient(base_url=base_url) as client:
            response = await client.get("/state")
        assert response.json() == {
            "events": ["before_serving", "sync before_serving", "while_serving start"],
            "pool": "open",
        }
        assert "after_serving" not in events
    # leaving running_server awaited the server task: shutdown has run
    assert events[:3] == ["before_serving", "sync before_serving", "while_serving start"]
    assert sorted(events[3:]) == ["after_serving", "while_serving end"]
    assert app.config["POOL"] == "closed"


async def test_before_serving_hooks_run_once_per_server_not_per_request() -> None:
    app = Quart(__name__)
    calls = {"before": 0, "after": 0}

    @app.before_serving
    async def before() -> None:
        calls["before"] += 1

    @app.after_serving
    async def after() -> None:
        calls["after"] += 1

    @app.route("/")
    async def index() -> str:
        return "ok"

    async with running_server(app) as base_url, httpx.AsyncClient(base_url=base_url) as client:
        for _ in range(3):
            assert (await client.get("/")).text == "ok"
        assert calls == {"before": 1, "after": 0}
    assert calls == {"before": 1, "after": 1}


async def test_failing_before_serving_stops_the_server_starting() -> None:
    app = Quart(__name__)

    @app.before_serving
    async def broken() -> None:
        raise RuntimeError("cannot connect to the database")

    # the app reports lifespan.startup.failed (with the reason) and hypercorn refuses to serve
    with pytest.raises(LifespanFailureError, match="cannot connect to the database"):
        async with running_server(app):
            pytest.fail("the server must not start")


async def test_fifty_concurrent_requests(serve: Any) -> None:
    app = Quart(__name__)
    total = 50
    arrived = 0
    everyone_here = asyncio.Event()
    peak = 0
    active = 0

    @app.route("/work/<int:number>")
    async def work(number: int) -> dict[str, int]:
        nonlocal arrived, active, peak
        active += 1
        peak = max(peak, active)
        arrived += 1
        if arrived == total:
            everyone_here.set()
        # no request is answered until all of them are being handled at once
        await everyone_here.wait()
        active -= 1
        return {"number": number, "square": number * number}

    base_url = await serve(app)
    limits = httpx.Limits(max_connections=total)
    async with (
        httpx.AsyncClient(base_url=base_url, limits=limits) as client,
        asyncio.timeout(TIMEOUT),
    ):
        responses = await asyncio.gather(*(client.get(f"/work/{n}") for n in range(total)))
    assert [r.status_code for r in responses] == [200] * total
    assert [r.json() for r in responses] == [{"number": n, "square": n * n} for n in range(total)]
    assert peak == total


async def test_concurrent_sync_views_and_not_found(serve: Any) -> None:
    app = Quart(__name__)

    @app.route("/sync/<int:number>")
    def sync_view(number: int) -> str:
        return str(number * 2)

    base_url = await serve(app)
    async with httpx.AsyncClient(base_url=base_url) as client, asyncio.timeout(TIMEOUT):
        responses = await asyncio.gather(
            *(client.get(f"/sync/{n}") for n in range(25)),
            *(client.get(f"/missing/{n}") for n in range(25)),
        )
    assert [r.text for r in responses[:25]] == [str(n * 2) for n in range(25)]
    assert {r.status_code for r in responses[25:]} == {404}
