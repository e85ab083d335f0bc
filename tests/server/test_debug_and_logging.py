"""Debug mode and logging over real servers: the traceback page (HTTP and a refused
websocket handshake) under hypercorn and uvicorn, and the embedded server's access log."""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from quart import Quart
from test_serving import free_port, wait_until_serving

TIMEOUT = 10


def make_app(debug: bool) -> Quart:
    app = Quart(__name__)
    app.debug = debug

    @app.route("/boom")
    async def boom() -> str:
        raise RuntimeError("gears <jammed>")

    @app.websocket("/ws")
    async def ws() -> None:
        raise RuntimeError("handshake <jammed>")

    return app


def exception_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.exc_info]


async def test_debug_page_over_a_real_server(serve_each, caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(debug=True)
    base_url = await serve_each(app)

    with caplog.at_level(logging.ERROR):
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            response = await client.get(f"{base_url}/boom")

    assert response.status_code == 500
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "RuntimeError: gears &lt;jammed&gt;" in response.text
    assert "in <code>boom</code>" in response.text
    # Logged once, by the app; the server saw a response, not an exception.
    records = exception_records(caplog)
    assert [(record.name, record.getMessage()) for record in records] == [
        (app.logger.name, "Exception on GET /boom")
    ]


async def test_no_debug_page_over_a_real_server_without_debug(
    serve_each, caplog: pytest.LogCaptureFixture
) -> None:
    base_url = await serve_each(make_app(debug=False))

    with caplog.at_level(logging.ERROR):
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            response = await client.get(f"{base_url}/boom")

    assert response.status_code == 500
    assert "Internal Server Error" in response.text
    assert "jammed" not in response.text
    assert "Traceback" not in response.text
    assert len(exception_records(caplog)) == 1


async def test_debug_page_refuses_a_websocket_handshake(serve_each) -> None:
    base_url = await serve_each(make_app(debug=True))
    ws_url = base_url.replace("http://", "ws://", 1) + "/ws"

    async with asyncio.timeout(TIMEOUT):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(ws_url) as client:
                await client.recv()

    response = refused.value.response
    assert response.status_code == 500
    assert response.body is not None
    page = response.body.decode()
    assert "RuntimeError: handshake &lt;jammed&gt;" in page
    assert "in <code>ws</code>" in page


APP_SOURCE = """
from quart import Quart

app = Quart(__name__)

@app.route("/ready")
async def ready():
    return ""

@app.route("/hello")
async def hello():
    return "hello ada"

app.run(port={port}, use_reloader=False)
"""


def access_line(path: str, status: int, size: str) -> re.Pattern[str]:
    """An access line: hypercorn's prefix, then the common log format and a duration."""
    return re.compile(
        r"\[INFO\] 127\.0\.0\.1:\d+ - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]"
        rf' "GET {path} HTTP/1\.1" {status} {size} \d+\.\d{{6}}s$'
    )


async def test_embedded_server_logs_one_access_line_per_request(tmp_path: Path) -> None:
    port = free_port()
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(APP_SOURCE.format(port=port)))
    process = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        await wait_until_serving(f"{base_url}/ready")
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            assert (await client.get(f"{base_url}/hello?name=ada")).status_code == 200
            assert (await client.get(f"{base_url}/missing")).status_code == 404
    finally:
        process.send_signal(signal.SIGINT)
        try:
            output, errors = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()  # never leave a server behind
            process.communicate()
            raise
    assert process.returncode == 0, errors

    lines = output.splitlines()
    hello = [line for line in lines if '"GET /hello' in line]
    missing = [line for line in lines if '"GET /missing' in line]
    assert len(hello) == 1
    assert len(missing) == 1
    assert access_line(r"/hello\?name=ada", 200, "9").search(hello[0]), hello[0]
    assert access_line("/missing", 404, r"\d+").search(missing[0]), missing[0]
