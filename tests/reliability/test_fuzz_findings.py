"""What the ASGI fuzzing (test_fuzz_asgi.py) found, as plain regression tests.

Each failed before its fix; the fuzzing's strategies include the inputs again.
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from pathlib import Path
from typing import Any

from quart import Quart, send_file


def scope_for(path: str, raw_path: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": raw_path,
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80),
    }


def test_a_client_leaving_while_send_file_opens_leaks_no_file(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"x" * 1024)
    app = Quart(__name__)

    @app.route("/file")
    async def file_view() -> Any:
        return await send_file(path)

    async def request_and_leave() -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.disconnect"}  # the client has already gone

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope_for("/file", b"/file"), receive, send)
        return sent

    unclosed = 0
    for _ in range(20):  # the race is lost most of the time, not every time
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sent = asyncio.run(request_and_leave())
            gc.collect()
        assert sent[0]["status"] == 200
        unclosed += sum(issubclass(warning.category, ResourceWarning) for warning in caught)
    assert unclosed == 0


async def test_a_surrogate_in_a_redirecting_path_gets_a_response() -> None:
    app = Quart(__name__)

    @app.route("/path/<path:rest>")
    async def path_view(rest: str) -> Any:
        return {"rest": rest}

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    # raw_path b"/path/%2F\x80" decoded with errors="surrogateescape"
    await app(scope_for("/path//\udc80", b"/path/%2F\x80"), receive, send)
    assert sent[0]["type"] == "http.response.start"
    assert 300 <= sent[0]["status"] < 500


async def test_a_line_break_in_the_query_of_a_redirected_path_is_escaped() -> None:
    """A route redirect repeats the query string: one with a line break (which a
    server may pass on) gave a 500, the Location header refusing it."""
    app = Quart(__name__)

    @app.route("/path/<path:rest>")
    async def path_view(rest: str) -> Any:
        return {"rest": rest}

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = scope_for("/path//a b", b"/path//a%20b")
    scope["query_string"] = b"x=1\r\nSet-Cookie: y=2&z=\xc3\xa9"
    await app(scope, receive, send)
    assert sent[0]["status"] == 308
    location = dict(sent[0]["headers"])[b"location"]
    assert location == b"http://localhost/path/a%20b?x=1%0D%0ASet-Cookie:%20y=2&z=%C3%A9"
