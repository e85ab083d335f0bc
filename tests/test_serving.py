"""Serving: ASGI middleware around `app.asgi_app`, `app.run_task` and `app.run` on hypercorn
(on 127.0.0.1, free ports), and the development reloader."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from quart import Quart


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_until_serving(url: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while True:
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)


async def test_asgi_app_can_be_wrapped_by_middleware(app: Quart) -> None:
    class AddHeader:
        def __init__(self, inner):
            self.inner = inner

        async def __call__(self, scope, receive, send):
            async def send_with_header(message):
                if message["type"] == "http.response.start":
                    message["headers"] = [*message["headers"], (b"x-wrapped", b"yes")]
                await send(message)

            await self.inner(scope, receive, send_with_header)

    @app.route("/")
    async def index():
        return "hello"

    app.asgi_app = AddHeader(app.asgi_app)  # type: ignore[method-assign]
    response = await app.test_client().get("/")
    assert response.headers["X-Wrapped"] == "yes"
    assert await response.get_data() == b"hello"


async def test_unknown_scope_types_are_refused(app: Quart) -> None:
    async def receive():
        raise AssertionError("not called")

    async def send(message):
        raise AssertionError("not called")

    with pytest.raises(RuntimeError, match="not supported"):
        await app({"type": "webtransport"}, receive, send)


async def test_run_task_serves_until_the_shutdown_trigger(app: Quart) -> None:
    events: list[str] = []

    @app.before_serving
    async def start():
        events.append("start")

    @app.after_serving
    async def stop():
        events.append("stop")

    @app.route("/")
    async def index():
        return "served"

    port = free_port()
    shutdown = asyncio.Event()
    server = asyncio.create_task(app.run_task("127.0.0.1", port, shutdown_trigger=shutdown.wait))
    try:
        await wait_until_serving(f"http://127.0.0.1:{port}/")
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/")
        assert response.status_code == 200
        assert response.text == "served"
        assert events == ["start"]
    finally:
        shutdown.set()
        await asyncio.wait_for(server, 10)
    assert events == ["start", "stop"]


APP_SOURCE = """
from quart import Quart

app = Quart(__name__)

@app.route("/")
async def index():
    return "{text}"

if __name__ == "__main__":
    app.run(port={port}, use_reloader={reloader})
"""


def write_app(path: Path, text: str, port: int, reloader: bool) -> None:
    path.write_text(textwrap.dedent(APP_SOURCE.format(text=text, port=port, reloader=reloader)))


async def read_text(url: str) -> str:
    async with httpx.AsyncClient() as client:
        return (await client.get(url)).text


async def served_after_edit(
    script: Path, url: str, expected: str, client: httpx.AsyncClient | None = None
) -> str:
    """What ``url`` answers once the reloader has noticed the edited ``script`` and the
    answer is ``expected`` (or 20 s have passed): the last text read."""
    later = time.time() + 5
    deadline = time.monotonic() + 20
    text = ""
    while text != expected and time.monotonic() < deadline:
        # A newer modification time on every turn: on a busy machine the reloader may
        # take its first look at the file only after the edit.
        later += 1
        os.utime(script, (later, later))
        await asyncio.sleep(0.2)
        try:
            text = (await client.get(url)).text if client else await read_text(url)
        except httpx.TransportError:
            continue  # restarting
    return text


async def test_run_serves_and_stops_on_sigint(tmp_path: Path) -> None:
    port = free_port()
    script = tmp_path / "app.py"
    write_app(script, "from run", port, reloader=False)
    process = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        await wait_until_serving(f"http://127.0.0.1:{port}/")
        assert await read_text(f"http://127.0.0.1:{port}/") == "from run"
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=15)
    assert process.returncode == 0
    assert f"Running on http://127.0.0.1:{port}" in output.decode()


async def test_the_reloader_restarts_on_a_changed_file(tmp_path: Path) -> None:
    port = free_port()
    script = tmp_path / "app.py"
    write_app(script, "before", port, reloader=True)
    process = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        await wait_until_serving(url)
        assert await read_text(url) == "before"
        write_app(script, "after", port, reloader=True)
        assert await served_after_edit(script, url, "after") == "after"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()  # never leave a server behind, even when the test failed
            process.wait()
            raise
