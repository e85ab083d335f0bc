"""The app ``test_soak.py`` serves under uvicorn: a mixed workload, and ``/state``, which
reports the worker's memory after a full collection (the bytes Python's allocations hold,
traced from import; its allocated blocks; the resident size) and its tasks, so that the
soak can tell growth from noise."""

from __future__ import annotations

import asyncio
import gc
import sys
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

from quart import Quart, abort, request, session, websocket

# One frame per trace is enough to count bytes and costs the least.
tracemalloc.start(1)

app = Quart(__name__)
app.config["SECRET_KEY"] = "soak"


@app.get("/")
async def index() -> str:
    return "ok"


@app.post("/json")
async def echo_json() -> Any:
    return {"echo": await request.get_json()}


@app.post("/upload")
async def upload() -> dict[str, int]:
    files = await request.files
    return {"size": len(files["file"].read())}


@app.get("/session")
async def count_visits() -> dict[str, int]:
    session["visits"] = session.get("visits", 0) + 1
    return {"visits": session["visits"]}


@app.get("/fail")
async def fail() -> str:
    raise KeyError("planned")


@app.errorhandler(KeyError)
async def handled(error: KeyError) -> tuple[str, int]:
    return "handled", 500


@app.get("/forbidden")
async def forbidden() -> str:
    abort(403)


@app.get("/stream")
async def stream() -> Any:
    async def generate() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"x" * 1000
            await asyncio.sleep(0)

    return generate()


@app.websocket("/ws")
async def ws() -> None:
    while True:
        await websocket.send_json({"echo": await websocket.receive_json()})


@app.get("/state")
async def state() -> dict[str, int]:
    gc.collect()
    with open("/proc/self/status") as status:
        rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return {
        "traced": tracemalloc.get_traced_memory()[0],
        "blocks": sys.getallocatedblocks(),
        "rss_kib": rss,
        "tasks": len(asyncio.all_tasks()),
    }
