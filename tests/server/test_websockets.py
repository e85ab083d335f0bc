"""Websockets served by hypercorn and by uvicorn, spoken to with the `websockets` client."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed as ClientConnectionClosed
from websockets.exceptions import InvalidStatus

from quart import Quart, abort, websocket
from quart.exceptions import ConnectionClosed

TIMEOUT = 10.0


def ws_url(base_url: str, path: str) -> str:
    return base_url.replace("http://", "ws://", 1) + path


async def wait_for(condition: Any, timeout: float = TIMEOUT) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def make_app() -> tuple[Quart, dict[str, Any]]:
    app = Quart(__name__)
    state: dict[str, Any] = {"teardowns": [], "closed": [], "members": set()}

    @app.websocket("/echo")
    async def echo() -> None:
        while True:
            await websocket.send(await websocket.receive())

    @app.websocket("/json")
    async def json_api() -> None:
        while True:
            data = await websocket.receive_json()
            await websocket.send_json({"sum": sum(data["numbers"])})

    @app.websocket("/protocol")
    async def protocol() -> None:
        offered = websocket.requested_subprotocols
        await websocket.accept(subprotocol="chat.v2" if "chat.v2" in offered else None)
        await websocket.send(",".join(offered))

    @app.websocket("/closing")
    async def closing() -> None:
        await websocket.receive()
        await websocket.close(4000, "server says bye")

    @app.websocket("/private")
    async def private() -> None:
        if websocket.args.get("token") != "secret":
            abort(401)
        await websocket.send("welcome")

    @app.websocket("/watched")
    async def watched() -> None:
        await websocket.send("ready")
        try:
            while True:
                await websocket.receive()
        except ConnectionClosed as closed:
            state["closed"].append((closed.code, closed.reason))
            raise

    @app.websocket("/waiting")
    async def waiting() -> None:
        await websocket.send("ready")
        await asyncio.Event().wait()  # only a disconnect ends this

    @app.websocket("/chat")
    async def chat() -> None:
        me = websocket._get_current_object()
        members = state["members"]
        members.add(me)
        try:
            while True:
                message = await websocket.receive()
                for member in list(members):
                    try:
                        await member.send(message)
                    except ConnectionClosed:
                        members.discard(member)
        finally:
            members.discard(me)

    @app.teardown_websocket
    async def teardown(exc: BaseException | None) -> None:
        state["teardowns"].append((websocket.path, exc))

    return app, state


async def test_text_binary_and_json_round_trips(serve_each) -> None:
    app, _ = make_app()
    base_url = await serve_each(app)
    async with asyncio.timeout(TIMEOUT), connect(ws_url(base_url, "/echo")) as client:
        await client.send("héllo")
        assert await client.recv() == "héllo"
        await client.send(b"\x00\x01\xff")
        assert await client.recv() == b"\x00\x01\xff"
    async with asyncio.timeout(TIMEOUT), connect(ws_url(base_url, "/json")) as client:
        await client.send(json.dumps({"numbers": [1, 2, 3]}))
        assert json.loads(await client.recv()) == {"sum": 6}


async def test_subprotocols_are_negotiated(serve_each) -> None:
    app, _ = make_app()
    base_url = await serve_each(app)
    async with (
        asyncio.timeout(TIMEOUT),
        connect(ws_url(base_url, "/protocol"), subprotocols=["chat.v1", "chat.v2"]) as client,
    ):
        assert client.subprotocol == "chat.v2"
        assert await client.recv() == "chat.v1,chat.v2"


async def test_close_codes_and_reasons_travel_both_ways(serve_each) -> None:
    app, state = make_app()
    base_url = await serve_each(app)
    async with asyncio.timeout(TIMEOUT), connect(ws_url(base_url, "/closing")) as client:
        await client.send("please close")
        with pytest.raises(ClientConnectionClosed) as closed:
            await client.recv()
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4000, "server says bye")

    async with asyncio.timeout(TIMEOUT), connect(ws_url(base_url, "/watched")) as client:
        assert await client.recv() == "ready"
        await client.close(4001, "client says bye")
    await wait_for(lambda: state["closed"])
    if serve_each.server == "uvicorn":
        assert state["closed"] == [(4001, "client says bye")]
    else:  # hypercorn does not pass the client's close code on: it reports 1006 or 1000
        assert state["closed"][0][0] in (1000, 1006)
    await wait_for(lambda: len(state["teardowns"]) == 2)
    assert [exc for _, exc in state["teardowns"]] == [None, None]


async def test_a_refused_handshake_gets_the_http_status_or_a_policy_close(serve_each) -> None:
    app, _ = make_app()
    base_url = await serve_each(app)
    async with asyncio.timeout(TIMEOUT):
        try:
            async with connect(ws_url(base_url, "/private")) as client:
                await client.recv()
        except InvalidStatus as refused:
            assert refused.response.status_code in (401, 403)
        except ClientConnectionClosed as closed:  # a server without the denial extension
            assert closed.rcvd is not None and closed.rcvd.code == 1008
        else:
            raise AssertionError("the handshake was not refused")
        async with connect(ws_url(base_url, "/private?token=secret")) as client:
            assert await client.recv() == "welcome"


async def test_a_client_vanishing_ends_the_handler_and_runs_teardown(serve_each) -> None:
    app, state = make_app()
    base_url = await serve_each(app)
    for _ in range(3):
        async with asyncio.timeout(TIMEOUT):
            client = await connect(ws_url(base_url, "/waiting"))
            assert await client.recv() == "ready"
            client.transport.abort()  # no closing handshake: the TCP connection just drops
    await wait_for(lambda: len(state["teardowns"]) == 3)
    assert state["teardowns"] == [("/waiting", None)] * 3
    tasks = {task.get_coro().__qualname__ for task in asyncio.all_tasks()}
    assert not any("_read" in name for name in tasks), tasks


async def test_a_broadcast_chat_with_200_clients_delivers_every_message_once(
    serve_each,
) -> None:
    app, state = make_app()
    base_url = await serve_each(app)
    clients = 200
    senders = 5
    async with asyncio.timeout(60):
        connections = await asyncio.gather(
            *(connect(ws_url(base_url, "/chat"), max_queue=None) for _ in range(clients))
        )
        try:
            await wait_for(lambda: len(state["members"]) == clients)
            messages = [f"message {index}" for index in range(senders)]
            for connection, message in zip(connections[:senders], messages, strict=True):
                await connection.send(message)

            async def collect(connection: Any) -> list[str]:
                return sorted([await connection.recv() for _ in range(senders)])

            received = await asyncio.gather(*(collect(c) for c in connections))
            assert all(got == sorted(messages) for got in received)
            # Exactly once: nothing more is waiting on any connection.
            extra = await asyncio.gather(
                *(asyncio.wait_for(c.recv(), 0.2) for c in connections[:20]),
                return_exceptions=True,
            )
            assert all(isinstance(item, TimeoutError) for item in extra)
        finally:
            await asyncio.gather(*(c.close() for c in connections))
    await wait_for(lambda: not state["members"])
