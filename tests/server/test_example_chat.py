"""The chat example (examples/chat/app.py), with the test client and with hypercorn."""

from __future__ import annotations

import asyncio
import json
from types import ModuleType
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed as ClientConnectionClosed

from example_apps import load_example
from quart.testing import WebsocketDisconnectError

TIMEOUT = 10.0


@pytest.fixture
def example() -> ModuleType:
    return load_example("chat")


async def test_the_page_opens_a_websocket(example: ModuleType) -> None:
    response = await example.app.test_client().get("/")
    assert response.status_code == 200
    assert "new WebSocket(" in await response.get_data(as_text=True)


async def test_members_hear_joins_messages_and_leaves(example: ModuleType) -> None:
    client = example.app.test_client()
    async with client.websocket("/ws", query_string={"name": "ann"}) as ann:
        assert await ann.receive_json() == {"type": "joined", "name": "ann", "members": 1}
        async with client.websocket("/ws", query_string={"name": "bob"}) as bob:
            joined = {"type": "joined", "name": "bob", "members": 2}
            assert await ann.receive_json() == joined
            assert await bob.receive_json() == joined
            await bob.send_json({"text": "  hi ann  "})
            said = {"type": "message", "name": "bob", "text": "hi ann"}
            assert await ann.receive_json() == said
            assert await bob.receive_json() == said
            await bob.send("not json")
            assert (await bob.receive_json())["type"] == "error"
        assert await ann.receive_json() == {"type": "left", "name": "bob", "members": 1}
    async with asyncio.timeout(TIMEOUT):
        while example.members:
            await asyncio.sleep(0.01)


async def test_a_name_is_required(example: ModuleType) -> None:
    async with example.app.test_client().websocket("/ws") as ws:
        with pytest.raises(WebsocketDisconnectError) as closed:
            await ws.receive()
    assert closed.value.code == 1008


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
                await next_of(ann, "joined")
                await ann.send(json.dumps({"text": "hello bob"}))
                assert (await next_of(bob, "message"))["text"] == "hello bob"
            assert (await next_of(ann, "left"))["name"] == "bob"
        async with connect(f"{ws_base}/ws") as nameless:
            with pytest.raises(ClientConnectionClosed) as closed:
                await nameless.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
