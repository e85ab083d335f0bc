"""A chat room, written from the description of Quart's chat tutorial: a page with a
little JavaScript client, and a websocket on which each message from one visitor is sent
to everyone connected, through an in-memory broker. Added on top: a visitor names
themself in the query string (refused with 400 before the handshake otherwise), messages
travel as JSON, the room announces arrivals and departures, and keeps a short history
served as JSON."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

from chat_app.broker import Broker
from quart import Quart, abort, jsonify, render_template, websocket

app = Quart(__name__)
broker = Broker()
history: deque[dict[str, Any]] = deque(maxlen=5)


@app.get("/")
async def index() -> str:
    return await render_template("index.html")


@app.get("/history")
async def get_history() -> Any:
    return jsonify(list(history))


async def _publish(event: dict[str, Any]) -> None:
    if event["type"] == "message":
        history.append(event)
    await broker.publish(event)


async def _receive(name: str) -> None:
    while True:
        data = await websocket.receive_json()
        text = str(data.get("text", "")).strip()
        if text:
            await _publish({"type": "message", "user": name, "text": text})


@app.websocket("/ws")
async def ws() -> None:
    name = websocket.args.get("name", "").strip()
    if not name:
        abort(400)
    await websocket.accept()
    try:
        async with broker.subscribe() as queue:
            await websocket.send_json({"type": "welcome", "online": len(broker.connections)})
            await _publish({"type": "joined", "user": name})
            task = asyncio.ensure_future(_receive(name))
            try:
                while True:
                    await websocket.send_json(await queue.get())
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    finally:
        # Runs when the visitor goes away too: the handler is cancelled then.
        await _publish({"type": "left", "user": name})


def run() -> None:
    app.run()
