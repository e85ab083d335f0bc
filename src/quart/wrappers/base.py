"""What a request and a websocket share: the connection's scope, read lazily."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.datastructures import Headers
from werkzeug.sansio.request import Request as SansIORequest
from werkzeug.utils import cached_property

if TYPE_CHECKING:
    from werkzeug.exceptions import HTTPException
    from werkzeug.routing import Rule

    from ..typing import Scope


class BaseRequestWebsocket(SansIORequest):
    """The parts of an HTTP request or a websocket handshake that werkzeug can describe.

    Nothing is parsed until it is read: the headers are turned into a ``Headers`` object on
    first access (``headers``), and everything werkzeug derives from them (cookies, host,
    accept headers, authorization) is cached on first use.
    """

    #: The rule the path matched, set while routing (None until then or when it failed).
    url_rule: Rule | None = None
    #: The values the rule extracted from the path.
    view_args: dict[str, Any] | None = None
    #: The routing error (404, 405, redirect) to raise when dispatching, if any.
    routing_exception: HTTPException | None = None

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
        server = scope.get("server")
        self.server = (server[0], server[1]) if server else None
        client = scope.get("client")
        self.remote_addr = client[0] if client else None

    @cached_property
    def headers(self) -> Headers:
        """The request headers, built from the ASGI scope the first time they are read."""
        return Headers(
            [
                (key.decode("latin1"), value.decode("latin1"))
                for key, value in self.scope.get("headers", ())
            ]
        )

    @property
    def endpoint(self) -> str | None:
        """The endpoint the URL matched, or None."""
        if self.url_rule is not None:
            return self.url_rule.endpoint  # type: ignore[no-any-return]
        return None

    @property
    def blueprint(self) -> str | None:
        """The dotted name of the blueprint of the matched endpoint, or None."""
        endpoint = self.endpoint
        if endpoint is not None and "." in endpoint:
            return endpoint.rpartition(".")[0]
        return None

    @property
    def blueprints(self) -> list[str]:
        """The matched blueprint and its parents, innermost first."""
        name = self.blueprint
        if name is None:
            return []
        parts = name.split(".")
        return [".".join(parts[:index]) for index in range(len(parts), 0, -1)]

    @property
    def script_root(self) -> str:
        """The prefix the app is mounted under (the ASGI ``root_path``)."""
        return self.root_path

    @property
    def url_root(self) -> str:
        """The app's root URL: scheme, host and root path, with a trailing slash."""
        return self.root_url
