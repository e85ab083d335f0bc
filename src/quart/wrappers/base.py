"""What a request and a websocket share: the connection's scope, read lazily."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from werkzeug.datastructures import Headers, ImmutableMultiDict, MultiDict
from werkzeug.exceptions import RequestURITooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.http import parse_cookie
from werkzeug.sansio.request import Request as SansIORequest
from werkzeug.sansio.utils import get_host
from werkzeug.utils import cached_property

from .. import globals as _globals
from .. import json
from ..shortcuts import trusted_headers

if TYPE_CHECKING:
    from werkzeug.exceptions import HTTPException
    from werkzeug.routing import Rule

    from ..typing import Scope

# Assigned, not imported: see the note in quart/globals.py.
_cv_app = _globals._cv_app


class BaseRequestWebsocket(SansIORequest):
    """The parts of an HTTP request or a websocket handshake that werkzeug can describe.

    Nothing is parsed until it is read: the headers are turned into a ``Headers`` object on
    first access (``headers``), and everything werkzeug derives from them (cookies, host,
    accept headers, authorization) is cached on first use.
    """

    #: What decodes JSON bodies and messages (``loads``): ``quart.json`` by default,
    #: which uses the app's JSON provider.
    json_module: Any = json
    #: The rule the path matched, set while routing (None until then or when it failed).
    url_rule: Rule | None = None
    #: The values the rule extracted from the path.
    view_args: dict[str, Any] | None = None
    #: The routing error (404, 405, redirect) to raise when dispatching, if any.
    routing_exception: HTTPException | None = None
    _body_header_values: tuple[str | None, str | None, str | None] | None = None

    def __init__(
        self,
        method: str,
        scheme: str,
        path: str,
        query_string: bytes,
        headers: Headers | None,
        root_path: str,
        http_version: str,
        scope: Scope,
    ) -> None:
        # werkzeug's initialiser is not called: it would copy the headers eagerly.
        self.method = method.upper()
        self.scheme = scheme
        self.root_path = root_path.rstrip("/")
        self.path = "/" + path.lstrip("/")
        self.query_string = query_string
        if headers is not None:
            self.headers = headers
        self.http_version = http_version
        self.scope = scope
        # Set here although the class has the same defaults: the request path reads
        # them on every request, and Python reads an instance's own attributes faster.
        self.url_rule = None
        self.routing_exception = None

    @cached_property
    def server(self) -> tuple[str, int | None] | None:
        """The server's address from the scope, as ``(host, port)``."""
        server = self.scope.get("server")
        return (server[0], server[1]) if server else None

    @cached_property
    def remote_addr(self) -> str | None:
        """The client's address from the scope."""
        client = self.scope.get("client")
        return client[0] if client else None

    @cached_property
    def headers(self) -> Headers:
        """The request headers, built from the ASGI scope the first time they are read."""
        # The server has parsed and validated these already.
        return trusted_headers(
            [
                (key.decode("latin1"), value.decode("latin1"))
                for key, value in self.scope.get("headers", ())
            ]
        )

    @cached_property
    def host(self) -> str:
        """The host the client asked for (Host header, else the server's address),
        checked against ``trusted_hosts`` when set."""
        return get_host(self.scheme, self._first_header(b"host"), self.server, self.trusted_hosts)

    @cached_property
    def args(self) -> MultiDict[str, str]:
        """The query string's arguments. Bytes that are not UTF-8 stay percent-encoded
        rather than failing the request.

        They are immutable (``ImmutableMultiDict``), so one parsed object serves every
        request with the same short query string, as the same URLs come back again and
        again; a mutable ``parameter_storage_class`` gets a fresh object each time."""
        query_string = self.query_string
        ctx = _cv_app.get(None)
        limit = None if ctx is None else ctx.app.config["MAX_FORM_PARTS"]
        # More than ``limit`` fields need more than 2 * limit bytes: only such a query
        # string is counted.
        if (
            limit is not None
            and len(query_string) > 2 * limit
            and query_string.count(b"&") >= limit
        ):
            raise RequestURITooLarge(
                f"The query string has more than {limit} fields (MAX_FORM_PARTS)."
            )
        storage = self.parameter_storage_class
        if storage is ImmutableMultiDict and len(query_string) <= _SHARED_ARGS_MAX:
            return _shared_args(query_string)
        return storage(parse_query_string(query_string))

    @cached_property
    def full_path(self) -> str:
        """The path and the query string."""
        return f"{self.path}?{_decode_query(self.query_string)}"

    @property
    def content_length(self) -> int | None:
        """The Content-Length as an int (None when absent, invalid or chunked)."""
        _, length, transfer_encoding = self._body_headers()
        if length is None:
            return None
        if transfer_encoding is not None and "chunked" in transfer_encoding.lower():
            return None
        return _parse_content_length(length)

    @property
    def content_type(self) -> str | None:  # type: ignore[override]
        """The Content-Type header, as sent."""
        return self._body_headers()[0]

    @property
    def is_json(self) -> bool:
        """Whether the content type is JSON: ``application/json`` or ``application/*+json``."""
        return _is_json_content_type(self._body_headers()[0])

    def _parse_content_type(self) -> None:
        if not hasattr(self, "_parsed_content_type"):
            self._parsed_content_type = parse_options_header(self._body_headers()[0] or "")

    def _body_headers(self) -> tuple[str | None, str | None, str | None]:
        """Content-Type, Content-Length and Transfer-Encoding, found in one pass over the
        scope's headers (the first of each, as ``headers.get`` gives), kept once found."""
        found = self._body_header_values
        if found is None:
            found = self._body_header_values = self._find_body_headers()
        return found

    def _find_body_headers(self) -> tuple[str | None, str | None, str | None]:
        if "headers" in self.__dict__:
            headers = self.headers
            return (
                headers.get("Content-Type"),
                headers.get("Content-Length"),
                headers.get("Transfer-Encoding"),
            )
        content_type = length = transfer_encoding = None
        for key, value in self.scope.get("headers", ()):
            if key == b"content-type":
                if content_type is None:
                    content_type = value.decode("latin1")
            elif key == b"content-length":
                if length is None:
                    length = value.decode("latin1")
            elif key == b"transfer-encoding" and transfer_encoding is None:
                transfer_encoding = value.decode("latin1")
        return content_type, length, transfer_encoding

    @cached_property
    def cookies(self) -> ImmutableMultiDict[str, str]:
        """The cookies the client sent (from every Cookie header, as HTTP/2 may split them)."""
        if "headers" in self.__dict__:
            values = self.headers.getlist("Cookie")
        else:
            values = [
                value.decode("latin1")
                for key, value in self.scope.get("headers", ())
                if key == b"cookie"
            ]
        return parse_cookie(  # type: ignore[return-value]
            "; ".join(values), cls=self.dict_storage_class
        )

    def _first_header(self, name: bytes) -> str | None:
        """One header's value, read from the scope without building ``headers``."""
        if "headers" in self.__dict__:
            return self.headers.get(name.decode("latin1"))
        for key, value in self.scope.get("headers", ()):
            if key == name:  # ASGI gives header names in lower case
                return value.decode("latin1")  # type: ignore[no-any-return]
        return None

    @property
    def endpoint(self) -> str | None:
        """The endpoint the URL matched, or None."""
        if self.url_rule is not None:
            return self.url_rule.endpoint  # type: ignore[no-any-return]
        return None

    @property
    def blueprint(self) -> str | None:
        """The dotted name of the blueprint of the matched endpoint, or None."""
        if self.url_rule is None:
            return None
        return _blueprint_of(self.url_rule.endpoint)

    @property
    def blueprints(self) -> list[str]:
        """The matched blueprint and its parents, innermost first."""
        name = self.blueprint
        return [] if name is None else list(_blueprint_chain(name))

    @property
    def script_root(self) -> str:
        """The prefix the app is mounted under (the ASGI ``root_path``)."""
        return self.root_path

    @property
    def url_root(self) -> str:
        """The app's root URL: scheme, host and root path, with a trailing slash."""
        return self.root_url


def _decode_query(raw: bytes) -> str:
    return raw.decode("utf-8", "werkzeug.url_quote")


def parse_query_string(raw: bytes) -> list[tuple[str, str]]:
    """``(name, value)`` pairs of a query string, as ``urllib.parse.parse_qsl`` with blank
    values kept gives them. Most query strings have nothing to unquote; those are split
    directly, which is several times faster."""
    text = _decode_query(raw)
    if "%" in text or "+" in text:
        return parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote")
    pairs = []
    for part in text.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((name, value))
    return pairs


_SHARED_ARGS_MAX = 256
"""The longest query string (in bytes) whose parsed arguments are kept for reuse."""


@lru_cache(maxsize=256)
def _shared_args(query_string: bytes) -> ImmutableMultiDict[str, str]:
    return ImmutableMultiDict(parse_query_string(query_string))


@lru_cache(maxsize=256)
def _parse_content_length(length: str) -> int | None:
    # Digits only, as HTTP has it: no sign, no underscores, no other scripts' digits.
    length = length.strip()
    return int(length) if length.isascii() and length.isdigit() else None


@lru_cache(maxsize=256)
def _is_json_content_type(content_type: str | None) -> bool:
    if not content_type:
        return False
    mimetype = content_type.partition(";")[0].strip().lower()
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


@lru_cache(maxsize=1024)
def _blueprint_of(endpoint: str) -> str | None:
    return endpoint.rpartition(".")[0] if "." in endpoint else None


@lru_cache(maxsize=1024)
def _blueprint_chain(name: str) -> tuple[str, ...]:
    parts = name.split(".")
    return tuple(".".join(parts[:index]) for index in range(len(parts), 0, -1))
