"""The test client: methods, request bodies, options, cookies and streaming connections."""

from __future__ import annotations

import asyncio
import json
from io import BytesIO

import pytest

from quart import Response, redirect, request
from quart.datastructures import FileStorage


@pytest.fixture
def echo(app):
    """A view that reports everything it received."""

    @app.route("/echo", methods=["GET", "POST", "PUT", "DELETE", "PATCH", "TRACE"])
    async def echo_view():
        files = await request.files
        return {
            "method": request.method,
            "args": request.args.to_dict(flat=False),
            "form": (await request.form).to_dict(flat=False),
            "files": {key: file.read().decode() for key, file in files.items()},
            "data": (await request.get_data(as_text=True)) if not files else "",
            "content_type": request.content_type,
            "headers": {"x-test": request.headers.get("X-Test")},
            "scheme": request.scheme,
            "http_version": request.http_version,
            "root_path": request.root_path,
        }

    return echo_view


@pytest.mark.parametrize("method", ["get", "post", "put", "delete", "patch"])
async def test_method_helpers(client, echo, method):
    response = await getattr(client, method)("/echo")
    assert (await response.get_json())["method"] == method.upper()


async def test_head_and_options_helpers(client, echo):
    assert (await client.head("/echo")).status_code == 200
    response = await client.options("/echo")
    assert "POST" in response.headers["Allow"]


async def test_open_with_a_method(client, echo):
    response = await client.open("/echo", method="TRACE")
    assert (await response.get_json())["method"] == "TRACE"


async def test_json_argument(client, echo):
    response = await client.post("/echo", json={"a": [1, 2]})
    body = await response.get_json()
    assert body["content_type"] == "application/json"
    assert json.loads(body["data"]) == {"a": [1, 2]}


async def test_form_argument(client, echo):
    response = await client.post("/echo", form={"name": "ada", "city": "london"})
    body = await response.get_json()
    assert body["content_type"] == "application/x-www-form-urlencoded"
    assert body["form"] == {"name": ["ada"], "city": ["london"]}


async def test_data_argument_str_and_bytes(client, echo):
    body = await (await client.post("/echo", data="text data")).get_json()
    assert body["data"] == "text data"
    body = await (await client.post("/echo", data=b"bytes data")).get_json()
    assert body["data"] == "bytes data"


async def test_files_argument(client, echo):
    upload = FileStorage(BytesIO(b"uploaded"), filename="up.txt", content_type="text/plain")
    response = await client.post("/echo", files={"doc": upload}, form={"note": "n"})
    body = await response.get_json()
    assert body["content_type"].startswith("multipart/form-data; boundary=")
    assert body["files"] == {"doc": "uploaded"}
    assert body["form"] == {"note": ["n"]}


async def test_json_and_form_are_mutually_exclusive(client, echo):
    with pytest.raises(ValueError):
        await client.post("/echo", json={"a": 1}, form={"b": "2"})
    with pytest.raises(ValueError):
        await client.post("/echo", json={"a": 1}, data=b"x")


async def test_query_string_argument(client, echo):
    response = await client.get("/echo", query_string={"a": "1", "b": ["x", "y"]})
    assert (await response.get_json())["args"] == {"a": ["1"], "b": ["x", "y"]}


async def test_query_string_in_the_path(client, echo):
    response = await client.get("/echo?a=1&a=2&b=%20")
    assert (await response.get_json())["args"] == {"a": ["1", "2"], "b": [" "]}


async def test_query_string_in_both_places_is_an_error(client, echo):
    with pytest.raises(ValueError):
        await client.get("/echo?a=1", query_string={"b": "2"})


async def test_headers_argument(client, echo):
    response = await client.get("/echo", headers={"X-Test": "header value"})
    assert (await response.get_json())["headers"] == {"x-test": "header value"}


async def test_auth_argument(app, client):
    @app.route("/auth")
    async def auth():
        return request.headers["Authorization"]

    response = await client.get("/auth", auth=("aladdin", "opensesame"))
    assert await response.get_data(as_text=True) == "Basic YWxhZGRpbjpvcGVuc2VzYW1l"


async def test_scheme_argument(client, echo):
    response = await client.get("/echo", scheme="https")
    assert (await response.get_json())["scheme"] == "https"


async def test_root_path_argument(client, echo):
    response = await client.get("/mounted/echo", root_path="/mounted")
    assert (await response.get_json())["root_path"] == "/mounted"


async def test_http_version_argument(client, echo):
    body = await (await client.get("/echo")).get_json()
    assert body["http_version"] == "1.1"
    body = await (await client.get("/echo", http_version="2")).get_json()
    assert body["http_version"] == "2"


async def test_follow_redirects(app, client):
    @app.route("/start", methods=["POST"])
    async def start():
        return redirect("/middle")

    @app.route("/middle")
    async def middle():
        return redirect("/end", code=301)

    @app.route("/end")
    async def end():
        return f"arrived via {request.method}"

    response = await client.post("/start")
    assert response.status_code == 302

    response = await client.post("/start", follow_redirects=True)
    assert response.status_code == 200
    # a 302 is followed with GET, as browsers do
    assert await response.get_data(as_text=True) == "arrived via GET"


async def test_cookie_jar_persists_across_requests(app, client):
    @app.route("/set/<value>")
    async def set_value(value):
        response = Response("set")
        response.set_cookie("counter", value)
        return response

    @app.route("/read")
    async def read():
        return request.cookies.get("counter", "none")

    assert await (await client.get("/read")).get_data(as_text=True) == "none"
    await client.get("/set/1")
    assert await (await client.get("/read")).get_data(as_text=True) == "1"
    await client.get("/set/2")
    assert await (await client.get("/read")).get_data(as_text=True) == "2"

    # each client has its own jar
    assert await (await app.test_client().get("/read")).get_data(as_text=True) == "none"


async def test_client_set_and_delete_cookie(app, client):
    @app.route("/read")
    async def read():
        return request.cookies.get("flavour", "none")

    client.set_cookie("localhost", "flavour", "oatmeal")
    assert await (await client.get("/read")).get_data(as_text=True) == "oatmeal"
    client.delete_cookie("localhost", "flavour")
    assert await (await client.get("/read")).get_data(as_text=True) == "none"


async def test_client_without_cookies(app):
    @app.route("/set")
    async def set_cookie():
        response = Response("set")
        response.set_cookie("c", "1")
        return response

    @app.route("/read")
    async def read():
        return request.cookies.get("c", "none")

    client = app.test_client(use_cookies=False)
    await client.get("/set")
    assert await (await client.get("/read")).get_data(as_text=True) == "none"


async def test_streaming_request_body(app, client):
    @app.route("/upload", methods=["POST"])
    async def upload():
        chunks = [chunk async for chunk in request.body]
        return {"total": b"".join(chunks).decode()}

    async with client.request("/upload", method="POST") as connection:
        await connection.send(b"part one, ")
        await connection.send(b"part two")
        await connection.send_complete()
    response = await connection.as_response()
    assert response.status_code == 200
    assert await response.get_json() == {"total": "part one, part two"}


async def test_streaming_request_and_response_interleave(app, client):
    @app.route("/echo-stream", methods=["POST"])
    async def echo_stream():
        body = request.body

        async def generate():
            async for chunk in body:
                yield chunk.upper()

        return generate()

    async with client.request("/echo-stream", method="POST") as connection:
        await connection.send(b"first")
        assert await asyncio.wait_for(connection.receive(), timeout=5) == b"FIRST"
        await connection.send(b"second")
        assert await asyncio.wait_for(connection.receive(), timeout=5) == b"SECOND"
        await connection.send_complete()
    response = await connection.as_response()
    assert response.status_code == 200


async def test_streaming_connection_headers_and_query(app, client):
    @app.route("/info", methods=["PUT"])
    async def info():
        return {
            "q": request.args["q"],
            "h": request.headers["X-H"],
            "body": await request.get_data(as_text=True),
        }

    async with client.request(
        "/info", method="PUT", headers={"X-H": "hv"}, query_string={"q": "qv"}
    ) as connection:
        await connection.send(b"payload")
        await connection.send_complete()
    response = await connection.as_response()
    assert await response.get_json() == {"q": "qv", "h": "hv", "body": "payload"}
