"""WebSockets through each server's command line: text, bytes and JSON echoed, and the
close code and reason the app chose reach the client."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from .launch import ServerProcess

TIMEOUT = 10.0


def ws_url(server: ServerProcess, path: str) -> str:
    return server.base_url.replace("http://", "ws://", 1) + path


async def test_text_and_bytes_are_echoed_with_their_kind(smoke_server: ServerProcess) -> None:
    async with asyncio.timeout(TIMEOUT), connect(ws_url(smoke_server, "/ws")) as ws:
        await ws.send("héllo")
        assert await ws.recv() == "héllo"
        await ws.send(b"\x00\xffbytes")
        assert await ws.recv() == b"\x00\xffbytes"
        large = "x" * 100_000
        await ws.send(large)
        assert await ws.recv() == large


async def test_json_messages(smoke_server: ServerProcess) -> None:
    url = ws_url(smoke_server, "/ws/json/lobby?user=ann")
    async with asyncio.timeout(TIMEOUT), connect(url) as ws:
        for payload in ({"text": "hi", "n": [1, 2]}, [None, True], "just a string"):
            await ws.send(json.dumps(payload))
            assert json.loads(await ws.recv()) == {"room": "lobby", "user": "ann", "got": payload}


async def test_the_apps_close_code_and_reason_reach_the_client(
    smoke_server: ServerProcess,
) -> None:
    async with asyncio.timeout(TIMEOUT), connect(ws_url(smoke_server, "/ws")) as ws:
        await ws.send("close")
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert ws.close_code == 4000
    assert ws.close_reason == "closing as asked"


async def test_malformed_json_closes_with_a_policy_code(smoke_server: ServerProcess) -> None:
    async with asyncio.timeout(TIMEOUT), connect(ws_url(smoke_server, "/ws/json/x")) as ws:
        await ws.send("{not json")
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    # The client's mistake (a 400 inside the handler), so 1008, not 1011 (server error).
    assert ws.close_code == 1008


async def test_an_unknown_path_is_refused(smoke_server: ServerProcess) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with asyncio.timeout(TIMEOUT), connect(ws_url(smoke_server, "/nowhere")):
            pass
    assert refused.value.response.status_code == 404
