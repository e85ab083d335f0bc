"""Static files over a real server, checked with a real client (httpx): byte ranges,
conditional requests, HEAD, a large download, a client leaving mid-download, and
path traversal attempts sent as raw bytes (httpx would normalise them away)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from quart import Quart, Response
from quart.wrappers.response import FileBody

from .serving import HOST

TIMEOUT = 10.0
DATA = bytes((index * 7) % 256 for index in range(1000))
SECRET = b"the secret"
BIG_SIZE = 24 * 1024 * 1024
LEFT_SIZE = 200 * 1024 * 1024


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "static").mkdir(parents=True)
    (root / "static" / "data.bin").write_bytes(DATA)
    (root / "secret.txt").write_bytes(SECRET)
    return root


@pytest.fixture
def app(site: Path) -> Quart:
    return Quart("site", root_path=str(site))


@pytest.fixture
async def client(app: Quart, serve: Any) -> Any:
    base_url = await serve(app)
    async with httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT) as http:
        yield http


@pytest.mark.parametrize(
    ("header", "begin", "end"),
    [
        ("bytes=0-99", 0, 100),
        ("bytes=-100", 900, 1000),
        ("bytes=100-", 100, 1000),
        ("bytes=0-0", 0, 1),
        ("bytes=990-5000", 990, 1000),
    ],
)
async def test_range_gives_206_with_those_bytes(
    client: httpx.AsyncClient, header: str, begin: int, end: int
) -> None:
    response = await client.get("/static/data.bin", headers={"Range": header})
    assert response.status_code == 206
    assert response.content == DATA[begin:end]
    assert response.headers["content-range"] == f"bytes {begin}-{end - 1}/{len(DATA)}"
    assert response.headers["content-length"] == str(end - begin)


async def test_unsatisfiable_range_gives_416(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/data.bin", headers={"Range": "bytes=1000-2000"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(DATA)}"
    assert DATA not in response.content


async def test_whole_file_advertises_ranges(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/data.bin")
    assert response.status_code == 200
    assert response.content == DATA
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-length"] == str(len(DATA))
    assert response.headers["content-type"] == "application/octet-stream"


async def test_if_none_match_gives_304_without_body(client: httpx.AsyncClient) -> None:
    first = await client.get("/static/data.bin")
    etag = first.headers["etag"]
    response = await client.get("/static/data.bin", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers.get("content-length") in (None, "0")


async def test_if_modified_since_gives_304(client: httpx.AsyncClient) -> None:
    first = await client.get("/static/data.bin")
    since = first.headers["last-modified"]
    response = await client.get("/static/data.bin", headers={"If-Modified-Since": since})
    assert response.status_code == 304
    assert response.content == b""
    old = await client.get(
        "/static/data.bin", headers={"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}
    )
    assert old.status_code == 200
    assert old.content == DATA


async def test_if_range(client: httpx.AsyncClient) -> None:
    etag = (await client.get("/static/data.bin")).headers["etag"]
    current = await client.get(
        "/static/data.bin", headers={"Range": "bytes=10-19", "If-Range": etag}
    )
    assert current.status_code == 206
    assert current.content == DATA[10:20]
    stale = await client.get(
        "/static/data.bin", headers={"Range": "bytes=10-19", "If-Range": '"stale"'}
    )
    assert stale.status_code == 200
    assert stale.content == DATA
    assert "content-range" not in stale.headers


async def test_head_gives_headers_without_body(client: httpx.AsyncClient) -> None:
    response = await client.head("/static/data.bin")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(DATA))
    assert response.headers["content-type"] == "application/octet-stream"
    assert "etag" in response.headers
    assert response.content == b""


async def test_large_file_downloads_intact(app: Quart, site: Path, serve: Any) -> None:
    expected = hashlib.sha256()
    with open(site / "static" / "big.bin", "wb") as handle:
        for _ in range(BIG_SIZE // (1024 * 1024)):
            block = hashlib.sha512(handle.tell().to_bytes(8, "big")).digest() * 16384
            expected.update(block)
            handle.write(block)
    base_url = await serve(app)
    received = hashlib.sha256()
    size = 0
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT) as http,
        http.stream("GET", "/static/big.bin") as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-length"] == str(BIG_SIZE)
        async for chunk in response.aiter_raw():
            received.update(chunk)
            size += len(chunk)
    assert size == BIG_SIZE
    assert received.hexdigest() == expected.hexdigest()


async def test_file_is_closed_when_the_client_leaves(site: Path, serve_each: Any) -> None:
    closed = asyncio.Event()
    sent: list[int] = []

    class WatchedFileBody(FileBody):
        async def __aexit__(
            self,
            exc_type: type[BaseException] | None,
            exc: BaseException | None,
            tb: TracebackType | None,
        ) -> None:
            await super().__aexit__(exc_type, exc, tb)
            closed.set()

        async def _chunks(self) -> Any:
            async for chunk in super()._chunks():
                sent.append(len(chunk))
                yield chunk

    class WatchedResponse(Response):
        file_body_class = WatchedFileBody

    big = site / "static" / "big.bin"
    with open(big, "wb") as handle:
        handle.truncate(LEFT_SIZE)  # sparse: no disk space used
    app = Quart("site", root_path=str(site))
    app.response_class = WatchedResponse
    base_url = await serve_each(app)
    async with httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT) as http:
        async with http.stream("GET", "/static/big.bin") as response:
            assert response.status_code == 200
            first = await anext(response.aiter_raw())
            assert first
        # Leaving the block with the body unread closes the connection.
        async with asyncio.timeout(TIMEOUT):
            await closed.wait()
    # The server drops what is sent after the client left: reading must stop there too.
    assert sum(sent) < LEFT_SIZE // 2


async def raw_get(base_url: str, target: str) -> tuple[int, bytes]:
    """Send ``GET target`` exactly as written and read the status and the whole reply."""
    port = int(base_url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(
            f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        async with asyncio.timeout(TIMEOUT):
            reply = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    status = int(reply.split(b" ", 2)[1])
    return status, reply


@pytest.mark.parametrize(
    "target",
    [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E/secret.txt",
        "/static/..%2fsecret.txt",
        "/static/..%2Fsecret.txt",
        "/static/.%2e/secret.txt",
        "/static/%2fetc%2fpasswd",
        "/static/..%5csecret.txt",
        "/static/..\\secret.txt",
        "/static/data.bin%00",
        "/static/%00",
    ],
)
async def test_traversal_attempts_get_404(app: Quart, serve_each: Any, target: str) -> None:
    base_url = await serve_each(app)
    status, reply = await raw_get(base_url, target)
    if status == 308:
        # Doubled slashes are merged by a redirect, which must stay inside the folder.
        location = reply.split(b"\r\nlocation: ", 1)[1].split(b"\r\n", 1)[0].decode()
        path = urlsplit(location).path
        assert path.startswith("/static/")
        assert ".." not in path
        status, reply = await raw_get(base_url, path)
    assert status in (400, 404)
    assert SECRET not in reply
    if status == 400:
        # Only a server may refuse a request line it cannot parse; the app answers 404.
        assert b"404" not in reply
