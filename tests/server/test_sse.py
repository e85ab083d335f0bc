"""Server-sent events over real servers (hypercorn and uvicorn): an HTTP client reads the
stream line by line, event by event, as a browser's EventSource does, sees keep-alive
comments in the pauses, resumes with Last-Event-ID, and leaves mid-stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx

from leftover_tasks import our_tasks
from quart import Quart, ServerSentEvent, make_sse_response, request

TIMEOUT = 10.0


async def read_event(lines: AsyncIterator[str]) -> list[str]:
    """The lines of the next event (up to the blank line that ends it), comments skipped."""
    event: list[str] = []
    async for line in lines:
        if not line:
            if event:
                return event
            continue
        if not line.startswith(":"):
            event.append(line)
    raise AssertionError(f"the stream ended inside an event: {event}")


def feed_app(queue: asyncio.Queue[Any], state: dict[str, Any]) -> Quart:
    """An app with an endless feed at /feed: every item put on ``queue`` becomes an event."""
    app = Quart(__name__)
    state["closed"] = asyncio.Event()
    state["torn_down"] = asyncio.Event()

    @app.teardown_request
    async def record(error: BaseException | None) -> None:
        state["torn_down"].set()

    @app.route("/feed")
    async def feed() -> Any:
        state["last_event_id"] = request.headers.get("Last-Event-ID")

        async def generate() -> AsyncIterator[Any]:
            try:
                while True:
                    yield await queue.get()
            finally:
                state["closed"].set()

        return await make_sse_response(generate(), keep_alive=state.get("keep_alive", 15.0))

    return app


async def test_events_arrive_one_by_one_as_they_happen(serve_each: Any) -> None:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    state: dict[str, Any] = {}
    base_url = await serve_each(feed_app(queue, state))
    async with (
        asyncio.timeout(TIMEOUT),
        httpx.AsyncClient(base_url=base_url) as client,
        client.stream("GET", "/feed") as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        assert "content-length" not in response.headers
        lines = response.aiter_lines()
        # Each event is put only after the previous one was read: a server that held the
        # stream back would never deliver the first.
        await queue.put(ServerSentEvent("hello\nworld", event="greeting", id="1"))
        assert await read_event(lines) == [
            "event: greeting",
            "id: 1",
            "data: hello",
            "data: world",
        ]
        await queue.put({"price": 10})
        assert await read_event(lines) == ['data: {"price": 10}']
        await queue.put("plain")
        assert await read_event(lines) == ["data: plain"]


async def test_keep_alive_comments_arrive_while_the_feed_is_quiet(serve_each: Any) -> None:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    state: dict[str, Any] = {"keep_alive": 0.05}
    base_url = await serve_each(feed_app(queue, state))
    async with (
        asyncio.timeout(TIMEOUT),
        httpx.AsyncClient(base_url=base_url) as client,
        client.stream("GET", "/feed") as response,
    ):
        lines = response.aiter_lines()
        assert [await anext(lines) for _ in range(4)] == [": keep-alive", "", ": keep-alive", ""]
        await queue.put("news")  # the feed's pending wait was kept across the keep-alives
        assert await read_event(lines) == ["data: news"]


async def test_a_reconnecting_client_sends_the_last_event_id(serve_each: Any) -> None:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    state: dict[str, Any] = {}
    base_url = await serve_each(feed_app(queue, state))
    async with (
        asyncio.timeout(TIMEOUT),
        httpx.AsyncClient(base_url=base_url) as client,
        client.stream("GET", "/feed", headers={"Last-Event-ID": "41"}) as response,
    ):
        await queue.put(ServerSentEvent("resumed", id="42"))
        assert await read_event(response.aiter_lines()) == ["id: 42", "data: resumed"]
    assert state["last_event_id"] == "41"


async def test_a_client_leaving_closes_the_feed_and_tears_down(serve_each: Any) -> None:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    state: dict[str, Any] = {"keep_alive": 0.05}
    base_url = await serve_each(feed_app(queue, state))
    async with asyncio.timeout(TIMEOUT):
        async with (
            httpx.AsyncClient(base_url=base_url) as client,
            client.stream("GET", "/feed") as response,
        ):
            await queue.put("only")
            assert await read_event(response.aiter_lines()) == ["data: only"]
        # The client has closed its connection; the feed was waiting on its queue.
        await state["closed"].wait()
        await state["torn_down"].wait()
    assert our_tasks() == []
