"""Type aliases shared by the framework and by extensions that import them from here."""

from __future__ import annotations

import os
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from typing import TYPE_CHECKING, Any, Optional, Protocol, Union

# The ASGI scopes as hypercorn (our embedded server, always installed) types them.
from hypercorn.typing import HTTPScope as HTTPScope
from hypercorn.typing import LifespanScope as LifespanScope
from hypercorn.typing import WebsocketScope as WebsocketScope

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager
    from datetime import datetime, timedelta
    from types import TracebackType

    from flask.sessions import SessionMixin
    from werkzeug.datastructures import Authorization, Headers
    from werkzeug.sansio.response import Response as SansIOResponse

    from .wrappers.response import Response

FilePath = Union[bytes, str, "os.PathLike[str]", "os.PathLike[bytes]"]

# What a view may return as the body part of its result.
ResponseValue = Union[
    "Response",
    "SansIOResponse",
    bytes,
    str,
    Mapping[str, Any],
    list[Any],
    Iterable[bytes],
    Iterable[str],
    AsyncIterable[bytes],
    AsyncIterable[str],
]
StatusCode = int
HeaderName = str
HeaderValue = Union[str, list[str], tuple[str, ...]]
HeadersValue = Union[
    "Headers",
    Mapping[HeaderName, HeaderValue],
    Sequence[tuple[HeaderName, HeaderValue]],
]
ResponseReturnValue = Union[
    ResponseValue,
    tuple[ResponseValue, HeadersValue],
    tuple[ResponseValue, StatusCode],
    tuple[ResponseValue, StatusCode, HeadersValue],
]
ResponseTypes = Union["Response", "SansIOResponse"]

AppOrBlueprintKey = Optional[str]  # None is the app itself; blueprints go by their dotted name

AfterRequestCallable = Union[
    Callable[["Response"], "Response"], Callable[["Response"], Awaitable["Response"]]
]
AfterWebsocketCallable = Union[
    Callable[[Optional["Response"]], Optional["Response"]],
    Callable[[Optional["Response"]], Awaitable[Optional["Response"]]],
]
BeforeRequestCallable = Union[
    Callable[[], ResponseReturnValue | None],
    Callable[[], Awaitable[ResponseReturnValue | None]],
]
BeforeWebsocketCallable = BeforeRequestCallable
BeforeServingCallable = Union[Callable[[], None], Callable[[], Awaitable[None]]]
AfterServingCallable = BeforeServingCallable
WhileServingCallable = Callable[[], AsyncGenerator[None, None]]
ErrorHandlerCallable = Union[
    Callable[[Any], ResponseReturnValue], Callable[[Any], Awaitable[ResponseReturnValue]]
]
ShellContextProcessorCallable = Callable[[], dict[str, Any]]
TeardownCallable = Union[
    Callable[[BaseException | None], None],
    Callable[[BaseException | None], Awaitable[None]],
]
TemplateContextProcessorCallable = Union[
    Callable[[], dict[str, Any]], Callable[[], Awaitable[dict[str, Any]]]
]
TemplateFilterCallable = Callable[..., Any]
TemplateGlobalCallable = Callable[..., Any]
TemplateTestCallable = Callable[..., bool]
URLDefaultCallable = Callable[[str, dict[str, Any]], None]
URLValuePreprocessorCallable = Callable[[str | None, dict[str, Any] | None], None]
RouteCallable = Union[
    Callable[..., ResponseReturnValue], Callable[..., Awaitable[ResponseReturnValue]]
]
WebsocketCallable = Union[
    Callable[..., ResponseReturnValue | None],
    Callable[..., Awaitable[ResponseReturnValue | None]],
]

# ASGI, as far as the framework needs to name it.
Scope = dict[str, Any]
Message = dict[str, Any]
ASGIReceiveCallable = Callable[[], Awaitable[Message]]
ASGISendCallable = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, ASGIReceiveCallable, ASGISendCallable], Awaitable[None]]


class ASGIHTTPProtocol(Protocol):
    """An HTTP connection handler: ``app.asgi_http_class(app, scope)``, then awaited."""

    def __init__(self, app: Any, scope: HTTPScope) -> None: ...

    async def __call__(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None: ...


class ASGILifespanProtocol(Protocol):
    """A lifespan handler: ``app.asgi_lifespan_class(app, scope)``, then awaited."""

    def __init__(self, app: Any, scope: LifespanScope) -> None: ...

    async def __call__(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None: ...


class ASGIWebsocketProtocol(Protocol):
    """A websocket connection handler: ``app.asgi_websocket_class(app, scope)``, then awaited."""

    def __init__(self, app: Any, scope: WebsocketScope) -> None: ...

    async def __call__(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None: ...


class TestHTTPConnectionProtocol(Protocol):
    """What ``test_client.request(...)`` gives: a request whose body is sent piece by piece."""

    push_promises: list[tuple[str, Headers]]

    def __init__(self, app: Any, scope: HTTPScope, _preserve_context: bool = False) -> None: ...

    async def send(self, data: bytes) -> None: ...

    async def send_complete(self) -> None: ...

    async def receive(self) -> bytes: ...

    async def disconnect(self) -> None: ...

    async def __aenter__(self) -> TestHTTPConnectionProtocol: ...

    async def __aexit__(
        self, exc_type: type, exc_value: BaseException, tb: TracebackType
    ) -> None: ...

    async def as_response(self) -> Response: ...


class TestWebsocketConnectionProtocol(Protocol):
    """What ``test_client.websocket(...)`` gives, used as an async context manager."""

    def __init__(self, app: Any, scope: WebsocketScope) -> None: ...

    async def __aenter__(self) -> TestWebsocketConnectionProtocol: ...

    async def __aexit__(
        self, exc_type: type, exc_value: BaseException, tb: TracebackType
    ) -> None: ...

    async def receive(self) -> str | bytes: ...

    async def send(self, data: str | bytes) -> None: ...

    async def receive_json(self) -> Any: ...

    async def send_json(self, data: Any) -> None: ...

    async def close(self, code: int) -> None: ...

    async def disconnect(self) -> None: ...


class TestClientProtocol(Protocol):
    """What extensions may rely on in a test client (`app.test_client_class`)."""

    app: Any
    cookie_jar: Any
    http_connection_class: type[TestHTTPConnectionProtocol]
    push_promises: list[tuple[str, Headers]]
    websocket_connection_class: type[TestWebsocketConnectionProtocol]

    def __init__(self, app: Any, use_cookies: bool = True) -> None: ...

    async def open(
        self,
        path: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | Headers | None = None,
        data: AnyStrType | None = None,
        form: dict[str, str] | None = None,
        files: dict[str, Any] | None = None,
        query_string: dict[str, Any] | None = None,
        json: Any,
        scheme: str = "http",
        follow_redirects: bool = False,
        root_path: str = "",
        http_version: str = "1.1",
        scope_base: dict[str, Any] | None = None,
        auth: Authorization | tuple[str, str] | None = None,
        subdomain: str | None = None,
    ) -> Response: ...

    def request(
        self,
        path: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | Headers | None = None,
        query_string: dict[str, Any] | None = None,
        scheme: str = "http",
        root_path: str = "",
        http_version: str = "1.1",
        scope_base: dict[str, Any] | None = None,
        auth: Authorization | tuple[str, str] | None = None,
        subdomain: str | None = None,
    ) -> TestHTTPConnectionProtocol: ...

    def websocket(
        self,
        path: str,
        *,
        headers: dict[str, str] | Headers | None = None,
        query_string: dict[str, Any] | None = None,
        scheme: str = "ws",
        subprotocols: list[str] | None = None,
        root_path: str = "",
        http_version: str = "1.1",
        scope_base: dict[str, Any] | None = None,
        auth: Authorization | tuple[str, str] | None = None,
        subdomain: str | None = None,
    ) -> TestWebsocketConnectionProtocol: ...

    async def delete(self, *args: Any, **kwargs: Any) -> Response: ...
    async def get(self, *args: Any, **kwargs: Any) -> Response: ...
    async def head(self, *args: Any, **kwargs: Any) -> Response: ...
    async def options(self, *args: Any, **kwargs: Any) -> Response: ...
    async def patch(self, *args: Any, **kwargs: Any) -> Response: ...
    async def post(self, *args: Any, **kwargs: Any) -> Response: ...
    async def put(self, *args: Any, **kwargs: Any) -> Response: ...
    async def trace(self, *args: Any, **kwargs: Any) -> Response: ...

    def set_cookie(
        self,
        server_name: str,
        key: str,
        value: str = "",
        max_age: int | timedelta | None = None,
        expires: int | float | datetime | None = None,
        path: str = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: str | None = None,
        charset: str = "utf-8",
    ) -> None: ...

    def delete_cookie(
        self, server_name: str, key: str, path: str = "/", domain: str | None = None
    ) -> None: ...

    def session_transaction(
        self,
        path: str = "/",
        *,
        method: str = "GET",
        headers: dict[str, str] | Headers | None = None,
        query_string: dict[str, Any] | None = None,
        scheme: str = "http",
        data: AnyStrType | None = None,
        form: dict[str, str] | None = None,
        json: Any = None,
        root_path: str = "",
        http_version: str = "1.1",
    ) -> AbstractAsyncContextManager[SessionMixin]: ...

    async def __aenter__(self) -> TestClientProtocol: ...

    async def __aexit__(
        self, exc_type: type, exc_value: BaseException, tb: TracebackType
    ) -> None: ...


class TestAppProtocol(Protocol):
    """What `app.test_app()` gives: an app whose lifespan is run around a block."""

    def __init__(self, app: Any) -> None: ...
    def test_client(self) -> TestClientProtocol: ...
    async def startup(self) -> None: ...
    async def shutdown(self) -> None: ...
    async def __aenter__(self) -> TestAppProtocol: ...

    async def __aexit__(
        self, exc_type: type, exc_value: BaseException, tb: TracebackType
    ) -> None: ...


class Event(Protocol):
    """The part of an event (``asyncio.Event``, a server's shutdown trigger) that is used."""

    def is_set(self) -> bool: ...

    def set(self) -> None: ...


AnyStrType = Union[str, bytes]
