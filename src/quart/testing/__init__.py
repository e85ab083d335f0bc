"""Testing: the test client, test connections, the lifespan runner and CLI runner."""

from __future__ import annotations

from .app import LifespanError, TestApp
from .cli import QuartCliRunner
from .client import QuartClient
from .connections import (
    HTTPDisconnectError,
    TestHTTPConnection,
    TestWebsocketConnection,
    WebsocketDisconnectError,
    WebsocketResponseError,
)
from .utils import (
    make_test_body_with_headers,
    make_test_headers_path_and_query_string,
    make_test_scope,
    no_op_push,
    sentinel,
)

__all__ = [
    "HTTPDisconnectError",
    "LifespanError",
    "QuartCliRunner",
    "QuartClient",
    "TestApp",
    "TestHTTPConnection",
    "TestWebsocketConnection",
    "WebsocketDisconnectError",
    "WebsocketResponseError",
    "make_test_body_with_headers",
    "make_test_headers_path_and_query_string",
    "make_test_scope",
    "no_op_push",
    "sentinel",
]
