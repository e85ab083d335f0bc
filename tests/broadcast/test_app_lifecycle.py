"""A Broadcast tied to an app with ``init_app``: it connects when the app starts serving
and closes when it stops, which ends the subscriptions of websocket handlers and
server-sent-event streams; an EventSource that reconnects, to the same worker or another,
gets what it missed once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest

from leftover_tasks import our_tasks
from quart import Quart, abort, make_sse_response, request, websocket
from quart.broadcast import Broadcast, BroadcastUnavailable
from quart.sse import ServerSentEvent
from quart.testing import WebsocketDisconnectError
from redis_support import RedisServer

from .support import TIMEOUT, outage


def chat_app(broadcast: Broadcast) -> Quart:
    app = Quart(__name__)
    broadcast.init_app(app)

    @app.websocket("/ws")
    async def relay() -> None:
        async with broadcast.subscribe("room") as subscription:
            await websocket.send("subscribed")
            async for message in subscription:
                await websocket.send(message)
        await websocket.send("ended")

    return app


def feed_app(broadcast: Broadcast) -> Quart:
    """Notes posted to any worker reach every EventSource, which resumes after a drop."""
    app = Quart(__name__)
    broadcast.init_app(app)

    @app.post("/notes")
    async def post_note() -> Any:
        try:
            await broadcast.publish("feed", (await request.get_json())["text"])
        except BroadcastUnavailable:
            abort(503)
        return "", 204

    @app.get("/events")
    async def events() -> Any:
        try:
            subscription = broadcast.subscribe("feed", last_id=request.headers.get("Last-Event-ID"))
        except ValueError:
            abort(400)  # a Last-Event-ID this feed never sent

        async def stream() -> AsyncIterator[ServerSentEvent]:
            async with subscription:
                yield ServerSentEvent("", event="ready")
                async for note in subscription:
                    yield ServerSentEvent(note, id=subscription.last_id)

        return await make_sse_response(stream(), keep_alive=None)

    @app.get("/ping")
    async def ping() -> str:
        return "pong"

    return app


def parse_event(chunk: bytes) -> dict[str, str]:
    fields = {}
    for line in chunk.decode().strip("\n").split("\n"):
        name, _, value = line.partition(": ")
        fields[name] = value
    return fields


async def test_init_app_connects_while_serving_and_registers_itself(url: str) -> None:
    broadcast = Broadcast(url)
    app = chat_app(broadcast)
    assert app.extensions["broadcast"] is broadcast
    assert not broadcast.connected
    for _ in range(2):  # served again, it connects again
        async with app.test_app():
            assert broadcast.connected
            async with broadcast.subscribe("room") as subscription:
                await broadcast.publish("room", "hello")
                async with asyncio.timeout(TIMEOUT):
                    assert await anext(subscription) == "hello"
        assert not broadcast.connected
        assert our_tasks() == []


async def test_shutdown_ends_a_websocket_handlers_subscription(url: str) -> None:
    broadcast = Broadcast(url)
    app = chat_app(broadcast)
    loop = asyncio.get_running_loop()
    subscribed, relayed = loop.create_future(), loop.create_future()

    async def client_side() -> tuple[list[Any], int]:
        async with app.test_client().websocket("/ws") as ws:
            received = [await ws.receive()]
            subscribed.set_result(None)
            received.append(await ws.receive())
            relayed.set_result(None)
            received.append(await ws.receive())
            with pytest.raises(WebsocketDisconnectError) as closed:
                await ws.receive()
        return received, closed.value.code

    async with asyncio.timeout(TIMEOUT):
        async with app.test_app():
            task = asyncio.create_task(client_side())
            await subscribed
            await broadcast.publish("room", "hello")
            await relayed
        # Shutting down closed the broadcast: the handler's loop ended, and so did it.
        assert await task == (["subscribed", "hello", "ended"], 1000)
    assert our_tasks() == []


@pytest.fixture
def workers(url: str) -> tuple[Quart, Quart]:
    """Two apps standing in for two workers: on Redis, each with its own Broadcast; in
    memory (one process), the same app twice."""
    first = feed_app(Broadcast(url, history=100))
    if url == "memory://":
        return first, first
    return first, feed_app(Broadcast(url, history=100))


async def test_an_event_source_that_reconnects_gets_what_it_missed_once(
    workers: tuple[Quart, Quart],
) -> None:
    one, two = workers
    async with asyncio.timeout(TIMEOUT), AsyncExitStack() as serving:
        for app in {one, two}:
            await serving.enter_async_context(app.test_app())
        client_one, client_two = one.test_client(), two.test_client()
        async with client_one.request("/events") as connection:
            await connection.send_complete()
            assert parse_event(await connection.receive())["event"] == "ready"
            for text in ("first", "second"):
                response = await client_two.post("/notes", json={"text": text})
                assert response.status_code == 204
            seen = [parse_event(await connection.receive()) for _ in range(2)]
            await connection.disconnect()
        assert [event["data"] for event in seen] == ["first", "second"]
        last_event_id = seen[-1]["id"]

        for text in ("third", "fourth"):  # while the EventSource is away
            await client_one.post("/notes", json={"text": text})

        headers = {"Last-Event-ID": last_event_id}
        async with client_two.request("/events", headers=headers) as connection:
            await connection.send_complete()
            assert parse_event(await connection.receive())["event"] == "ready"
            await client_one.post("/notes", json={"text": "fifth"})
            again = [parse_event(await connection.receive()) for _ in range(3)]
            await connection.disconnect()
    assert [event["data"] for event in again] == ["third", "fourth", "fifth"]
    ids = [event["id"] for event in (*seen, *again)]
    assert len(set(ids)) == 5
    assert our_tasks() == []


async def test_a_last_event_id_the_feed_never_sent_is_a_400(
    workers: tuple[Quart, Quart],
) -> None:
    one, _ = workers
    async with one.test_app():
        response = await one.test_client().get("/events", headers={"Last-Event-ID": "nope"})
    assert response.status_code == 400


async def test_the_app_answers_during_an_outage_and_publishing_is_a_503(
    redis_server: RedisServer,
) -> None:
    app = feed_app(Broadcast(redis_server.url, history=10))
    async with asyncio.timeout(TIMEOUT), app.test_app():
        client = app.test_client()
        outage(redis_server, "stop")
        assert await (await client.get("/ping")).get_data(as_text=True) == "pong"
        assert (await client.post("/notes", json={"text": "x"})).status_code == 503
        redis_server.start()
        assert (await client.post("/notes", json={"text": "y"})).status_code == 204
    assert our_tasks() == []
