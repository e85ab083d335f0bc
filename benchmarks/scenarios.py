"""The six benchmark scenarios and the check that each app answers them correctly.

Both the in-process driver and the uvicorn load run use these definitions, so a scenario means
the same request, and the same expected answer, everywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

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
    """"http", or "websocket": a conversation in which the client sends ``body`` as a
    text message and expects it back (``text``), once per measured round trip."""

    @property
    def target(self) -> str:
        """The request target as sent on the wire: path plus query string."""
        return f"{self.path}?{self.query}" if self.query else self.path

    def headers(self) -> list[tuple[bytes, bytes]]:
        """Request headers as a client would send them (lower-case names, as ASGI wants)."""
        headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench"), (b"accept", b"*/*")]
        if self.body:
            headers.append((b"content-type", b"application/json"))
            headers.append((b"content-length", str(len(self.body)).encode()))
        return headers

    def check(self, status: int, headers: dict[str, str], body: bytes) -> str | None:
        """Return why the answer is wrong, or None when it is right.

        A broken app can be very fast; this runs before any timing so it is never measured.
        """
        got = f"status {status}, content-type {headers.get('content-type')!r}, body {body[:200]!r}"
        if status != self.status:
            return f"expected status {self.status}; got {got}"
        if self.text is not None and body != self.text:
            return f"expected body {self.text!r}; got {got}"
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
    scenario.name: scenario for scenario in (*SCENARIOS, WEBSOCKET_ECHO)
}
