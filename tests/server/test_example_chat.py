"""The chat example (examples/chat/app.py), with the test client and with hypercorn, on
its default in-process broadcast (tests/scaling runs it across processes on Redis)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed as ClientConnectionClosed

from example_apps import load_example
from quart.broadcast import BroadcastUnavailable
from quart.testing import QuartClient, WebsocketDisconnectError

TIMEOUT = 10.0


@pytest.fixture
def example() -> ModuleType:
    return load_example("chat")


@pytest.fixture
async def client(example: ModuleType) -> AsyncIterator[QuartClient]:
    """A test client of the example while it serves (its broadcast connected)."""
    async with example.app.test_app() as test_app:
        yield test_app.test_client()


def test_the_broadcast_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_example("chat").broadcast.url == "memory://"
    monkeypatch.setenv("QUART_BROADCAST_URL", "redis://127.0.0.1:1/0")
    example = load_example("chat")
    assert example.app.config["BROADCAST_URL"] == "redis://127.0.0.1:1/0"
    assert example.broadcast.url == "redis://127.0.0.1:1/0"
    assert example.app.extensions["broadcast"] is example.broadcast


async def test_the_page_opens_a_websocket(client: QuartClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert "new WebSocket(" in await response.get_data(as_text=True)


async def test_members_hear_joins_messages_and_leaves(client: QuartClient) -> None:
    async with asyncio.timeout(TIMEOUT):
        async with client.websocket("/ws", query_string={"name": "ann"}) as ann:
            assert await ann.receive_json() == {"type": "joined", "name": "ann"}
            async with client.websocket("/ws", query_string={"name": "bob"}) as bob:
                joined = {"type": "joined", "name": "bob"}
                assert await ann.receive_json() == joined
                assert await bob.receive_json() == joined
                await bob.send_json({"text": "  hi ann  "})
                said = {"type": "message", "name": "bob", "text": "hi ann"}
                assert await ann.receive_json() == said
                assert await bob.receive_json() == said
                await bob.send("not json")
                assert await bob.receive_json() == {"type": "error", "text": "messages are JSON"}
                await bob.send_json({"text": "   "})  # nothing to say: nothing sent
                await ann.send_json({"text": "x" * 5000})
                for member in (ann, bob):
                    # cut to 1000 characters
                    assert await member.receive_json() == {
                        "type": "message",
                        "name": "ann",
                        "text": "x" * 1000,
                    }
            assert await ann.receive_json() == {"type": "left", "name": "bob"}


async def test_a_name_is_required(client: QuartClient) -> None:
    async with client.websocket("/ws") as ws:
        with pytest.raises(WebsocketDisconnectError) as closed:
            await ws.receive()
    assert closed.value.code == 1008


async def test_a_line_said_while_the_broker_is_away_is_refused(
    example: ModuleType, client: QuartClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unavailable(channel: str, message: Any) -> None:
        raise BroadcastUnavailable("Redis is unavailable")

    async with asyncio.timeout(TIMEOUT):
        async with client.websocket("/ws", query_string={"name": "ann"}) as ann:
            assert (await ann.receive_json())["type"] == "joined"
            with monkeypatch.context() as patch:
                patch.setattr(example.broadcast, "publish", unavailable)
                await ann.send_json({"text": "anyone?"})
                assert await ann.receive_json() == {
                    "type": "error",
                    "text": "the chat is unavailable: not sent",
                }
            # The member is still in the room once the broker is back.
            await ann.send_json({"text": "back"})
            assert await ann.receive_json() == {"type": "message", "name": "ann", "text": "back"}


async def test_members_are_told_when_the_chat_stops(
    example: ModuleType, client: QuartClient
) -> None:
    """The broadcast closes when the app stops serving: each member's websocket is closed
    with 1012 (service restart), so that pages know to come back."""
    async with asyncio.timeout(TIMEOUT):
        async with client.websocket("/ws", query_string={"name": "ann"}) as ann:
            assert (await ann.receive_json())["type"] == "joined"
            await example.broadcast.close()  # what after_serving does
            with pytest.raises(WebsocketDisconnectError) as closed:
                await ann.receive()
    assert (closed.value.code, closed.value.reason) == (1012, "the chat is restarting")


async def test_two_real_clients_chat_through_hypercorn(example: ModuleType, serve) -> None:
    base_url = await serve(example.app)
    ws_base = base_url.replace("http://", "ws://", 1)
    async with httpx.AsyncClient(base_url=base_url) as http:
        assert (await http.get("/")).status_code == 200

    async def next_of(connection: Any, kind: str) -> dict[str, Any]:
        while True:
            data = json.loads(await connection.recv())
            if data["type"] == kind:
                return data

    async with asyncio.timeout(TIMEOUT):
        async with connect(f"{ws_base}/ws?name=ann") as ann:
            await next_of(ann, "joined")
            async with connect(f"{ws_base}/ws?name=bob") as bob:
                assert await next_of(ann, "joined") == {"type": "joined", "name": "bob"}
                await ann.send(json.dumps({"text": "hello bob"}))
                assert (await next_of(bob, "message"))["text"] == "hello bob"
            assert await next_of(ann, "left") == {"type": "left", "name": "bob"}
        async with connect(f"{ws_base}/ws") as nameless:
            with pytest.raises(ClientConnectionClosed) as closed:
                await nameless.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
