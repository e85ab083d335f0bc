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

if TYPE_CHECKING:
    from types import TracebackType

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


class TestClientProtocol(Protocol):
    """What extensions may rely on in a test client (`app.test_client_class`)."""

    app: Any
    cookie_jar: Any
    http_connection_class: type[Any]
    push_promises: list[tuple[str, Headers]]
    websocket_connection_class: type[Any]

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
        json: Any = ...,
        scheme: str = "http",
        follow_redirects: bool = False,
        root_path: str = "",
        http_version: str = "1.1",
        scope_base: dict[str, Any] | None = None,
        auth: Authorization | tuple[str, str] | None = None,
    ) -> Response: ...

    async def get(self, *args: Any, **kwargs: Any) -> Response: ...
    async def post(self, *args: Any, **kwargs: Any) -> Response: ...
    async def put(self, *args: Any, **kwargs: Any) -> Response: ...
    async def delete(self, *args: Any, **kwargs: Any) -> Response: ...
    async def patch(self, *args: Any, **kwargs: Any) -> Response: ...
    async def head(self, *args: Any, **kwargs: Any) -> Response: ...
    async def options(self, *args: Any, **kwargs: Any) -> Response: ...

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


AnyStrType = Union[str, bytes]
