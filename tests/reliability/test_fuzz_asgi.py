"""Fuzzing at the ASGI level: a representative app driven through its ASGI interface
(scope dicts and receive/send callables built here, no server) with inputs hypothesis
makes up: odd methods, paths with escapes and invalid UTF-8, huge queries, malformed
values of every header the framework parses, bodies cut short, too long or in many
pieces, clients that leave at any point, and bad websocket frames.

For every example: no 5xx, nothing raised out of the ASGI call, a well-formed ASGI message
sequence, no task of ours left running, and the app still answers a plain GET.

Bounded and derandomized by default (part of ``make test``). A long, random run:
``QUART_FUZZ_EXAMPLES=100000 .venv/bin/pytest tests/reliability/test_fuzz_asgi.py``
(``make fuzz``).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes, unquote_to_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leftover_tasks import our_tasks
from quart import (
    Quart,
    abort,
    jsonify,
    request,
    send_file,
    session,
    websocket,
)
from quart.exceptions import BadRequest

LONG_RUN = int(os.environ.get("QUART_FUZZ_EXAMPLES", "0"))
CALL_TIMEOUT = 10.0  # seconds: a request still running after this is a hang
FILE_DATA = bytes(range(256)) * 4  # 1 KiB served by send_file


def fuzz_settings(examples: int) -> settings:
    """Fixed examples in CI; many random ones when QUART_FUZZ_EXAMPLES is set."""
    return settings(
        max_examples=LONG_RUN or examples,
        derandomize=not LONG_RUN,
        deadline=None,
        database=None,  # write nothing into the tree
        print_blob=bool(LONG_RUN),  # a random run's failure, to replay with @reproduce_failure
        # Bodies and huge queries are big by design and each example runs a request.
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --- the app ---------------------------------------------------------------------------


def make_app(file_path: Path) -> Quart:
    app = Quart(__name__)
    app.config["SECRET_KEY"] = "fuzz secret"
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024

    @app.route("/json", methods=["GET", "POST", "PUT"])
    async def json_view() -> Any:
        if request.method == "GET":
            return {"ok": True}
        data = await request.get_json()
        return jsonify(received=data)

    @app.route("/form", methods=["POST", "PUT", "PATCH"])
    async def form_view() -> Any:
        form = await request.form
        return {"form": {key: form.getlist(key) for key in form}}

    @app.post("/upload")
    async def upload_view() -> Any:
        files = await request.files
        form = await request.form
        sizes = {key: len(storage.read()) for key, storage in files.items(multi=True)}
        return {"files": sizes, "fields": len(form)}

    @app.route("/args")
    async def args_view() -> Any:
        return {
            "count": len(request.args),
            "a": request.args.getlist("a"),
            "n": request.args.get("n", type=int),
            "cookies": dict(request.cookies),
            "host": request.host,
            "url": request.url,
            "remote": request.remote_addr,
            "auth": request.authorization is not None,
            "accept": request.accept_mimetypes.best,
            "lang": request.accept_languages.best,
            "encodings": str(request.accept_encodings),
            "charsets": str(request.accept_charsets),
            "if_none_match": str(request.if_none_match),
            "if_modified_since": str(request.if_modified_since),
            "range": str(request.range),
            "content_length": request.content_length,
            "mimetype": request.mimetype,
            "scheme": request.scheme,
        }

    @app.route("/session", methods=["GET", "POST"])
    async def session_view() -> Any:
        visits = session.get("visits")
        session["visits"] = visits + 1 if isinstance(visits, int) else 1
        return {"visits": session["visits"]}

    @app.route("/int/<int:number>")
    async def int_view(number: int) -> Any:
        return {"number": number}

    @app.route("/path/<path:rest>")
    async def path_view(rest: str) -> Any:
        return {"rest": rest}

    @app.route("/file")
    async def file_view() -> Any:
        return await send_file(file_path, conditional=True)

    @app.route("/stream")
    async def stream_view() -> Any:
        count = min(request.args.get("n", 3, type=int), 20)

        async def generate() -> Any:
            for index in range(max(count, 0)):
                yield f"chunk {index}\n".encode()
                await asyncio.sleep(0)

        return generate(), 200, {"Content-Type": "text/plain"}

    @app.route("/error/<kind>")
    async def error_view(kind: str) -> Any:
        if kind == "lookup":
            raise LookupError(kind)
        abort(403)

    @app.errorhandler(LookupError)
    async def handle_lookup(error: LookupError) -> Any:
        return {"handled": str(error)}, 409

    @app.websocket("/ws")
    async def ws_echo() -> None:
        await websocket.accept()
        while True:
            try:
                data = await websocket.receive_json()
            except BadRequest:
                await websocket.send_json({"error": "invalid"})
            else:
                await websocket.send_json({"echo": data})

    @app.websocket("/ws/raw")
    async def ws_raw() -> None:
        # No handling of bad JSON here: the framework must close cleanly, not fail.
        while True:
            data = await websocket.receive_json()
            await websocket.send_json({"echo": data})

    return app


@pytest.fixture(scope="module")
def file_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / "data.bin"
    path.write_bytes(FILE_DATA)
    return path


@pytest.fixture(scope="module")
def app(file_path: Path) -> Quart:
    return make_app(file_path)


@pytest.fixture(scope="module")
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as loop_runner:
        yield loop_runner


# --- driving the app -------------------------------------------------------------------


def http_scope(
    method: str,
    raw_path: bytes,
    path: str,
    query: bytes,
    headers: list[tuple[bytes, bytes]],
) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": raw_path,
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80),
        "extensions": {},
    }


class Client:
    """The client side of one ASGI call: hands out ``messages`` in order; after the last
    one, a client that left keeps reporting ``disconnect``, one that did not waits (as a
    server does with an idle connection)."""

    def __init__(
        self, messages: list[dict[str, Any]], disconnect: str, send_fails: bool = False
    ) -> None:
        self.messages = list(messages)
        self.send_fails = send_fails  # once the client left, as ASGI 2.4 servers do
        self.disconnect_type = disconnect
        self.left = False
        self.sent: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        if self.left:
            return {"type": self.disconnect_type, "code": 1006}
        if self.messages:
            message = self.messages.pop(0)
            if message["type"] == self.disconnect_type:
                self.left = True
            return message
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(self, message: dict[str, Any]) -> None:
        if self.left and self.send_fails:
            raise OSError("the client left")
        self.sent.append(message)


async def run_call(app: Quart, scope: dict[str, Any], client: Client) -> None:
    await asyncio.wait_for(app(scope, client.receive, client.send), CALL_TIMEOUT)
    await asyncio.sleep(0)
    leftover = our_tasks()
    assert not leftover, f"tasks left behind: {leftover}"


def check_http_sequence(sent: list[dict[str, Any]], client_left: bool, method: str) -> None:
    """A start, then body messages, the last with more_body False (unless the client
    left, when the sequence may stop early or be empty)."""
    if not sent:
        assert client_left, "nothing was sent to a client that stayed"
        return
    start, *bodies = sent
    assert start["type"] == "http.response.start", sent
    status = start["status"]
    assert isinstance(status, int) and 100 <= status <= 599, status
    assert status < 500, f"server error {status}: {sent}"
    for name, value in start.get("headers", []):
        assert isinstance(name, bytes) and isinstance(value, bytes), (name, value)
        assert name == name.lower(), name
        assert b"\r" not in value and b"\n" not in value, value
    finished = False
    for message in bodies:
        assert not finished, f"message after the last body: {sent}"
        assert message["type"] == "http.response.body", sent
        assert isinstance(message.get("body", b""), bytes)
        finished = not message.get("more_body", False)
    if not client_left:
        assert finished, f"response never finished: {sent}"
    if finished and method != "HEAD" and status not in (204, 304):
        lengths = [v for k, v in start.get("headers", []) if k == b"content-length"]
        if lengths:
            body = b"".join(message.get("body", b"") for message in bodies)
            assert int(lengths[0]) == len(body), (lengths, len(body))


async def plain_get(app: Quart) -> None:
    """The app still answers after whatever came before."""
    client = Client([{"type": "http.request", "body": b"", "more_body": False}], "x")
    scope = http_scope("GET", b"/json", "/json", b"", [(b"host", b"localhost")])
    await run_call(app, scope, client)
    assert client.sent[0]["status"] == 200, client.sent
    body = b"".join(message.get("body", b"") for message in client.sent[1:])
    assert json.loads(body) == {"ok": True}


# --- strategies ------------------------------------------------------------------------

METHODS = st.one_of(
    st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
    st.sampled_from(["TRACE", "CONNECT", "PROPFIND", "BREW", "get", "M-SEARCH"]),
    st.from_regex(r"\A[A-Za-z!#$%&'*+.^_`|~0-9-]{1,12}\Z"),
)

ROUTES = [
    "/json", "/form", "/upload", "/args", "/session", "/int/", "/path/", "/file",
    "/stream", "/error/lookup", "/error/", "/", "/nope", "//json", "/json/",
]

# Raw path bytes: escapes (valid, invalid, of invalid UTF-8), raw high bytes, dots, slashes.
PATH_PIECES = st.one_of(
    st.sampled_from([
        b"%", b"%2", b"%zz", b"%2F", b"%00", b"%ff", b"%c3%28", b"%e2%82", b"..", b".", b"/",
        b"%2e%2e", b"\xff", b"\xc3\x28", b"\xe9", b"123", b"-5", b"99999999999999999999",
        b"0x1f", b"%20", b"+", b";a=b", b"?", b"#", b"%u0041", "é".encode(), b"a" * 300,
    ]),
    st.binary(min_size=1, max_size=8).filter(lambda b: b"?" not in b),
)


@st.composite
def paths(draw: st.DrawFn) -> tuple[bytes, str]:
    raw = draw(st.sampled_from(ROUTES)).encode()
    raw += b"".join(draw(st.lists(PATH_PIECES, max_size=5)))
    # "surrogateescape": lone surrogates, which conforming servers never send (they
    # decode with "replace"), but which must still get an answer.
    errors = draw(st.sampled_from(["replace", "latin-1", "surrogateescape"]))
    decoded = unquote_to_bytes(raw)
    path = decoded.decode("latin-1") if errors == "latin-1" else decoded.decode("utf-8", errors)
    return raw, path


QUERY_PIECES = st.one_of(
    st.sampled_from([
        b"a=1", b"a=", b"a", b"=", b"&", b";", b"n=5", b"n=-1", b"n=abc", b"n=1e9",
        b"n=99999999999999999999999", b"a=%ff", b"a=%", b"a=%zz", b"%ff=%fe", b"a=\xff",
        b"a=" + b"x" * 5000, b"a=1&" * 2000, b"+=+", b"a[]=1", b"a=%00",
    ]),
    st.binary(max_size=20).map(lambda b: b"a=" + quote_from_bytes(b).encode()),
    st.binary(max_size=20),
)
QUERIES = st.lists(QUERY_PIECES, max_size=6).map(b"&".join)

DATES = [
    b"Thu, 01 Jan 1970 00:00:00 GMT", b"Sun, 06 Nov 1994 08:49:37 GMT", b"garbage", b"0",
    b"Mon, 99 Foo 9999 99:99:99 GMT", b"Fri, 31 Dec 9999 23:59:59 GMT",
    b"Sat, 01 Jan 10000 00:00:00 GMT", b"Sunday, 06-Nov-94 08:49:37 GMT",
    b"Sun Nov  6 08:49:37 1994", b"-1", b"2026-01-01T00:00:00Z",
]
ETAGS = [b'"x"', b'W/"x"', b"*", b'"', b'W/', b'"a", "b"', b",,,", b'"\xff"', b"x" * 2000]

HEADER_VALUES: dict[bytes, list[bytes]] = {
    b"content-type": [
        b"application/json", b"application/json; charset=latin-9", b"application/json; charset=",
        b"multipart/form-data; boundary=fuzz", b"multipart/form-data", b"multipart/form-data; "
        b"boundary=", b"multipart/form-data; boundary=\xff", b"multipart/form-data; boundary="
        + b"b" * 300, b"application/x-www-form-urlencoded", b"application/x-www-form-urlencoded;"
        b" charset=\xff", b"text/plain; charset=utf-99", b";;;", b"/", b"\xff\xfe",
    ],
    b"content-length": [
        b"0", b"1", b"5", b"100", b"-1", b"abc", b"1e3", b" 5", b"5, 5", b"5,6",
        b"99999999999999999999", b"70000", b"0x10", b"",
    ],
    b"cookie": [
        b"session=garbage", b"session=", b"session=eyJ2aXNpdHMiOjF9.bad.sig", b"a=b; c",
        b"=;;", b"\xff=\xfe", b'a="unterminated', b"a=" + b"c" * 5000, b"; ; ;", b"a=b" * 500,
    ],
    b"authorization": [
        b"Basic !!!", b"Basic ", b"Basic dXNlcg==", b"Basic //79", b"Bearer", b"Bearer x y",
        b"Digest realm=", b'Digest username="a", nonce=', b"", b"\xff",
    ],
    b"range": [
        b"bytes=0-", b"bytes=-0", b"bytes=5-2", b"bytes=0-1,2-3", b"bytes=abc", b"bytes=0-0",
        b"bytes=99999999999999999999-", b"items=0-1", b"bytes=-99999999999", b"bytes=1023-",
        b"bytes=1024-", b"bytes=-1", b"bytes=", b"bytes=0-1," * 200, b"bytes=-",
    ],
    b"if-none-match": ETAGS,
    b"if-match": ETAGS,
    b"if-range": ETAGS + DATES,
    b"if-modified-since": DATES,
    b"if-unmodified-since": DATES,
    b"accept": [
        b"*/*;q=abc", b"text/html;q=1.5", b",,,", b"application/json;q=-1", b"*", b"/",
        b"text/*;q=0.5, */*;q=0", b"a/b;c=\xff", b"text/html;" * 100,
    ],
    b"accept-encoding": [b"gzip;q=x", b"*", b",", b"br;q=2"],
    b"accept-language": [b"en-US,en;q=0.9", b"*;q=", b"\xff", b"-,;"],
    b"accept-charset": [b"utf-8;q=1e9", b"\xff;q=1"],
    b"host": [
        b"", b"[::1", b"a:b:c", b"host:99999", b"\xff", b"localhost:-1", b"[::1]:80",
        b"example.com.", b"a" * 300, b"localhost:abc",
    ],
    b"x-forwarded-for": [b"", b"unknown", b"1.2.3.4, , ::1", b"\xff", b"999.999.1.1"],
    b"x-forwarded-proto": [b"ftp", b"https, http", b"", b"\xff"],
    b"x-forwarded-host": [b"", b"a b", b"[::1", b"\xff"],
    b"x-forwarded-port": [b"-1", b"abc", b"99999"],
    b"x-forwarded-prefix": [b"/p", b"p", b"\xff", b"//"],
    b"connection": [b"upgrade", b"close, keep-alive", b"\xff"],
    b"transfer-encoding": [b"chunked", b"gzip, chunked", b"x"],
    b"origin": [b"null", b"http://", b"\xff"],
}

# Header bytes a server could hand over: no CR, LF or NUL.
HEADER_BYTES = st.binary(max_size=40).map(
    lambda b: b.replace(b"\r", b"").replace(b"\n", b"").replace(b"\x00", b"")
)


@st.composite
def headers(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    result: list[tuple[bytes, bytes]] = []
    if draw(st.booleans()):
        result.append((b"host", b"localhost"))
    names = draw(st.lists(st.sampled_from(sorted(HEADER_VALUES)), max_size=6))
    for name in names:
        value = draw(st.one_of(st.sampled_from(HEADER_VALUES[name]), HEADER_BYTES))
        result.append((name, value))
    return result


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=10,
)


def multipart(parts: list[tuple[bytes, bytes, bool]], boundary: bytes = b"fuzz") -> bytes:
    out = b""
    for name, content, is_file in parts:
        out += b"--" + boundary + b"\r\n"
        disposition = b'form-data; name="' + name + b'"'
        if is_file:
            disposition += b'; filename="f.bin"'
        out += b"Content-Disposition: " + disposition + b"\r\n\r\n" + content + b"\r\n"
    return out + b"--" + boundary + b"--\r\n"


MULTIPART_PART = st.tuples(
    st.sampled_from([b"a", b"file", b"", b'"', b"\xff", b"x" * 100]),
    st.binary(max_size=200),
    st.booleans(),
)

JSON_TYPE = b"application/json"
FORM_TYPE = b"application/x-www-form-urlencoded"
MULTIPART_TYPE = b"multipart/form-data; boundary=fuzz"

# (the Content-Type that fits, the body)
BODIES = st.one_of(
    st.tuples(st.sampled_from([JSON_TYPE, FORM_TYPE, MULTIPART_TYPE]), st.just(b"")),
    st.tuples(st.sampled_from([JSON_TYPE, FORM_TYPE, MULTIPART_TYPE]), st.binary(max_size=300)),
    st.tuples(st.just(JSON_TYPE), JSON_VALUES.map(lambda v: json.dumps(v).encode())),
    st.tuples(
        st.just(JSON_TYPE),
        st.sampled_from(
            [b"{", b"[1,", b"\xff\xfe", b"[" * 5000 + b"]" * 5000, b"nul", b'"\\ud800"']
        ),
    ),
    st.tuples(st.just(FORM_TYPE), st.lists(QUERY_PIECES, max_size=5).map(b"&".join)),
    st.tuples(st.just(MULTIPART_TYPE), st.lists(MULTIPART_PART, max_size=3).map(multipart)),
    st.tuples(
        st.just(MULTIPART_TYPE),
        st.lists(MULTIPART_PART, min_size=1, max_size=3).map(multipart).flatmap(
            lambda body: st.integers(0, len(body)).map(lambda cut: body[:cut])
        ),
    ),
    st.tuples(  # over MAX_CONTENT_LENGTH
        st.sampled_from([FORM_TYPE, MULTIPART_TYPE, JSON_TYPE]),
        st.integers(60, 80).map(lambda kib: b"a=" + b"x" * (kib * 1024)),
    ),
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[list[tuple[bytes, bytes]], list[dict[str, Any]]]:
    """Headers (often with the Content-Type and Content-Length that fit the body, then
    malformed ones) and the receive messages."""
    content_type, body = draw(BODIES)
    header_list = draw(headers())
    if draw(st.integers(0, 3)):
        header_list.insert(0, (b"content-type", content_type))
    if draw(st.booleans()):
        header_list.append((b"content-length", str(len(body)).encode()))
    messages = draw(http_messages(body))
    return header_list, messages


@st.composite
def http_messages(draw: st.DrawFn, body: bytes) -> list[dict[str, Any]]:
    """The body in chunks; maybe truncated (the client then leaves), maybe a disconnect
    anywhere."""
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=8)))
    chunks = [body[start:end] for start, end in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks
    ]
    mode = draw(st.sampled_from(["complete", "complete", "truncated", "disconnect"]))
    if mode == "truncated":
        keep = draw(st.integers(0, len(messages) - 1))
        return [*messages[:keep], {"type": "http.disconnect"}]
    messages[-1]["more_body"] = False
    if draw(st.booleans()):
        messages[-1].pop("more_body")  # the default is False
    if mode == "disconnect":
        at = draw(st.integers(0, len(messages)))
        messages.insert(at, {"type": "http.disconnect"})
    return messages


# --- the tests -------------------------------------------------------------------------


async def fuzz_http(
    app: Quart,
    method: str,
    raw_path: bytes,
    path: str,
    query: bytes,
    header_list: list[tuple[bytes, bytes]],
    messages: list[dict[str, Any]],
    send_fails: bool,
    scope_changes: dict[str, Any] | None = None,
) -> None:
    client = Client(messages, "http.disconnect", send_fails)
    scope = http_scope(method, raw_path, path, query, header_list)
    for key, value in (scope_changes or {}).items():
        if value is None:
            scope.pop(key)
        else:
            scope[key] = value
    await run_call(app, scope, client)
    check_http_sequence(client.sent, client.left, method)
    await plain_get(app)


@fuzz_settings(1500)
@given(
    method=METHODS,
    path=paths(),
    query=QUERIES,
    request_parts=requests(),
    send_fails=st.booleans(),
    scope_changes=st.fixed_dictionaries(
        {},
        optional={
            "scheme": st.sampled_from(["http", "https", "ws", ""]),
            "http_version": st.sampled_from(["1.0", "1.1", "2", "3"]),
            "root_path": st.sampled_from(["/", "/json", "/prefix", "/\xff", "/path/"]),
            "raw_path": st.none(),  # optional in ASGI
            "client": st.none(),
            "server": st.none(),
        },
    ),
)
def test_http_fuzz(
    app: Quart,
    runner: asyncio.Runner,
    method: str,
    path: tuple[bytes, str],
    query: bytes,
    request_parts: tuple[list[tuple[bytes, bytes]], list[dict[str, Any]]],
    send_fails: bool,
    scope_changes: dict[str, Any],
) -> None:
    header_list, messages = request_parts
    runner.run(
        fuzz_http(app, method, *path, query, header_list, messages, send_fails, scope_changes)
    )


KNOWN_ROUTES = [
    ("/json", "POST"), ("/json", "PUT"), ("/form", "POST"), ("/form", "PATCH"),
    ("/upload", "POST"), ("/upload", "POST"), ("/session", "POST"), ("/session", "GET"),
    ("/file", "GET"), ("/file", "HEAD"), ("/args", "GET"), ("/args", "HEAD"),
    ("/stream", "GET"), ("/int/7", "GET"), ("/path/a/b", "GET"), ("/error/lookup", "GET"),
]


@fuzz_settings(800)
@given(
    route_and_method=st.sampled_from(KNOWN_ROUTES),
    query=QUERIES,
    request_parts=requests(),
    send_fails=st.booleans(),
)
def test_http_fuzz_known_routes(
    app: Quart,
    runner: asyncio.Runner,
    route_and_method: tuple[str, str],
    query: bytes,
    request_parts: tuple[list[tuple[bytes, bytes]], list[dict[str, Any]]],
    send_fails: bool,
) -> None:
    """Only routes and methods that exist, so that every example reaches a view."""
    route, method = route_and_method
    header_list, messages = request_parts
    runner.run(
        fuzz_http(app, method, route.encode(), route, query, header_list, messages, send_fails)
    )


WS_FRAMES = st.one_of(
    JSON_VALUES.map(lambda v: {"type": "websocket.receive", "text": json.dumps(v)}),
    JSON_VALUES.map(lambda v: {"type": "websocket.receive", "bytes": json.dumps(v).encode()}),
    st.text(max_size=30).map(lambda t: {"type": "websocket.receive", "text": t}),
    st.binary(max_size=30).map(lambda b: {"type": "websocket.receive", "bytes": b}),
    st.sampled_from(["{", "[" * 5000, "\ud800", "x" * (1 << 20), '"' + "y" * (1 << 20) + '"'])
    .map(lambda t: {"type": "websocket.receive", "text": t}),
    st.just({"type": "websocket.receive", "bytes": b"\xff\xfe{"}),
    st.just({"type": "websocket.receive", "text": "1", "bytes": None}),
    st.just({"type": "websocket.receive", "bytes": b"2", "text": None}),
)


def check_ws_sequence(sent: list[dict[str, Any]], frames: int, client_left: bool) -> None:
    closed = False
    accepted = False
    for message in sent:
        assert not closed, f"message after close: {sent}"
        kind = message["type"]
        if kind == "websocket.accept":
            assert not accepted, sent
            accepted = True
        elif kind == "websocket.send":
            assert accepted, sent
            assert (message.get("text") is None) != (message.get("bytes") is None), message
        elif kind == "websocket.close":
            closed = True
            assert message.get("code", 1000) != 1011, f"internal error close: {sent}"
        elif kind == "websocket.http.response.start":
            assert message["status"] < 500, sent
        else:
            assert kind == "websocket.http.response.body", sent
    sends = sum(1 for message in sent if message["type"] == "websocket.send")
    assert sends <= frames, sent


@fuzz_settings(700)
@given(
    route=st.sampled_from(["/ws", "/ws/raw"]),
    path=paths(),
    header_list=headers(),
    connect_first=st.booleans(),
    frames=st.lists(WS_FRAMES, max_size=6),
    leave_at=st.none() | st.integers(0, 7),
    send_fails=st.booleans(),
)
def test_websocket_fuzz(
    app: Quart,
    runner: asyncio.Runner,
    route: str,
    path: tuple[bytes, str],
    header_list: list[tuple[bytes, bytes]],
    connect_first: bool,
    frames: list[dict[str, Any]],
    leave_at: int | None,
    send_fails: bool,
) -> None:
    messages: list[dict[str, Any]] = []
    if connect_first:
        messages.append({"type": "websocket.connect"})
    messages.extend(frames)
    if leave_at is not None:
        leave = {"type": "websocket.disconnect", "code": 1001}
        messages.insert(min(leave_at, len(messages)), leave)
    # A path that is not /ws itself now and then (404 before accept, or a denial).
    raw, decoded = (route.encode(), route) if len(frames) % 3 else path
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "scheme": "ws",
        "path": decoded,
        "raw_path": raw,
        "query_string": b"",
        "root_path": "",
        "headers": header_list,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80),
        "subprotocols": [],
        "extensions": {"websocket.http.response": {}},
    }

    async def run() -> None:
        # Once the listed messages are used up the client leaves, so the echo loop ends.
        client = Client(
            [*messages, {"type": "websocket.disconnect", "code": 1000}],
            "websocket.disconnect",
            send_fails,
        )
        await run_call(app, scope, client)
        check_ws_sequence(client.sent, len(frames), client.left)
        if route == "/ws" and decoded == "/ws" and connect_first and leave_at is None:
            # Every frame is answered, in order: an echo or an error for bad JSON.
            replies = [json.loads(m.get("text") or m["bytes"]) for m in client.sent
                       if m["type"] == "websocket.send"]
            assert len(replies) == len(frames), (frames, client.sent)
        await plain_get(app)

    runner.run(run())


FILE_HEADERS = [b"range", b"if-range", b"if-none-match", b"if-match", b"if-modified-since",
                b"if-unmodified-since"]


@st.composite
def file_headers(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    result = [(b"host", b"localhost")]
    for name in draw(st.lists(st.sampled_from(FILE_HEADERS), max_size=4)):
        value = draw(st.one_of(st.sampled_from(HEADER_VALUES[name]), HEADER_BYTES))
        result.append((name, value))
    if draw(st.booleans()):  # ranges that fit the file, in any order
        begin, end = sorted(draw(st.lists(st.integers(0, 1100), min_size=2, max_size=2)))
        result.append((b"range", b"bytes=%d-%d" % (begin, end)))
    return result


@fuzz_settings(500)
@given(method=st.sampled_from(["GET", "GET", "HEAD"]), header_list=file_headers())
def test_send_file_conditionals_and_ranges(
    app: Quart, runner: asyncio.Runner, method: str, header_list: list[tuple[bytes, bytes]]
) -> None:
    """Whatever the Range and If-* headers, a sensible status and the right bytes."""

    async def run() -> None:
        client = Client([{"type": "http.request", "body": b""}], "http.disconnect")
        scope = http_scope(method, b"/file", "/file", b"", header_list)
        await run_call(app, scope, client)
        check_http_sequence(client.sent, False, method)
        start, *bodies = client.sent
        status = start["status"]
        assert status in (200, 206, 304, 412, 416), client.sent
        body = b"".join(message.get("body", b"") for message in bodies)
        response_headers = dict(start["headers"])
        if method == "HEAD":
            assert body == b""
        elif status == 200:
            assert body == FILE_DATA
        elif status == 206:
            content_range = response_headers[b"content-range"].decode()
            unit, _, spec = content_range.partition(" ")
            span, _, total = spec.partition("/")
            first, _, last = span.partition("-")
            assert (unit, total) == ("bytes", str(len(FILE_DATA))), content_range
            assert body == FILE_DATA[int(first) : int(last) + 1], content_range
        elif status == 304:
            assert body == b"", client.sent
        elif status == 412:  # Quart, like Werkzeug, keeps the body with a 412
            assert body in (b"", FILE_DATA), client.sent
        await plain_get(app)

    runner.run(run())
