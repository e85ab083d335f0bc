"""The test client: requests to the app through its ASGI interface, with a cookie jar."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from http.cookiejar import CookieJar
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urljoin, urlsplit
from urllib.request import Request as U2Request

from werkzeug.datastructures import Authorization, Headers
from werkzeug.http import dump_cookie

from .. import globals as _globals
from ..typing import TestHTTPConnectionProtocol, TestWebsocketConnectionProtocol
from .connections import TestHTTPConnection, TestWebsocketConnection
from .utils import (
    make_test_body_with_headers,
    make_test_headers_path_and_query_string,
    make_test_scope,
    sentinel,
)

if TYPE_CHECKING:
    from ..app import Quart
    from ..sessions import SessionMixin
    from ..typing import HTTPScope, WebsocketScope
    from ..wrappers import Response

# Assigned, not imported: see the note in quart/globals.py.
_cv_request = _globals._cv_request


class _CookieResponse:
    """What ``CookieJar.extract_cookies`` needs of a response: its Set-Cookie headers."""

    def __init__(self, headers: Headers) -> None:
        self._headers = headers

    def info(self) -> _CookieResponse:
        return self

    def get_all(self, name: str, default: list[str] | None = None) -> list[str]:
        return self._headers.getlist(name) or (default or [])


class QuartClient:
    """Sends requests to an app in memory: ``await client.get("/")``.

    Cookies the app sets are kept and sent back (``use_cookies=False`` turns that off).
    ``async with client:`` keeps the last request's context available after it is done.
    """

    http_connection_class: type[TestHTTPConnectionProtocol] = TestHTTPConnection
    websocket_connection_class: type[TestWebsocketConnectionProtocol] = TestWebsocketConnection

    def __init__(self, app: Quart, use_cookies: bool = True) -> None:
        self.app = app
        self.cookie_jar: CookieJar | None = CookieJar() if use_cookies else None
        self.preserve_context = False
        self.push_promises: list[tuple[str, Headers]] = []
        self._pushed_context: Any = None

    async def open(
        self,
        path: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | Headers | None = None,
        data: str | bytes | None = None,
        form: dict[str, Any] | None = None,
        files: dict[str, Any] | None = None,
        query_string: dict[str, Any] | None = None,
        json: Any = sentinel,
        scheme: str = "http",
        follow_redirects: bool = False,
        root_path: str = "",
        http_version: str = "1.1",
        scope_base: dict[str, Any] | None = None,
        auth: Authorization | tuple[str, str] | None = None,
        subdomain: str | None = None,
    ) -> Response:
        """Send a request and return the whole response."""
        self.push_promises = []
        response = await self._make_request(
            path,
            method,
            headers,
            data,
            form,
            files,
            query_string,
            json,
            scheme,
            root_path,
            http_version,
            scope_base,
            auth,
            subdomain,
        )
        redirects = 0
        while follow_redirects and 300 <= response.status_code < 400 and response.location:
            redirects += 1
            if redirects > 30:
                raise RuntimeError("More than 30 redirects: is there a redirect loop?")
            location = urljoin(f"{scheme}://localhost{path}", response.location)
            target = urlsplit(location)
            keep_method = response.status_code in (307, 308)
            next_path = target.path + (f"?{target.query}" if target.query else "")
            response = await self._make_request(
                next_path,
                method if keep_method else "GET",
                headers,
                data if keep_method else None,
                form if keep_method else None,
                files if keep_method else None,
                None,
                json if keep_method else sentinel,
                target.scheme or scheme,
                root_path,
                http_version,
                scope_base,
                auth,
                subdomain,
            )
            path = next_path
        return response

    async def get(self, *args: Any, **kwargs: Any) -> Response:
        return await self.open(*args, method="GET", **kwargs)

    async def post(self, *args: Any, **kwargs: Any) -> Response:
        return await self.open(*args, method="POST", **kwargs)

    async def put(self, *args: Any, **kwargs: Any) -> Response:
        return await self.open(*args, method="PUT", **kwargs)

    async def delete(self, *args: Any, **kwargs: Any) -> Response:
        return await self.open(*args, method="DELETE", **kwargs)

    async def patch(self, *args: Any, **kwargs: Any) -> Response:
        return await self.open(*args, method="PATCH", **kwargs)

    async def head(self, *args: Any, **kwargs: Any) -> Response:
        return await self.open(*args, method="HEAD", **kwargs)

    async def options(self, *args: Any, **kwargs: Any) -> Response:
        return await self.open(*args, method="OPTIONS", **kwargs)

    async def trace(self, *args: Any, **kwargs: Any) -> Response:
        return await self.open(*args, method="TRACE", **kwargs)

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
    ) -> TestHTTPConnectionProtocol:
        """A connection to stream a request body and read the response as it comes."""
        headers, path, query = make_test_headers_path_and_query_string(
            self.app, path, headers, query_string, auth, subdomain
        )
        self._add_cookie_header(headers, path)
        scope = make_test_scope(
            "http",
            path,
            method,
            headers,
            query,
            scheme,
            root_path,
            http_version,
            scope_base,
            _preserve_context=self.preserve_context,
        )
        return self.http_connection_class(
            self.app, cast("HTTPScope", scope), _preserve_context=self.preserve_context
        )

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
    ) -> TestWebsocketConnectionProtocol:
        """A websocket conversation: ``async with client.websocket("/ws") as ws:``."""
        headers, path, query = make_test_headers_path_and_query_string(
            self.app, path, headers, query_string, auth, subdomain
        )
        self._add_cookie_header(headers, path)
        scope = make_test_scope(
            "websocket",
            path,
            "GET",
            headers,
            query,
            scheme,
            root_path,
            http_version,
            scope_base,
            _preserve_context=self.preserve_context,
        )
        scope["subprotocols"] = list(subprotocols or [])
        return self.websocket_connection_class(self.app, cast("WebsocketScope", scope))

    def set_cookie(
        self,
        server_name: str | None,
        key: str,
        value: str = "",
        max_age: int | None = None,
        expires: Any = None,
        path: str = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: str | None = None,
    ) -> None:
        """Put a cookie in the jar, as if ``server_name`` had set it.

        ``None`` stands for the host this client sends requests to (``SERVER_NAME`` or
        ``localhost``): extensions such as Quart-Auth pass their configured cookie domain,
        which is ``None`` unless set.
        """
        if self.cookie_jar is None:
            raise RuntimeError("This client does not keep cookies (use_cookies=False).")
        header = dump_cookie(
            key,
            value,
            max_age=max_age,
            expires=expires,
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
        )
        headers = Headers([("Set-Cookie", header)])
        host = server_name or self.app.config["SERVER_NAME"] or "localhost"
        request = U2Request(f"http://{host}{path}")
        self.cookie_jar.extract_cookies(_CookieResponse(headers), request)  # type: ignore[arg-type]

    def delete_cookie(
        self, server_name: str | None, key: str, path: str = "/", domain: str | None = None
    ) -> None:
        """Remove a cookie from the jar."""
        self.set_cookie(server_name, key, expires=0, max_age=0, path=path, domain=domain)

    @asynccontextmanager
    async def session_transaction(
        self,
        path: str = "/",
        *,
        method: str = "GET",
        headers: dict[str, str] | Headers | None = None,
        query_string: dict[str, Any] | None = None,
        scheme: str = "http",
        data: str | bytes | None = None,
        form: dict[str, Any] | None = None,
        json: Any = sentinel,
        root_path: str = "",
        http_version: str = "1.1",
        auth: Authorization | tuple[str, str] | None = None,
    ) -> AsyncGenerator[SessionMixin, None]:
        """Open the session the next request would see, change it, and save it back
        into the cookie jar: ``async with client.session_transaction() as session:``.

        The arguments describe that request, as for ``open``. Inside the block no
        request context is current (the one the session was opened in is set aside),
        so the client can be used there, as in Quart."""
        if self.cookie_jar is None:
            raise RuntimeError("Session transactions need cookies (use_cookies=True).")
        headers = Headers(headers) if headers is not None else Headers()
        self._add_cookie_header(headers, urlsplit(path).path or "/")
        interface = self.app.session_interface
        outer = _cv_request.get(None)
        ctx = self.app.test_request_context(
            path,
            method=method,
            headers=headers,
            query_string=query_string,
            scheme=scheme,
            data=data,
            form=form,
            json=json,
            root_path=root_path,
            http_version=http_version,
            auth=auth,
        )
        async with ctx:
            session = ctx.session  # opened once, as the request's own would be
            if interface.is_null_session(session):
                if not self.app.secret_key:
                    raise RuntimeError(
                        "The session is unavailable because no secret key was set. Set"
                        " SECRET_KEY in the app's config (app.secret_key) to use"
                        " session_transaction."
                    )
                raise RuntimeError(
                    f"The session interface {type(interface).__name__} did not open a"
                    " session (its open_session returned None)."
                )
            token = _cv_request.set(outer)  # type: ignore[arg-type]  # None: no request
            try:
                yield session
            finally:
                _cv_request.reset(token)
            response = self.app.response_class()
            if not interface.is_null_session(session):
                await interface.save_session(self.app, session, response)
            self._extract_cookies(response.headers, scheme, ctx.request.path)

    async def __aenter__(self) -> QuartClient:
        if self.preserve_context:
            raise RuntimeError("Cannot nest client invocations.")
        self.preserve_context = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.preserve_context = False
        await self._pop_preserved_context()

    async def _pop_preserved_context(self) -> None:
        pushed = self._pushed_context
        self._pushed_context = None
        current = _cv_request.get(None)
        if current is not None and current is pushed:
            await current.pop(None)

    async def _make_request(
        self,
        path: str,
        method: str,
        headers: dict[str, str] | Headers | None,
        data: str | bytes | None,
        form: dict[str, Any] | None,
        files: dict[str, Any] | None,
        query_string: dict[str, Any] | None,
        json: Any,
        scheme: str,
        root_path: str,
        http_version: str,
        scope_base: dict[str, Any] | None,
        auth: Authorization | tuple[str, str] | None,
        subdomain: str | None,
    ) -> Response:
        headers, path, query = make_test_headers_path_and_query_string(
            self.app, path, headers, query_string, auth, subdomain
        )
        body, body_headers = make_test_body_with_headers(
            data=data, form=form, files=files, json=json, app=self.app
        )
        for key, value in body_headers.items():
            headers[key] = value
        if body and "Content-Length" not in headers:
            headers["Content-Length"] = str(len(body))
        self._add_cookie_header(headers, path)
        scope = make_test_scope(
            "http",
            path,
            method,
            headers,
            query,
            scheme,
            root_path,
            http_version,
            scope_base,
            _preserve_context=self.preserve_context,
        )
        connection = self.http_connection_class(
            self.app, cast("HTTPScope", scope), _preserve_context=self.preserve_context
        )
        async with connection:
            await connection.send(body)
            await connection.send_complete()
        response = await connection.as_response()
        self.push_promises.extend(connection.push_promises)
        if self.preserve_context:
            await self._pop_preserved_context()
            preserved = self.app._preserved_context
            self.app._preserved_context = None
            if preserved is not None:
                await preserved.push()  # popped by the next request or on leaving
                self._pushed_context = preserved
        self._extract_cookies(response.headers, scheme, path)
        return response

    def _url(self, scheme: str, path: str) -> str:
        host = self.app.config["SERVER_NAME"] or "localhost"
        http_scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
        return f"{http_scheme}://{host}{path}"

    def _add_cookie_header(self, headers: Headers, path: str) -> None:
        """Send the jar's cookies for this host and path. Secure cookies go whatever the
        scheme, as with Flask's and Quart's test clients, so an app whose cookies are
        Secure (Quart-Auth's are by default) can be tested over plain http."""
        if self.cookie_jar is None:
            return
        request = U2Request(self._url("https", path))
        self.cookie_jar.add_cookie_header(request)
        cookie = request.get_header("Cookie")
        if cookie is not None:
            headers.add("Cookie", cookie)

    def _extract_cookies(self, headers: Headers, scheme: str, path: str) -> None:
        if self.cookie_jar is None:
            return
        request = U2Request(self._url(scheme, path))
        self.cookie_jar.extract_cookies(_CookieResponse(headers), request)  # type: ignore[arg-type]
