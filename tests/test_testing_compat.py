"""Quart 0.22's test helpers: the fixed multipart boundary, the headers and scopes they
build, and ``session_transaction``'s arguments."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from werkzeug.datastructures import Authorization, Headers

from quart import Quart, has_request_context, request, session
from quart.datastructures import FileStorage
from quart.sessions import SecureCookieSessionInterface
from quart.testing import (
    QuartClient,
    connections,
    make_test_body_with_headers,
    make_test_headers_path_and_query_string,
    make_test_scope,
)

EXPECTED_MULTIPART = (
    b"\r\n------QuartBoundary\r\n"
    b'Content-Disposition: form-data; name="doc"; filename="a.txt"\r\n'
    b"Content-Type: text/plain\r\n\r\n"
    b"hello\r\n------QuartBoundary\r\n"
    b'Content-Disposition: form-data; name="note"\r\n\r\n'
    b"n\r\n------QuartBoundary--\r\n"
)


def test_multipart_bodies_have_a_fixed_boundary_and_files_come_first() -> None:
    body, headers = make_test_body_with_headers(
        form={"note": "n"},
        files={"doc": FileStorage(BytesIO(b"hello"), filename="a.txt", content_type="text/plain")},
    )
    assert headers["Content-Type"] == "multipart/form-data; boundary=----QuartBoundary"
    assert body == EXPECTED_MULTIPART


def test_a_large_file_is_encoded_whole() -> None:
    content = bytes(range(256)) * 200  # several read chunks
    body, _ = make_test_body_with_headers(
        files={"big": FileStorage(BytesIO(content), filename="big.bin")}
    )
    assert content in body
    assert body.count(b"------QuartBoundary") == 2


async def test_the_app_receives_the_multipart_body_the_helper_builds(
    app: Quart, client: Any
) -> None:
    seen: dict[str, Any] = {}

    @app.post("/")
    async def view() -> str:
        seen["content_type"] = request.headers["Content-Type"]
        seen["form"] = (await request.form).to_dict(flat=False)
        files = await request.files
        seen["files"] = {name: files[name].read() for name in files}
        return ""

    await client.post(
        "/",
        form={"tags": ["a", "b"], "note": "é"},
        files={"doc": (b"content", "doc.txt", "text/plain"), "raw": b"raw bytes"},
    )
    assert seen["content_type"] == "multipart/form-data; boundary=----QuartBoundary"
    assert seen["form"] == {"tags": ["a", "b"], "note": ["é"]}
    assert seen["files"] == {"doc": b"content", "raw": b"raw bytes"}


def test_a_given_authorization_header_wins_over_auth(app: Quart) -> None:
    headers, _, _ = make_test_headers_path_and_query_string(
        app, "/", {"Authorization": "Bearer mine"}, auth=("user", "pass")
    )
    assert headers["Authorization"] == "Bearer mine"
    headers, _, _ = make_test_headers_path_and_query_string(
        app, "/", auth=Authorization("basic", {"username": "u", "password": "p"})
    )
    assert headers["Authorization"] == "Basic dTpw"


def test_test_headers_come_in_quarts_order_and_the_callers_are_not_changed(app: Quart) -> None:
    given = Headers({"X-Mine": "1"})
    headers, path, query = make_test_headers_path_and_query_string(
        app, "/a%20b?x=1", given, auth=("u", "p")
    )
    assert [name.lower() for name, _ in headers.items()] == [
        "x-mine",
        "authorization",
        "user-agent",
        "host",
    ]
    assert (path, query) == ("/a b", b"x=1")
    assert list(given.items()) == [("X-Mine", "1")]


def test_make_test_scope_quotes_the_path_as_an_iri_and_marks_preservation() -> None:
    scope = make_test_scope("http", "/a:b c/é", "GET", Headers(), b"", "http", "", "1.1", None)
    assert scope["raw_path"] == b"/a:b%20c/%C3%A9"
    assert scope["_quart._preserve_context"] is False
    preserved = make_test_scope(
        "http", "/", "GET", Headers(), b"", "http", "", "1.1", None, _preserve_context=True
    )
    assert preserved["_quart._preserve_context"] is True


def test_make_test_scope_needs_a_scope_base_as_in_quart() -> None:
    with pytest.raises(TypeError):
        make_test_scope("http", "/", "GET", Headers(), b"", "http", "", "1.1")  # type: ignore[call-arg]


def _recording_interface(seen: list[Any]) -> SecureCookieSessionInterface:
    class Recording(SecureCookieSessionInterface):
        async def open_session(self, app: Any, req: Any) -> Any:
            seen.append(
                (req.authorization and req.authorization.username, req.args.to_dict(), req.path)
            )
            return await super().open_session(app, req)

    return Recording()


async def test_session_transaction_sends_auth_and_the_query_string(app: Quart) -> None:
    app.secret_key = "secret"
    seen: list[Any] = []
    app.session_interface = _recording_interface(seen)
    client = app.test_client()
    async with client.session_transaction("/page?from=path", auth=("ada", "pw")) as sess:
        sess["user"] = "ada"
    async with client.session_transaction("/other", query_string={"q": "1"}):
        pass
    assert seen == [("ada", {"from": "path"}, "/page"), (None, {"q": "1"}, "/other")]


async def test_session_transaction_leaves_no_request_context_inside_the_block(
    app: Quart,
) -> None:
    app.secret_key = "secret"

    @app.get("/")
    async def view() -> str:
        return session.get("user", "nobody")

    client = app.test_client()
    async with client.session_transaction() as sess:
        assert not has_request_context()
        sess["user"] = "grace"
        # the client can be used inside the block; the change is saved at its end
        assert await (await client.get("/")).get_data() == b"nobody"
    assert await (await client.get("/")).get_data() == b"grace"


def test_the_client_names_its_connection_protocols() -> None:
    import quart.typing
    from quart.testing import client as client_module

    assert client_module.TestHTTPConnectionProtocol is quart.typing.TestHTTPConnectionProtocol
    assert (
        client_module.TestWebsocketConnectionProtocol
        is quart.typing.TestWebsocketConnectionProtocol
    )
    assert QuartClient.http_connection_class is connections.TestHTTPConnection
    assert QuartClient.websocket_connection_class is connections.TestWebsocketConnection


async def test_a_streaming_request_knows_whether_the_context_is_preserved(
    app: Quart,
) -> None:
    @app.post("/")
    async def view() -> str:
        return (await request.get_data(as_text=True)).upper()

    client = app.test_client()
    async with client:
        async with client.request("/", method="POST") as connection:
            assert connection.scope["_quart._preserve_context"] is True
            await connection.send(b"abc")
            await connection.send_complete()
        assert await (await connection.as_response()).get_data() == b"ABC"
    connection = client.request("/")
    assert connection.scope["_quart._preserve_context"] is False
