"""HTTP through each server's command line: routes, bodies, errors, redirects, and a
streamed response whose chunks arrive one by one."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from .launch import ServerProcess

TIMEOUT = 10.0


@pytest.fixture
async def client(smoke_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=smoke_server.base_url, timeout=TIMEOUT) as client:
        yield client


async def test_text(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == "smoke test"


async def test_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/json")
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"ok": True, "items": [1, 2, 3], "text": "héllo"}


async def test_head_has_the_headers_and_no_body(client: httpx.AsyncClient) -> None:
    response = await client.head("/json")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len((await client.get("/json")).content))
    assert response.content == b""


async def test_path_parameters(client: httpx.AsyncClient) -> None:
    response = await client.get("/users/42/posts/caf%C3%A9-au-lait")
    assert response.json() == {"user_id": 42, "slug": "café-au-lait"}
    assert (await client.get("/users/forty-two/posts/x")).status_code == 404


async def test_query_string(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/search", params=[("q", "a b&c"), ("page", "3"), ("tag", "x"), ("tag", "y")]
    )
    assert response.json() == {"q": "a b&c", "page": 3, "tags": ["x", "y"]}


async def test_json_post_echo(client: httpx.AsyncClient) -> None:
    payload = {"name": "ann", "scores": [1.5, None], "nested": {"ok": False}}
    response = await client.post("/echo", json=payload)
    assert response.status_code == 201
    assert response.json() == {"received": payload}


async def test_malformed_json_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/echo", content=b'{"name": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


async def test_form_post(client: httpx.AsyncClient) -> None:
    response = await client.post("/form", data={"name": "zoë & co", "colour": ["red", "blue"]})
    assert response.json() == {"name": "zoë & co", "colours": ["red", "blue"]}


async def test_multipart_form_post(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/form",
        data={"name": "ann", "colour": ["green"]},
        files={"ignored": ("notes.txt", b"file body", "text/plain")},
    )
    assert response.json() == {"name": "ann", "colours": ["green"]}


async def test_a_chunked_upload_is_read_whole(client: httpx.AsyncClient) -> None:
    chunk = bytes(range(256)) * 256

    async def body() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield chunk

    response = await client.post("/upload", content=body())
    assert response.json() == {"length": 8 * len(chunk), "sum": (8 * sum(chunk)) % 65536}


async def test_the_request_sees_the_client_and_the_host(
    client: httpx.AsyncClient, smoke_server: ServerProcess
) -> None:
    response = await client.get("/whoami?x=1", headers={"User-Agent": "smoke/1.0"})
    assert response.json() == {
        "remote_addr": "127.0.0.1",
        "host": smoke_server.base_url.removeprefix("http://"),
        "url": smoke_server.base_url + "/whoami?x=1",
        "scheme": "http",
        "agent": "smoke/1.0",
    }


async def test_session_and_cookies_round_trip(client: httpx.AsyncClient) -> None:
    response = await client.post("/session", data={"name": "ann"})
    # Two Set-Cookie headers, kept apart by the server.
    assert sorted(cookie.split("=")[0] for cookie in response.headers.get_list("set-cookie")) == [
        "session",
        "theme",
    ]
    assert (await client.get("/session")).json() == {"name": "ann", "theme": "dark"}


async def test_not_found_as_json_for_json_clients(client: httpx.AsyncClient) -> None:
    response = await client.get("/missing", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json() == {"error": "not found", "path": "/missing"}


async def test_not_found_as_html_for_browsers(client: httpx.AsyncClient) -> None:
    response = await client.get("/missing", headers={"Accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>Not Found</h1>" in response.text


async def test_wrong_method_is_a_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.get("/echo")
    assert response.status_code == 405
    assert {method.strip() for method in response.headers["allow"].split(",")} == {
        "POST",
        "OPTIONS",
    }


async def test_redirect(client: httpx.AsyncClient) -> None:
    response = await client.get("/old")
    assert response.status_code == 302
    assert response.headers["location"] == "/json"
    followed = await client.get("/old", follow_redirects=True)
    assert followed.url.path == "/json"
    assert followed.json()["ok"] is True


async def test_streamed_chunks_arrive_one_by_one(client: httpx.AsyncClient) -> None:
    """Each chunk is read before the app may produce the next: the app waits for the test
    to open its gate over a second request, so a server that buffered the stream would
    never deliver the first chunk and the test would time out."""
    name = uuid.uuid4().hex
    async with asyncio.timeout(TIMEOUT), client.stream("GET", f"/stream/{name}") as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers
        lines = response.aiter_lines()
        for number in range(2):
            assert await anext(lines) == f"chunk {number}"
            # The stream is still waiting at its gate, so it has not produced the next.
            released = await client.post(f"/stream/{name}/next")
            assert released.status_code == 202
        assert await anext(lines) == "chunk 2"
        assert [line async for line in lines] == []
    # The stream finished and removed its gate.
    assert (await client.post(f"/stream/{name}/next")).status_code == 409
    assert (await client.get(f"/stream/{name}/closed")).status_code == 200


async def test_a_stream_ends_when_the_client_leaves(smoke_server: ServerProcess) -> None:
    """The client goes away while the app waits to produce the next chunk: the server
    tells the app, whose generator is closed (its ``finally`` runs) at once."""
    name = uuid.uuid4().hex
    async with (
        httpx.AsyncClient(base_url=smoke_server.base_url, timeout=TIMEOUT) as client,
        httpx.AsyncClient(base_url=smoke_server.base_url, timeout=TIMEOUT) as leaver,
    ):
        async with leaver.stream("GET", f"/stream/{name}") as response:
            assert await anext(response.aiter_lines()) == "chunk 0"
        # Leaving the block without reading the rest closed the leaver's connection.
        assert (await client.get(f"/stream/{name}/closed")).status_code == 200
        assert (await client.post(f"/stream/{name}/next")).status_code == 409


async def test_a_file_from_disk_whole_and_by_range(client: httpx.AsyncClient) -> None:
    """Under granian, which offers ASGI's ``http.response.pathsend``, a whole file is sent
    by the server itself; a range is sent by us, as under the other servers."""
    content = bytes(range(256)) * 1024
    response = await client.get("/big-file")
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-length"] == str(len(content))
    ranged = await client.get("/big-file", headers={"Range": "bytes=10-19"})
    assert ranged.status_code == 206
    assert ranged.content == content[10:20]
    head = await client.head("/big-file")
    assert head.headers["content-length"] == str(len(content)) and head.content == b""
