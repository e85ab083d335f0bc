"""The chat program (chat_app/) through the test client's websockets: each visitor's
messages reach everyone connected, arrivals and departures are announced, a nameless
visitor is refused before the handshake, and the broker forgets those who leave."""

from __future__ import annotations

import asyncio
import json

import pytest
from chat_app import app, broker, history
from program_helpers import finishes_within

from quart.testing import WebsocketResponseError

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def empty_room() -> None:
    # Each test checks for itself that the visitors it connected are gone at its end.
    history.clear()
    broker.connections.clear()


async def _join(test_client, name: str, online: int):
    """Connect and wait until the room has us: our welcome, then our own arrival."""
    connection = test_client.websocket(f"/ws?name={name}")
    test_websocket = await connection.__aenter__()
    assert await test_websocket.receive_json() == {"type": "welcome", "online": online}
    assert await test_websocket.receive_json() == {"type": "joined", "user": name}
    return connection, test_websocket


@finishes_within(3)
async def test_index_serves_the_client_page() -> None:
    response = await app.test_client().get("/")
    assert response.status_code == 200
    text = await response.get_data(as_text=True)
    # url_for makes a websocket route's URL absolute, with the ws scheme.
    assert "new WebSocket(`ws://localhost/ws?name=" in text
    assert '<ul id="messages"></ul>' in text


@finishes_within(3)
async def test_message_is_echoed_back_to_the_sender() -> None:
    test_client = app.test_client()
    async with test_client.websocket("/ws?name=alice") as test_websocket:
        assert json.loads(await test_websocket.receive()) == {"type": "welcome", "online": 1}
        assert await test_websocket.receive_json() == {"type": "joined", "user": "alice"}
        task = asyncio.ensure_future(test_websocket.receive_json())
        await test_websocket.send(json.dumps({"text": "message"}))
        assert await task == {"type": "message", "user": "alice", "text": "message"}
    assert broker.connections == set()


@finishes_within(3)
async def test_messages_reach_everyone_and_departures_are_announced() -> None:
    test_client = app.test_client()
    alice_connection, alice = await _join(test_client, "alice", online=1)
    try:
        async with test_client.websocket("/ws?name=bob") as bob:
            assert await bob.receive_json() == {"type": "welcome", "online": 2}
            assert await bob.receive_json() == {"type": "joined", "user": "bob"}
            assert await alice.receive_json() == {"type": "joined", "user": "bob"}

            await alice.send_json({"text": "hi bob"})
            expected = {"type": "message", "user": "alice", "text": "hi bob"}
            assert await alice.receive_json() == expected
            assert await bob.receive_json() == expected

            await bob.send_json({"text": "hi alice"})
            expected = {"type": "message", "user": "bob", "text": "hi alice"}
            assert await bob.receive_json() == expected
            assert await alice.receive_json() == expected
        # Leaving the block disconnected bob and waited for his handler to finish.
        assert len(broker.connections) == 1
        assert await alice.receive_json() == {"type": "left", "user": "bob"}
    finally:
        await alice_connection.__aexit__(None, None, None)
    assert broker.connections == set()


@finishes_within(3)
async def test_blank_messages_are_dropped() -> None:
    test_client = app.test_client()
    async with test_client.websocket("/ws?name=carol") as test_websocket:
        await test_websocket.receive_json()
        await test_websocket.receive_json()
        await test_websocket.send_json({"text": "   "})
        await test_websocket.send_json({})
        await test_websocket.send_json({"text": " real "})
        assert await test_websocket.receive_json() == {
            "type": "message",
            "user": "carol",
            "text": "real",
        }
    assert broker.connections == set()


@finishes_within(3)
async def test_a_visitor_without_a_name_is_refused_before_the_handshake() -> None:
    test_client = app.test_client()
    with pytest.raises(WebsocketResponseError) as caught:
        async with test_client.websocket("/ws") as test_websocket:
            await test_websocket.receive()
    assert caught.value.response.status_code == 400


@finishes_within(3)
async def test_history_keeps_the_last_five_messages_as_json() -> None:
    test_client = app.test_client()
    async with test_client.websocket("/ws?name=dave") as test_websocket:
        await test_websocket.receive_json()
        await test_websocket.receive_json()
        for number in range(7):
            await test_websocket.send_json({"text": f"m{number}"})
            assert (await test_websocket.receive_json())["text"] == f"m{number}"
    assert broker.connections == set()
    response = await test_client.get("/history")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert [event["text"] for event in await response.get_json()] == [
        "m2",
        "m3",
        "m4",
        "m5",
        "m6",
    ]


@finishes_within(3)
async def test_the_room_works_inside_the_served_app() -> None:
    async with app.test_app() as test_app:
        test_client = test_app.test_client()
        async with test_client.websocket("/ws?name=erin") as test_websocket:
            assert await test_websocket.receive_json() == {"type": "welcome", "online": 1}
        assert broker.connections == set()
