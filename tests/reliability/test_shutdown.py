"""Graceful shutdown under real servers: SIGTERM while the app is busy in four ways.

Each server runs ``shutdown_app.py`` in a subprocess on 127.0.0.1, as in production. Once
a request is waiting in its view, a server-sent event stream is half sent, a background
task is working and a websocket is open (the websocket says ``ready`` when the app has
seen all four), the test sends SIGTERM to the server process and checks that:

- the request is answered 200 with its whole body, and the stream is sent to its end;
- the background task finished, and ``after_serving`` ran after it;
- the websocket ends with a close frame, whose code is the server's choice: uvicorn
  sends 1012 (service restart) at once; hypercorn leaves the websocket open until its
  graceful timeout, then cancels the handler and sends 1011 (internal error). ASGI tells
  the app of the shutdown (lifespan) only once the connections have ended, so under
  those two the app cannot send 1001 (going away) itself; the embedded server
  (``app.run()``) handles the signal itself and closes with 1001 at once;
- new connections are refused once the server has begun to shut down, except under
  hypercorn with worker processes (its default), whose parent process keeps the
  listening socket open until the end: those connections are accepted by the kernel but
  never answered;
- the process exits within the graceful timeout plus a margin: status 0 for hypercorn;
  uvicorn, after a clean shutdown, raises the signal it caught again, so it ends killed
  by SIGTERM (``returncode == -15``) by design.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

HERE = Path(__file__).parent
HOST = "127.0.0.1"
GRACE = 5  # seconds: the servers' graceful timeout
MARGIN = 3.0  # seconds past GRACE the process may take to exit
PROMPT = 5.0  # seconds to wait for what should come at once
WORK = 1.0  # shutdown_app.WORK: how long each piece of work takes once all are running
STREAM_EVENTS = 5  # shutdown_app.STREAM_EVENTS


@dataclass(frozen=True)
class Expected:
    command: list[str]
    close_code: int  # the close frame the websocket client gets
    handler_ended: dict[str, Any]  # how the websocket handler ended (its marker)
    waits_for_grace: bool  # whether the open websocket holds the server until GRACE
    refuses_new_connections: bool
    returncode: int
    # asyncio's StreamReaderProtocol logs "Exception in callback ... connection_made"
    # with a traceback when hypercorn cancels a connection's task at its graceful timeout
    # (Python 3.11; not the app's code): the number of such tracebacks allowed in stderr.
    foreign_tracebacks: int


_HYPERCORN = ["-m", "hypercorn", "--log-level", "warning", "--graceful-timeout", str(GRACE)]
_HYPERCORN_CANCELS = {"how": "cancelled"}
SERVERS = {
    "uvicorn": Expected(
        ["-m", "uvicorn", "--log-level", "warning", "--timeout-graceful-shutdown", str(GRACE)],
        close_code=1012,
        handler_ended={"how": "closed", "code": 1012},
        waits_for_grace=False,
        refuses_new_connections=True,
        returncode=-signal.SIGTERM,
        foreign_tracebacks=0,
    ),
    "hypercorn": Expected(  # its default: one worker process under a parent process
        _HYPERCORN,
        close_code=1011,
        handler_ended=_HYPERCORN_CANCELS,
        waits_for_grace=True,
        refuses_new_connections=False,
        returncode=0,
        foreign_tracebacks=1,
    ),
    "hypercorn-single-process": Expected(
        [*_HYPERCORN, "--workers", "0"],
        close_code=1011,
        handler_ended=_HYPERCORN_CANCELS,
        waits_for_grace=True,
        refuses_new_connections=True,
        returncode=0,
        foreign_tracebacks=1,
    ),
    # app.run(): hypercorn with our own signal handling, which closes websockets first.
    "embedded": Expected(
        [],
        close_code=1001,
        handler_ended={"how": "closed", "code": 1001},
        waits_for_grace=False,
        refuses_new_connections=True,
        returncode=0,
        foreign_tracebacks=0,
    ),
}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _command(name: str, port: int) -> list[str]:
    if name == "embedded":
        run = f"from shutdown_app import app; app.run(host={HOST!r}, port={port})"
        return [sys.executable, "-c", run]
    arguments = [sys.executable, *SERVERS[name].command, "shutdown_app:app"]
    if name.startswith("hypercorn"):
        return [*arguments, "--bind", f"{HOST}:{port}"]
    return [*arguments, "--host", HOST, "--port", str(port)]


async def _wait_until_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            _reader, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            await asyncio.sleep(0.05)  # nothing announces that the subprocess listens
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise RuntimeError("the server did not start listening")


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    markers: Path

    def marker(self, name: str) -> dict[str, Any]:
        path = self.markers / name
        assert path.exists(), f"{name} left no marker: it did not finish"
        facts: dict[str, Any] = json.loads(path.read_text())
        return facts


@pytest.fixture(params=list(SERVERS))
async def server(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Server]:
    port = _free_port()
    environment = {
        **os.environ,
        "SHUTDOWN_MARKERS": str(tmp_path),
        "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path]),
    }
    process = subprocess.Popen(
        _command(request.param, port), cwd=HERE, env=environment, stderr=subprocess.PIPE
    )
    try:
        await _wait_until_listening(port, process)
        yield Server(request.param, port, process, tmp_path)
    finally:
        if process.poll() is None:  # the test failed before the server stopped
            process.kill()
        process.communicate()


async def _read_stream(client: httpx.AsyncClient) -> tuple[int, bytes]:
    async with client.stream("GET", "/stream") as response:
        return response.status_code, await response.aread()


async def _closed_after(websocket: ClientConnection, since: float) -> float:
    """Seconds from ``since`` (monotonic) until the server closed ``websocket``."""
    await websocket.wait_closed()
    return time.monotonic() - since


async def _is_refused(port: int) -> bool:
    try:
        _reader, writer = await asyncio.open_connection(HOST, port)
    except ConnectionRefusedError:
        return True
    writer.close()
    await writer.wait_closed()
    return False


async def _answer_to_new_connection(port: int) -> bytes:
    """Everything a server sends back to a request on a new connection, up to its end."""
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(f"GET /slow HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
    try:
        return await reader.read()
    except ConnectionResetError:
        return b""
    finally:
        writer.close()


def _events(body: bytes) -> list[dict[str, str]]:
    events = []
    for block in body.decode().split("\n\n"):
        if block:
            fields = dict(line.split(": ", 1) for line in block.splitlines())
            events.append(fields)
    return events


async def test_sigterm_lets_the_work_in_flight_finish(server: Server) -> None:
    expected = SERVERS[server.name]
    base_url = f"http://{HOST}:{server.port}"
    async with httpx.AsyncClient(base_url=base_url, timeout=GRACE + MARGIN) as client:
        started_task = await client.post("/task")
        assert started_task.status_code == 202
        slow = asyncio.create_task(client.get("/slow"))
        stream = asyncio.create_task(_read_stream(client))
        async with connect(f"ws://{HOST}:{server.port}/ws") as websocket:
            async with asyncio.timeout(PROMPT):
                assert await websocket.recv() == "ready"  # the app has seen all four
            # An idle connection, which a server closes as soon as it begins to shut down.
            idle_reader, idle_writer = await asyncio.open_connection(HOST, server.port)

            assert not slow.done() and not stream.done()
            sigterm_at = time.time()
            since = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            closing = asyncio.create_task(_closed_after(websocket, since))

            async with asyncio.timeout(PROMPT):
                assert await idle_reader.read() == b""  # the server is shutting down
            idle_writer.close()
            await idle_writer.wait_closed()
            if expected.refuses_new_connections:
                assert await _is_refused(server.port)
                assert server.process.poll() is None  # refused while still at work
            else:
                assert await _answer_to_new_connection(server.port) == b""

            answer = await slow
            status, body = await stream
            websocket_closed_after = await closing
            close_frame = websocket.protocol.close_rcvd

    # The request in flight was answered, in full.
    assert answer.status_code == 200
    assert answer.json()["slow"] == "done"
    assert answer.json()["finished_at"] > sigterm_at  # it was at work when SIGTERM came
    # The stream was sent to its end: every event, then the last one.
    assert status == 200
    events = _events(body)
    assert [event.get("data") for event in events[:-1]] == [
        str(number) for number in range(STREAM_EVENTS + 1)
    ]
    assert events[-1]["event"] == "finished"
    assert float(events[-1]["data"]) > sigterm_at

    # The websocket ended with a close frame.
    assert close_frame is not None, "the websocket was dropped without a close frame"
    assert close_frame.code == expected.close_code
    handler_ended = server.marker("websocket")
    del handler_ended["at"]
    assert handler_ended == expected.handler_ended
    if expected.waits_for_grace:
        assert websocket_closed_after >= GRACE - 0.5
    else:
        assert websocket_closed_after < WORK

    # The process exited in time, and the app's shutdown ran to its end.
    returncode = await asyncio.to_thread(
        server.process.wait, GRACE + MARGIN - (time.monotonic() - since)
    )
    assert returncode == expected.returncode
    elapsed = time.monotonic() - since
    assert elapsed < GRACE + MARGIN
    if not expected.waits_for_grace:
        assert elapsed < GRACE  # nothing kept it waiting for the graceful timeout
    task = server.marker("task")
    after_serving = server.marker("after_serving")
    assert task["at"] > sigterm_at  # the task was at work when SIGTERM came
    assert after_serving["task_finished"] is True
    assert after_serving["at"] >= task["at"]

    assert server.process.stderr is not None
    errors = server.process.stderr.read().decode(errors="replace")
    assert "/quart/" not in errors and "shutdown_app" not in errors, errors
    assert errors.count("Traceback") == expected.foreign_tracebacks, errors
    assert errors.count("Exception in callback StreamReaderProtocol") == (
        expected.foreign_tracebacks
    ), errors
