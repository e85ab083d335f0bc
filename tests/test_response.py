"""Turning view return values into responses, and the Response object itself."""

from __future__ import annotations

import asyncio

import pytest

from quart import Response, jsonify, make_response, request


async def test_str_return(app, client):
    @app.route("/")
    async def view():
        return "héllo"

    response = await client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert await response.get_data() == "héllo".encode()


async def test_bytes_return(app, client):
    @app.route("/")
    async def view():
        return b"\x00\x01raw"

    response = await client.get("/")
    assert await response.get_data() == b"\x00\x01raw"
    assert response.headers["Content-Length"] == "5"


async def test_dict_return_is_json(app, client):
    @app.route("/")
    async def view():
        return {"key": "value", "n": 1}

    response = await client.get("/")
    assert response.mimetype == "application/json"
    assert await response.get_json() == {"key": "value", "n": 1}


async def test_list_return_is_json(app, client):
    @app.route("/")
    async def view():
        return [1, "two", None]

    response = await client.get("/")
    assert response.mimetype == "application/json"
    assert await response.get_json() == [1, "two", None]


async def test_tuple_body_status(app, client):
    @app.route("/")
    async def view():
        return "created", 201

    response = await client.get("/")
    assert response.status_code == 201
    assert await response.get_data(as_text=True) == "created"


async def test_tuple_body_headers(app, client):
    @app.route("/dict")
    async def with_dict():
        return "body", {"X-One": "1"}

    @app.route("/list")
    async def with_list():
        return "body", [("X-Two", "2")]

    response = await client.get("/dict")
    assert response.status_code == 200
    assert response.headers["X-One"] == "1"
    assert (await client.get("/list")).headers["X-Two"] == "2"


async def test_tuple_body_status_headers(app, client):
    @app.route("/")
    async def view():
        return {"error": "nope"}, 418, {"X-Reason": "teapot"}

    response = await client.get("/")
    assert response.status_code == 418
    assert response.headers["X-Reason"] == "teapot"
    assert await response.get_json() == {"error": "nope"}


async def test_tuple_with_a_response_overrides_status_and_adds_headers(app, client):
    @app.route("/")
    async def view():
        return Response("r", status=200, headers={"X-A": "a"}), 202, {"X-B": "b"}

    response = await client.get("/")
    assert response.status_code == 202
    assert (response.headers["X-A"], response.headers["X-B"]) == ("a", "b")


async def test_response_object_return(app, client):
    @app.route("/")
    async def view():
        return Response("plain", status=203, mimetype="text/plain", headers={"X-R": "1"})

    response = await client.get("/")
    assert response.status_code == 203
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["X-R"] == "1"
    assert await response.get_data(as_text=True) == "plain"


async def test_sync_generator_return(app, client):
    @app.route("/")
    async def view():
        def generate():
            yield "a"
            yield b"b"
            yield "c"

        return generate()

    assert await (await client.get("/")).get_data(as_text=True) == "abc"


async def test_async_generator_return(app, client):
    @app.route("/")
    async def view():
        async def generate():
            for part in ("one ", "two ", "three"):
                await asyncio.sleep(0)
                yield part.encode()

        return generate(), 200, {"X-Streamed": "yes"}

    response = await client.get("/")
    assert response.headers["X-Streamed"] == "yes"
    assert await response.get_data(as_text=True) == "one two three"


async def test_streamed_response_is_sent_in_chunks(app, client):
    @app.route("/")
    async def view():
        async def generate():
            yield b"first"
            yield b"second"

        return generate()

    async with client.request("/") as connection:
        await connection.send_complete()
        assert await connection.receive() == b"first"
        assert await connection.receive() == b"second"


async def test_make_response(app, client):
    @app.route("/")
    async def view():
        response = await make_response("made", 202)
        response.headers["X-Made"] = "yes"
        return response

    response = await client.get("/")
    assert response.status_code == 202
    assert response.headers["X-Made"] == "yes"
    assert await response.get_data(as_text=True) == "made"


async def test_make_response_from_a_tuple_and_a_dict(app):
    async with app.test_request_context("/"):
        response = await make_response(({"a": 1}, 201, {"X-T": "t"}))
        assert response.status_code == 201
        assert response.headers["X-T"] == "t"
        assert await response.get_json() == {"a": 1}

        empty = await make_response()
        assert await empty.get_data() == b""
        assert empty.status_code == 200


async def test_jsonify(app, client):
    @app.route("/args")
    async def from_args():
        return jsonify(1, 2, 3)

    @app.route("/kwargs")
    async def from_kwargs():
        return jsonify(a=1, b=[True])

    response = await client.get("/args")
    assert response.mimetype == "application/json"
    assert await response.get_json() == [1, 2, 3]
    assert await (await client.get("/kwargs")).get_json() == {"a": 1, "b": [True]}


async def test_returning_none_is_a_type_error(app, client):
    app.testing = True

    @app.route("/")
    async def view():
        return None

    # the wording is free (Quart: "...cannot be None"); it must name the problem
    with pytest.raises(TypeError, match="None"):
        await client.get("/")


async def test_returning_none_outside_testing_is_a_500(app, client):
    @app.route("/")
    async def view():
        pass

    assert (await client.get("/")).status_code == 500


@pytest.mark.parametrize("value", [42, object(), 1.5])
async def test_returning_an_unsupported_type_is_a_type_error(app, client, value):
    app.testing = True

    @app.route("/")
    async def view():
        return value

    with pytest.raises(TypeError, match=type(value).__name__):
        await client.get("/")


async def test_response_get_data_and_get_json():
    response = Response('{"a": [1, 2]}', mimetype="application/json")
    assert await response.get_data() == b'{"a": [1, 2]}'
    assert await response.get_data(as_text=True) == '{"a": [1, 2]}'
    assert await response.get_json() == {"a": [1, 2]}
    assert await response.json == {"a": [1, 2]}
    assert response.is_json


async def test_response_set_data():
    response = Response("old")
    response.set_data("new body")
    assert await response.get_data(as_text=True) == "new body"
    assert response.content_length == len("new body")


async def test_response_status_helpers():
    response = Response("x", status=404)
    assert response.status_code == 404
    assert response.status == "404 NOT FOUND"
    response.status_code = 201
    assert response.status == "201 CREATED"
    response.status = "418 I'M A TEAPOT"
    assert response.status_code == 418


async def test_response_header_helpers():
    response = Response("x", content_type="text/plain; charset=utf-8")
    response.headers["X-Single"] = "1"
    response.headers.add("X-Multi", "a")
    response.headers.add("X-Multi", "b")
    assert response.headers.getlist("X-Multi") == ["a", "b"]
    assert response.mimetype == "text/plain"
    assert response.mimetype_params == {"charset": "utf-8"}
    response.location = "/elsewhere"
    assert response.headers["Location"] == "/elsewhere"
    response.cache_control.max_age = 60
    assert response.headers["Cache-Control"] == "max-age=60"
    del response.headers["X-Single"]
    assert "X-Single" not in response.headers


async def test_set_cookie_and_the_client_jar(app, client):
    @app.route("/login")
    async def login():
        response = Response("logged in")
        response.set_cookie("session_id", "abc123", httponly=True)
        return response

    @app.route("/whoami")
    async def whoami():
        return request.cookies.get("session_id", "nobody")

    @app.route("/logout")
    async def logout():
        response = Response("logged out")
        response.delete_cookie("session_id")
        return response

    response = await client.get("/login")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("session_id=abc123")
    assert "HttpOnly" in cookie

    assert await (await client.get("/whoami")).get_data(as_text=True) == "abc123"
    assert await (await client.get("/whoami")).get_data(as_text=True) == "abc123"

    response = await client.get("/logout")
    assert "session_id=;" in response.headers["Set-Cookie"]
    assert await (await client.get("/whoami")).get_data(as_text=True) == "nobody"


async def test_set_cookie_attributes(app, client):
    @app.route("/")
    async def view():
        response = Response("")
        response.set_cookie("pref", "dark", max_age=3600, path="/", secure=True, samesite="Lax")
        return response

    cookie = (await client.get("/")).headers["Set-Cookie"]
    assert cookie.startswith("pref=dark")
    for part in ("Max-Age=3600", "Secure", "SameSite=Lax", "Path=/"):
        assert part in cookie


async def test_response_timeout_cuts_a_slow_stream(app, client):
    @app.route("/")
    async def view():
        async def generate():
            yield b"first"
            await asyncio.sleep(30)
            yield b"never"

        response = await make_response(generate())
        response.timeout = 0.1
        return response

    response = await asyncio.wait_for(client.get("/"), timeout=10)
    assert await response.get_data() == b"first"


async def test_response_timeout_config(app, client):
    app.config["RESPONSE_TIMEOUT"] = 0.1

    @app.route("/")
    async def view():
        async def generate():
            yield b"start"
            await asyncio.sleep(30)
            yield b"never"

        return generate()

    response = await asyncio.wait_for(client.get("/"), timeout=10)
    assert await response.get_data() == b"start"


async def test_response_timeout_none_means_no_limit(app, client):
    app.config["RESPONSE_TIMEOUT"] = 0.01

    @app.route("/")
    async def view():
        async def generate():
            yield b"a"
            await asyncio.sleep(0.1)
            yield b"b"

        response = await make_response(generate())
        response.timeout = None
        return response

    assert await (await client.get("/")).get_data() == b"ab"
