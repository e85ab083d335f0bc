"""An app that is busy in four ways at once when its server is told to stop, served in a
subprocess by ``test_shutdown.py``.

- ``GET /slow``: a view still working (it answers WORK seconds after ``ready``);
- ``GET /stream``: a server-sent event stream, one event at once and STREAM_EVENTS more
  spread over WORK seconds after ``ready``, then its end;
- ``POST /task``: answered at once, with a background task (``app.add_background_task``)
  that works WORK seconds after ``ready``;
- ``/ws``: a websocket that waits until the three others have started, then sets
  ``ready`` and says so to its client, then waits for a message that never comes.

The test sends SIGTERM to the server once the websocket said ``ready``. What happened is
written to JSON files in the folder named by ``SHUTDOWN_MARKERS``: ``task`` when the
background task ends, ``websocket`` when the websocket handler ends (and how), and
``after_serving`` when that runs (with whether the task had finished by then). Times are
``time.time()``, comparable with the test process's clock.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from quart import Quart, websocket
from quart.exceptions import ConnectionClosed
from quart.sse import ServerSentEvent, make_sse_response

WORK = 1.0  # seconds each piece of work takes once everything is running
STREAM_EVENTS = 5

MARKERS = Path(os.environ["SHUTDOWN_MARKERS"])

app = Quart(__name__)

# Set once each piece of work has started; ``ready`` once all have.
started = {name: asyncio.Event() for name in ("slow", "stream", "task")}
ready = asyncio.Event()


def _mark(name: str, **facts: Any) -> None:
    (MARKERS / name).write_text(json.dumps({"at": time.time(), **facts}))


@app.get("/slow")
async def slow() -> dict[str, Any]:
    started["slow"].set()
    await ready.wait()
    await asyncio.sleep(WORK)
    return {"slow": "done", "finished_at": time.time()}


@app.get("/stream")
async def stream() -> Any:
    async def events() -> AsyncIterator[ServerSentEvent]:
        yield ServerSentEvent("0", id="0")
        started["stream"].set()
        await ready.wait()
        for number in range(1, STREAM_EVENTS + 1):
            await asyncio.sleep(WORK / STREAM_EVENTS)
            yield ServerSentEvent(str(number), id=str(number))
        yield ServerSentEvent(str(time.time()), event="finished")

    return await make_sse_response(events())


async def _background_work() -> None:
    started["task"].set()
    await ready.wait()
    await asyncio.sleep(WORK)
    _mark("task")


@app.post("/task")
async def task() -> tuple[str, int]:
    app.add_background_task(_background_work)
    return "started", 202


@app.websocket("/ws")
async def ws() -> None:
    await websocket.accept()
    ended: dict[str, Any] = {"how": "returned"}
    try:
        for event in started.values():
            await event.wait()
        ready.set()
        await websocket.send("ready")
        message = await websocket.receive()
        ended = {"how": "received", "message": str(message)}
    except ConnectionClosed as closed:
        ended = {"how": "closed", "code": closed.code}
        raise
    except asyncio.CancelledError:
        ended = {"how": "cancelled"}
        raise
    finally:
        _mark("websocket", **ended)


@app.after_serving
async def after_serving() -> None:
    _mark("after_serving", task_finished=(MARKERS / "task").exists())
