"""The benchmark scenarios and the check that each app answers them correctly.

The in-process driver, the load runs and the instruction counts all use these definitions, so
a scenario means the same request, and the same expected answer, everywhere. The six micro
scenarios are served by each app module's ``app``; the realistic ones (session, template,
upload, error handlers, static files, server-sent events) by its ``realistic_app``, so that
their routes, secret key and middleware leave the micro scenarios exactly as they were.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from benchmarks.apps.content import ROWS, STATIC_FILES, UPLOAD_BOUNDARY, UPLOAD_FILE, UPLOAD_TEXT
from benchmarks.apps.content import upload_body as _upload_body

ECHO_PAYLOAD: dict[str, Any] = {"message": "Hello, World!", "numbers": [1, 2, 3], "ok": True}


@dataclass(frozen=True)
class Scenario:
    """One request and what a correct app must answer to it."""

    name: str
    title: str
    method: str
    path: str
    query: str = ""
    body: bytes = b""
    status: int = 200
    text: bytes | None = None
    """Exact body expected, for plain-text answers."""
    json: Any = None
    """Decoded JSON body expected (whitespace may differ between frameworks)."""
    kind: str = "http"
    """"http"; "sse", an HTTP request answered with a stream of ``events`` server-sent
    events; or "websocket": a conversation in which the client sends ``body`` as a
    text message and expects it back (``text``), once per measured round trip."""
    app: str = "app"
    """The attribute of the app module that serves it: ``app`` (the micro scenarios) or
    ``realistic_app``."""
    content_type: str = "application/json"
    """The request's content type, when it has a body."""
    prime: str | None = None
    """A path fetched once (``GET``) before the scenario is checked or measured: the cookies
    it sets go with every measured request (a session cookie made by the app itself)."""
    media_type: str | None = None
    """What the answer's content type must start with, when not JSON."""
    expect_headers: tuple[str, ...] = ()
    """Headers the answer must carry (lower-case names)."""
    contains: tuple[bytes, ...] = ()
    """Byte strings the body must contain."""
    events: int = 0
    """For "sse": the stream must carry exactly these events, ``data: 0`` to ``data: n-1``."""

    @property
    def target(self) -> str:
        """The request target as sent on the wire: path plus query string."""
        return f"{self.path}?{self.query}" if self.query else self.path

    def headers(self, cookie: str | None = None) -> list[tuple[bytes, bytes]]:
        """Request headers as a client would send them (lower-case names, as ASGI wants)."""
        headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench"), (b"accept", b"*/*")]
        if self.body:
            headers.append((b"content-type", self.content_type.encode()))
            headers.append((b"content-length", str(len(self.body)).encode()))
        if cookie:
            headers.append((b"cookie", cookie.encode("latin-1")))
        return headers

    def check(self, status: int, headers: dict[str, str], body: bytes) -> str | None:
        """Return why the answer is wrong, or None when it is right.

        A broken app can be very fast; this runs before any timing so it is never measured.
        """
        got = f"status {status}, content-type {headers.get('content-type')!r}, body {body[:200]!r}"
        if status != self.status:
            return f"expected status {self.status}; got {got}"
        if self.text is not None and body != self.text:
            if len(body) != len(self.text):
                return f"expected a body of {len(self.text)} bytes, got {len(body)}; got {got}"
            return f"expected body {self.text[:200]!r}; got {got}"
        if self.media_type and not headers.get("content-type", "").startswith(self.media_type):
            return f"expected a {self.media_type} answer; got {got}"
        for name in self.expect_headers:
            if name not in headers:
                return f"expected a {name} header; got headers {sorted(headers)} and {got}"
        for fragment in self.contains:
            if fragment not in body:
                return f"expected the body to contain {fragment!r}; got {got}"
        if self.events:
            data = sse_data(body)
            expected = [str(index) for index in range(self.events)]
            if data != expected:
                return f"expected {self.events} events data: 0 to {self.events - 1}; got {got}"
        if self.json is not None:
            if not headers.get("content-type", "").startswith("application/json"):
                return f"expected an application/json answer; got {got}"
            try:
                decoded = json.loads(body)
            except ValueError:
                return f"expected JSON {self.json!r}; got {got}"
            if decoded != self.json:
                return f"expected JSON {self.json!r}; got {got}"
        return None


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("plaintext", "plaintext `GET /`", "GET", "/", text=b"Hello, World!"),
    Scenario("json", "JSON `GET /json`", "GET", "/json", json={"message": "Hello, World!"}),
    Scenario("path_int", "int path parameter `GET /user/42`", "GET", "/user/42", text=b"User 42"),
    Scenario(
        "query",
        "query args as JSON `GET /query?a=1&b=2`",
        "GET",
        "/query",
        query="a=1&b=2",
        json={"a": "1", "b": "2"},
    ),
    Scenario(
        "post_json",
        "POST JSON echo `POST /echo`",
        "POST",
        "/echo",
        body=json.dumps(ECHO_PAYLOAD).encode(),
        json=ECHO_PAYLOAD,
    ),
    Scenario("not_found", "404 `GET /missing`", "GET", "/missing", status=404),
)
"""The six micro scenarios: tiny requests that show a framework's fixed cost."""

REALISTIC: tuple[Scenario, ...] = (
    Scenario(
        "session",
        "signed session cookie, counter +1 `GET /session`",
        "GET",
        "/session",
        app="realistic_app",
        prime="/session",
        json={"n": 2},
        expect_headers=("set-cookie",),
    ),
    Scenario(
        "template",
        "template: base + 50 rows with `url_for` `GET /template`",
        "GET",
        "/template",
        app="realistic_app",
        media_type="text/html",
        contains=tuple(f'/user/{row["id"]}">{row["name"]}</a>'.encode() for row in ROWS),
    ),
    Scenario(
        "multipart",
        "20 KB multipart upload `POST /upload`",
        "POST",
        "/upload",
        app="realistic_app",
        body=_upload_body(),
        content_type=f"multipart/form-data; boundary={UPLOAD_BOUNDARY}",
        json={"size": len(UPLOAD_FILE), "text": UPLOAD_TEXT},
    ),
    Scenario(
        "json_404",
        "JSON 404 from an error handler `GET /items/999`",
        "GET",
        "/items/999",
        app="realistic_app",
        status=404,
        json={"error": "item 999 not found"},
    ),
    Scenario(
        "error_500",
        "500 from an error handler `GET /boom`",
        "GET",
        "/boom",
        app="realistic_app",
        status=500,
        json={"error": "boom"},
    ),
    Scenario(
        "static_5k",
        "static file, 5 KB `GET /static/5k.txt`",
        "GET",
        "/static/5k.txt",
        app="realistic_app",
        text=STATIC_FILES["5k.txt"],
        expect_headers=("etag",),
    ),
    Scenario(
        "static_1m",
        "static file, 1 MB `GET /static/1m.bin`",
        "GET",
        "/static/1m.bin",
        app="realistic_app",
        text=STATIC_FILES["1m.bin"],
        expect_headers=("etag",),
    ),
)
"""The realistic scenarios, each against the idiomatic Starlette equivalent."""

HTTP_SCENARIOS: tuple[Scenario, ...] = (*SCENARIOS, *REALISTIC)
"""Every request-response scenario: the tables of the in-process, load and instruction runs."""

SSE_EVENTS = 1000
SSE = Scenario(
    "sse",
    f"server-sent events: one stream of {SSE_EVENTS:,} events `GET /sse?n={SSE_EVENTS}`",
    "GET",
    "/sse",
    query=f"n={SSE_EVENTS}",
    kind="sse",
    app="realistic_app",
    media_type="text/event-stream",
    events=SSE_EVENTS,
)
"""Measured apart (per event, and events per second under a server), like the websocket."""

WEBSOCKET_ECHO = Scenario(
    "websocket_echo",
    "websocket echo `/ws`, one round trip",
    "GET",
    "/ws",
    body=b"Hello, websocket!",
    text=b"Hello, websocket!",
    kind="websocket",
)
"""Measured apart from the HTTP scenarios, with targets of its own."""

SCENARIOS_BY_NAME: dict[str, Scenario] = {
    scenario.name: scenario for scenario in (*HTTP_SCENARIOS, SSE, WEBSOCKET_ECHO)
}

_DATA_LINE = re.compile(rb"^data: ?(.*)$", re.MULTILINE)


def sse_data(body: bytes) -> list[str]:
    """The data of each event in a ``text/event-stream`` body (events without data skipped)."""
    data = []
    for block in body.replace(b"\r\n", b"\n").split(b"\n\n"):
        lines = _DATA_LINE.findall(block)
        if lines:
            data.append(b"\n".join(lines).decode())
    return data


def cookie_header(set_cookies: list[str]) -> str:
    """The ``Cookie`` header a browser sends back for these ``Set-Cookie`` values."""
    return "; ".join(value.split(";", 1)[0].strip() for value in set_cookies)
