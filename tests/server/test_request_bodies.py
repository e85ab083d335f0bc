"""Request bodies over a real server: JSON in and out, url-encoded forms, multipart uploads."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import tracemalloc
from typing import Any

import httpx
import pytest

from quart import Quart, jsonify, request


def make_app() -> Quart:
    app = Quart(__name__)

    @app.post("/echo-json")
    async def echo_json() -> dict[str, Any]:
        data = await request.get_json()
        return {"received": data, "is_json": request.is_json}

    @app.post("/sum")
    async def total() -> Any:
        numbers = (await request.get_json())["numbers"]
        return jsonify(total=sum(numbers), count=len(numbers))

    @app.get("/list")
    async def a_list() -> Any:
        return jsonify([1, "two", None, True, {"three": 3.5}])

    @app.get("/unicode")
    async def unicode() -> dict[str, str]:
        return {"greeting": "héllo wörld ☃"}

    @app.post("/json-or-none")
    async def json_or_none() -> dict[str, Any]:
        return {"json": await request.get_json(), "silent": await request.get_json(silent=True)}

    @app.post("/raw")
    async def raw() -> dict[str, Any]:
        data = await request.get_data()
        return {"length": len(data), "sha256": hashlib.sha256(data).hexdigest()}

    @app.post("/form")
    async def form() -> dict[str, Any]:
        fields = await request.form
        return {
            "name": fields["name"],
            "colours": fields.getlist("colour"),
            "missing": fields.get("missing", "default"),
            "files": sorted((await request.files).keys()),
        }

    @app.post("/upload")
    async def upload() -> dict[str, Any]:
        fields = await request.form
        uploaded = (await request.files)["file"]
        content = uploaded.read()
        return {
            "filename": uploaded.filename,
            "field_name": uploaded.name,
            "content_type": uploaded.content_type,
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "text": content.decode("utf-8", "replace") if len(content) < 100 else None,
            "description": fields.get("description"),
        }

    @app.post("/upload-many")
    async def upload_many() -> dict[str, Any]:
        files = await request.files
        return {
            name: [(item.filename, item.read().decode()) for item in files.getlist(name)]
            for name in files
        }

    return app


@pytest.fixture
async def client(serve: Any) -> Any:
    base_url = await serve(make_app())
    async with httpx.AsyncClient(base_url=base_url) as client:
        yield client


# --- JSON -------------------------------------------------------------------------


async def test_json_round_trip_through_a_dict(client: httpx.AsyncClient) -> None:
    payload = {"name": "Ada", "tags": ["a", "b"], "nested": {"n": 1, "ok": False, "x": None}}
    response = await client.post("/echo-json", json=payload)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"received": payload, "is_json": True}


async def test_jsonify_keyword_arguments(client: httpx.AsyncClient) -> None:
    response = await client.post("/sum", json={"numbers": [1, 2, 3, 4.5]})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"total": 10.5, "count": 4}


async def test_jsonify_a_list(client: httpx.AsyncClient) -> None:
    response = await client.get("/list")
    assert response.headers["content-type"] == "application/json"
    assert response.json() == [1, "two", None, True, {"three": 3.5}]


async def test_json_response_unicode(client: httpx.AsyncClient) -> None:
    response = await client.get("/unicode")
    assert response.json() == {"greeting": "héllo wörld ☃"}
    assert int(response.headers["content-length"]) == len(response.content)


async def test_json_with_charset_in_content_type(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/echo-json",
        content=json.dumps({"city": "Zürich"}).encode(),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.json() == {"received": {"city": "Zürich"}, "is_json": True}


async def test_json_vendor_type_counts_as_json(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/echo-json", content=b'{"a": 1}', headers={"content-type": "application/vnd.api+json"}
    )
    assert response.json() == {"received": {"a": 1}, "is_json": True}


async def test_get_json_without_json_content_type_is_none(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/json-or-none", content=b'{"a": 1}', headers={"content-type": "text/plain"}
    )
    assert response.status_code == 200
    assert response.json() == {"json": None, "silent": None}


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/echo-json", content=b'{"a": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    # and the server goes on serving
    assert (await client.post("/echo-json", json=[1])).json()["received"] == [1]


async def test_raw_body_arrives_intact(client: httpx.AsyncClient) -> None:
    body = bytes(range(256)) * 4096  # 1 MiB, every byte value
    response = await client.post("/raw", content=body)
    assert response.json() == {"length": len(body), "sha256": hashlib.sha256(body).hexdigest()}


async def test_raw_body_sent_chunked(client: httpx.AsyncClient) -> None:
    parts = [b"alpha-", b"beta-", b"gamma"]

    async def chunks() -> Any:
        for part in parts:
            yield part

    response = await client.post("/raw", content=chunks())
    body = b"".join(parts)
    assert response.json() == {"length": len(body), "sha256": hashlib.sha256(body).hexdigest()}


# --- forms ------------------------------------------------------------------------


async def test_urlencoded_form(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/form", data={"name": "Grace Hopper & co", "colour": ["red", "green"]}
    )
    assert response.status_code == 200
    assert response.json() == {
        "name": "Grace Hopper & co",
        "colours": ["red", "green"],
        "missing": "default",
        "files": [],
    }


async def test_urlencoded_form_unicode(client: httpx.AsyncClient) -> None:
    response = await client.post("/form", data={"name": "Ünïcødé ☃", "colour": "blue"})
    assert response.json()["name"] == "Ünïcødé ☃"
    assert response.json()["colours"] == ["blue"]


async def test_missing_form_field_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/form", data={"colour": "red"})
    assert response.status_code == 400


async def test_multipart_fields_without_files(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/form",
        data={"name": "multi", "colour": ["a", "b"]},
        files={"attachment": ("a.txt", b"x", "text/plain")},
    )
    assert response.json() == {
        "name": "multi",
        "colours": ["a", "b"],
        "missing": "default",
        "files": ["attachment"],
    }


async def test_file_upload(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/upload",
        data={"description": "a greeting"},
        files={"file": ("hello.txt", b"hello, upload\n", "text/plain")},
    )
    assert response.status_code == 200
    assert response.json() == {
        "filename": "hello.txt",
        "field_name": "file",
        "content_type": "text/plain",
        "size": 14,
        "sha256": hashlib.sha256(b"hello, upload\n").hexdigest(),
        "text": "hello, upload\n",
        "description": "a greeting",
    }


async def test_large_binary_upload_is_intact(client: httpx.AsyncClient) -> None:
    # 2 MiB with every byte value, including CR/LF and bytes that look like a boundary start
    content = (bytes(range(256)) * 8192)[: 2 * 1024 * 1024]
    content = content[:1000] + b"\r\n--" + content[1000:]
    response = await client.post(
        "/upload", files={"file": ("data.bin", content, "application/octet-stream")}
    )
    assert response.status_code == 200
    result = response.json()
    assert result["filename"] == "data.bin"
    assert result["content_type"] == "application/octet-stream"
    assert result["size"] == len(content)
    assert result["sha256"] == hashlib.sha256(content).hexdigest()
    assert result["description"] is None


async def test_upload_of_an_empty_file(client: httpx.AsyncClient) -> None:
    response = await client.post("/upload", files={"file": ("empty.txt", b"", "text/plain")})
    assert response.json()["size"] == 0
    assert response.json()["filename"] == "empty.txt"


async def test_upload_missing_file_field_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/upload", files={"other": ("x.txt", b"x", "text/plain")}, data={"description": "d"}
    )
    assert response.status_code == 400


async def test_several_files_under_one_name(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/upload-many",
        files=[
            ("docs", ("one.txt", b"first", "text/plain")),
            ("docs", ("two.txt", b"second", "text/plain")),
            ("image", ("pic.txt", b"third", "text/plain")),
        ],
    )
    assert response.json() == {
        "docs": [["one.txt", "first"], ["two.txt", "second"]],
        "image": [["pic.txt", "third"]],
    }


# --- body limits, timeouts and clients that leave -------------------------------------
#
# These talk to the server with a raw socket where httpx cannot show the point: a body
# that is never sent, a body that stops halfway, a client that hangs up mid-body.

BLOCK = bytes(range(256)) * 256  # 64 KiB, every byte value


def limits_app(**config: Any) -> Quart:
    app = Quart(__name__)
    app.config.update(config)

    @app.post("/stream")
    async def stream() -> dict[str, Any]:
        digest = hashlib.sha256()
        size = largest = 0
        async for chunk in request.body:
            digest.update(chunk)
            size += len(chunk)
            largest = max(largest, len(chunk))
        return {"size": size, "sha256": digest.hexdigest(), "largest": largest}

    @app.post("/data")
    async def data() -> dict[str, Any]:
        return {"size": len(await request.get_data())}

    @app.post("/form")
    async def form() -> dict[str, Any]:
        return {"size": len((await request.form)["field"])}

    @app.post("/files")
    async def files() -> dict[str, Any]:
        return {"size": len((await request.files)["upload"].read())}

    @app.post("/json")
    async def json_body() -> dict[str, Any]:
        return {"size": len((await request.get_json())["field"])}

    return app


async def open_raw(base_url: str, head: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to the server that has sent ``head`` (request line, headers, maybe
    part of a body) and nothing more."""
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(head)
    await writer.drain()
    return reader, writer


async def read_status(reader: asyncio.StreamReader) -> int:
    async with asyncio.timeout(10):
        line = await reader.readline()
    return int(line.split()[1])


async def test_a_50_mb_chunked_upload_streams_through_in_bounded_memory(
    serve_each: Any,
) -> None:
    base_url = await serve_each(limits_app(MAX_CONTENT_LENGTH=None))
    count = 800  # 50 MiB
    expected = hashlib.sha256()
    for _ in range(count):
        expected.update(BLOCK)

    async def upload() -> Any:
        for _ in range(count):
            yield BLOCK

    tracemalloc.start()
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            response = await client.post("/stream", content=upload())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 200
    result = response.json()
    assert result["size"] == count * len(BLOCK)
    assert result["sha256"] == expected.hexdigest()
    assert result["largest"] <= 1024 * 1024
    # Server, client and view together never held more than a sliver of the 50 MiB.
    assert peak < 8 * 1024 * 1024


async def test_a_declared_length_over_the_limit_is_413_before_the_body_is_sent(
    serve_each: Any,
) -> None:
    base_url = await serve_each(limits_app(MAX_CONTENT_LENGTH=1000))
    # The client announces 10 GB and waits: the answer must come without any of it.
    head = b"POST /data HTTP/1.1\r\nHost: test\r\nContent-Length: 10000000000\r\n\r\n"
    reader, writer = await open_raw(base_url, head)
    try:
        assert await read_status(reader) == 413
    finally:
        writer.close()


@pytest.mark.parametrize("reader", ["stream", "data", "form", "files", "json"])
async def test_a_chunked_body_over_the_limit_is_413(serve_each: Any, reader: str) -> None:
    base_url = await serve_each(limits_app(MAX_CONTENT_LENGTH=4000))

    def body(size: int) -> tuple[list[bytes], dict[str, str]]:
        value = "v" * size
        if reader == "form":
            encoded, kind = f"field={value}".encode(), "application/x-www-form-urlencoded"
        elif reader == "files":
            kind = "multipart/form-data; boundary=b0undary"
            encoded = (
                b"--b0undary\r\n"
                b'Content-Disposition: form-data; name="upload"; filename="u.txt"\r\n\r\n'
                + value.encode()
                + b"\r\n--b0undary--\r\n"
            )
        elif reader == "json":
            encoded, kind = json.dumps({"field": value}).encode(), "application/json"
        else:
            encoded, kind = value.encode(), "application/octet-stream"
        pieces = [encoded[index : index + 700] for index in range(0, len(encoded), 700)]
        return pieces, {"content-type": kind}

    async def chunked(pieces: list[bytes]) -> Any:
        for piece in pieces:
            yield piece  # no Content-Length: the size is only known by counting

    async with httpx.AsyncClient(base_url=base_url) as client:
        pieces, headers = body(3000)
        accepted = await client.post(f"/{reader}", content=chunked(pieces), headers=headers)
        pieces, headers = body(5000)
        refused = await client.post(f"/{reader}", content=chunked(pieces), headers=headers)
    assert accepted.status_code == 200
    assert accepted.json()["size"] == 3000
    assert refused.status_code == 413


async def test_a_stalled_body_is_408_after_body_timeout(
    serve_each: Any, caplog: pytest.LogCaptureFixture
) -> None:
    base_url = await serve_each(limits_app(BODY_TIMEOUT=0.5))
    head = b"POST /data HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n0123456789"
    with caplog.at_level(logging.ERROR):
        loop = asyncio.get_running_loop()
        reader, writer = await open_raw(base_url, head)
        started = loop.time()
        try:
            status = await read_status(reader)
            waited = loop.time() - started
        finally:
            writer.close()
        async with httpx.AsyncClient(base_url=base_url) as client:
            after = await client.post("/data", content=b"x" * 100)
    assert status == 408
    assert 0.45 <= waited < 5
    assert after.json() == {"size": 100}  # the app goes on serving
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("path", ["/stream", "/data"])
async def test_a_client_leaving_mid_body_ends_the_request_quietly(
    serve_each: Any, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    app = limits_app()
    reached: list[str] = []
    torn_down = asyncio.Event()
    reasons: list[BaseException | None] = []

    @app.after_request
    async def after(response: Any) -> Any:
        reached.append("after_request")
        return response

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        reasons.append(exc)
        torn_down.set()

    base_url = await serve_each(app)
    head = f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Length: 100000\r\n\r\n".encode()
    with caplog.at_level(logging.ERROR):
        _, writer = await open_raw(base_url, head + b"x" * 1000)
        writer.close()
        async with asyncio.timeout(10):
            await torn_down.wait()
    assert reached == []  # no response was made for nobody
    assert len(reasons) == 1
    assert reasons[0] is not None  # teardown is told why the request ended
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []
