"""The app ``test_abuse.py`` serves in a subprocess: small routes to abuse, and
``/state``, which tells how many tasks and open files the worker has (and what the
tasks run), so that a test can check that nothing was left behind."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from quart import Quart, request, websocket

app = Quart(__name__)
app.config["BODY_TIMEOUT"] = 1  # seconds: a dripped body is refused quickly

BIG = b"x" * (8 * 1024 * 1024)


@app.get("/")
async def index() -> str:
    return "ok"


@app.post("/echo")
async def echo() -> dict[str, int]:
    return {"size": len(await request.get_data())}


@app.get("/big")
async def big() -> bytes:
    return BIG


@app.get("/state")
async def state() -> dict[str, Any]:
    tasks = asyncio.all_tasks()
    running = sorted({getattr(task.get_coro(), "__qualname__", "?") for task in tasks})
    return {"tasks": len(tasks), "files": len(os.listdir("/proc/self/fd")), "running": running}


@app.websocket("/ws")
async def ws() -> None:
    while True:
        await websocket.send(await websocket.receive())
